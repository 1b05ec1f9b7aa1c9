"""The audit log as JSON (GET /api/v1/audit/): managers only."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from smarketing.audit.selectors import config_changes
from smarketing.audit.serializers import ChangeOut, ChangeQueryIn
from smarketing.lib.api import ERRORS, REFUSED, Pages, paginated, roles, valid
from smarketing.roles import Role


class ChangesView(APIView):
    permission_classes = roles(Role.MANAGER)
    pagination_class = Pages

    @extend_schema(
        summary="Configuration changes, newest first",
        description=(
            "Every change to personas, scoring rules, qualification definitions, the agreement, teams and "
            "their reps, assignment rules, playbooks and email templates, made in the app, the API or the "
            "admin: who (`actor`, `actor_name`), when, `action` (created, changed, deleted), the object "
            "(`kind`, `object_id`, `object_label`), and `before` and `after`: the fields that changed (every "
            "field for a creation or a deletion), a related object as {id, label}."
        ),
        parameters=[ChangeQueryIn],
        responses={200: ChangeOut(many=True), 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(ChangeQueryIn, request.query_params)
        rows = config_changes(
            kind=query.get("kind", ""),
            object_id=query.get("object_id"),
            actor=query.get("actor"),
            since=query.get("from"),
            until=query.get("to"),
            search=query.get("q", ""),
        )
        return paginated(self, request, rows, ChangeOut)
