"""The stage history and its readers: every move recorded once, every reader given each move once."""

import threading

import pytest
from django.db import connection, transaction

from leads.history import lead_change_stage, leads_move_stage, stage_changes_follow
from leads.models import ChangeSource, HistoryReader, Lead, Stage, StageChange
from tests.concurrency import in_thread
from tests.factories import LeadFactory


def collect(reader: str = "test.reader", batch: int = 1_000) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    stage_changes_follow(
        reader=reader, handle=lambda changes: seen.extend((c.lead_id, c.to_stage) for c in changes), batch=batch
    )
    return seen


@pytest.mark.django_db
def test_a_reader_is_given_each_move_once_oldest_first_in_batches():
    leads = LeadFactory.create_batch(3, stage=Stage.LEAD)
    for lead in leads:
        lead_change_stage(lead=lead, to_stage=Stage.MQL)
    lead_change_stage(lead=leads[0], to_stage=Stage.SQL)
    batches: list[int] = []

    given = stage_changes_follow(reader="test.reader", handle=lambda changes: batches.append(len(changes)), batch=2)

    assert given == 4 and batches == [2, 2]
    assert collect() == []  # nothing twice
    lead_change_stage(lead=leads[1], to_stage=Stage.DISQUALIFIED)
    assert collect() == [(leads[1].pk, Stage.DISQUALIFIED)]


@pytest.mark.django_db
def test_a_new_reader_starts_at_the_beginning_and_readers_keep_their_own_places():
    lead = LeadFactory(stage=Stage.LEAD)
    lead_change_stage(lead=lead, to_stage=Stage.MQL)
    assert collect("first") == [(lead.pk, Stage.MQL)]
    lead_change_stage(lead=lead, to_stage=Stage.SQL)
    assert collect("second") == [(lead.pk, Stage.MQL), (lead.pk, Stage.SQL)]
    assert collect("first") == [(lead.pk, Stage.SQL)]


@pytest.mark.django_db
def test_a_batch_whose_handler_fails_is_given_again():
    lead = LeadFactory(stage=Stage.LEAD)
    lead_change_stage(lead=lead, to_stage=Stage.MQL)

    def fail(changes: list[StageChange]) -> None:
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        stage_changes_follow(reader="test.reader", handle=fail)

    assert not HistoryReader.objects.filter(name="test.reader", last_id__gt=0).exists()  # its place did not move
    assert collect() == [(lead.pk, Stage.MQL)]


@pytest.mark.django_db
def test_a_bulk_move_moves_only_the_leads_still_at_the_stage_and_records_each():
    at_lead = LeadFactory.create_batch(2, stage=Stage.LEAD)
    elsewhere = LeadFactory(stage=Stage.DISQUALIFIED)

    moved = leads_move_stage(
        lead_ids=[*(lead.pk for lead in at_lead), elsewhere.pk],
        from_stage=Stage.LEAD,
        to_stage=Stage.MQL,
        source=ChangeSource.RULE,
        definition_version=3,
        matched_rules={at_lead[0].pk: ["has event webinar_attended"]},
    )

    assert sorted(moved) == sorted(lead.pk for lead in at_lead)
    assert set(Lead.objects.filter(stage=Stage.MQL).values_list("pk", flat=True)) == set(moved)
    assert Lead.objects.get(pk=at_lead[0].pk).qualified_version == 3
    change = StageChange.objects.get(lead=at_lead[0], to_stage=Stage.MQL)
    assert change.source == ChangeSource.RULE and change.matched_rules == ["has event webinar_attended"]
    assert not StageChange.objects.filter(lead=elsewhere).exists()


@pytest.mark.django_db(transaction=True)
def test_a_move_that_commits_after_a_later_one_is_not_skipped():
    """Ids are taken in one order and committed in another: the reader waits for the first."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so ids follow commit order")
    early, late = LeadFactory(stage=Stage.LEAD), LeadFactory(stage=Stage.LEAD)
    moved, release = threading.Event(), threading.Event()

    def move_and_wait() -> None:
        with transaction.atomic():
            lead_change_stage(lead=Lead.objects.get(pk=early.pk), to_stage=Stage.MQL)  # the lower id
            moved.set()
            release.wait(10)

    running = in_thread(move_and_wait)
    assert moved.wait(10), running.errors
    lead_change_stage(lead=late, to_stage=Stage.MQL)  # a higher id, committed first

    assert collect() == []  # the open transaction could still commit behind it: wait

    release.set()
    running.join()
    assert running.errors == []
    ids = {change.lead_id: change.pk for change in StageChange.objects.filter(to_stage=Stage.MQL)}
    assert ids[early.pk] < ids[late.pk]  # taken in this order, committed in the other
    assert collect() == [(early.pk, Stage.MQL), (late.pk, Stage.MQL)]
