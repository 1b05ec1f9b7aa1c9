"""Capture's writes: capture forms (the builder's services and the embeddable snippet), a
visitor's submission, the API's upsert by email, and the per-IP rate limit of public posts.

A marketer builds a CaptureForm; visitors fill it on our hosted page (`/f/<key>/`) or on the
marketer's own site through the snippet; both post to the public endpoint (leads.capture.api).
"""

import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from leads.capture.ingest import TOUCH_KEYS, lead_capture, leads_ensure, touch_from, touch_source
from leads.models import (
    LEAD_FIELDS,
    LEAD_PROFILE_FIELDS,
    Campaign,
    CaptureForm,
    ErasedAddress,
    Lead,
    normalize_email,
)
from leads.models.privacy import ERASED_REFUSAL
from leads.qualification import services as qualification
from leads.scoring import services as scoring
from smarketing.lib.api import Refused

HONEYPOT_FIELD = "website_url"  # not a lead field: only bots fill a field people cannot see


CAPTURE_RATE_LIMIT_DEFAULT = 30  # submissions a minute, per IP and form


KEY_BYTES = 12


# How a form shows each field: label, input type, autocomplete token, max length.
FIELD_SPECS: dict[str, tuple[str, str, str, int | None]] = {
    "email": ("Email", "email", "email", 254),
    **{
        f.name: (f.form_label, f.input_type, f.autocomplete, Lead._meta.get_field(f.name).max_length)
        for f in LEAD_FIELDS
    },
}


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
    return render_to_string("leads/capture/forms/embed_snippet.html", context).strip() + "\n"


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
    if ErasedAddress.objects.among([address]):
        raise Refused(ERASED_REFUSAL, field="email")
    given = {k: v for k, v in attributes.items() if k in LEAD_PROFILE_FIELDS and v not in (None, "")}
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


def capture_submit(*, form: CaptureForm, data: Mapping[str, Any]) -> int | None:
    """Record one validated submission of a form; returns the lead's id (None: the address was
    erased, and the submission is dropped without saying so to whoever posted it)."""
    attributes = {k: v for k, v in data.items() if k in LEAD_PROFILE_FIELDS and v not in (None, "")}
    touch = {k: data[k] for k in TOUCH_KEYS if data.get(k)}
    lead_id, _ = lead_capture(
        form=form,
        data={"email": data["email"], **attributes},
        touch=touch,
        consent=bool(data.get("consent")),
    )
    return lead_id


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
