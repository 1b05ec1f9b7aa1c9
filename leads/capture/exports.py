"""CSV export of the lead list: exactly the filtered leads, streamed in chunks, every text cell
guarded against spreadsheet formula injection.
"""

from collections.abc import Iterator

from django.db.models import QuerySet

from leads.models import LEAD_PROFILE_FIELDS, Lead
from smarketing.lib.csv_export import CHUNK, csv_safe, csv_stream

__all__ = ["EXPORT_COLUMNS", "csv_safe", "leads_export_lines"]  # csv_safe, where other exports found it first

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


def leads_export_lines(leads: QuerySet[Lead]) -> Iterator[str]:
    """The leads as CSV text, streamed a chunk of rows at a time as the database cursor yields them."""
    rows = leads.values_list(*EXPORT_COLUMNS.values()).iterator(chunk_size=CHUNK)
    return csv_stream(list(EXPORT_COLUMNS), rows)
