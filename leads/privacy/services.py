"""Erasing a lead at its owner's request: the person goes, the figures stay.

What goes: the address and names, phone, job title, company and website; free text people
wrote about the lead (activity and stage notes, deal names and notes, assignment notes,
notifications); event properties other than the ones scores and attribution read; the
referrer URL of its touches; the copies of merged leads; each app's own copies (playbooks:
its emails' addresses and bodies) through the parts they register (leads.privacy.selectors).

What stays: the lead row with its id, stage, industry, company size and country, its scores,
events (types and times), stage history, handoff, deals' amounts and outcomes, campaign
credit, list memberships — so every report's totals are the same after as before.

The address is kept only as a keyed hash (leads.models.privacy), which every capture path and
the email rules check, so the person is neither captured nor emailed again.
"""

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from leads.capture.ingest import TOUCH_KEYS
from leads.models import (
    Activity,
    AssignmentLog,
    Deal,
    DealChange,
    ErasedAddress,
    Event,
    Lead,
    LeadErasure,
    LeadMerge,
    Notification,
    ScoringRule,
    StageChange,
)
from leads.models.privacy import ERASED_DOMAIN, address_digest, erased_placeholder
from leads.privacy.selectors import lead_data_parts
from leads.sales.notifications import lead_url

# The lead's personal fields: who the person is and how to reach them. Industry, company size
# and country describe the market, not the person, and personas, win/loss and ROI group by them.
PERSONAL_FIELDS = ("first_name", "last_name", "phone", "title", "company", "website")

# Touch and event properties that hold no one's words: campaign codes and which form it was.
KEPT_TOUCH_KEYS = tuple(key for key in TOUCH_KEYS if key.startswith("utm_")) + ("campaign", "at")
KEPT_EVENT_KEYS = (*KEPT_TOUCH_KEYS, "form")

ERASED_TEXT = "(erased)"
WON_REASON = "Deal won: "  # leads.sales.deals.deal_win's, followed by the deal's name


def lead_erase(*, lead: Lead, by: AbstractBaseUser | None) -> tuple[LeadErasure, bool]:
    """Erase the lead's personal data and suppress its addresses; returns (erasure, done now).

    Erasing again changes nothing and returns the first erasure. Steps, in one transaction:
    1. lock the lead, so a capture filling its blanks waits and then finds the address gone;
    2. suppress the address and those of leads merged into it (their hashes);
    3. scrub the lead row, then each kind of row that may hold the person's data;
    4. each app's registered part scrubs its own rows;
    5. record who erased it, when, and how many rows of each kind were scrubbed.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        earlier = LeadErasure.objects.filter(lead=lead).first()
        if earlier is not None:
            return earlier, False
        addresses = _addresses(lead)
        erasure = LeadErasure.objects.create(lead=lead, erased_by=by, erased_at=timezone.now())
        ErasedAddress.objects.bulk_create(
            [ErasedAddress(digest=address_digest(address), erasure=erasure) for address in addresses],
            ignore_conflicts=True,  # an address merged in and erased before
        )
        counts = _lead_scrub(lead) | _rows_scrub(lead)
        for part in lead_data_parts():
            counts |= part.erase(lead, addresses=addresses)
        erasure.counts = counts
        erasure.save(update_fields=["counts"])
    return erasure, True


def _addresses(lead: Lead) -> list[str]:
    merged = LeadMerge.objects.filter(survivor=lead).values_list("merged_email", flat=True)
    found = {lead.email, *merged}
    return sorted(address for address in found if address and not address.endswith("@" + ERASED_DOMAIN))


def _lead_scrub(lead: Lead) -> dict[str, int]:
    for name in PERSONAL_FIELDS:
        setattr(lead, name, "")
    lead.email = erased_placeholder(lead.pk)
    lead.first_touch = _kept(lead.first_touch, KEPT_TOUCH_KEYS)
    lead.last_touch = _kept(lead.last_touch, KEPT_TOUCH_KEYS)
    lead.save(update_fields=["email", *PERSONAL_FIELDS, "first_touch", "last_touch", "updated_at"])
    return {"lead": 1}


def _kept(values: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key in keys} if isinstance(values, dict) else {}


def _rows_scrub(lead: Lead) -> dict[str, int]:
    deals = Deal.objects.filter(lead=lead)
    return {
        "events": _events_scrub(lead),
        "stage_changes": _stage_changes_scrub(lead),
        "activities": Activity.objects.filter(lead=lead).update(note="", outcome=""),
        "assignments": AssignmentLog.objects.filter(lead=lead).exclude(note="").update(note=""),
        "deals": deals.update(name=f"Deal of erased lead {lead.pk}", lost_note=""),
        "deal_changes": _deal_changes_scrub(deals),
        "merges": LeadMerge.objects.filter(survivor=lead).update(
            merged_email=Concat(Value("erased-merged-"), Cast("id", CharField()), Value("@" + ERASED_DOMAIN)),
            snapshot={},
        ),
        "notifications": Notification.objects.filter(url=lead_url(lead.pk)).update(
            text="A lead whose personal data was erased."
        ),
        "admin_log": LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Lead), object_id=str(lead.pk)
        ).update(object_repr=ERASED_TEXT, change_message=""),
    }


def _events_scrub(lead: Lead) -> int:
    """Keep what scores and attribution read (campaign codes, the form, and the property values
    scoring rules test, which marketing wrote, not the person); drop everything else. A client's
    idempotency key may embed the address, so each becomes the event's id."""
    rule_pairs = {
        (key, repr(value))
        for rule_filter in ScoringRule.objects.exclude(property_filter={}).values_list("property_filter", flat=True)
        for key, value in (rule_filter or {}).items()
    }
    events = list(Event.objects.filter(lead=lead).only("id", "properties"))
    for event in events:
        properties = event.properties if isinstance(event.properties, dict) else {}
        event.properties = {
            key: value
            for key, value in properties.items()
            if key in KEPT_EVENT_KEYS or (key, repr(value)) in rule_pairs
        }
    Event.objects.bulk_update(events, ["properties"], batch_size=500)
    Event.objects.filter(lead=lead).update(
        idempotency_key=Concat(Value("erased-"), Cast("id", CharField())),
    )
    return len(events)


def _stage_changes_scrub(lead: Lead) -> int:
    """Notes go; reasons stay (win/loss groups by them), but a won deal's carries the deal's name."""
    changes = StageChange.objects.filter(lead=lead)
    changes.filter(reason__startswith=WON_REASON).update(reason=WON_REASON.rstrip(": "))
    return changes.exclude(note="").update(note="")


def _deal_changes_scrub(deals: Any) -> int:
    """A deal's change log keeps what moved (stage, amount) but not its old names or notes."""
    changes = list(DealChange.objects.filter(deal__in=deals))
    for change in changes:
        change.note = ""
        if isinstance(change.changes, dict) and "name" in change.changes:
            change.changes = {**change.changes, "name": [ERASED_TEXT, ERASED_TEXT]}
    DealChange.objects.bulk_update(changes, ["note", "changes"], batch_size=500)
    return len(changes)
