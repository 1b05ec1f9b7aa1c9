"""Lists: saving and deleting them, and putting leads on and off static lists (by hand, from a
file of addresses, by a playbook or a stage policy).

Adding is one INSERT … SELECT per batch of ids that skips the leads already on the list (ON
CONFLICT DO NOTHING), so adding is idempotent and its row count is what was added. Every
addition is a new row whose id grows: playbooks triggered by "joined a list" read the new
rows by id, so a membership is never updated in place, and removing one deletes its row.
A segment has no rows at all: its members are whoever its tree holds for now (selectors).
"""

import csv
import logging
import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from leads.capture.imports import import_guess_mapping
from leads.models import Lead, normalize_email
from leads.qualification.trees import tree_errors
from playbooks.lists import sql as lists_sql
from playbooks.models import LeadList, ListMembership
from smarketing.lib import sql

log = logging.getLogger(__name__)

Kind = LeadList.Kind
Source = ListMembership.Source
NAME_MAX = 120
DESCRIPTION_MAX = 300
NON_FIELD = "non_field_errors"  # the API's key for a refusal no single field is at fault for
IMPORT_MAX_BYTES = 5 * 2**20  # ~150,000 addresses: read and matched within the request
LOOKUP_BATCH = 5_000  # addresses matched to leads per query
SEGMENT_REFUSAL = (
    "A segment's members are the leads its condition matches now: they cannot be added or removed "
    "one by one. Change its condition, or use a static list."
)


# --- Lists ------------------------------------------------------------------------------


def list_save(*, data: dict[str, Any], by: AbstractBaseUser | None, lead_list: LeadList | None = None) -> LeadList:
    """Create a list, or change one (only the fields in `data`); every field's refusal at once,
    keyed by field."""
    cleaned, errors = _list_cleaned(data, lead_list)
    if errors:
        raise ValidationError(errors)
    lead_list = lead_list or LeadList(created_by=by)
    for name, value in cleaned.items():
        setattr(lead_list, name, value)
    lead_list.updated_at = timezone.now()
    try:
        with transaction.atomic():
            lead_list.save()
    except IntegrityError as clash:  # the same name saved at the same moment
        raise ValidationError({"name": ["A list with this name exists."]}) from clash
    return lead_list


def list_errors(*, data: dict[str, Any], lead_list: LeadList | None = None) -> dict[str, list[str]]:
    """What `list_save` would refuse in `data`, by field (empty when it would save); for forms
    that validate before saving, such as the admin's."""
    return _list_cleaned(data, lead_list)[1]


def _list_cleaned(data: dict[str, Any], lead_list: LeadList | None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    def given(name: str, default: Any) -> Any:
        return data[name] if name in data else getattr(lead_list, name) if lead_list else default

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    name = given("name", "")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Give the list a name."]
    elif len(name.strip()) > NAME_MAX:
        errors["name"] = [f"Use at most {NAME_MAX} characters (this has {len(name.strip())})."]
    elif _name_taken(name.strip(), lead_list):
        errors["name"] = ["A list with this name exists."]
    else:
        cleaned["name"] = name.strip()
    description = given("description", "") or ""
    if not isinstance(description, str):
        errors["description"] = ["Write the description as text."]
    elif len(description.strip()) > DESCRIPTION_MAX:
        errors["description"] = [f"Use at most {DESCRIPTION_MAX} characters (this has {len(description.strip())})."]
    else:
        cleaned["description"] = description.strip()
    kind = given("kind", Kind.STATIC)
    if kind not in Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(Kind.values)}."]
        return cleaned, errors
    if lead_list and kind != lead_list.kind and lead_list.memberships.exists():
        errors["kind"] = ["This list has members: a list with members stays a static list. Remove them first."]
    cleaned["kind"] = kind
    # A list made static drops the condition it had as a segment unless one is sent with it.
    condition = data["condition"] if "condition" in data else {} if kind == Kind.STATIC else given("condition", {})
    if refused := _condition_refusal(kind, condition):
        errors["condition"] = refused
    else:
        cleaned["condition"] = condition or {}
    return cleaned, errors


def _name_taken(name: str, lead_list: LeadList | None) -> bool:
    same = LeadList.objects.annotate(lower=Lower("name")).filter(lower=name.lower())
    return same.exclude(pk=lead_list.pk if lead_list else None).exists()


def _condition_refusal(kind: str, condition: Any) -> list[str]:
    if kind == Kind.STATIC:
        if condition:
            return ["A static list has no condition: leads are put on it by hand, by import or by playbooks."]
        return []
    if not condition:
        return ["A segment needs a condition: the rule tree its members match."]
    return tree_errors(condition)


def list_delete(*, lead_list: LeadList, by: AbstractBaseUser | None) -> None:
    """Delete the list and its membership rows (one DELETE: nothing else points at them)."""
    log.info("list %s (%s) deleted by %s", lead_list.pk, lead_list.name, getattr(by, "pk", None))
    with transaction.atomic():
        lead_list.delete()


# --- Members ----------------------------------------------------------------------------


def _static_only(lead_list: LeadList) -> None:
    if lead_list.kind != Kind.STATIC:
        raise ValidationError({NON_FIELD: [SEGMENT_REFUSAL]})


def _batch() -> int:
    # PostgreSQL takes a batch's ids as one array value; SQLite as that many placeholders.
    return 10_000 if sql.is_postgres() else 500


def list_add_leads(
    *, lead_list: LeadList, lead_ids: Iterable[int], source: str, by: AbstractBaseUser | None = None
) -> int:
    """Put these leads on a static list; those already on it stay as they were and ids that
    are no lead are skipped. Returns how many were added."""
    _static_only(lead_list)
    if source not in Source.values:
        raise ValidationError({"source": [f"Choose one of: {', '.join(Source.values)}."]})
    ids = sorted({int(pk) for pk in lead_ids})
    values = {"list": lead_list.pk, "source": source, "by": getattr(by, "pk", None)}
    values["at"] = sql.db_datetime(timezone.now())
    added = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in sql.chunked(ids, _batch()):
            statement, params = lists_sql.members_insert(chunk)
            cursor.execute(*sql.bind(statement, **values, **params))
            added += cursor.rowcount
    return added


def list_remove_leads(*, lead_list: LeadList, lead_ids: Iterable[int]) -> int:
    """Take these leads off a static list; returns how many were on it."""
    _static_only(lead_list)
    ids = sorted({int(pk) for pk in lead_ids})
    removed = 0
    with transaction.atomic():
        for chunk in sql.chunked(ids, _batch()):
            removed += ListMembership.objects.filter(list=lead_list, lead_id__in=chunk).delete()[0]
    return removed


def list_add_members(
    *,
    lead_list: LeadList,
    lead_ids: Iterable[int] = (),
    emails: Iterable[str] = (),
    source: str,
    by: AbstractBaseUser | None = None,
) -> dict[str, Any]:
    """Put leads named by id or email address on a static list, saying what became of each:
    `added`, `already` (on the list before) and `unknown` (the ids and addresses, as given,
    that are no lead: nobody is created)."""
    _static_only(lead_list)
    with transaction.atomic():
        ids, unknown = _leads_named(lead_ids, emails)
        added = list_add_leads(lead_list=lead_list, lead_ids=ids, source=source, by=by)
    return {"added": added, "already": len(ids) - added, "unknown": unknown}


def list_remove_members(
    *, lead_list: LeadList, lead_ids: Iterable[int] = (), emails: Iterable[str] = ()
) -> dict[str, Any]:
    """Take leads named by id or email address off a static list: how many were `removed`, and
    the ids and addresses that are no lead (`unknown`)."""
    _static_only(lead_list)
    with transaction.atomic():
        ids, unknown = _leads_named(lead_ids, emails)
        removed = list_remove_leads(lead_list=lead_list, lead_ids=ids)
    return {"removed": removed, "unknown": unknown}


def _leads_named(lead_ids: Iterable[int], emails: Iterable[str]) -> tuple[set[int], list[Any]]:
    """The ids of the leads named by id or (normalized) address, and what named no lead."""
    wanted_ids = sorted({int(pk) for pk in lead_ids})
    found: set[int] = set()
    unknown: list[Any] = []
    for chunk in sql.chunked(wanted_ids, LOOKUP_BATCH):
        known = set(Lead.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        found |= known
        unknown.extend(pk for pk in chunk if pk not in known)
    as_given: dict[str, str] = {}
    for email in emails:
        if email.strip():
            as_given.setdefault(normalize_email(email), email.strip())
    for chunk in sql.chunked(list(as_given), LOOKUP_BATCH):
        known_emails = dict(Lead.objects.filter(email__in=chunk).values_list("email", "pk"))
        found |= set(known_emails.values())
        unknown.extend(as_given[email] for email in chunk if email not in known_emails)
    return found, unknown


# --- Imports ----------------------------------------------------------------------------


def list_import(
    *,
    lead_list: LeadList,
    by: AbstractBaseUser | None,
    file: UploadedFile | None = None,
    text: str | None = None,
    source: str = Source.IMPORT,
) -> dict[str, Any]:
    """Put the leads a file (or pasted text) names on a static list: a CSV whose header has an
    email column, or addresses one per line (or separated by commas, semicolons or spaces).
    Leads are matched by normalized address; unknown addresses are reported, not created.
    Returns `added`, `already` and `unknown`, as `list_add_members` does."""
    field = "file" if file is not None else "text"
    _static_only(lead_list)
    content = _upload_text(file) if file is not None else text or ""
    emails = emails_in(content, field=field)
    return list_add_members(lead_list=lead_list, emails=emails, source=source, by=by)


def _upload_text(file: UploadedFile) -> str:
    if file.size is not None and file.size > IMPORT_MAX_BYTES:
        limit = IMPORT_MAX_BYTES // 2**20
        refusal = f"The file is larger than {limit} MB: split it, or add leads through the API."
        raise ValidationError({"file": [refusal]})
    try:
        return b"".join(file.chunks()).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(
            {"file": ["The file is not UTF-8 text. Save it as “CSV UTF-8” from your spreadsheet and upload it again."]}
        ) from error


# Around an address in a pasted list: quotes, angle brackets, a mailto: prefix.
ADDRESS_DRESSING = re.compile(r"^(?:mailto:)?[\"'<(]*|[\"'>),.]*$", re.IGNORECASE)
SEPARATORS = re.compile(r"[\s,;]+")


def emails_in(text: str, *, field: str = "text") -> list[str]:
    """The addresses a text names, in order, each once (by normalized address).

    1. A first line whose cells include an email column (`email`, `e-mail`, `correo`, … as
       the lead import recognises them) makes the text a CSV: that column's cells are read.
    2. Otherwise every word with an @ is an address (quotes, <…> and mailto: taken off).
    """
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise ValidationError({field: ["There are no email addresses in it."]})
    delimiter = max([",", ";", "\t"], key=first.count)
    try:
        header = next(csv.reader([first], delimiter=delimiter))
        column = next((index for index, name in import_guess_mapping(header).items() if name == "email"), None)
        if column is not None and "@" not in first:
            start = lines.index(first) + 1
            found = [row[column] for row in csv.reader(lines[start:], delimiter=delimiter) if len(row) > column]
        else:
            found = [ADDRESS_DRESSING.sub("", word) for word in SEPARATORS.split(text) if "@" in word]
    except csv.Error as error:
        raise ValidationError({field: [f"It cannot be read as CSV: {error}."]}) from error
    unique: dict[str, str] = {}
    for email in found:
        if email.strip():
            unique.setdefault(normalize_email(email), email.strip())
    if not unique:
        raise ValidationError({field: ["There are no email addresses in it."]})
    return list(unique.values())
