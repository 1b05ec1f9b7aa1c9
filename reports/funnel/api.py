"""The funnel and velocity reports as JSON (under /api/v1/reports/): marketing and managers."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.funnel.selectors import BY_COHORT, funnel_by_cohort, funnel_by_period, velocity
from reports.funnel.serializers import FunnelOut, FunnelQueryIn, VelocityOut, VelocityQueryIn
from smarketing.lib.api import ERRORS, REFUSED, roles, valid
from smarketing.roles import Role

PERIOD = (
    "The period is `from`–`to` (both days included) or `period=YYYY-MM`; this month when neither is given, "
    "in the instance's time zone."
)


class FunnelView(APIView):
    permission_classes = roles(Role.MARKETING, Role.MANAGER)

    @extend_schema(
        summary="The funnel: by cohort or by period",
        description=(
            "`by=cohort`: the leads created in the period, per month of creation, and how many of them "
            "reached each stage of the forward path (the furthest stage a lead has ever been in, now or in "
            "its history, is that one or beyond: recycled and disqualified leads count for what they had "
            "reached), with the rate from each stage to the next. `by=period`: per stage, the leads whose "
            "first ever entry into it falls in the period, with the rate from each stage's entries to the "
            f"next's. {PERIOD}"
        ),
        parameters=[FunnelQueryIn],
        responses={200: FunnelOut, 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(FunnelQueryIn, request.query_params)
        body = {"by": query["by"], "from": query["from"], "to": query["to"]}
        if query["by"] == BY_COHORT:
            body["cohorts"] = funnel_by_cohort(start=query["start"], end=query["end"])
        else:
            body["entries"] = funnel_by_period(start=query["start"], end=query["end"])
        return Response(FunnelOut(body).data)


class VelocityView(APIView):
    permission_classes = roles(Role.MARKETING, Role.MANAGER)

    @extend_schema(
        summary="Velocity: median days from one stage to the next",
        description=(
            "For each stage of the forward path and the one after it: the moves from one to the other made "
            "in the period, and the median days from the lead's entry into the first (its previous stage "
            f"change, or its creation) to the move. A lead that skips a stage makes no move of either pair. {PERIOD}"
        ),
        parameters=[VelocityQueryIn],
        responses={200: VelocityOut, 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(VelocityQueryIn, request.query_params)
        rows = velocity(start=query["start"], end=query["end"])
        return Response(VelocityOut({"from": query["from"], "to": query["to"], "rows": rows}).data)
