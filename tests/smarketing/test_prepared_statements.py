from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from smarketing.lib import sql

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite runs the statement as it is")


def prepared_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return cursor.fetchone()[0]


def run(statement: str, params: list) -> list:
    with connection.cursor() as cursor:
        sql.execute_prepared(cursor, statement, params)
        return cursor.fetchall()


def test_a_statement_is_prepared_once_and_then_executed_with_each_runs_values():
    statement = "SELECT %s + 1, jsonb_build_object(%s, %s), %s::date, '100%%'"
    moment = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    before = prepared_count()
    first = run(statement, [1, "fit", 40, moment])
    second = run(statement, [41, "rule", 2, moment])
    assert first == [(2, '{"fit": 40}', moment.date(), "100%")]  # Django reads jsonb as text
    assert second == [(42, '{"rule": 2}', moment.date(), "100%")]
    assert prepared_count() == before + 1


def test_a_statement_without_values_prepares_too():
    before = prepared_count()
    assert run("SELECT 6 * 7", []) == [(42,)]
    assert run("SELECT 6 * 7", []) == [(42,)]
    assert prepared_count() == before + 1


def test_a_rollback_keeps_what_was_prepared():
    before = prepared_count()
    with transaction.atomic():
        run("SELECT %s * 2", [3])
        transaction.set_rollback(True)
    assert run("SELECT %s * 2", [4]) == [(8,)]
    assert prepared_count() == before + 1


def test_a_none_value_runs_the_statement_unprepared():
    before = prepared_count()
    assert run("SELECT COALESCE(%s, 7)", [None]) == [(7,)]
    assert prepared_count() == before


def test_a_connection_drops_them_all_past_the_limit(monkeypatch):
    monkeypatch.setattr(sql, "PREPARED_MAX", 3)
    connection.cursor().execute("DEALLOCATE ALL")
    connection._smk_prepared = set()
    for n in range(4):
        assert run(f"SELECT %s + {n}", [1]) == [(1 + n,)]
    assert prepared_count() == 1  # the fourth, after the first three were dropped


def test_a_statement_with_very_many_values_runs_unprepared(monkeypatch):
    monkeypatch.setattr(sql, "PREPARED_PARAMS_MAX", 2)
    before = prepared_count()
    assert run("SELECT %s + %s + %s", [1, 2, 3]) == [(6,)]
    assert prepared_count() == before
