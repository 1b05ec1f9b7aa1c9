"""The capture API (under /api/v1/): the public form endpoint and the events endpoint.

The public endpoint (`/api/v1/capture/<key>/`), for the hosted page and marketers' own sites:
1. answers 404 for an unknown or inactive key;
2. counts the post against a per-IP, per-form limit (CAPTURE_RATE_LIMIT a minute) → 429;
3. drops a post whose honeypot field is filled, with the same reply as a success;
4. reads only the form's own fields (plus email, the hidden UTM / referrer / referral
   fields and consent); anything else is ignored, in JSON and form-encoded posts alike;
5. records the submission through `capture_submit` (dedupe by email, form_submitted event).
The reply never says whether the address was already known (a public endpoint must not let
anyone probe the lead base): JSON `{"status": "received"}`, or for a browser a 303 to the
form's thank-you URL or our own thank-you page.

`/api/v1/events/` takes one event or a batch from an integration with a token (Marketing
or Managers): all or nothing, each event stored once by its idempotency key.

`/api/v1/campaigns/` and a campaign's `costs/`: Marketing and Managers list, create and change
them, as on the pages; Sales is refused (403), as on the pages. A service's refusal by field
becomes a 400 with the same messages the pages show.
"""

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from leads.capture import campaigns
from leads.capture.ingest import EventIn, events_ingest
from leads.capture.selectors import active_form, campaign_costs, campaign_with_figures, campaigns_with_figures
from leads.capture.serializers import (
    EVENTS_BATCH_MAX,
    CampaignCostIn,
    CampaignCostOut,
    CampaignIn,
    CampaignOut,
    CampaignQueryIn,
    CaptureResultOut,
    CaptureSubmissionIn,
    EventItemIn,
    EventsResultOut,
)
from leads.capture.services import HONEYPOT_FIELD, capture_rate_limited, capture_submit
from leads.capture.views import _page
from leads.models import Campaign, CampaignCost, CaptureForm
from smarketing.lib.api import ERRORS, NOT_FOUND, REFUSED, Pages, paginated, refusals_as_400, roles, valid
from smarketing.roles import HasRole, Role

CAPTURE_MAX_BYTES = 64 * 1024  # a filled-in form is a few hundred bytes


_validators: dict[tuple[Any, ...], CaptureSubmissionIn] = {}


def submission_validator(form: CaptureForm) -> CaptureSubmissionIn:
    """A serializer for this form's shape, built once per process: building one deep-copies its
    fields, which cost more than validating a submission. Validation keeps no state."""
    shape = (form.pk, tuple(form.fields), tuple(form.required_fields), bool(form.consent_text))
    validator = _validators.get(shape)
    if validator is None:
        if len(_validators) > 1_000:  # forms edited many times over in one process
            _validators.clear()
        validator = _validators[shape] = CaptureSubmissionIn(context={"form": form})
    return validator


def client_ip(request: HttpRequest) -> str:
    """The caller's address; X-Forwarded-For is trusted only behind NUM_PROXIES known proxies."""
    proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def body_size_check(request: Request, limit: int) -> None:
    """Refuse an oversize body before it is read: DRF's parsers do not apply Django's upload limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {limit}.")


def _wants_json(request: Request) -> bool:
    return "json" in (request.content_type or "") or "application/json" in request.META.get("HTTP_ACCEPT", "")


class CaptureView(APIView):
    """Public form submissions: no token, no CSRF (other sites post here), rate-limited."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A browser that asks only for text/html still gets our redirect, never a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        request=CaptureSubmissionIn,
        responses={
            200: CaptureResultOut,
            303: OpenApiResponse(description="A browser post: redirect to the thank-you page."),
            400: OpenApiResponse(description="A message per field."),
            404: OpenApiResponse(description="No active form has this key."),
            413: OpenApiResponse(description=f"The body is larger than {CAPTURE_MAX_BYTES} bytes."),
            429: OpenApiResponse(description="Too many submissions from this address; try again in a minute."),
        },
        auth=[],
        summary="Submit a capture form (public)",
    )
    def post(self, request: Request, form_key: str) -> HttpResponse:
        form = active_form(form_key)
        wants_json = _wants_json(request)
        if capture_rate_limited(form_key=form.key, ident=client_ip(request)):
            return self._too_many(request, form, wants_json)
        body_size_check(request, CAPTURE_MAX_BYTES)
        data = request.data
        if not isinstance(data, Mapping):
            return Response({"detail": "Send the form's fields as one JSON object."}, status=400)
        if data.get(HONEYPOT_FIELD):
            return self._received(form, wants_json)
        try:
            validated = submission_validator(form).run_validation(data)
        except ValidationError as error:
            if wants_json:
                return Response(error.detail, status=400)
            return _page(request, form, values=data, errors=error.detail, status=400)
        capture_submit(form=form, data=validated)
        return self._received(form, wants_json)

    def _received(self, form: CaptureForm, wants_json: bool) -> HttpResponse:
        if wants_json:
            return Response(CaptureResultOut({"status": "received"}).data)
        target = form.thank_you_url or reverse("capture-thanks", args=[form.key])
        return HttpResponseRedirect(target, status=303)

    def _too_many(self, request: Request, form: CaptureForm, wants_json: bool) -> HttpResponse:
        message = "Too many submissions from your address. Wait a minute, then send the form again."
        if wants_json:
            return Response({"detail": message}, status=429, headers={"Retry-After": "60"})
        # The body is not even read: the visitor's values are not shown again.
        response = _page(request, form, values={}, errors={}, status=429, notice=message)
        response["Retry-After"] = "60"
        return response


WRITE_ROLES = (Role.MARKETING, Role.MANAGER)  # who may post leads and events
EVENTS_MAX_BYTES = 12 * 1024 * 1024  # a full batch of 1,000 events with the largest properties fits


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
            "An unknown email creates the lead. An address erased at its owner's request is dropped, counted "
            "in `erased`, and creates nothing. 201 when something new was stored, 200 when all were repeats."
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


CAMPAIGN_ROLES = (Role.MARKETING, Role.MANAGER)  # as on the pages (leads.capture.views)


class CampaignsView(APIView):
    permission_classes = roles(*CAMPAIGN_ROLES)
    pagination_class = Pages  # read by the schema, which then shows the page envelope

    @extend_schema(
        summary="List campaigns",
        description="By name, each with its spend (the sum of its costs) and its first-touch leads.",
        parameters=[CampaignQueryIn],
        responses={200: CampaignOut(many=True), 400: ERRORS, 403: REFUSED},
    )
    def get(self, request: Request) -> Response:
        query = valid(CampaignQueryIn, request.query_params)
        rows = campaigns_with_figures(search=query.get("search", ""), channel=query.get("channel", ""))
        return paginated(self, request, rows, CampaignOut)

    @extend_schema(
        summary="Create a campaign",
        request=CampaignIn,
        responses={201: CampaignOut, 400: ERRORS, 403: REFUSED},
    )
    def post(self, request: Request) -> Response:
        data = valid(CampaignIn, request.data)
        with refusals_as_400():
            campaign = campaigns.campaign_create(by=request.user, **data)
        return Response(CampaignOut(campaign_with_figures(campaign.pk)).data, status=201)


class CampaignDetailView(APIView):
    permission_classes = roles(*CAMPAIGN_ROLES)

    @extend_schema(summary="One campaign", responses={200: CampaignOut, 403: REFUSED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        return Response(CampaignOut(campaign_with_figures(pk)).data)

    @extend_schema(
        summary="Change a campaign",
        description="Only the fields sent change. A new utm_campaign credits the events that arrive from now on.",
        request=CampaignIn,
        responses={200: CampaignOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def patch(self, request: Request, pk: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=pk)
        changes = CampaignIn(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        with refusals_as_400():
            campaigns.campaign_update(campaign=campaign, by=request.user, **changes.validated_data)
        return Response(CampaignOut(campaign_with_figures(pk)).data)


class CampaignCostsView(APIView):
    permission_classes = roles(*CAMPAIGN_ROLES)
    pagination_class = Pages

    @extend_schema(
        summary="A campaign's costs",
        description="Newest day first.",
        responses={200: CampaignCostOut(many=True), 403: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        return paginated(self, request, campaign_costs(get_object_or_404(Campaign, pk=pk)), CampaignCostOut)

    @extend_schema(
        summary="Add a cost",
        description="Money spent on the campaign on a day (an invoice, a day of ad spend); its spend grows by it.",
        request=CampaignCostIn,
        responses={201: CampaignCostOut, 400: ERRORS, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=pk)
        data = valid(CampaignCostIn, request.data)
        with refusals_as_400():
            cost = campaigns.campaign_cost_add(campaign=campaign, by=request.user, **data)
        return Response(CampaignCostOut(cost).data, status=201)


class CampaignCostDetailView(APIView):
    permission_classes = roles(*CAMPAIGN_ROLES)

    @extend_schema(
        summary="Remove a cost",
        description="A cost entered by mistake; the campaign's spend drops by it.",
        responses={204: None, 403: REFUSED, 404: NOT_FOUND},
    )
    def delete(self, request: Request, pk: int, cost_pk: int) -> Response:
        cost = get_object_or_404(CampaignCost, pk=cost_pk, campaign_id=pk)
        campaigns.campaign_cost_remove(cost=cost, by=request.user)
        return Response(status=204)
