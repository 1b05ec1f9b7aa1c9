"""Capture's hand-written SQL: leads found and locked by email or id, their blanks filled and
touches recorded, any model's rows inserted in one statement, and the form behind a public key.

Values are named (`%(now)s`) and bound with `sql.bind`; a fragment's values (`sql.any_of`,
`sql.values_cte`, `sql.records`) are named with `sql.named`. Column names in the text are
the models' own, or checked where the text is built (`insert_new`).
"""

import functools
from collections.abc import Callable
from typing import Any

from django.db import connection, models

from leads.models import LEAD_TEXT_FIELDS
from smarketing.lib import sql

# A raw query: it starts every public post, and building it through the ORM cost several times
# running it.
ACTIVE_FORM = "SELECT * FROM leads_captureform WHERE key = %(key)s AND is_active"


def lead_ids(emails: list[str]) -> tuple[str, dict[str, Any]]:
    """(email, id) of each lead with one of these (normalized) emails."""
    condition, params = sql.named("email", sql.any_of("email", emails, "text"))
    return f"SELECT email, id FROM leads_lead WHERE {condition}", params


def leads_lock(ids: list[int]) -> tuple[str, dict[str, Any]]:
    """Locks these leads in id order. FOR NO KEY UPDATE, the lock an UPDATE takes: another
    batch's events may still reference these leads meanwhile (their foreign-key checks only
    need a key share)."""
    condition, params = sql.named("id", sql.any_of("id", ids))
    return f"SELECT id FROM leads_lead WHERE {condition} ORDER BY id FOR NO KEY UPDATE", params


# --- Blanks filled on known leads ---------------------------------------------------------

# The lead's profile fields, text first; the rows `fill_blanks` takes hold them in this order.
FILL_COLUMNS = [(name, "text") for name in LEAD_TEXT_FIELDS] + [("company_size", "integer")]


def _fill_parts() -> tuple[str, str]:
    sets, blanks = [], []
    for name, _ in FILL_COLUMNS:
        blank = f"leads_lead.{name} IS NULL" if name == "company_size" else f"leads_lead.{name} = ''"
        sets.append(f"{name} = CASE WHEN {blank} AND v.{name} IS NOT NULL THEN v.{name} ELSE leads_lead.{name} END")
        blanks.append(f"({blank} AND v.{name} IS NOT NULL)")
    return ", ".join(sets), " OR ".join(blanks)


FILL_SETS, FILL_ANY_BLANK = _fill_parts()


def fill_blanks(rows: list[tuple[Any, ...]]) -> tuple[str, dict[str, Any]]:
    """Fills each lead's blank fields from its row (id, then FILL_COLUMNS), never overwriting
    one; `%(now)s` is the update time. Only leads with a blank to fill are written."""
    cte, params = sql.named("v", sql.values_cte("v", [("id", "bigint"), *FILL_COLUMNS], rows))
    statement = (
        f"{cte} UPDATE leads_lead SET {FILL_SETS}, updated_at = %(now)s FROM v "
        f"WHERE leads_lead.id = v.id AND ({FILL_ANY_BLANK})"
    )
    return statement, params


# --- Touches recorded on known leads ------------------------------------------------------

TOUCH_COLUMNS = [
    ("source", "text"),
    ("first_campaign_id", "bigint"),
    ("first_touch", "jsonb"),
    ("last_source", "text"),
    ("last_campaign_id", "bigint"),
    ("last_touch", "jsonb"),
    ("last_touch_at", "timestamptz"),
]


FIRST_TOUCH = {"source", "first_campaign_id", "first_touch"}

# The first touch fills an empty source, the last one moves forward in time only.
_FIRST = "leads_lead.source = ''"
_LAST = "(leads_lead.last_touch_at IS NULL OR leads_lead.last_touch_at < v.last_touch_at)"
TOUCH_SETS = ", ".join(
    f"{name} = CASE WHEN {_FIRST if name in FIRST_TOUCH else _LAST} THEN v.{name} ELSE leads_lead.{name} END"
    for name, _ in TOUCH_COLUMNS
)


def touches_record(rows: list[tuple[Any, ...]]) -> tuple[str, dict[str, Any]]:
    """Records each lead's touch from its row (id, then TOUCH_COLUMNS); `%(now)s` is the update
    time. SET reads the row as it was, so each CASE sees the old source and last touch."""
    cte, params = sql.named("v", sql.values_cte("v", [("id", "bigint"), *TOUCH_COLUMNS], rows))
    statement = (
        f"{cte} UPDATE leads_lead SET {TOUCH_SETS}, updated_at = %(now)s FROM v "
        f"WHERE leads_lead.id = v.id AND ({_FIRST} OR {_LAST})"
    )
    return statement, params


# --- Rows of any model --------------------------------------------------------------------


def insert(model: type[models.Model], rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """`INSERT INTO table (every column) …` for these rows, and its values; a column a row
    leaves out gets the field's default, and the serial id is left to the database. On
    PostgreSQL the rows go as one JSON parameter (`sql.records`), so the statement's text
    is the same for any number of rows and is planned once per connection."""
    head, preps, columns = _insert_shape(model)
    if sql.is_postgres():
        records = ({f.column: row[name] if name in row else f.get_default() for name, _, f in preps} for row in rows)
        source, params = sql.named("rows", sql.records(columns, records))
        return f"{head} SELECT * FROM {source}", params
    values = []
    for row in rows:
        for name, prep, f in preps:
            value = row[name] if name in row else f.get_default()
            values.append(prep(value) if prep else value)
    marks = ", ".join(["(" + ", ".join(["%s"] * len(preps)) + ")"] * len(rows))
    return sql.named("rows", (f"{head} VALUES {marks}", values))


def insert_new(
    model: type[models.Model], rows: list[dict[str, Any]], *, conflict: str, returning: str
) -> tuple[str, dict[str, Any]]:
    """`insert`, skipping the rows that clash on the column `conflict`; returns the id and the
    column `returning` of each row inserted."""
    columns = {f.column for f in model._meta.concrete_fields}
    for name in (conflict, returning):  # names that reach the text: the model's columns only
        if name not in columns:
            raise ValueError(f"Not a column of {model._meta.db_table}: {name!r}")
    statement, params = insert(model, rows)
    return f"{statement} ON CONFLICT ({conflict}) DO NOTHING RETURNING id, {returning}", params


@functools.cache
def _insert_shape(
    model: type[models.Model],
) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None, Any]], list[tuple[str, str]]]:
    """The INSERT's head, each column's (name, preparation, field) and (column, database
    type), worked out once per model: a form post makes four one-row inserts, and working this
    out each time cost three times as much as the rows' values (226 µs against 58 µs for a lead
    and its event)."""
    # The serial id and columns the database fills itself (db_default) are left to it.
    fields = [
        f
        for f in model._meta.concrete_fields
        if f is not model._meta.auto_field and f.db_default is models.NOT_PROVIDED
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    head = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns})"
    return head, [(f.attname, _prep_for(f), f) for f in fields], [(f.column, f.db_type(connection)) for f in fields]


# Fields whose Python values the driver takes as they are (SQLite; PostgreSQL reads the rows
# as JSON): an event batch has thousands of values, and Django's per-value preparation was a
# sixth of its time.
PASSED_AS_IS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def _prep_for(field: models.Field) -> Callable[[Any], Any] | None:
    """How a value of this field is made ready for the driver; None when it goes as it is."""
    if isinstance(field, models.JSONField):
        return lambda value: None if value is None else connection.ops.adapt_json_value(value, field.encoder)
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, PASSED_AS_IS):
        return None
    return lambda value: field.get_db_prep_save(value, connection)
