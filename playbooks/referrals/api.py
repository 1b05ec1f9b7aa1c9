"""/api/v1/referrals/: the referrals and their credit, and marking an earned credit paid."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from playbooks.referrals import selectors, services
from playbooks.referrals.serializers import ReferralOut, ReferralQueryIn
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, Pages, paginated, refusals_as_400, roles, valid
from smarketing.roles import Role

REFERRAL_ROLES = (Role.MARKETING, Role.MANAGER)  # as on the pages (playbooks.referrals.views)


class ReferralsView(APIView):
    permission_classes = roles(*REFERRAL_ROLES)
    pagination_class = Pages

    @extend_schema(
        summary="List referrals",
        description="Newest first: the referrer's code, the referred lead, and the credit's status "
        "(pending until the lead becomes a customer, then earned, then paid by hand).",
        parameters=[ReferralQueryIn],
        responses={200: ReferralOut(many=True), 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(ReferralQueryIn, request.query_params)
        rows = selectors.referrals_list(status=query.get("status", ""))
        return paginated(self, request, rows, ReferralOut)


class ReferralPayView(APIView):
    permission_classes = roles(*REFERRAL_ROLES)

    @extend_schema(
        summary="Mark a referral's credit paid",
        description="Only an earned credit can be marked paid; paying twice is refused with the reason.",
        request=None,
        responses={200: ReferralOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        referral = selectors.referral_for_payment(pk)
        with refusals_as_400():
            referral = services.referral_mark_paid(referral=referral, by=request.user)
        return Response(ReferralOut(referral).data)
