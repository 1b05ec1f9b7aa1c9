"""What a count over every lead (a segment's size, a backtest) leans on in PostgreSQL: the event
index that carries each event's lead, and statistics on the expressions conditions compare."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.conditions import NUMERIC_FIELDS, condition_sql
from leads.models import LEAD_ATTRIBUTE_FIELDS
from leads.qualification.sql import compile_tree
from smarketing.lib import sql
from tests.factories import EventFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_a_has_event_leaf_over_every_lead_reads_the_type_index_that_carries_the_lead():
    if connection.vendor != "postgresql":
        pytest.skip("INCLUDE columns and plans are PostgreSQL's")
    now = timezone.now()
    for lead in LeadFactory.create_batch(3):
        EventFactory(lead=lead, type="webinar_attended", occurred_at=now - timedelta(days=3))
    compiled = compile_tree({"op": "has_event", "event": "webinar_attended", "within_days": 90}, as_of=now, name="t")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'leads_event' AND left(indexname, 10) = 'event_type'"
        )
        definitions = [row[0] for row in cursor.fetchall()]
        # Over every lead, not one by one: a join on the events of the type and time range.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            *sql.bind(f"EXPLAIN SELECT COUNT(*) FROM leads_lead l WHERE {compiled.condition}", **compiled.params)
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert len(definitions) == 1
    assert definitions[0].endswith("(type, occurred_at) INCLUDE (lead_id)")
    assert "event_type_time_lead" in plan


def test_every_text_attribute_has_statistics_on_the_expression_conditions_compare():
    """Without them PostgreSQL guesses how many leads a condition holds for (about 150 where
    71,000 do at a million leads) and pages a segment's members through a plan meant for a handful.
    A statistics object serves only its own expression: a field added to the attributes, or a
    change to how `condition_sql` writes the comparison, needs statistics of its own."""
    if connection.vendor != "postgresql":
        pytest.skip("expression statistics are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT unnest(pg_get_statisticsobjdef_expressions(oid)) FROM pg_statistic_ext "
            "WHERE stxrelid = 'leads_lead'::regclass"
        )
        covered = {row[0] for row in cursor.fetchall()}
        compared = {}
        for field in sorted(set(LEAD_ATTRIBUTE_FIELDS) - NUMERIC_FIELDS):
            text, _ = condition_sql({"field": field, "op": "present"}, vendor="postgresql", alias="l")
            # As PostgreSQL reads it back: the expression conditions compare, less the alias.
            expression = text.removesuffix(" <> ''")
            cursor.execute(f"EXPLAIN (VERBOSE, COSTS OFF) SELECT {expression} FROM leads_lead l")
            output = next(row[0] for row in cursor.fetchall() if row[0].strip().startswith("Output:"))
            compared[field] = re.sub(r"\bl\.", "", output.split("Output:", 1)[1].strip())
    assert {field: expression for field, expression in compared.items() if expression not in covered} == {}
