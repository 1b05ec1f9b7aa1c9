"""The win/loss report as JSON (under /api/v1/reports/win-loss/): marketing and managers."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.winloss.selectors import win_loss_report
from reports.winloss.serializers import WinLossOut, WinLossQueryIn
from smarketing.lib.api import ERRORS, REFUSED, roles, valid
from smarketing.roles import Role


class WinLossView(APIView):
    permission_classes = roles(Role.MARKETING, Role.MANAGER)

    @extend_schema(
        summary="Wins and losses by reason, and what sales rejected or recycled and why",
        description=(
            "For the period (`from`–`to`, both days included, or `period=YYYY-MM`; this month when neither "
            "is given, in the instance's time zone), grouped per `by` (rep, source, persona, first campaign "
            "or definition version): `deals` — deals won or lost in the period, won revenue, win rate and "
            "the losses per lost reason; `rejections` — sales' verdicts on handed-over leads in the period "
            "(accepted, rejected, recycled) with the rejections and recycles per reason, also per reason "
            "alone and per rule that qualified the lead, each reason's share of the decisions, and the "
            "largest shares as sentences."
        ),
        parameters=[WinLossQueryIn],
        responses={200: WinLossOut, 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(WinLossQueryIn, request.query_params)
        report = win_loss_report(start=query["start"], end=query["end"], by=query["by"])
        body = {
            "by": report.by,
            "from": query["from"],
            "to": query["to"],
            "currency": settings.CURRENCY,
            "deals": {"rows": report.deals, "totals": report.deals_totals},
            "rejections": {
                "rows": report.decisions,
                "totals": report.decisions_totals,
                "reasons": report.reasons,
                "rules": report.rules,
                "findings": report.findings,
            },
        }
        return Response(WinLossOut(body).data)
