"""The few SQL spellings that differ between SQLite and PostgreSQL, in one place.

Scoring and qualification are set-based SQL over the whole lead table; everything they
need that the two databases spell differently is here, so the rest reads the same on both.
So are the ways work is made cheaper on PostgreSQL alone: whole-table work spread over id
ranges on two connections (`each_in_parallel`); capture's hot statements planned once per
connection (`execute_prepared`); and rows and id lists sent as one JSON or array parameter
(`records`, `any_of`), so a statement's text does not depend on how many there are. On
SQLite all of these simply run as usual.

The statements themselves live in each feature's `sql.py`, their values named (`%(rep)s`);
`bind` turns one into the `%s` text and list of values that both backends take, in the order
the text names them, and `named` names the values of a fragment built here.
"""

import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import Max, Min
from django.dispatch import receiver

T = TypeVar("T")
R = TypeVar("R")


def vendor() -> str:
    return connection.vendor


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def greatest(expressions: list[str]) -> str:
    if len(expressions) == 1:
        return expressions[0]
    name = "GREATEST" if is_postgres() else "MAX"  # SQLite's MAX() with 2+ args is scalar
    return f"{name}({', '.join(expressions)})"


def least(first: str, second: str) -> str:
    return f"{'LEAST' if is_postgres() else 'MIN'}({first}, {second})"


def distinct(first: str, second: str) -> str:
    """Null-safe "differs"."""
    return f"{first} IS DISTINCT FROM {second}" if is_postgres() else f"{first} IS NOT {second}"


def fence() -> str:
    """Ends a subquery the planner must not inline: PostgreSQL would otherwise recompute each of
    its columns wherever the outer query names it (OFFSET 0 keeps it a separate step)."""
    return " OFFSET 0" if is_postgres() else ""


def db_datetime(moment: datetime) -> Any:
    """A datetime as the backend stores it, for use as a raw SQL parameter."""
    return connection.ops.adapt_datetimefield_value(moment)


def days_between(later_sql: str, earlier_sql: str) -> str:
    """Fractional days from earlier to later (both SQL datetime expressions)."""
    if is_postgres():
        # date_part gives float8; EXTRACT gives numeric, whose arithmetic is ten times slower
        # over millions of events.
        return f"(date_part('epoch', {later_sql}::timestamptz - {earlier_sql}) / 86400.0)"
    return f"(julianday({later_sql}) - julianday({earlier_sql}))"


def json_has(column: str, wanted: dict[str, Any]) -> tuple[str, list[Any]]:
    """The JSON column holds every key of `wanted` with that value."""
    if not wanted:
        return "1=1", []
    if is_postgres():
        return f"{column} @> %s::jsonb", [json.dumps(wanted)]
    parts, params = [], []
    for key, value in wanted.items():
        parts.append(f"json_extract({column}, %s) = %s")
        params.extend([json_path(key), value])
    return " AND ".join(parts), params


def json_path(key: str) -> str:
    return '$."' + key.replace('"', "") + '"'


def in_list(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


# --- Statements with named parameters ---------------------------------------------------

# A named parameter, a positional one (an error in a named statement) or an escaped percent sign.
_PLACEHOLDER_TOKEN = re.compile(r"%(?:\((\w+)\)s|(s)|%)")


def bind(statement: str, /, **params: Any) -> tuple[str, list[Any]]:
    """`statement`, whose values are named (`%(rep)s`), as the `%s` text and list of values that
    both backends and `execute_prepared` take: each name's value where the text names it, so
    one name may appear several times and the order of values is always the text's. Names
    the text does not use are ignored; a name without a value is an error.
    """
    text, names = _positional(statement)
    try:
        return text, [params[name] for name in names]
    except KeyError as missing:
        raise ValueError(f"The statement names %({missing.args[0]})s but no value was given for it.") from None


@functools.lru_cache(maxsize=256)
def _positional(statement: str) -> tuple[str, tuple[str, ...]]:
    """The statement's text with `%s` for each named parameter, and the names in text order;
    once per text: capture binds the same few statements on every post."""
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(2):
            raise ValueError("A statement bound by name takes no positional %s: name it, like %(value)s.")
        if match.group(1):
            names.append(match.group(1))
            return "%s"
        return "%%"

    return _PLACEHOLDER_TOKEN.sub(placeholder, statement), tuple(names)


def named(prefix: str, fragment: tuple[str, list[Any]]) -> tuple[str, dict[str, Any]]:
    """A fragment written with `%s` (`any_of`, `values_cte`, `json_has`, `condition_sql` …) with
    its values named `prefix_0`, `prefix_1`, … in their order, to go into a statement bound
    by name (`bind`). The prefix must be unique in that statement."""
    text, values = fragment
    named_text, names = _named_text(prefix, text)
    return named_text, dict(zip(names, values, strict=True))


@functools.lru_cache(maxsize=256)
def _named_text(prefix: str, text: str) -> tuple[str, tuple[str, ...]]:
    if not prefix.isidentifier():
        raise ValueError(f"Not a parameter name: {prefix!r}")
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1):
            raise ValueError("The fragment already names its values.")
        if match.group(2):
            names.append(f"{prefix}_{len(names)}")
            return f"%({names[-1]})s"
        return "%%"

    return _PLACEHOLDER_TOKEN.sub(placeholder, text), tuple(names)


def any_of(column: str, values: list[Any], pg_type: str = "bigint") -> tuple[str, list[Any]]:
    """`column` is one of `values`. On PostgreSQL the values travel as one array parameter, so
    the statement's text is the same however many there are: it is planned once
    (`execute_prepared`), and the server reads the array instead of parsing a list.

    One value is compared as itself. Planned for an array, PostgreSQL expects ten rows; a form
    post's one-lead statements then looked dearer that way than planned afresh each time, so
    it kept planning them (0.4 ms more per statement).
    """
    if len(values) == 1:
        return f"{column} = %s", list(values)
    if is_postgres():
        return f"{column} = ANY(CAST(%s AS {pg_type}[]))", [array_literal(values)]
    return f"{column} IN ({in_list(values)})", list(values)


def array_literal(values: list[Any]) -> str:
    """PostgreSQL's text form of an array: numbers as they are, anything else quoted."""
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    quoted = (str(value).replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return "{" + ",".join(f'"{value}"' for value in quoted) + "}"


SURROGATE = re.compile("[\ud800-\udfff]")


def json_problem(value: Any, *, max_depth: int | None = None, depth: int = 0) -> str | None:
    """Why PostgreSQL could not store this JSON value, or why it nests deeper than `max_depth`;
    None when it can. Text with NUL or a lone surrogate (a "\\ud800" escape) is refused by
    text and jsonb alike; 1e400 parses to infinity, which JSON cannot hold."""
    if max_depth is not None and depth > max_depth:
        return f"Nest values at most {max_depth} levels deep."
    if isinstance(value, str):
        if "\x00" in value:
            return "Text may not contain NUL characters."
        if SURROGATE.search(value):
            return "Text may not contain surrogate characters (U+D800 to U+DFFF) on their own."
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "Numbers must be finite: this one is too large to store."
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        problem = json_problem(key, depth=depth) if isinstance(key, str) else None
        problem = problem or json_problem(item, max_depth=max_depth, depth=depth + 1)
        if problem:
            return problem
    return None


def json_text(value: Any) -> str:
    """JSON for the database to read rows from (`records`): times in full ISO form, with
    their offset and microseconds (Django's encoder would cut them to milliseconds)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


def records(columns: list[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> tuple[str, list[Any]]:
    """PostgreSQL: `jsonb_to_recordset(%s::jsonb) AS r(column type, …)` over `rows` (dicts by
    column name), with its one parameter. Rows sent this way are one parameter whatever
    their number: the statement is planned once, and neither the driver nor the server
    handles thousands of separate values (the driver took 48 ms of Python to adapt a
    1,000-event batch's; one JSON text takes 5)."""
    return f"jsonb_to_recordset(CAST(%s AS jsonb)) AS r({_record_spec(tuple(columns))})", [json_text(list(rows))]


@functools.lru_cache(maxsize=64)
def _record_spec(columns: tuple[tuple[str, str], ...]) -> str:
    """`"column" type, …`, once per shape: quoting a lead's 25 columns on every insert showed in a
    form post's profile."""
    return ", ".join(f"{connection.ops.quote_name(name)} {pg_type}" for name, pg_type in columns)


def chunked(values: list[Any], size: int) -> list[list[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


# PostgreSQL type → SQLite type for typed VALUES lists (SQLite would turn an unknown type
# name like JSONB into NUMERIC affinity and mangle the text).
SQLITE_TYPES = {
    "bigint": "INTEGER",
    "integer": "INTEGER",
    "double precision": "REAL",
    "text": "TEXT",
    "jsonb": "TEXT",
    "timestamptz": "TEXT",
}


def values_cte(name: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """`WITH name(col, …) AS (…)`: the rows, each value of its column's type (a jsonb
    column's values as Python objects).

    Lets one UPDATE … FROM name apply a different value to each of many rows, on both
    databases. On PostgreSQL the rows travel as one JSON parameter (`records`); on SQLite
    as a VALUES list, cast (SQLite would not know a column of NULLs' type).
    """
    keys = [column for column, _ in columns]
    names = ", ".join(keys)
    if is_postgres():
        source, params = records(columns, (dict(zip(keys, row, strict=True)) for row in rows))
        return f"WITH {name}({names}) AS (SELECT * FROM {source})", params
    jsonb = [index for index, (_, pg_type) in enumerate(columns) if pg_type == "jsonb"]
    if jsonb:
        rows = [tuple(json.dumps(v) if i in jsonb and v is not None else v for i, v in enumerate(row)) for row in rows]
    row_sql = "(" + ", ".join(f"CAST(%s AS {SQLITE_TYPES[pg_type]})" for _, pg_type in columns) + ")"
    text = f"WITH {name}({names}) AS (VALUES {', '.join([row_sql] * len(rows))})"
    return text, [value for row in rows for value in row]


# --- Work over the whole lead table ------------------------------------------------------

ID_RANGE = 50_000
THREADS = 2  # PostgreSQL works two id ranges at once, one backend per core


def id_ranges(model: Any, *, size: int | None = None, pieces: int | None = None) -> list[tuple[int, int]]:
    """The model's ids cut into (first, last) ranges of `size` ids, or into `pieces` ranges,
    for work done a piece at a time."""
    bounds = model.objects.aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"], bounds["high"]
    if low is None:
        return []
    size = size or (high - low) // (pieces or 1) + 1
    return [(start, start + size - 1) for start in range(low, high + 1, size)]


def parallel_possible() -> bool:
    """Whether work may be spread over several connections now: on PostgreSQL, outside a
    transaction (other connections would not see its changes), with THREADS above one."""
    return is_postgres() and not connection.in_atomic_block and THREADS > 1


def each_in_parallel(work: Callable[[T], R], items: Iterable[T], *, parallel: bool | None = None) -> list[R]:
    """`work` on each item, in order; on THREADS connections at once where `parallel`
    (by default `parallel_possible()`): set-based work is CPU in the database, one core per
    backend. Otherwise the items are worked one after another on this connection.
    """
    if not (parallel_possible() if parallel is None else parallel):
        return [work(item) for item in items]

    def in_thread(item: T) -> R:
        try:
            return work(item)
        finally:
            connection.close()  # each thread opened its own; don't leave it behind

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(in_thread, items))


# --- The planner's statistics ------------------------------------------------------------


def tables_analyze() -> None:
    """Refresh PostgreSQL's statistics of every table the models use (SQLite: nothing).

    For work that fills tables from empty in one run, such as the demo seed: until they are
    analyzed, PostgreSQL plans on what it last knew (a table analyzed empty by a migration is
    taken as empty whatever it holds), and the plans it keeps for the session (prepared
    statements, the foreign-key checks) scan whole tables row after row. ANALYZE runs inside
    a transaction and counts its own rows, and the statements that read the analyzed tables
    are planned again. About 0.2 s on the full demo's 74 tables."""
    if not is_postgres():
        return
    tables = sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(connection.ops.quote_name(table) for table in tables)}")


# --- Statements planned once per connection ---------------------------------------------

# Parameter types by Python type (bool before int: a bool is an int).
PARAMETER_TYPES = (
    (bool, "boolean"),
    (int, "bigint"),
    (float, "double precision"),
    (Decimal, "numeric"),
    (str, "text"),
    (datetime, "timestamptz"),
)
PREPARED_MAX = 100  # distinct statements a connection keeps before it drops them all (~30 MB)
PREPARED_PARAMS_MAX = 2_000  # a statement with more values is a one-off list, not worth keeping
_PLACEHOLDER = re.compile(r"%s|%%")


def execute_prepared(cursor: Any, statement: str, params: list[Any]) -> None:
    """Run `statement` as a prepared statement on PostgreSQL: parsed and planned once per
    connection (after five runs PostgreSQL keeps a generic plan when it costs no more).

    For the statements a form post runs every time, whose planning took longer than their
    run (0.6 ms against 0.2 for the qualification check). Parameter types are declared from
    the values, so an untyped spot such as `jsonb_build_object(%s, …)` still prepares. SQLite,
    a None among the values, or more than PREPARED_PARAMS_MAX values, run as usual. Prepared
    statements live in the server session: a pooler in front of PostgreSQL must keep one
    session per connection (pgbouncer's session mode, not its transaction mode).
    """
    types = [_parameter_type(value) for value in params] if is_postgres() else [None]
    if None in types or len(params) > PREPARED_PARAMS_MAX:
        cursor.execute(statement, params)
        return
    key = f"{statement}\0{','.join(types)}"
    name = "smk_" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    prepared = _prepared_names(cursor.db)
    if name not in prepared:
        if len(prepared) >= PREPARED_MAX:
            cursor.execute("DEALLOCATE ALL")
            prepared.clear()
        numbers = iter(range(1, len(params) + 1))
        body = _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", statement)
        # Not transactional: it outlives a rollback, so the name is remembered at once.
        declared = f" ({', '.join(types)})" if types else ""
        cursor.execute(f"PREPARE {name}{declared} AS {body}")
        prepared.add(name)
    cursor.execute(f"EXECUTE {name} ({in_list(params)})" if params else f"EXECUTE {name}", params)


def _parameter_type(value: Any) -> str | None:
    for kind, name in PARAMETER_TYPES:
        if isinstance(value, kind):
            return name
    return None


def _prepared_names(db: Any) -> set[str]:
    names = getattr(db, "_smk_prepared", None)
    if names is None:
        names = db._smk_prepared = set()
    return names


@receiver(connection_created)
def _new_connection_has_nothing_prepared(sender: Any, connection: Any, **kwargs: Any) -> None:
    connection._smk_prepared = set()
