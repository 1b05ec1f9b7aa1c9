"""Condition trees (qualification's shape) asked of a set of leads at once: a branch step or a
goal exit over a batch of enrolments is one query, whatever the batch's size."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection

from leads.qualification.sql import compile_tree
from playbooks.engine import sql as engine_sql
from smarketing.lib import sql


def leads_holding(tree: dict[str, Any], lead_ids: Iterable[int], *, now: datetime) -> set[int]:
    ids = sorted(set(lead_ids))
    if not ids:
        return set()
    statement, params = engine_sql.leads_holding(compile_tree(tree, as_of=now, name="pb"), ids)
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(statement, **params))
        return {row[0] for row in cursor.fetchall()}
