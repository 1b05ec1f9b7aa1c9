"""The leads REST API (under /api/v1/).

Who may do what:
- Reading leads: Marketing and Managers see every lead; a Sales rep sees only the leads
  they own (another rep's lead is 404, as if it did not exist).
- Writing leads and events: Marketing and Managers. An integration (website, ad platform,
  webinar or product tool) is a Marketing user with a token (`manage.py api_token NAME`):
  it writes marketing's data and can be switched off by deactivating that user.
- Capture forms post to the public endpoint in leads/capture/api.py, without a token.
"""

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.capture.ingest import TOUCH_KEYS
from leads.capture.serializers import LeadUpsertIn
from leads.capture.services import lead_upsert_by_email
from leads.filters import LEAD_FILTER_PARAMS, LeadFilter
from leads.models import Lead
from leads.qualification.selectors import why_qualified
from leads.scoring.selectors import score_explained
from leads.selectors import leads_visible_to
from leads.serializers import LeadDetailOut, LeadOut
from smarketing.lib.api import ERRORS
from smarketing.roles import HasRole, Role, primary_role, user_roles

READ_ROLES = (Role.MARKETING, Role.MANAGER, Role.SALES)


WRITE_ROLES = (Role.MARKETING, Role.MANAGER)


PAGE_PARAMS = frozenset({"page", "page_size", "format"})


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    """Who the token or session belongs to, and their roles."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        role = primary_role(request.user)
        data = {
            "username": request.user.get_username(),
            "role": role.value if role else None,
            "roles": sorted(r.value for r in user_roles(request.user)),
        }
        return Response(MeSerializer(data).data)


class LeadPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _lead_rows(user: Any) -> QuerySet[Lead]:
    return leads_visible_to(user).select_related("owner", "scoring__persona", "first_campaign")


class LeadsView(generics.ListAPIView):
    """List leads (every role, each sees what it may) and upsert one by email (Marketing, Manager)."""

    serializer_class = LeadOut
    filter_backends = [DjangoFilterBackend]
    filterset_class = LeadFilter
    pagination_class = LeadPagination

    def get_permissions(self) -> list[BasePermission]:
        roles = WRITE_ROLES if self.request.method == "POST" else READ_ROLES
        return [IsAuthenticated(), HasRole.of(*roles)()]

    def get_queryset(self) -> QuerySet[Lead]:
        return _lead_rows(self.request.user)

    @extend_schema(summary="List leads", responses={200: LeadOut(many=True), 400: ERRORS})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A misspelt filter would otherwise return every lead as if it had matched.
        unknown = sorted(set(request.query_params) - LEAD_FILTER_PARAMS - PAGE_PARAMS)
        if unknown:
            known = ", ".join(sorted(LEAD_FILTER_PARAMS | PAGE_PARAMS))
            raise ValidationError({name: [f"Unknown parameter. Known: {known}."] for name in unknown})
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create or merge a lead by email",
        description=(
            "201 when the email is new, 200 when it matched a lead (trimmed, case-folded). A known lead "
            "gets its blank fields filled; values it already has are kept. UTM, referrer and referral code "
            "set a new lead's first touch."
        ),
        request=LeadUpsertIn,
        responses={201: LeadDetailOut, 200: LeadDetailOut, 400: ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = LeadUpsertIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lead, created = lead_upsert_by_email(
            email=data["email"],
            attributes=data,
            touch={key: data[key] for key in TOUCH_KEYS if data.get(key)},
            consent=data.get("consent", False),
        )
        lead = _lead_rows(request.user).select_related("last_campaign").get(pk=lead.pk)
        return Response(LeadDetailOut(lead_explained(lead)).data, status=201 if created else 200)


class LeadDetailView(generics.RetrieveAPIView):
    """One lead with its score breakdown, stage history and why it qualified."""

    serializer_class = LeadDetailOut
    permission_classes = [IsAuthenticated, HasRole.of(*READ_ROLES)]

    def get_queryset(self) -> QuerySet[Lead]:
        return _lead_rows(self.request.user).select_related("last_campaign")

    def get_object(self) -> Lead:
        return lead_explained(super().get_object())


def lead_explained(lead: Lead) -> Lead:
    """The lead with what LeadDetailOut shows besides its fields: the score's rows, why it qualified."""
    lead.score_rows = score_explained(lead)
    lead.qualified_by = why_qualified(lead)
    return lead
