"""Statements bound by name: the values follow the text, whatever order they are given in."""

import pytest
from django.db import connection

from smarketing.lib import sql

pytestmark = pytest.mark.django_db


def test_named_values_are_bound_in_the_order_the_text_names_them():
    text, values = sql.bind("SELECT %(second)s, %(first)s, %(third)s", first=1, third=3, second=2)
    assert text == "SELECT %s, %s, %s"
    assert values == [2, 1, 3]


def test_a_name_used_twice_gets_its_value_at_each_place():
    text, values = sql.bind("SELECT %(id)s WHERE a = %(at)s OR b = %(id)s", id=7, at="now")
    assert (text, values) == ("SELECT %s WHERE a = %s OR b = %s", [7, "now", 7])
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind("SELECT %(n)s + %(n)s * %(m)s", n=2, m=10))
        assert cursor.fetchone()[0] == 22


def test_a_name_without_a_value_is_refused_with_its_name():
    with pytest.raises(ValueError, match=r"%\(rep\)s"):
        sql.bind("UPDATE t SET owner = %(rep)s WHERE id = %(lead)s", lead=1)


def test_names_the_text_does_not_use_are_ignored():
    assert sql.bind("SELECT %(a)s", a=1, b=2) == ("SELECT %s", [1])


def test_a_percent_sign_stays_escaped_and_a_positional_placeholder_is_refused():
    assert sql.bind("SELECT '100%%', %(a)s", a=1) == ("SELECT '100%%', %s", [1])
    with pytest.raises(ValueError, match="positional"):
        sql.bind("SELECT %(a)s, %s", a=1)


def test_a_fragment_s_values_are_named_in_their_order_and_bound_where_it_sits():
    condition, params = sql.named("ids", ("id IN (%s, %s)", [4, 5]))
    assert (condition, params) == ("id IN (%(ids_0)s, %(ids_1)s)", {"ids_0": 4, "ids_1": 5})
    text, values = sql.bind(f"SELECT 1 WHERE kind = %(kind)s AND {condition} AND at = %(kind)s", kind="x", **params)
    assert text == "SELECT 1 WHERE kind = %s AND id IN (%s, %s) AND at = %s"
    assert values == ["x", 4, 5, "x"]


def test_a_bound_statement_prepares_as_the_positional_one_did():
    condition, params = sql.named("ids", sql.any_of("n", [1, 2, 3]))
    statement = f"WITH t(n) AS (VALUES (1), (2), (5)) SELECT count(*) FROM t WHERE {condition} AND n < %(top)s"
    text, values = sql.bind(statement, top=9, **params)
    with connection.cursor() as cursor:
        sql.execute_prepared(cursor, text, values)
        assert cursor.fetchone()[0] == 2
