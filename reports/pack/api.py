"""The weekly meeting packs as JSON (under /api/v1/reports/meeting-packs/): marketing and managers."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.pack.selectors import pack_for_week, packs_list, week_parse
from reports.pack.serializers import MeetingPackOut, MeetingPackSummaryOut
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, Pages, Refused, paginated, roles
from smarketing.roles import Role


class MeetingPackListView(APIView):
    permission_classes = roles(Role.MARKETING, Role.MANAGER)
    pagination_class = Pages  # read by the schema, which then shows the page envelope

    @extend_schema(
        summary="The weekly meeting packs built so far, newest first",
        description=(
            "One per ISO week in the instance's zone, built by beat after the week (Mondays 08:00 by "
            "default) or by hand: the week, when it was built and mailed, and its headline figures."
        ),
        responses={200: MeetingPackSummaryOut(many=True), 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        return paginated(self, request, packs_list(), MeetingPackSummaryOut)


class MeetingPackView(APIView):
    permission_classes = roles(Role.MARKETING, Role.MANAGER)

    @extend_schema(
        summary="One week's meeting pack",
        description=(
            "The week's figures as built: both sides of the agreement (the month to date as the week "
            "ended, and the week's own handoffs), the deals won and lost with reasons, why sales said no, "
            "the top campaigns by attributed revenue, each definition version's verdicts and deals, the "
            "week's first stage entries, and the action items open when it was built. Money and rates "
            "are decimals as strings. A badly named week is a 400; a week without a pack a 404."
        ),
        parameters=[OpenApiParameter("week", str, OpenApiParameter.PATH, description="An ISO week, like 2026-W49.")],
        responses={200: MeetingPackOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request: Request, week: str) -> Response:
        try:
            monday = week_parse(week)
        except ValueError as error:
            raise Refused(str(error), field="week") from error
        return Response(MeetingPackOut(pack_for_week(monday)).data)
