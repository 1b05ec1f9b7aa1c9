"""/api/v1/leads/{id}/export/ and /api/v1/leads/{id}/erase/ (managers)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.privacy.selectors import lead_export
from leads.privacy.serializers import EraseIn, ErasureOut
from leads.privacy.services import lead_erase
from leads.privacy.views import DATA_ROLES
from leads.selectors import lead_for_user
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, roles, valid


class LeadExportView(APIView):
    permission_classes = roles(*DATA_ROLES)

    @extend_schema(
        summary="Everything about one lead, as one JSON document",
        description=(
            "For a person's request for their data (managers): the lead's fields; its score, breakdown and "
            "engagement per rule; events; stage history; why it qualified and sales' verdicts; the handoff, "
            "activities and assignments; deals with their changes; merges; lists, playbook enrolments, "
            "emails, referrals and suppressions. Nothing of any other lead. `format` names the shape."
        ),
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The lead's data."),
            403: REFUSED,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk)
        return Response(lead_export(lead))


class LeadEraseView(APIView):
    permission_classes = roles(*DATA_ROLES)

    @extend_schema(
        summary="Erase a lead's personal data",
        description=(
            "At the person's request (managers; send `confirm: true`). Removes the address, names, phone, "
            "job title, company and website, free text about the lead (notes, deal names) and event "
            "properties other than campaign codes; keeps the lead's id, stage, firmographics, scores, "
            "history, deals' amounts and campaign credit, so reports do not change. The address is kept "
            "only as a keyed hash: every capture path refuses it and no email goes to it. Erasing again "
            "returns the first erasure with `already_erased: true`."
        ),
        request=EraseIn,
        responses={200: ErasureOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = lead_for_user(request.user, pk)
        valid(EraseIn, request.data)
        erasure, now = lead_erase(lead=lead, by=request.user)
        erasure.already_erased = not now
        return Response(ErasureOut(erasure).data)
