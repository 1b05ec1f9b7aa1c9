"""Reads on lists: who is on a list now, how many, whether one lead is, and the lists a lead
is on; the pages' and the API's lists of lists and of members.

A static list's members are its membership rows. A segment's are the leads its condition
tree holds for *now*: the tree is compiled by qualification's own compiler
(`leads.qualification.sql.compile_tree`, as of this moment), so a segment and a
qualification definition with the same tree pick the same leads, set-based in the database.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from leads.models import Lead
from leads.qualification.sql import Compiled, compile_tree
from leads.qualification.trees import tree_errors
from playbooks.lists import sql as lists_sql
from playbooks.models import LeadList, ListMembership
from smarketing.lib import sql
from smarketing.lib.csv_export import CHUNK, csv_stream

Kind = LeadList.Kind
SEARCH_WORDS = 5


def segment_problems(lead_list: LeadList) -> list[str]:
    """What is wrong with a segment's stored tree (empty when it is sound, or for a static list)."""
    if lead_list.kind != Kind.SEGMENT:
        return []
    if not lead_list.condition:
        return ["The segment has no condition."]
    return tree_errors(lead_list.condition)


def segment_compiled(
    condition: dict[str, Any], *, as_of: datetime | None = None, name: str = "seg", lead: str = "l"
) -> Compiled:
    """A (valid) condition tree as SQL over lead rows `lead` (`l` by default), evaluated as of
    now by default."""
    return compile_tree(condition, as_of=as_of or timezone.now(), name=name, lead=lead)


# --- Who is on a list -------------------------------------------------------------------


def list_member_ids_sql(
    lead_list: LeadList, *, name: str = "members", as_of: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """A statement selecting the ids (one column, `id`) of the list's leads, and its values
    named after `name` (unique within the statement that embeds it; bind with `sql.bind`).

    A static list: its membership rows. A segment: the leads its tree holds for as of
    `as_of` (now by default). Embed it as `lead_id IN (<statement>)` or join it; it is
    set-based, whatever the list's size.
    """
    if lead_list.kind == Kind.STATIC:
        return lists_sql.static_member_ids(name), {f"{name}_list": lead_list.pk}
    if segment_problems(lead_list):  # a tree that no longer compiles (a field it names is gone)
        return lists_sql.NO_MEMBERS, {}
    compiled = segment_compiled(lead_list.condition, as_of=as_of, name=name)
    return lists_sql.segment_member_ids(compiled), compiled.params


def list_count(lead_list: LeadList) -> int:
    """How many leads are on the list now."""
    if lead_list.kind == Kind.STATIC:
        return ListMembership.objects.filter(list=lead_list).count()
    if segment_problems(lead_list):
        return 0
    return condition_count(lead_list.condition)


def condition_count(condition: dict[str, Any]) -> int:
    """How many leads a (valid) condition tree holds for now: a segment's size, or the
    preview of one being written."""
    statement, params = condition_count_sql(condition)
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(statement, **params))
        return cursor.fetchone()[0]


def condition_count_sql(condition: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The count statement for a (valid) condition tree, and its values."""
    scores = _score_tests(condition)
    if scores:
        return lists_sql.score_count(scores)
    if _one_event_test(condition):
        return lists_sql.event_count(condition, as_of=timezone.now())
    compiled = segment_compiled(condition)
    return lists_sql.segment_count(compiled), compiled.params


def _one_event_test(condition: dict[str, Any]) -> bool:
    """ "Did X (within N days)", alone: counted from the events (the lead ids their index carries),
    not by asking it of every lead (a pass over all the leads, most of such a count at a million)."""
    return condition.get("op") == "has_event" and (condition.get("min_count") or 1) == 1


SCORE_COLUMNS = {"fit_gte": "fit", "score_gte": "score"}


def _score_tests(condition: dict[str, Any]) -> list[tuple[str, int]]:
    """A tree that only asks for scores above zero, all of them, as (column, at least) pairs; []
    for any other. Such a count reads the narrow score table alone: a lead that has no score row
    scores zero and fails the test, so joining the leads adds nothing (the join was most of a
    "fit >= 60" count at a million leads)."""
    nodes = condition["children"] if condition.get("op") == "all" else [condition]
    tests = [(SCORE_COLUMNS.get(node.get("op")), node.get("value")) for node in nodes]
    if not tests or any(column is None or not isinstance(value, int) or value <= 0 for column, value in tests):
        return []
    return tests


def list_members(lead_list: LeadList) -> QuerySet[Lead]:
    """The list's leads now, as a queryset to filter, order and page further."""
    if lead_list.kind == Kind.STATIC:
        return Lead.objects.filter(pk__in=ListMembership.objects.filter(list=lead_list).values("lead_id"))
    statement, params = list_member_ids_sql(lead_list, name="seg")
    # The compiled tree's values travel as parameters; its text names only checked columns.
    return Lead.objects.filter(pk__in=RawSQL(*sql.bind(statement, **params)))  # noqa: S611


def lead_on_list(lead_list: LeadList, lead: Lead) -> bool:
    if lead_list.kind == Kind.STATIC:
        return ListMembership.objects.filter(list=lead_list, lead=lead).exists()
    if segment_problems(lead_list):
        return False
    compiled = segment_compiled(lead_list.condition)
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(lists_sql.segment_has_lead(compiled), lead=lead.pk, **compiled.params))
        return cursor.fetchone() is not None


def lists_of_lead(lead: Lead) -> list[LeadList]:
    """The static lists the lead is on, by name (segments are not asked: each would be a
    query over its tree, and a lead's page names where it was put)."""
    return list(LeadList.objects.filter(memberships__lead=lead).order_by(Lower("name"), "id"))


# --- Pages and the API ------------------------------------------------------------------


def lists_search(*, search: str = "", kind: str = "") -> QuerySet[LeadList]:
    """Lists by name (case-insensitively), with their creator."""
    rows = LeadList.objects.select_related("created_by")
    if search:
        rows = rows.filter(name__icontains=search)
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def static_counts(lists: list[LeadList]) -> dict[int, int]:
    """Members of each static list among `lists`, in one grouped query; segments are left out
    (each is counted over its own tree: `list_count`)."""
    ids = [lead_list.pk for lead_list in lists if lead_list.kind == Kind.STATIC]
    if not ids:
        return {}
    counted = ListMembership.objects.filter(list_id__in=ids).values("list_id").annotate(members=Count("*"))
    found = {row["list_id"]: row["members"] for row in counted.order_by()}
    return {pk: found.get(pk, 0) for pk in ids}


def member_counts(lists: list[LeadList]) -> dict[int, int]:
    """Every list's count: static ones grouped in one query, each segment over its tree."""
    counts = static_counts(lists)
    for lead_list in lists:
        if lead_list.kind == Kind.SEGMENT:
            counts[lead_list.pk] = list_count(lead_list)
    return counts


def _lead_search(words: str, prefix: str = "") -> Q:
    """The lead list's search (every word in the email, a name or the company), which the
    leads' trigram indexes serve on PostgreSQL."""
    found = Q()
    for word in words.split()[:SEARCH_WORDS]:
        found &= (
            Q(**{f"{prefix}email__icontains": word})
            | Q(**{f"{prefix}first_name__icontains": word})
            | Q(**{f"{prefix}last_name__icontains": word})
            | Q(**{f"{prefix}company__icontains": word})
        )
    return found


def static_members_page_rows(lead_list: LeadList, *, search: str = "") -> QuerySet[ListMembership]:
    """A static list's membership rows, newest first, with the lead, its scores and who added it."""
    rows = ListMembership.objects.filter(list=lead_list).select_related("lead", "lead__scoring", "added_by")
    if search:
        rows = rows.filter(_lead_search(search, prefix="lead__"))
    return rows.order_by("-added_at", "-id")


def segment_members_page_rows(lead_list: LeadList, *, search: str = "") -> QuerySet[Lead]:
    """A segment's leads, newest first, with their scores.

    The tree tests each lead row the page reads, not `list_members`' `id IN (<the segment's
    ids>)`: walking the leads newest first, PostgreSQL would look each one up again by id to
    test it there, three or four index and heap reads more per lead passed over (an attribute
    segment's first page 50 ms at a million leads whose newest 42,000 are not members, 14 ms
    without). Only for this page: the tree names the leads table itself, which Django renames
    when the queryset becomes another's subquery (`list_members` stays safe to embed)."""
    if segment_problems(lead_list):  # a tree that no longer compiles (a field it names is gone)
        return Lead.objects.none()
    compiled = segment_compiled(lead_list.condition, lead=Lead._meta.db_table)
    # The compiled tree's values travel as parameters; its text names only checked columns.
    holds = RawSQL(*sql.bind(compiled.condition, **compiled.params), output_field=BooleanField())  # noqa: S611
    rows = Lead.objects.filter(holds).select_related("scoring")
    if search:
        rows = rows.filter(_lead_search(search))
    return rows.order_by("-created_at", "-id")


def members_api_rows(lead_list: LeadList) -> QuerySet:
    """Dicts of `lead_id`, `email` and, on a static list, when and how each was added (newest
    first); a segment's leads by id."""
    if lead_list.kind == Kind.STATIC:
        rows = ListMembership.objects.filter(list=lead_list).order_by("-added_at", "-id")
        return rows.values("lead_id", "added_at", "source", email=F("lead__email"))
    return list_members(lead_list).order_by("id").values("email", lead_id=F("id"))


# --- Export -----------------------------------------------------------------------------

EXPORT_LEAD_COLUMNS = {
    "lead_id": "id",
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "title": "title",
    "country": "country",
    "stage": "stage",
    "score": "scoring__score",
}
EXPORT_MEMBERSHIP_COLUMNS = {"added_at": "added_at", "added_how": "source", "added_by": "added_by__username"}


def members_export_lines(lead_list: LeadList) -> Iterator[str]:
    """The list's members as CSV (a BOM first, for spreadsheets), streamed a chunk of rows at a
    time: the lead's columns, and on a static list when, how and by whom each was added."""
    if lead_list.kind == Kind.STATIC:
        columns = {**EXPORT_LEAD_COLUMNS, **EXPORT_MEMBERSHIP_COLUMNS}
        paths = [f"lead__{path}" if name in EXPORT_LEAD_COLUMNS else path for name, path in columns.items()]
        rows = ListMembership.objects.filter(list=lead_list).order_by("-added_at", "-id").values_list(*paths)
    else:
        columns = EXPORT_LEAD_COLUMNS
        rows = list_members(lead_list).order_by("id").values_list(*columns.values())
    return csv_stream(list(columns), rows.iterator(chunk_size=CHUNK))
