"""CSV export of the lead list: exactly the filtered leads, streamed in chunks, every text cell
guarded against spreadsheet formula injection.
"""

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from leads.models import LEAD_PROFILE_FIELDS, Lead

EXPORT_COLUMNS = {
    "id": "id",
    "email": "email",
    **{name: name for name in LEAD_PROFILE_FIELDS},
    "stage": "stage",
    "score": "scoring__score",
    "fit_score": "scoring__fit",
    "engagement_score": "scoring__engagement",
    "persona": "scoring__persona__name",
    "owner": "owner__username",
    "source": "source",
    "campaign": "first_campaign__name",
    "last_source": "last_source",
    "last_campaign": "last_campaign__name",
    "consent": "consent",
    "unsubscribed_at": "unsubscribed_at",
    "created_at": "created_at",
    "last_touch_at": "last_touch_at",
}


EXPORT_CHUNK = 2_000


# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralise a would-be formula with a leading apostrophe (OWASP's CSV injection advice)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _export_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, str):
        return csv_safe(value)
    return value  # numbers and booleans are never formulas


def leads_export_lines(leads: QuerySet[Lead]) -> Iterator[str]:
    """The leads as CSV text (a BOM first, so spreadsheets read the accents), streamed a chunk
    of rows at a time as the database cursor yields them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_COLUMNS)
    rows = leads.values_list(*EXPORT_COLUMNS.values()).iterator(chunk_size=EXPORT_CHUNK)
    for number, row in enumerate(rows, start=1):
        writer.writerow([_export_cell(value) for value in row])
        if number % EXPORT_CHUNK == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
