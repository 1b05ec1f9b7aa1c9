"""The ROI report as JSON (under /api/v1/reports/roi/): marketing and managers."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.attribution.selectors import roi_report
from reports.attribution.serializers import RoiOut, RoiQueryIn
from smarketing.lib.api import ERRORS, REFUSED, roles, valid
from smarketing.roles import Role


class RoiView(APIView):
    permission_classes = roles(Role.MARKETING, Role.MANAGER)

    @extend_schema(
        summary="ROI per campaign, channel or definition version under an attribution model",
        description=(
            "For deals won in the period (`from`–`to`, both days included, or `period=YYYY-MM`; this month "
            "when neither is given, in the instance's time zone): each campaign's (or channel's) spend, new "
            "leads, first MQL/SQL/opportunity/customer entries by first campaign, won deals, attributed "
            'revenue under `model` (a deal without touches is credited to "(no campaign)", so the rows add '
            "up to the period's won revenue to the cent), ROI and cost per lead, MQL, SQL and customer. "
            "With `by=version`, a row per qualification definition version (the version under which each "
            'lead last qualified; "(not qualified by a definition)" for the others): its leads\' figures and '
            "won deals, each deal's whole amount on its lead's version (so every model gives a version the "
            "same revenue, and the rows still add up to the won revenue); no spend, ROI or cost per figure."
        ),
        parameters=[RoiQueryIn],
        responses={200: RoiOut, 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(RoiQueryIn, request.query_params)
        report = roi_report(model=query["model"], start=query["start"], end=query["end"], by=query["by"])
        body = {
            "model": report.model,
            "by": report.by,
            "from": query["from"],
            "to": query["to"],
            "currency": settings.CURRENCY,
            "rows": report.rows,
            "totals": report.totals,
        }
        return Response(RoiOut(body, context={"by": report.by}).data)
