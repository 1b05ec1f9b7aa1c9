"""The dashboard's figures as JSON (GET /api/v1/reports/dashboard/), for every role, read with
the page's own form: the same query string gives the same figures, and a bad value a 400 per field."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.dashboard.forms import DashboardQueryForm
from reports.dashboard.selectors import Dashboard, dashboard
from reports.dashboard.serializers import DashboardOut, DashboardQueryIn
from smarketing.lib.api import ERRORS, REFUSED, roles
from smarketing.roles import Role


class DashboardView(APIView):
    permission_classes = roles(Role.MARKETING, Role.SALES, Role.MANAGER)

    @extend_schema(
        summary="The alignment dashboard's figures",
        description=(
            "The agreement both ways for the twelve months to the period's last (whole teams: the filters do "
            "not apply); for the period and the leads the filters keep, the funnel by cohort and by period, "
            "velocity, the closed deals and won revenue, the top rejection and recycle reasons; and the open "
            "pipeline now. The query is the page's (/reports/dashboard/)."
        ),
        parameters=[DashboardQueryIn],
        responses={200: DashboardOut, 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        form = DashboardQueryForm(request.query_params.dict())
        if not form.is_valid():
            raise ValidationError({field: list(messages) for field, messages in form.errors.items()})
        period, filters = form.chosen_period(), form.chosen_filters()
        figures = dashboard(start=period.start, end=period.end, last_month=period.last_month, leads=filters.leads())
        return Response(DashboardOut(_body(figures, period.first_day, period.last_day)).data)


def _body(figures: Dashboard, first: Any, last: Any) -> dict[str, Any]:
    return {
        "from": first,
        "to": last,
        "agreement": figures.trend,
        "cohorts": figures.cohorts,
        "entries": figures.entries,
        "velocity": figures.moves,
        "pipeline": figures.pipeline,
        "deals": figures.deals,
        "verdicts": figures.decided,
        "reasons": [
            {"reason": row.label, "verdict": row.verdict, "leads": row.leads, "share": row.share}
            for row in figures.reasons
        ],
    }
