from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest, leads_ensure
from leads.models import Event, Lead, Stage, StageChange
from tests.concurrency import in_thread, ingest_held_open
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def event(email, key, *, when=None, event_type="page_viewed", lead=None, **properties):
    return EventIn(
        email=email,
        type=event_type,
        occurred_at=when or timezone.now(),
        idempotency_key=key,
        properties=properties,
        lead=lead or {},
    )


def test_unknown_email_creates_one_lead_normalized_with_its_history():
    result = events_ingest(events=[event("  Ana@Acme.IO ", "k1"), event("ana@acme.io", "k2")])
    assert (result.created, result.leads_created) == (2, 1)
    lead = Lead.objects.get()
    assert lead.email == "ana@acme.io" and lead.stage == Stage.LEAD
    assert list(StageChange.objects.values_list("from_stage", "to_stage")) == [("", "lead")]


def test_same_key_twice_in_one_batch_is_stored_once():
    result = events_ingest(events=[event("a@x.io", "dup"), event("a@x.io", "dup")])
    assert (result.created, result.duplicates, Event.objects.count()) == (1, 1, 1)


def test_known_fields_are_never_overwritten_but_blanks_are_filled():
    LeadFactory(email="bo@x.io", company="Acme", title="", company_size=None)
    ids, created = leads_ensure(
        {"bo@x.io": {"company": "Other", "title": "CTO", "company_size": "250", "country": "es"}}
    )
    assert created == set()
    lead = Lead.objects.get(email="bo@x.io")
    assert (lead.company, lead.title, lead.company_size, lead.country) == ("Acme", "CTO", 250, "ES")
    assert ids == {"bo@x.io": lead.pk}


def test_first_touch_is_kept_and_last_touch_moves_forward_only():
    campaign = CampaignFactory(utm_campaign="spring-webinar", channel="webinar")
    now = timezone.now()
    events_ingest(events=[event("cy@x.io", "a", when=now - timedelta(days=3), utm_source="google", utm_medium="cpc")])
    events_ingest(events=[event("cy@x.io", "b", when=now - timedelta(days=1), utm_campaign="spring-webinar")])
    events_ingest(events=[event("cy@x.io", "c", when=now - timedelta(days=2), utm_source="linkedin")])
    lead = Lead.objects.get(email="cy@x.io")
    assert lead.source == "google" and lead.first_touch["utm_medium"] == "cpc"
    assert lead.last_campaign == campaign and lead.last_source == "webinar"
    assert lead.last_touch["utm_campaign"] == "spring-webinar"
    assert Event.objects.get(idempotency_key="b").campaign == campaign


def test_one_batch_takes_first_touch_from_its_earliest_event_and_last_from_its_latest():
    known = LeadFactory(email="fa@x.io", source="seo")
    now = timezone.now()
    events_ingest(
        events=[
            event("fa@x.io", "late", when=now - timedelta(hours=1), utm_source="linkedin"),
            event("fa@x.io", "early", when=now - timedelta(days=2), utm_source="google"),
            event("fb@x.io", "late2", when=now - timedelta(hours=1), utm_source="linkedin"),
            event("fb@x.io", "early2", when=now - timedelta(days=2), utm_source="google"),
        ]
    )
    known.refresh_from_db()
    assert (known.source, known.last_source) == ("seo", "linkedin")  # a known first touch stays
    new = Lead.objects.get(email="fb@x.io")
    assert (new.source, new.first_touch["utm_source"], new.last_source) == ("google", "google", "linkedin")
    assert new.last_touch_at == now - timedelta(hours=1)
    assert new.scoring.last_touch_at == new.last_touch_at  # the copy the list sorts by


def test_a_new_lead_starts_with_the_touch_and_campaign_of_its_event():
    campaign = CampaignFactory(utm_campaign="autumn", channel="paid_social")
    events_ingest(events=[event("nu@x.io", "n1", utm_campaign="autumn")])
    lead = Lead.objects.get(email="nu@x.io")
    assert (lead.source, lead.first_campaign, lead.last_source, lead.last_campaign) == (
        "paid_social",
        campaign,
        "paid_social",
        campaign,
    )
    assert lead.first_touch == lead.last_touch == {"utm_campaign": "autumn", "at": lead.last_touch_at.isoformat()}
    assert lead.scoring.last_touch_at == lead.last_touch_at


def test_a_known_leads_new_touch_rewrites_its_row_heap_only():
    """No index covers a last-touch column, so PostgreSQL updates the row in place of its
    page without a new entry in any of its indexes (four of them trigram search)."""
    if connection.vendor != "postgresql":
        pytest.skip("heap-only updates are PostgreSQL's")
    events_ingest(events=[event("hot@x.io", "first", utm_source="ads")])  # created, first touch set

    def updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'leads_lead'")
            return cursor.fetchone()

    before = updates()
    events_ingest(events=[event("hot@x.io", "second", utm_source="mail", utm_campaign="autumn")])
    after = updates()
    assert Lead.objects.get(email="hot@x.io").last_touch["utm_source"] == "mail"
    assert after[0] - before[0] == 1  # the touch
    assert after[1] - before[1] == 1  # ... heap-only


def test_a_campaigns_events_are_read_through_its_index_which_skips_events_without_one():
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    campaign = CampaignFactory(utm_campaign="spring")
    events_ingest(events=[event("ca@x.io", "a", utm_campaign="spring"), event("ca@x.io", "b")])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Event.objects.filter(campaign=campaign, occurred_at__gte=timezone.now() - timedelta(days=30)).explain()
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'event_campaign_time'")
        definition = cursor.fetchone()[0]
    assert "event_campaign_time" in plan
    assert definition.endswith("WHERE (campaign_id IS NOT NULL)")
    assert Event.objects.filter(campaign=campaign).count() == 1


def test_events_without_touch_data_leave_source_empty():
    events_ingest(events=[event("di@x.io", "a")])
    assert Lead.objects.get(email="di@x.io").source == ""


def test_html_in_lead_fields_is_stored_as_given():
    events_ingest(events=[event("ed@x.io", "a", lead={"company": "<script>alert(1)</script>"})])
    assert Lead.objects.get(email="ed@x.io").company == "<script>alert(1)</script>"


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_leads_never_deadlock():
    import threading

    from django.db import connections

    from leads.models import ScoringRule

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is nothing to deadlock")
    ScoringRule.objects.create(name="Views", event_type="page_viewed", points=1)
    emails = [f"shared{n}@x.io" for n in range(60)]
    events_ingest(events=[event(email, f"seed-{email}") for email in emails])
    errors: list[Exception] = []

    def send(worker: int) -> None:
        order = emails if worker % 2 else list(reversed(emails))
        try:
            for round_ in range(3):
                batch = [event(email, f"w{worker}-r{round_}-{email}", utm_source=f"s{worker}") for email in order]
                events_ingest(events=batch)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Event.objects.count() == 60 + 6 * 3 * 60
    assert set(Lead.objects.values_list("scoring__score", flat=True)) == {1 + 18}


@pytest.mark.django_db(transaction=True)
def test_concurrent_resends_of_the_same_events_store_each_once_without_deadlock():
    """Events go in before the leads are locked, so resends of one batch meet on their
    idempotency keys first. Sent in opposite orders, each in two INSERTs of 500, they would
    each hold half the keys and wait for the other half (a deadlock) unless taken in one order."""
    import threading

    from leads.models import ScoringRule

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is nothing to deadlock")
    ScoringRule.objects.create(name="Views", event_type="page_viewed", points=1)
    emails = [f"resent{n}@x.io" for n in range(1_000)]
    events_ingest(events=[event(email, f"seed-{email}") for email in emails])  # known leads: no insert to queue on
    batch = [event(email, f"resend-{email}") for email in emails]
    start = threading.Barrier(4)

    def resend(order: list[EventIn]) -> None:
        start.wait(10)
        events_ingest(events=order)

    sending = [in_thread(lambda order=order: resend(order)) for order in (batch, batch[::-1]) * 2]
    for running in sending:
        running.join()
    assert [running.errors for running in sending] == [[]] * 4
    assert Event.objects.count() == 1_000 + 1_000
    assert set(Lead.objects.values_list("scoring__score", flat=True)) == {2}


@pytest.mark.django_db(transaction=True)
def test_a_rollup_rebuild_waits_for_a_capture_in_flight_and_counts_its_event():
    """A new rule is rebuilt while a capture that already scored by it has not committed.

    Without the rebuild holding capture off, its INSERT would clash with the capture's new
    rollup row (and fail the job), or replace it without the capture's event.
    """
    from leads.models import EngagementRollup, ScoringRule
    from leads.scoring import services as scoring

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    events_ingest(events=[event("ra@x.io", "old")])  # before the rule: no rollup
    rule = ScoringRule.objects.create(name="Views", event_type="page_viewed", points=3)
    with ingest_held_open([event("ra@x.io", "new")]):  # scores by the new rule, not committed yet
        rebuilding = in_thread(lambda: scoring.rollups_rebuild_many(rules=[rule]))
        assert not rebuilding.done.wait(1)  # held off by the capture in flight
    rebuilding.join()
    assert rebuilding.errors == []
    assert EngagementRollup.objects.get(rule=rule).value == pytest.approx(6)  # both events
