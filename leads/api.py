"""The leads REST API (under /api/v1/).

Who may do what:
- Reading leads: Marketing and Managers see every lead; a Sales rep sees only the leads
  they own (another rep's lead is 404, as if it did not exist).
- Writing leads and events: Marketing and Managers. An integration (website, ad platform,
  webinar or product tool) is a Marketing user with a token (`manage.py api_token NAME`):
  it writes marketing's data and can be switched off by deactivating that user.
- Capture forms post to the public endpoint in leads/capture.py, without a token.
"""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.capture import body_size_check, lead_upsert_by_email
from leads.filters import LEAD_FILTER_PARAMS, LeadFilter
from leads.ingest import TOUCH_KEYS, EventIn, events_ingest
from leads.models import Lead
from leads.selectors import leads_visible_to
from leads.serializers import (
    EVENTS_BATCH_MAX,
    ErrorOut,
    EventItemIn,
    EventsResultOut,
    LeadDetailOut,
    LeadOut,
    LeadUpsertIn,
)
from smarketing.roles import HasRole, Role, primary_role, user_roles

READ_ROLES = (Role.MARKETING, Role.MANAGER, Role.SALES)
WRITE_ROLES = (Role.MARKETING, Role.MANAGER)
PAGE_PARAMS = frozenset({"page", "page_size", "format"})
EVENTS_MAX_BYTES = 12 * 1024 * 1024  # a full batch of 1,000 events with the largest properties fits


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

    @extend_schema(summary="List leads", responses={200: LeadOut(many=True), 400: ErrorOut})
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
        responses={201: LeadDetailOut, 200: LeadDetailOut, 400: OpenApiResponse(description="A message per field.")},
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
        return Response(LeadDetailOut(lead).data, status=201 if created else 200)


class LeadDetailView(generics.RetrieveAPIView):
    """One lead with its score breakdown, stage history and why it qualified."""

    serializer_class = LeadDetailOut
    permission_classes = [IsAuthenticated, HasRole.of(*READ_ROLES)]

    def get_queryset(self) -> QuerySet[Lead]:
        return _lead_rows(self.request.user).select_related("last_campaign")


def events_validated(data: Any) -> list[EventIn]:
    """Validate one event or a batch as a whole: every bad item is named, or nothing is kept."""
    if isinstance(data, Mapping):
        serializer = EventItemIn(data=data)
        serializer.is_valid(raise_exception=True)
        return [serializer.to_event()]
    if not isinstance(data, list):
        raise ValidationError({"detail": "Send one event object or a list of them."})
    if not data:
        raise ValidationError({"detail": "The batch is empty: send at least one event."})
    if len(data) > EVENTS_BATCH_MAX:
        raise ValidationError(
            {"detail": f"A batch holds at most {EVENTS_BATCH_MAX} events; this one has {len(data)}. Split it."}
        )
    # One serializer validates every item: building one is most of the cost (its fields are
    # deep-copied per instance), and validation keeps no state between items. One `now` bounds
    # every item's time in the fast path.
    validator, now = EventItemIn(), timezone.now()
    events, errors = [], {}
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            errors[str(index)] = {"non_field_errors": ["Each event must be a JSON object."]}
            continue
        plain = EventItemIn.plainly_valid(item, now=now)
        if plain is not None:
            events.append(plain)
            continue
        try:
            events.append(EventItemIn.event_from(validator.run_validation(item)))
        except ValidationError as error:
            errors[str(index)] = error.detail
    if errors:
        raise ValidationError(
            {"detail": f"{len(errors)} of {len(data)} events are invalid; none was stored.", "items": errors}
        )
    return events


class EventsView(APIView):
    """Touchpoints from integrations, one at a time or in batches of up to 1,000."""

    permission_classes = [IsAuthenticated, HasRole.of(*WRITE_ROLES)]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Record events",
        description=(
            f"One event object or a list of at most {EVENTS_BATCH_MAX}. A batch is all or nothing: if any "
            'item is invalid the reply is 400 with the errors by index, `{"items": {"3": {"occurred_at": '
            '["…"]}}}`, and nothing is stored. A repeated idempotency_key is accepted and not stored again. '
            "An unknown email creates the lead. 201 when something new was stored, 200 when all were repeats."
        ),
        request=PolymorphicProxySerializer(
            component_name="EventOrBatch",
            serializers=[EventItemIn, EventItemIn(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: EventsResultOut,
            200: EventsResultOut,
            400: OpenApiResponse(description="Errors by field, or by item index for a batch."),
            413: OpenApiResponse(description=f"The body is larger than {EVENTS_MAX_BYTES} bytes."),
        },
    )
    def post(self, request: Request) -> Response:
        body_size_check(request, EVENTS_MAX_BYTES)
        events = events_validated(request.data)
        result = events_ingest(events=events)
        body = EventsResultOut(result).data
        return Response(body, status=201 if result.created or result.leads_created else 200)
