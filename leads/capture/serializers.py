"""API serializers: what comes in (`…In`, validation only) and what goes out (`…Out`), kept apart.

Input serializers only check shapes and bounds and hand plain data to a service; output
serializers only describe rows. Text is stored and returned exactly as sent (never
stripped of markup): pages escape it when they render it.
"""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from leads.capture.campaigns import MONEY_DIGITS, MONEY_PLACES, NAME_MAX, NOTE_MAX, UTM_MAX
from leads.capture.ingest import TOUCH_KEYS, EventIn
from leads.models import EVENT_TYPE_PATTERN, LEAD_TEXT_FIELDS, Campaign, CampaignCost, CaptureForm, Channel, Lead
from smarketing.lib import sql

EVENTS_BATCH_MAX = 1_000


PROPERTIES_MAX_BYTES = 8_192


PROPERTIES_MAX_DEPTH = 5


FUTURE_TOLERANCE = timedelta(days=1)


# Earlier than this is a client bug, and year-1 times overflow when shifted to UTC.
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)


COUNTRY_PATTERN = re.compile(r"^[A-Za-z]{2}$")


COMPANY_SIZE_MAX = 10_000_000


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class LeadAttributesIn(serializers.Serializer):
    """Contact and company facts. On a known lead they fill blank fields and never overwrite."""

    # The text fields come from the one declaration of a lead's fields, at the model's lengths.
    company_size = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=COMPANY_SIZE_MAX, help_text="Employees."
    )
    country = _text(2, help_text="ISO 3166 alpha-2 code, e.g. ES.")

    def get_fields(self) -> dict[str, serializers.Field]:
        texts = {name: _text(Lead._meta.get_field(name).max_length) for name in LEAD_TEXT_FIELDS}
        return texts | super().get_fields()

    def validate_country(self, value: str) -> str:
        if value and not COUNTRY_PATTERN.match(value):
            raise serializers.ValidationError("Use the two-letter ISO code, e.g. ES or MX.")
        return value.upper()


class TouchIn(serializers.Serializer):
    """Where the lead came from: UTM values, the referring page and a referral code."""

    utm_source = _text(200)
    utm_medium = _text(200)
    utm_campaign = _text(200)
    utm_term = _text(200)
    utm_content = _text(200)
    referrer = _text(200)
    referral_code = _text(200)


class LeadUpsertIn(LeadAttributesIn, TouchIn):
    email = serializers.EmailField(max_length=254, help_text="Matched trimmed and case-folded.")
    consent = serializers.BooleanField(
        required=False, default=False, help_text="True records marketing consent; false never withdraws it."
    )


class StrictDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its zone (a naive time is refused, not guessed)."""

    default_error_messages = {
        "naive": "Give the time zone, e.g. 2026-03-01T10:00:00Z or +01:00.",
        "invalid": "Use ISO 8601 with a time zone, e.g. 2026-03-01T10:00:00Z.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if timezone.is_naive(parsed):
            self.fail("naive")
        return parsed


PLAIN_TEXT = ("idempotency_key", "email", "type", "occurred_at")


PLAIN_KEYS = {*PLAIN_TEXT, "properties"}


EVENT_TYPE_RE = re.compile(EVENT_TYPE_PATTERN)


def _plain_text(value: Any, max_length: int) -> bool:
    """Text DRF's CharField keeps exactly as it is: a non-empty ASCII str without padding or NUL."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value.isascii()
        and value == value.strip()
        and "\x00" not in value
    )


class EventItemIn(serializers.Serializer):
    idempotency_key = serializers.CharField(
        max_length=200, help_text="Your unique id for this event: the same key sent again is stored once."
    )
    email = serializers.EmailField(max_length=254, help_text="The lead's email; an unknown one creates the lead.")
    type = serializers.RegexField(
        EVENT_TYPE_PATTERN,
        max_length=64,
        help_text="e.g. page_viewed, webinar_attended, trial_started: lower case, digits, _ . -",
        error_messages={"invalid": "Use lower-case letters, digits, _ . or - (at most 64), e.g. page_viewed."},
    )
    occurred_at = StrictDateTimeField(help_text="When it happened, ISO 8601 with a time zone.")
    properties = serializers.JSONField(
        required=False, default=dict, help_text=f"An object, at most {PROPERTIES_MAX_BYTES} bytes as JSON."
    )
    lead = LeadAttributesIn(required=False, help_text="Facts to fill on the lead's blank fields.")

    def validate_occurred_at(self, value: datetime) -> datetime:
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError("This is more than a day in the future; send the real time.")
        if value < EARLIEST_EVENT:
            raise serializers.ValidationError("This is before the year 2000; send the real time.")
        return value

    def validate_properties(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError('Properties must be a JSON object, e.g. {"page": "/pricing"}.')
        if len(json.dumps(value)) > PROPERTIES_MAX_BYTES:
            raise serializers.ValidationError(f"Properties are larger than {PROPERTIES_MAX_BYTES} bytes.")
        problem = sql.json_problem(value, max_depth=PROPERTIES_MAX_DEPTH)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def to_event(self) -> EventIn:
        return self.event_from(self.validated_data)

    @staticmethod
    def plainly_valid(item: Mapping[str, Any], *, now: datetime | None = None) -> EventIn | None:
        """The event, when the item is the plain case DRF would accept unchanged; else None.

        A batch of 1,000 spends most of its validation time in DRF's generic machinery
        (its fields, validators and error plumbing per value). Items as integrations send
        them (ASCII text without padding, no lead facts) are checked here with the same
        rules; anything else, valid or not, goes through `run_validation`, which says what
        is wrong. A test checks that both agree on generated items. A batch passes its `now`.
        """
        if not item.keys() <= PLAIN_KEYS:  # lead facts (or anything unknown): DRF decides
            return None
        key, email, event_type, occurred_at = (item.get(name) for name in PLAIN_TEXT)
        properties = item.get("properties", {})
        if not (
            _plain_text(key, 200)
            and _plain_text(email, 254)
            and _plain_text(event_type, 64)
            and EVENT_TYPE_RE.match(event_type)
            and _plain_text(occurred_at, 64)
            and isinstance(properties, dict)
        ):
            return None
        try:
            validate_email(email)
            when = parse_datetime(occurred_at)
        except (DjangoValidationError, ValueError):
            return None
        latest = (now or timezone.now()) + FUTURE_TOLERANCE
        if when is None or timezone.is_naive(when) or not EARLIEST_EVENT <= when <= latest:
            return None
        too_big = properties and len(json.dumps(properties)) > PROPERTIES_MAX_BYTES
        if too_big or sql.json_problem(properties, max_depth=PROPERTIES_MAX_DEPTH):
            return None
        return EventIn(email=email, type=event_type, occurred_at=when, idempotency_key=key, properties=properties)

    @staticmethod
    def event_from(data: dict[str, Any]) -> EventIn:
        return EventIn(
            email=data["email"],
            type=data["type"],
            occurred_at=data["occurred_at"],
            idempotency_key=data["idempotency_key"],
            properties=data.get("properties") or {},
            lead=dict(data.get("lead") or {}),
        )


class CaptureSubmissionIn(LeadAttributesIn, TouchIn):
    """One form submission. Only the form's own fields are read; everything else is ignored.

    Pass the form as `context={"form": capture_form}`: fields the form does not show are
    dropped, and its required fields become required.
    """

    email = serializers.EmailField(max_length=254)
    consent = serializers.BooleanField(required=False, default=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form: CaptureForm | None = self.context.get("form")
        if form is None:
            return
        shown = {"email", *form.fields, *TOUCH_KEYS}
        if form.consent_text:
            shown.add("consent")
        for name in list(self.fields):
            if name not in shown:
                del self.fields[name]
        for name in form.required_fields:
            if name in self.fields:
                field = self.fields[name]
                field.required, field.allow_blank = True, False
                field.error_messages["blank"] = field.error_messages["required"]


class EventsResultOut(serializers.Serializer):
    created = serializers.IntegerField(help_text="Events stored now.")
    duplicates = serializers.IntegerField(help_text="Events whose idempotency key was already stored.")
    leads_created = serializers.IntegerField(help_text="Leads created for unknown emails.")
    erased = serializers.IntegerField(
        help_text="Events dropped, not stored: their address was erased at its owner's request and may "
        "not be captured again."
    )


class CaptureResultOut(serializers.Serializer):
    status = serializers.CharField(
        help_text="Always 'received': a public reply never says whether the address was already known."
    )


# --- Campaigns and their costs ----------------------------------------------------------------
# Shapes and bounds only; the rules (unique names and utm_campaign, dates) are the services'.


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        min_value=0,
        help_text=f"In {settings.CURRENCY}, to the cent.",
        **kwargs,
    )


def _utm(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(max_length=UTM_MAX, required=False, allow_blank=True, default="", help_text=help_text)


class CampaignIn(serializers.Serializer):
    """A new campaign; sent with PATCH, only the fields given change."""

    name = serializers.CharField(
        max_length=NAME_MAX,
        help_text="Unique, ignoring case.",
        error_messages={"blank": "Give the campaign a name.", "required": "Give the campaign a name."},
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    utm_source = _utm()
    utm_medium = _utm()
    utm_campaign = _utm(
        "Events and form posts carrying exactly this value are credited to this campaign; one campaign per value."
    )
    utm_term = _utm()
    utm_content = _utm()
    budget = _money(required=False, allow_null=True, default=None)
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)
    ends_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="Not before starts_on.")


class CampaignQueryIn(serializers.Serializer):
    search = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="In the name, utm_campaign or utm_source."
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)


class CampaignOut(serializers.ModelSerializer):
    spend = serializers.DecimalField(
        max_digits=20, decimal_places=MONEY_PLACES, read_only=True, help_text="The sum of its costs."
    )
    leads = serializers.IntegerField(read_only=True, help_text="Leads whose first touch was this campaign.")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "budget",
            "starts_on",
            "ends_on",
            "spend",
            "leads",
            "created_by",
            "created_at",
        ]


class CampaignCostIn(serializers.Serializer):
    incurred_on = serializers.DateField(help_text="The day the money was spent; at most a day ahead of today.")
    amount = _money()
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class CampaignCostOut(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = CampaignCost
        fields = ["id", "campaign", "incurred_on", "amount", "note", "created_by", "created_at"]
