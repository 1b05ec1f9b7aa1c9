"""Rows and id lists sent to the database in one parameter (PostgreSQL) or as lists (SQLite)."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection

from leads.capture.ingest import insert_returning, rows_insert
from leads.models import Event, Stage, StageChange
from smarketing.lib import sql
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

AWKWARD = ["plain@x.io", 'quote"in@x.io', "back\\slash@x.io", "comma,brace{}@x.io", "ünï@x.io", "it's@x.io"]


def test_any_of_finds_values_whatever_characters_they_hold():
    leads = [LeadFactory(email=email) for email in AWKWARD]
    LeadFactory(email="other@x.io")
    condition, params = sql.any_of("email", AWKWARD, "text")
    with connection.cursor() as cursor:
        sql.execute_prepared(cursor, f"SELECT id FROM leads_lead WHERE {condition} ORDER BY id", params)
        found = [row[0] for row in cursor.fetchall()]
    assert found == [lead.id for lead in leads]


def test_any_of_ids_keeps_one_statement_text_for_any_number_of_ids():
    leads = [LeadFactory() for _ in range(3)]
    one, one_params = sql.any_of("id", [leads[0].id])
    two, _ = sql.any_of("id", [lead.id for lead in leads[:2]])
    three, params = sql.any_of("id", [lead.id for lead in leads])
    if connection.vendor == "postgresql":
        assert two == three
    assert (one, one_params) == ("id = %s", [leads[0].id])  # planned as one row, not as an array
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM leads_lead WHERE {three}", params)
        assert cursor.fetchone()[0] == 3


def test_values_cte_carries_json_times_nulls_and_text_as_given():
    moment = datetime(2026, 12, 6, 10, 30, 15, 123456, tzinfo=UTC)
    columns = [
        ("id", "bigint"),
        ("note", "text"),
        ("data", "jsonb"),
        ("at", "timestamptz"),
        ("share", "double precision"),
    ]
    rows = [
        (1, 'say "hi" \\ <b>', {"utm_source": "ads", "nested": {"n": [1, 2]}}, sql.db_datetime(moment), 0.125),
        (2, None, None, None, None),
    ]
    cte, params = sql.values_cte("v", columns, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"{cte} SELECT id, note, data, at, share FROM v ORDER BY id", params)
        got = cursor.fetchall()
    assert [row[0] for row in got] == [1, 2]
    assert got[0][1] == 'say "hi" \\ <b>'
    data = got[0][2]
    assert (data if isinstance(data, dict) else json.loads(data)) == rows[0][2]
    assert got[0][4] == 0.125
    assert got[1][1:] == (None, None, None, None)
    at = got[0][3]
    if isinstance(at, str):  # SQLite hands the stored text back
        at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    assert at == moment  # microseconds kept


def test_rows_inserted_keep_every_value_and_defaults_fill_the_rest():
    lead = LeadFactory()
    moment = datetime(2026, 12, 6, 9, 0, 0, 654321, tzinfo=UTC)
    properties = {"utm_source": "ads", "text": 'a "quoted" \\ value', "score": 1.5, "ok": True, "none": None}
    stored = insert_returning(
        Event,
        [
            {
                "lead_id": lead.id,
                "type": "page_viewed",
                "occurred_at": moment,
                "properties": properties,
                "idempotency_key": "k1",
            },
            {"lead_id": lead.id, "type": "email_opened", "occurred_at": moment, "idempotency_key": "k2"},
        ],
        conflict="idempotency_key",
        returning="idempotency_key",
    )
    assert sorted(row["idempotency_key"] for row in stored) == ["k1", "k2"]
    first = Event.objects.get(idempotency_key="k1")
    assert (first.type, first.occurred_at, first.properties, first.campaign_id) == (
        "page_viewed",
        moment,
        properties,
        None,
    )
    assert Event.objects.get(idempotency_key="k2").properties == {}  # the field's default
    again = insert_returning(
        Event,
        [{"lead_id": lead.id, "type": "page_viewed", "occurred_at": moment, "idempotency_key": "k1"}],
        conflict="idempotency_key",
        returning="idempotency_key",
    )
    assert again == []  # the clash is skipped, not stored twice

    rows_insert(StageChange, [{"lead_id": lead.id, "from_stage": "", "to_stage": Stage.MQL, "changed_at": moment}])
    change = StageChange.objects.get(lead=lead, to_stage=Stage.MQL)
    assert (change.changed_at, change.matched_rules) == (moment, [])


def test_an_insert_refuses_a_conflict_or_returned_name_that_is_not_a_column_of_the_model():
    moment = datetime(2026, 12, 6, tzinfo=UTC)
    row = {"lead_id": 1, "type": "page_viewed", "occurred_at": moment, "idempotency_key": "k"}
    with pytest.raises(ValueError, match="Not a column"):
        insert_returning(Event, [row], conflict="idempotency_key) DO NOTHING; --", returning="id")
    with pytest.raises(ValueError, match="Not a column"):
        insert_returning(Event, [row], conflict="idempotency_key", returning="password")
    assert not Event.objects.exists()
