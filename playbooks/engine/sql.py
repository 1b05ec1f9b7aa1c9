"""The engine's hand-written SQL: a condition tree over a set of leads."""

from typing import Any

from leads.qualification.sql import Compiled
from smarketing.lib import sql


def leads_holding(compiled: Compiled, ids: list[int]) -> tuple[str, dict[str, Any]]:
    """The ids among `ids` of the leads for whom the compiled tree holds."""
    listed, params = sql.named("id", sql.any_of("l.id", ids))
    return f"SELECT l.id FROM leads_lead l WHERE {listed} AND {compiled.condition}", {**compiled.params, **params}
