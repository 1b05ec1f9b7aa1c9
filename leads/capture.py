"""Capture forms: the builder's services, the hosted page and the public submission endpoint.

A marketer builds a CaptureForm; visitors fill it on our hosted page (`/f/<key>/`) or on
the marketer's own site through the embeddable snippet. Both post to
`/api/v1/capture/<key>/`, which:

1. answers 404 for an unknown or inactive key;
2. counts the post against a per-IP, per-form limit (CAPTURE_RATE_LIMIT a minute) → 429;
3. drops a post whose honeypot field is filled, with the same reply as a success;
4. reads only the form's own fields (plus email, the hidden UTM / referrer / referral
   fields and consent); anything else is ignored, in JSON and form-encoded posts alike;
5. records the submission through `lead_capture` (dedupe by email, form_submitted event).

The reply never says whether the address was already known (a public endpoint must not
let anyone probe the lead base): JSON `{"status": "received"}`, or for a browser a 303 to
the form's thank-you URL or our own thank-you page.

The API upsert (`lead_upsert_by_email`) lives here too: it is capture from an integration.
"""

import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from leads import qualification, scoring
from leads.ingest import TOUCH_KEYS, lead_capture, leads_ensure, touch_from, touch_source
from leads.models import FORM_KEY, LEAD_PROFILE_FIELDS, Campaign, CaptureForm, Event, Lead, normalize_email
from leads.serializers import CaptureResultOut, CaptureSubmissionIn

HONEYPOT_FIELD = "website_url"  # not a lead field: only bots fill a field people cannot see
CAPTURE_RATE_LIMIT_DEFAULT = 30  # submissions a minute, per IP and form
KEY_BYTES = 12
CAPTURE_MAX_BYTES = 64 * 1024  # a filled-in form is a few hundred bytes
LEAD_ATTRIBUTES = LEAD_PROFILE_FIELDS

# How each lead field is shown: label, input type, autocomplete token, max length.
FIELD_SPECS: dict[str, tuple[str, str, str, int | None]] = {
    "email": ("Email", "email", "email", 254),
    "first_name": ("First name", "text", "given-name", 100),
    "last_name": ("Last name", "text", "family-name", 100),
    "phone": ("Phone", "tel", "tel", 50),
    "company": ("Company", "text", "organization", 200),
    "title": ("Job title", "text", "organization-title", 200),
    "industry": ("Industry", "text", "off", 100),
    "company_size": ("Company size (employees)", "number", "off", None),
    "country": ("Country (two-letter code)", "text", "country", 2),
    "website": ("Website", "text", "url", 200),
}


# --- Builder services -------------------------------------------------------------------


def _shape(data: Mapping[str, Any]) -> dict[str, Any]:
    """Email first and always required; the other fields in the builder's order."""
    order = list(FIELD_SPECS)
    shown = sorted({"email", *data.get("fields", [])}, key=order.index)
    required = [name for name in shown if name == "email" or name in data.get("required_fields", [])]
    return {
        "name": data["name"],
        "campaign": data.get("campaign"),
        "fields": shown,
        "required_fields": required,
        "thank_you_url": data.get("thank_you_url", ""),
        "consent_text": data.get("consent_text", ""),
        "is_active": data.get("is_active", True),
    }


def capture_form_create(*, data: Mapping[str, Any], by: AbstractBaseUser) -> CaptureForm:
    with transaction.atomic():
        return CaptureForm.objects.create(key=secrets.token_urlsafe(KEY_BYTES), created_by=by, **_shape(data))


def capture_form_update(*, form: CaptureForm, data: Mapping[str, Any]) -> CaptureForm:
    """Change what a form shows; its key (and so every embedded copy) stays the same."""
    values = _shape(data)
    with transaction.atomic():
        for name, value in values.items():
            setattr(form, name, value)
        form.save(update_fields=list(values))
    return form


def capture_form_submissions(forms: Iterable[CaptureForm]) -> dict[str, int]:
    """form_submitted events per form key, in one query."""
    keys = [form.key for form in forms]
    if not keys:
        return {}
    rows = (
        Event.objects.annotate(form_key=FORM_KEY)
        .filter(type="form_submitted", form_key__in=keys)  # as the partial index on it reads
        .values("form_key")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["form_key"]: row["n"] for row in rows}


def field_rows(form: CaptureForm, values: Mapping[str, Any] | None = None, errors: Mapping | None = None) -> list:
    """The form's visible fields, as the hosted page and the snippet render them."""
    values, errors = values or {}, errors or {}
    rows = []
    for name in form.fields:
        if name not in FIELD_SPECS:
            continue
        label, input_type, autocomplete, max_length = FIELD_SPECS[name]
        rows.append(
            {
                "name": name,
                "label": label,
                "type": input_type,
                "autocomplete": autocomplete,
                "max_length": max_length,
                "required": name == "email" or name in form.required_fields,
                "value": values.get(name, ""),
                "errors": errors.get(name, []),
            }
        )
    return rows


def capture_form_snippet(*, form: CaptureForm, action_url: str) -> str:
    """The plain HTML a marketer pastes into their own site."""
    context = {
        "form": form,
        "action_url": action_url,
        "fields": field_rows(form),
        "touch_keys": TOUCH_KEYS,
        "honeypot": HONEYPOT_FIELD,
    }
    return render_to_string("leads/forms/embed_snippet.html", context).strip() + "\n"


# --- Capture services -------------------------------------------------------------------


def _first_touch_record(*, lead_id: int, touch: Mapping[str, Any]) -> None:
    """A lead created with UTM values starts its first and last touch from them."""
    campaign = None
    if touch.get("utm_campaign"):
        campaign = Campaign.objects.filter(utm_campaign=touch["utm_campaign"]).first()
    now = timezone.now()
    facts = touch_from(dict(touch), campaign)
    source = touch_source(facts, campaign.channel if campaign else "")
    facts["at"] = now.isoformat()
    Lead.objects.filter(pk=lead_id, source="").update(
        source=source,
        first_campaign=campaign,
        first_touch=facts,
        last_source=source,
        last_campaign=campaign,
        last_touch=facts,
        last_touch_at=now,
        updated_at=now,
    )


def lead_upsert_by_email(
    *, email: str, attributes: Mapping[str, Any], touch: Mapping[str, Any], consent: bool
) -> tuple[Lead, bool]:
    """Create the lead for this address, or fill its blank fields; returns (lead, created).

    Known values are never overwritten (the same rule as forms and event batches), consent
    is only ever granted here, and the lead is rescored and requalified at once.
    """
    address = normalize_email(email)
    given = {k: v for k, v in attributes.items() if k in LEAD_ATTRIBUTES and v not in (None, "")}
    with transaction.atomic():
        ids, created = leads_ensure({address: given})
        lead_id = ids[address]
        if address in created and any(touch.get(key) for key in TOUCH_KEYS):
            _first_touch_record(lead_id=lead_id, touch=touch)
        if consent:
            now = timezone.now()
            Lead.objects.filter(pk=lead_id, consent=False).update(consent=True, consent_at=now, updated_at=now)
        scoring.leads_rescore(lead_ids=[lead_id])
        qualification.leads_qualify(lead_ids=[lead_id])
    return Lead.objects.get(pk=lead_id), address in created


def capture_submit(*, form: CaptureForm, data: Mapping[str, Any]) -> int:
    """Record one validated submission of a form; returns the lead's id."""
    attributes = {k: v for k, v in data.items() if k in LEAD_ATTRIBUTES and v not in (None, "")}
    touch = {k: data[k] for k in TOUCH_KEYS if data.get(k)}
    lead_id, _ = lead_capture(
        form=form,
        data={"email": data["email"], **attributes},
        touch=touch,
        consent=bool(data.get("consent")),
    )
    return lead_id


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


def capture_rate_limited(*, form_key: str, ident: str) -> bool:
    """Count this post in the current minute's window; True once the limit is passed."""
    limit = getattr(settings, "CAPTURE_RATE_LIMIT", CAPTURE_RATE_LIMIT_DEFAULT)
    window = int(time.time() // 60)
    digest = hashlib.sha256(f"{form_key}|{ident}".encode()).hexdigest()[:32]
    key = f"capture-rate:{digest}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # the entry expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count > limit


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


# --- Pages ------------------------------------------------------------------------------


def active_form(key: str) -> CaptureForm:
    """The active form with this key, or 404. A raw query: it starts every public post, and
    building it through the ORM cost several times running it. A form's campaign, when it
    has one, is read only if it is used."""
    found = CaptureForm.objects.raw("SELECT * FROM leads_captureform WHERE key = %s AND is_active", [key])
    form = next(iter(found), None)
    if form is None:
        raise Http404("No active form has this key.")
    return form


def _touch_values(source: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(source.get(key, ""))[:200] for key in TOUCH_KEYS}


def _page(
    request: HttpRequest, form: CaptureForm, *, values: Mapping, errors: Mapping, status: int, notice: str = ""
) -> HttpResponse:
    context = {
        "form": form,
        "fields": field_rows(form, values, errors),
        "touch": _touch_values(values),
        "consent_checked": str(values.get("consent", "")).lower() in ("on", "true", "1"),
        "consent_errors": errors.get("consent", []),
        "non_field_errors": errors.get("non_field_errors", []),
        "notice": notice,
        "honeypot": HONEYPOT_FIELD,
        "action_url": reverse("api-capture", args=[form.key]),
    }
    return render(request, "leads/capture/page.html", context, status=status)


def hosted_form(request: HttpRequest, key: str) -> HttpResponse:
    """The public form page; UTM and referral values in the query string ride along hidden."""
    form = active_form(key)
    return _page(request, form, values=request.GET, errors={}, status=200)


def thanks(request: HttpRequest, key: str) -> HttpResponse:
    form = active_form(key)
    return render(request, "leads/capture/thanks.html", {"form": form})


# --- Endpoint ---------------------------------------------------------------------------


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
