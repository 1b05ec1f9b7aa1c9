"""The load benches' own checks (bench/scenarios_load.py): the windows the soak compares, and
the SQL that counts double owners and duplicate leads, each shown a case it must catch."""

import pytest
from django.db import connection

from bench.scenarios_load import RACE_PREFIX, claim_checks, growth, race_counts
from leads.capture.services import lead_upsert_by_email
from leads.models import Lead
from leads.sales.queue import lead_claim_next
from tests.leads.sales.helpers import new_rep, pooled_lead, team_with


def test_soak_growth_leaves_out_the_warm_up_minute_and_compares_the_last():
    rss = [100, 100, 150, 150, 150, 150, 165, 165, 165]  # warm-up, then +10 % by the end
    connections = [1, 6, 4, 5, 4, 4, 5, 4, 4]
    samples = enumerate(zip(rss, connections, strict=True))
    series = [{"t": 30 * n, "rss": mb, "pg connections": c} for n, (mb, c) in samples]
    assert growth(series, "rss", minutes=4) == (150, 165)  # 60-119 s against 180-240 s
    assert growth(series, "pg connections", minutes=4) == (5, 5)  # the most in each, not the mean


def claimed_by_two_reps() -> tuple[list, list[int]]:
    first, second = new_rep("load-rep1"), new_rep("load-rep2")
    team_with("Load", first, second)
    pooled_lead(), pooled_lead()
    return [first, second], [lead_claim_next(rep=first).lead_id, lead_claim_next(rep=second).lead_id]


@pytest.mark.postgres
@pytest.mark.usefixtures("db")
def test_claim_checks_count_a_lead_that_replies_gave_to_two_reps():
    if connection.vendor != "postgresql":
        pytest.skip("the checks' SQL is PostgreSQL's (arrays)")
    reps, (lead1, lead2) = claimed_by_two_reps()
    honest = [("t1", lead1), ("t2", lead2)]
    assert claim_checks(reps, ["t1", "t2"], honest) == {
        "logged twice": 0,
        "given to two reps": 0,
        "owner differs": 0,
        "holder differs": 0,
        "owned": 2,
    }
    # A reply giving the first rep's lead to the second as well: two owners, which the tables contradict.
    checks = claim_checks(reps, ["t1", "t2"], [*honest, ("t2", lead1)])
    assert (checks["given to two reps"], checks["owner differs"], checks["holder differs"]) == (1, 1, 1)


@pytest.mark.postgres
@pytest.mark.usefixtures("db")
def test_race_counts_find_a_second_lead_stored_in_another_case():
    if connection.vendor != "postgresql":
        pytest.skip("the checks' SQL is PostgreSQL's")
    address = f"{RACE_PREFIX}0001@example.org"
    lead, _ = lead_upsert_by_email(email=address.upper(), attributes={}, touch={}, consent=False)
    assert lead.email == address
    counts = race_counts()
    assert (counts["leads"], counts["addresses"], counts["creation entries"], counts["score rows"]) == (1, 1, 1, 1)
    Lead.objects.create(email=address.upper())  # what a capture that did not case-fold would leave
    counts = race_counts()
    assert (counts["leads"], counts["addresses"], counts["creation entries"]) == (2, 1, 1)
