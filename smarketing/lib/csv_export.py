"""CSV for spreadsheets: every export streams through here, a chunk of rows at a time, each
text cell guarded against formula injection."""

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

CHUNK = 2_000

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Some spreadsheets read full-width and small forms (＝ ＋ － ＠ ﹦) and the minus sign as the
# ASCII ones, and blanks or invisible characters (zero-width space, BOM) in front hide them.
_MINUS_SIGN = "\u2212"


def csv_safe(value: str) -> str:
    """Neutralise a would-be formula with a leading apostrophe (OWASP's CSV injection advice)."""
    return "'" + value if _formula_like(value) else value


def _formula_like(value: str) -> bool:
    if value.startswith(FORMULA_STARTS):
        return True
    visible = value.lstrip()
    while visible and (unicodedata.category(visible[0]) == "Cf" or visible[0].isspace()):
        visible = visible[1:]
    first = unicodedata.normalize("NFKC", visible[:1]).replace(_MINUS_SIGN, "-")
    return first[:1] in ("=", "+", "-", "@")


def csv_cell(value: Any) -> Any:
    """A value as a cell: empty for None, times in the instance's zone, text made safe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, str):
        return csv_safe(value)
    return value  # numbers and booleans are never formulas


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk: int = CHUNK) -> Iterator[str]:
    """The header and rows as CSV text (a BOM first, so spreadsheets read the accents), yielded
    every `chunk` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for number, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
        if number % chunk == 0:
            yield _drained(buffer)
    yield _drained(buffer)


def _drained(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
