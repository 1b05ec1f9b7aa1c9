"""Two reps never get the same lead: 50 reps claim at once, each on its own connection.

PostgreSQL only: there, claims really run in parallel and `FOR UPDATE SKIP LOCKED` is what
keeps them apart. SQLite runs one writer at a time, so there is no race to lose.
"""

import threading
from collections import Counter

import pytest
from django.db import connection

from conftest import make_user
from leads.models import AssignmentLog, Handoff, HandoffStatus, Lead, LeadScore, RepProfile, Stage
from leads.sales.assignment import leads_hand_off
from leads.sales.queue import lead_claim_next
from smarketing.roles import Role

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"),
]

REPS = 50
LEADS = 1_000


def pool_of(count: int) -> None:
    leads = Lead.objects.bulk_create(
        [Lead(email=f"race{i}@example.com", stage=Stage.MQL) for i in range(count)], batch_size=1_000
    )
    LeadScore.objects.bulk_create([LeadScore(lead=lead, score=i % 100) for i, lead in enumerate(leads)])
    leads_hand_off(lead_ids=list(Lead.objects.values_list("pk", flat=True)), stage=Stage.MQL)


def claim_until_empty(rep: object, start: threading.Barrier, claimed: list[int], errors: list[BaseException]) -> None:
    try:
        start.wait()
        while (handoff := lead_claim_next(rep=rep)) is not None:
            claimed.append(handoff.lead_id)
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)
    finally:
        connection.close()  # each thread had its own connection


def test_fifty_reps_claiming_a_thousand_leads_at_once_each_get_different_ones():
    reps = [make_user(f"racer{i}", Role.SALES) for i in range(REPS)]
    RepProfile.objects.bulk_create([RepProfile(user=rep, capacity=LEADS) for rep in reps])
    pool_of(LEADS)
    assert Handoff.objects.filter(status=HandoffStatus.POOLED).count() == LEADS

    start = threading.Barrier(REPS)
    claimed: dict[int, list[int]] = {rep.pk: [] for rep in reps}
    errors: list[BaseException] = []
    threads = [threading.Thread(target=claim_until_empty, args=(rep, start, claimed[rep.pk], errors)) for rep in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    every_claim = [lead_id for ids in claimed.values() for lead_id in ids]
    assert len(every_claim) == LEADS
    assert Counter(every_claim).most_common(1)[0][1] == 1  # no lead twice
    assert set(every_claim) == set(Lead.objects.values_list("pk", flat=True))
    # The database agrees: each lead is held by the rep who claimed it, once.
    holders = dict(Handoff.objects.values_list("lead_id", "assigned_to_id"))
    assert all(holders[lead_id] == rep_id for rep_id, ids in claimed.items() for lead_id in ids)
    assert dict(Lead.objects.values_list("pk", "owner_id")) == holders
    assert AssignmentLog.objects.filter(action=AssignmentLog.Action.CLAIMED).count() == LEADS
    assert sum(1 for ids in claimed.values() if ids) > 1  # they really raced
