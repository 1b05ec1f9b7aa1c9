"""Capture: leads and events arriving from forms, the API and imports.

Every path ends in the same steps, in one transaction:
1. make sure each email has its lead (INSERT … ON CONFLICT DO NOTHING: identical submits
   arriving at once make one lead, whoever wins); a new lead starts with its first and
   last touch from UTM, referrer and campaign;
2. store the events, skipping idempotency keys already seen (ON CONFLICT DO NOTHING
   RETURNING tells which rows are new, so a resend adds no points);
3. lock the known leads in id order, fill their blank fields and record their touches;
4. add the new events' points to the score rollups, rescore and requalify the touched leads.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from leads.capture import sql as capture_sql
from leads.models import (
    LEAD_TEXT_FIELDS,
    Campaign,
    ChangeSource,
    ErasedAddress,
    Event,
    Lead,
    LeadScore,
    Stage,
    StageChange,
    normalize_email,
)
from leads.qualification import services as qualification
from leads.scoring import services as scoring
from smarketing.lib import sql

TOUCH_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "referral_code")


INSERT_CHUNK = 500


@dataclass
class EventIn:
    """One validated event (serializers and forms build these)."""

    email: str
    type: str
    occurred_at: datetime
    idempotency_key: str
    properties: dict[str, Any] = field(default_factory=dict)
    lead: dict[str, Any] = field(default_factory=dict)  # attributes to fill on the lead


@dataclass
class IngestResult:
    created: int = 0
    duplicates: int = 0
    leads_created: int = 0
    lead_ids: dict[str, int] = field(default_factory=dict)
    event_ids: dict[str, int] = field(default_factory=dict)
    erased: int = 0  # events dropped: their address was erased at its owner's request


def _not_erased(events: list[EventIn], result: IngestResult) -> list[EventIn]:
    """The events whose address was never erased; the others are counted and dropped, so an
    erased person is not captured again by any path that ends here."""
    erased = ErasedAddress.objects.among({event.email for event in events})
    if not erased:
        return events
    kept = [event for event in events if normalize_email(event.email) not in erased]
    result.erased = len(events) - len(kept)
    return kept


def events_ingest(*, events: list[EventIn], qualify: bool = True) -> IngestResult:
    """Store a batch of events all or nothing, creating leads for unknown emails."""
    result = IngestResult()
    events = _not_erased(events, result) if events else events
    if not events:
        return result
    # No savepoint when called inside a transaction: a failure undoes the caller's work too.
    with transaction.atomic(savepoint=False):
        # The decay moment (waits out a decay or rollup rebuild) and the rules it applies.
        decayed_at, book = scoring.capture_state()
        lead_data: dict[str, dict[str, Any]] = {}
        for event in events:
            lead_data.setdefault(normalize_email(event.email), {}).update(
                {k: v for k, v in event.lead.items() if v not in (None, "")}
            )
        campaigns, channels = _campaigns_by_utm(events)
        # A new lead is inserted with its touch (updating the fresh row would index it twice).
        by_email = [(normalize_email(e.email), e.properties, _campaign_of(e, campaigns), e.occurred_at) for e in events]
        result.lead_ids, created_emails = leads_find_or_create(lead_data, _lead_touches(by_email, channels))
        result.leads_created = len(created_emails)
        received = timezone.now()
        rows = [_event_row(event, result.lead_ids, campaigns, received) for event in events]
        # New event rows clash with no one (a repeated key just waits for its first sender), so
        # they go in before the leads are locked: the locks are held for as short a time as can be.
        stored = _events_insert(rows)
        known = _known_leads_claim(result.lead_ids, created_emails, lead_data)
        result.event_ids = stored
        result.created = len(stored)
        result.duplicates = len(events) - len(stored)
        new_rows = [row for row in rows if row["idempotency_key"] in stored]
        known_ids = set(known.values())
        by_lead = [(r["lead_id"], r["properties"], r["campaign_id"], r["occurred_at"]) for r in new_rows]
        touched = _touches_record(_lead_touches([row for row in by_lead if row[0] in known_ids], channels))
        scored = scoring.rollups_add_events(
            events=[(r["lead_id"], r["type"], r["occurred_at"], r["properties"]) for r in new_rows],
            book=book,
            decayed_at=decayed_at,
        )
        created_ids = {result.lead_ids[email] for email in created_emails}
        # Touched leads too: the rescore keeps the score row's copy of the last touch.
        if scored | created_ids | touched:
            scoring.leads_rescore(lead_ids=scored | created_ids | touched, book=book)
        with_news = {row["lead_id"] for row in new_rows} | created_ids
        if qualify and with_news and book.definition is not None:
            qualification.leads_qualify(lead_ids=with_news, definition=book.definition)
    return result


def leads_ensure(lead_data: dict[str, dict[str, Any]]) -> tuple[dict[str, int], set[str]]:
    """Ids for these (normalized) emails, creating the missing leads; returns (ids, created emails).

    Known leads are locked (`leads_lock`) and get their blank fields filled, never overwritten.
    Erased addresses get no lead and no id: callers refuse them first, with their own message.
    """
    erased = ErasedAddress.objects.among(lead_data)
    lead_data = {email: data for email, data in lead_data.items() if email not in erased}
    ids, created = leads_find_or_create(lead_data)
    _known_leads_claim(ids, created, lead_data)
    return ids, created


def _known_leads_claim(ids: dict[str, int], created: set[str], lead_data: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Lock the leads that existed before (`leads_lock`) and fill their blank fields; returns
    their ids by email. Leads created in this transaction need no lock: nobody else sees them."""
    known = {email: lead_id for email, lead_id in ids.items() if email not in created}
    leads_lock(known.values())
    _fill_blanks({lead_id: lead_data[email] for email, lead_id in known.items()})
    return known


def leads_find_or_create(
    lead_data: dict[str, dict[str, Any]], touches: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, int], set[str]]:
    """Ids for these (normalized) emails, creating the missing leads; returns (ids, created emails).

    Most emails are usually known, so they are looked up first and only the rest are inserted
    (ON CONFLICT covers a lead created by someone else meanwhile). A new lead starts with its
    touch columns from `touches` (`_lead_touches`, by email). Known leads are neither locked
    nor changed; leads created here are invisible to others until the transaction commits.
    """
    now, touches = timezone.now(), touches or {}
    ids = _lead_ids(list(lead_data))
    # Sorted, so two batches inserting the same new emails wait on each other in one order.
    rows = [
        {**_new_lead_row(email, lead_data[email], now), **touches.get(email, {})}
        for email in sorted(lead_data)
        if email not in ids
    ]
    inserted = insert_returning(Lead, rows, conflict="email", returning="email")
    created = {row["email"]: row["id"] for row in inserted}
    if created:
        history = {"from_stage": "", "to_stage": Stage.LEAD, "changed_at": now, "source": ChangeSource.SYSTEM}
        rows_insert(StageChange, [{"lead_id": lead_id, **history} for lead_id in created.values()])
        scores = [
            {"lead_id": lead_id, "created_at": now, "last_touch_at": touches.get(email, {}).get("last_touch_at")}
            for email, lead_id in created.items()
        ]
        rows_insert(LeadScore, scores)
    ids.update(_lead_ids([row["email"] for row in rows if row["email"] not in created]))  # lost a race
    ids.update(created)
    return ids, set(created)


def _lead_ids(emails: list[str]) -> dict[str, int]:
    """The ids of the leads with these (normalized) emails that exist."""
    ids: dict[str, int] = {}
    with connection.cursor() as cursor:
        for chunk in sql.chunked(emails, INSERT_CHUNK):
            statement, params = capture_sql.lead_ids(chunk)
            sql.execute_prepared(cursor, *sql.bind(statement, **params))
            ids.update(cursor.fetchall())
    return ids


def leads_lock(lead_ids: Iterable[int]) -> None:
    """Lock the batch's leads in id order before changing them or their rollups.

    Concurrent batches touching the same leads then queue behind each other instead of each
    holding some rows the other needs (a deadlock). SQLite runs one writer at a time anyway.
    """
    if not sql.is_postgres():
        return
    ids = sorted(set(lead_ids))
    with connection.cursor() as cursor:
        for chunk in sql.chunked(ids, INSERT_CHUNK * 4):
            statement, params = capture_sql.leads_lock(chunk)
            sql.execute_prepared(cursor, *sql.bind(statement, **params))


def _lead_attributes(data: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {k: str(v)[:200] for k, v in data.items() if k in LEAD_TEXT_FIELDS and v != ""}
    if data.get("country"):
        attributes["country"] = str(data["country"])[:2].upper()
    if data.get("company_size") not in (None, ""):
        attributes["company_size"] = int(data["company_size"])
    return attributes


def _new_lead_row(email: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "email": email,
        "stage": Stage.LEAD,
        "created_at": now,
        "updated_at": now,
        "stage_changed_at": now,
        **_lead_attributes(data),
    }


def _fill_blanks(data_by_id: dict[int, dict[str, Any]]) -> int:
    """Fill known (and locked) leads' blank fields from new data, one UPDATE per chunk of leads."""
    now = timezone.now()
    rows = []
    for lead_id, data in data_by_id.items():
        attributes = _lead_attributes(data)
        if attributes:
            rows.append((lead_id, *[attributes.get(name) for name, _ in capture_sql.FILL_COLUMNS]))
    changed = 0
    for chunk in sql.chunked(rows, INSERT_CHUNK):
        statement, params = capture_sql.fill_blanks(chunk)
        with connection.cursor() as cursor:
            sql.execute_prepared(cursor, *sql.bind(statement, now=sql.db_datetime(now), **params))
            changed += cursor.rowcount
    return changed


def insert_returning(
    model: type[models.Model], rows: list[dict[str, Any]], *, conflict: str, returning: str
) -> list[dict]:
    """INSERT rows, skipping those that clash on `conflict`; returns id and `returning` of new rows.

    Unlike bulk_create(ignore_conflicts=True) this says which rows were inserted, on
    PostgreSQL and on SQLite alike.
    """
    out = []
    with connection.cursor() as cursor:
        for chunk in sql.chunked(rows, INSERT_CHUNK):
            statement, params = capture_sql.insert_new(model, chunk, conflict=conflict, returning=returning)
            sql.execute_prepared(cursor, *sql.bind(statement, **params))
            out.extend({"id": row_id, returning: key} for row_id, key in cursor.fetchall())
    return out


def rows_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """INSERT rows as they are: bulk_create without building a model object for each."""
    with connection.cursor() as cursor:
        for chunk in sql.chunked(rows, INSERT_CHUNK):
            statement, params = capture_sql.insert(model, chunk)
            sql.execute_prepared(cursor, *sql.bind(statement, **params))


def _campaigns_by_utm(events: list[EventIn]) -> tuple[dict[str, int], dict[int, str]]:
    """The campaigns the events' utm_campaign values name: (id by utm_campaign, channel by id)."""
    names = {str(e.properties.get("utm_campaign")) for e in events if e.properties.get("utm_campaign")}
    if not names:
        return {}, {}
    found = Campaign.objects.filter(utm_campaign__in=names).values_list("utm_campaign", "id", "channel")
    return {utm: pk for utm, pk, _ in found}, {pk: channel for _, pk, channel in found}


def _campaign_of(event: EventIn, campaigns: dict[str, int]) -> int | None:
    return campaigns.get(str(event.properties.get("utm_campaign", "")))


def _event_row(
    event: EventIn, lead_ids: dict[str, int], campaigns: dict[str, int], received: datetime
) -> dict[str, Any]:
    return {
        "lead_id": lead_ids[normalize_email(event.email)],
        "type": event.type,
        "occurred_at": event.occurred_at,
        "received_at": received,
        "campaign_id": _campaign_of(event, campaigns),
        "properties": event.properties,
        "idempotency_key": event.idempotency_key,
    }


def _events_insert(rows: list[dict[str, Any]]) -> dict[str, int]:
    # The same key twice inside one batch is stored once, like a resend. In key order: two
    # resends of the same events wait for each other's keys in one order, never crosswise.
    unique = sorted({row["idempotency_key"]: row for row in rows}.values(), key=lambda row: row["idempotency_key"])
    stored = insert_returning(Event, unique, conflict="idempotency_key", returning="idempotency_key")
    return {row["idempotency_key"]: row["id"] for row in stored}


def touch_from(properties: dict[str, Any], campaign: Campaign | None = None) -> dict[str, Any]:
    """The attribution facts an event carries (UTM, referrer, referral code), or {}."""
    touch = {key: str(properties[key])[:200] for key in TOUCH_KEYS if properties.get(key)}
    if campaign is not None:
        touch["campaign"] = campaign.name
    return touch


def touch_source(touch: dict[str, Any], campaign_channel: str = "") -> str:
    if touch.get("utm_source"):
        return touch["utm_source"][:100]
    if campaign_channel:
        return campaign_channel
    if touch.get("referral_code"):
        return "referral"
    if touch.get("referrer"):
        return "referral"
    return "direct"


def _lead_touches(
    rows: Iterable[tuple[Any, dict[str, Any], int | None, datetime]], channels: dict[int, str]
) -> dict[Any, dict[str, Any]]:
    """Each lead's first and last touch, as its columns, from the events that carry one.

    `rows` are (lead, properties, campaign id, occurred at), the lead named however the
    caller knows it (its email before it exists, its id after); `channels` by campaign id.
    """
    latest: dict[Any, tuple[datetime, int | None, dict[str, Any]]] = {}
    earliest: dict[Any, tuple[datetime, int | None, dict[str, Any]]] = {}
    for lead, properties, campaign_id, occurred_at in rows:
        touch = touch_from(properties)
        if not touch and not campaign_id:
            continue
        entry = (occurred_at, campaign_id, {**touch, "at": occurred_at.isoformat()})
        if lead not in latest or occurred_at > latest[lead][0]:
            latest[lead] = entry
        if lead not in earliest or occurred_at < earliest[lead][0]:
            earliest[lead] = entry
    columns = {}
    for lead, (at, campaign_id, touch) in latest.items():
        _, first_campaign_id, first_touch = earliest[lead]  # the same event when it has one touch
        columns[lead] = {
            "source": touch_source(first_touch, channels.get(first_campaign_id, "")),
            "first_campaign_id": first_campaign_id,
            "first_touch": first_touch,
            "last_source": touch_source(touch, channels.get(campaign_id, "")),
            "last_campaign_id": campaign_id,
            "last_touch": touch,
            "last_touch_at": at,
        }
    return columns


def _touch_values(columns: dict[str, Any]) -> list[Any]:
    """A lead's touch columns as `sql.values_cte` takes them: times for the database."""
    return [
        sql.db_datetime(columns[name]) if kind == "timestamptz" else columns[name]
        for name, kind in capture_sql.TOUCH_COLUMNS
    ]


def _touches_record(touches: dict[int, dict[str, Any]]) -> set[int]:
    """Record known leads' touches (`_lead_touches`, by id): the first touch fills an empty
    source, the last one moves forward in time only. Returns the leads given.

    One UPDATE per chunk of leads sets both, so a lead's wide row is rewritten once. A
    known lead's source is kept as it is and no last-touch column is indexed, so for it
    that rewrite is heap-only (HOT): none of the row's indexes takes a new entry.
    """
    if not touches:
        return set()
    touch_rows = [(lead_id, *_touch_values(columns)) for lead_id, columns in touches.items()]
    now = sql.db_datetime(timezone.now())
    with connection.cursor() as cursor:
        for chunk in sql.chunked(touch_rows, INSERT_CHUNK):
            statement, params = capture_sql.touches_record(chunk)
            sql.execute_prepared(cursor, *sql.bind(statement, now=now, **params))
    return set(touches)


def lead_capture(*, form: Any, data: dict[str, Any], touch: dict[str, Any], consent: bool) -> tuple[int | None, bool]:
    """A form submission: the lead (created or filled in), consent, and a form_submitted event.

    Returns (lead id, created); (None, False) when the address was erased, and nothing is kept.
    The public endpoint answers the same whatever happened, so nothing here reads the lead back.
    """
    properties = {"form": form.key, **{k: v for k, v in touch.items() if v}}
    if form.campaign_id and not properties.get("utm_campaign") and form.campaign.utm_campaign:
        properties["utm_campaign"] = form.campaign.utm_campaign
    event = EventIn(
        email=data["email"],
        type="form_submitted",
        occurred_at=timezone.now(),
        idempotency_key=f"form-{form.key}-{uuid.uuid4().hex}",
        properties=properties,
        lead=data,
    )
    with transaction.atomic():
        result = events_ingest(events=[event])
        if result.erased:
            return None, False
        lead_id = result.lead_ids[normalize_email(data["email"])]
        if form.campaign_id:  # credit the form's campaign when no touch named one
            Lead.objects.filter(pk=lead_id, first_campaign__isnull=True, source__in=("", "direct")).update(
                first_campaign_id=form.campaign_id
            )
        if consent:  # only ever granted here, and its moment kept
            now = timezone.now()
            Lead.objects.filter(pk=lead_id, consent=False).update(consent=True, consent_at=now, updated_at=now)
    return lead_id, result.leads_created > 0
