"""CSV in and out of the lead list: export what a list shows, import a file of leads.

Both directions stream. An export writes rows as the database cursor yields them; an
import reads the stored file a row at a time and writes in batches of 1,000, so memory
stays flat whether the file has a hundred rows or a million.
"""

import codecs
import csv
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest, leads_ensure
from leads.jobs import JobLeaseLost, job_claim, job_finish, job_heartbeat, job_lease_kept, job_queue
from leads.models import LEAD_FIELD_LABELS, ChangeSource, ErasedAddress, Job, Lead, StageChange, normalize_email
from leads.models.privacy import ERASED_REFUSAL
from leads.qualification import services as qualification
from leads.scoring import services as scoring
from smarketing.lib.csv_export import csv_safe

IMPORT_MAX_BYTES = 200 * 2**20


IMPORT_BATCH = 1_000


IMPORT_DIR = "imports"


MAX_COLUMNS = 200


COMPANY_SIZE_LIMIT = 10_000_000


IMPORT_EVENT = "lead_imported"


DEFAULT_SOURCE = "import"


TOUCH_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


IMPORT_FIELDS = {
    "email": "Email",
    **LEAD_FIELD_LABELS,
    "source": "Source",
    **{name: name for name in TOUCH_FIELDS},
}


# Header spellings seen in exports from other tools, normalised (lower case, underscores).
HEADER_SYNONYMS = {
    "email": ["email", "e_mail", "email_address", "mail", "work_email", "correo", "correo_electronico"],
    "first_name": ["first_name", "firstname", "first", "given_name", "forename", "nombre"],
    "last_name": ["last_name", "lastname", "last", "surname", "family_name", "apellido", "apellidos"],
    "company": ["company", "company_name", "organization", "organisation", "account", "account_name", "empresa"],
    "title": ["title", "job_title", "jobtitle", "position", "role", "cargo", "puesto"],
    "industry": ["industry", "sector", "vertical", "industria"],
    "company_size": ["company_size", "employees", "employee_count", "number_of_employees", "headcount", "size"],
    "country": ["country", "country_code", "pais"],
    "phone": ["phone", "phone_number", "telephone", "tel", "mobile", "telefono"],
    "website": ["website", "web", "url", "site", "domain", "web_site"],
    "source": ["source", "lead_source", "origin", "fuente"],
    **{name: [name] for name in TOUCH_FIELDS},
}


def _normal_header(header: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in header.strip().lower())
    return "_".join(part for part in cleaned.split("_") if part)


def import_guess_mapping(headers: list[str]) -> dict[int, str]:
    """{column index: lead field} for the headers whose name we recognise (each field once)."""
    guesses: dict[int, str] = {}
    for index, header in enumerate(headers):
        name = _normal_header(header)
        for target, spellings in HEADER_SYNONYMS.items():
            if name in spellings and target not in guesses.values():
                guesses[index] = target
                break
    return guesses


@dataclass
class ImportRow:
    """One data row as it would be imported, with what is wrong with it."""

    line: int
    raw: list[str]
    email: str = ""
    lead: dict[str, Any] = field(default_factory=dict)
    touch: dict[str, str] = field(default_factory=dict)
    source: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _max_length(name: str) -> int:
    return Lead._meta.get_field(name).max_length or 200


def import_row_clean(raw: list[str], mapping: dict[str, int], line: int) -> ImportRow:
    """Validate and shape one row; the preview and the import share this, so they agree."""
    row = ImportRow(line=line, raw=raw)
    values = {target: (raw[index].strip() if index < len(raw) else "") for target, index in mapping.items()}
    if any("\x00" in value for value in values.values()):
        row.errors.append("contains a NUL character")
        return row
    row.email = _clean_email(values.pop("email", ""), row.errors)
    if size := values.pop("company_size", ""):
        row.lead["company_size"] = _clean_size(size, row.errors)
    if country := values.pop("country", "").upper():
        if len(country) == 2 and country.isascii() and country.isalpha():
            row.lead["country"] = country
        else:
            row.errors.append(f"country “{country}” is not a two-letter code")
    for target, value in values.items():
        if not value:
            continue
        limit = 200 if target in TOUCH_FIELDS else _max_length(target)
        if len(value) > limit:
            row.errors.append(f"{IMPORT_FIELDS[target].lower()} is longer than {limit} characters")
        elif target in TOUCH_FIELDS:
            row.touch[target] = value
        elif target == "source":
            row.source = value
        else:
            row.lead[target] = value
    return row


def _clean_email(value: str, errors: list[str]) -> str:
    email = normalize_email(value)
    if not email:
        errors.append("email is missing")
        return ""
    try:
        validate_email(email)
    except ValidationError:
        errors.append(f"“{value[:80]}” is not a valid email address")
        return ""
    return email


def _clean_size(value: str, errors: list[str]) -> int | None:
    digits = value.replace(",", "").replace(".", "").replace(" ", "")
    if not digits.isdigit() or int(digits) > COMPANY_SIZE_LIMIT:
        errors.append(f"company size “{value[:40]}” is not a number of employees")
        return None
    return int(digits)


@dataclass
class ImportUpload:
    token: str
    name: str
    headers: list[str]
    delimiter: str


def import_path(name: str) -> Path:
    """A stored import file's path, always inside MEDIA_ROOT/imports/ whatever the name says."""
    return Path(settings.MEDIA_ROOT) / IMPORT_DIR / Path(name).name


class ImportFileError(Exception):
    """The uploaded file cannot be imported; the message says why and what to do."""


def import_store_upload(*, upload: UploadedFile) -> ImportUpload:
    """Copy the upload to MEDIA_ROOT/imports/ chunk by chunk, checking it is UTF-8 text as it goes."""
    token = uuid.uuid4().hex
    path = import_path(f"{token}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with path.open("wb") as out:
            for chunk in upload.chunks():
                decoder.decode(chunk)
                out.write(chunk)
            decoder.decode(b"", final=True)
        headers, delimiter = _read_header(path)
    except UnicodeDecodeError as error:
        path.unlink(missing_ok=True)
        raise ImportFileError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” from your spreadsheet and upload it again."
        ) from error
    except ImportFileError:
        path.unlink(missing_ok=True)
        raise
    return ImportUpload(
        token=token, name=Path(upload.name or "leads.csv").name[:200], headers=headers, delimiter=delimiter
    )


def _read_header(path: Path) -> tuple[list[str], str]:
    with _open(path) as text:
        first = text.readline()
    if not first.strip():
        raise ImportFileError("The file's first line is empty; it must hold the column names.")
    # Spreadsheets in many locales write ";" (or tabs) between cells: take the commonest.
    delimiter = max([",", ";", "\t"], key=first.count)
    try:
        headers = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as error:
        raise ImportFileError(f"The first line cannot be read as column names: {error}.") from error
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(f"The file has {len(headers)} columns; at most {MAX_COLUMNS} can be mapped.")
    return [header.strip()[:100] for header in headers], delimiter


def _open(path: Path) -> IO[str]:
    return path.open(encoding="utf-8-sig", newline="")


def import_rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank data row, read lazily."""
    with _open(path) as text:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            next(reader, None)  # the header
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield reader.line_num, cells
        except csv.Error as error:
            raise ImportFileError(f"Line {reader.line_num} cannot be read as CSV: {error}.") from error


def import_preview(*, path: Path, delimiter: str, mapping: dict[str, int], limit: int = 10) -> list[ImportRow]:
    preview = []
    for line, cells in import_rows(path, delimiter):
        preview.append(import_row_clean(cells, mapping, line))
        if len(preview) == limit:
            break
    return preview


def import_enqueue(*, upload: ImportUpload, mapping: dict[str, int], by: AbstractBaseUser) -> Job:
    """Queue the import as a job whose page shows its progress."""
    params = {
        "file": f"{upload.token}.csv",
        "name": upload.name,
        "delimiter": upload.delimiter,
        "headers": upload.headers,
        "mapping": mapping,
    }
    return job_queue(kind="import", params=params, total=0, by=by)


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.created + self.updated + self.failed

    def as_result(self, errors_file: str) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "failed": self.failed, "errors_file": errors_file}


def import_run(*, job: Job) -> Job:
    """Import the job's file: count its rows, then write good rows in batches, bad ones to an error CSV.

    Safe to run twice and to resume: a run claims the job (leads.jobs), and each batch commits
    with the job's checkpoint (the file's last line done, the counts so far, the error CSV's
    length), so a run that takes over from a dead worker starts after the last committed batch.
    """
    if not job_claim(job):
        return job
    counts = ImportCounts(**job.checkpoint.get("counts", {}))
    errors_name = job.params["file"].removesuffix(".csv") + "-errors.csv"
    try:
        with job_lease_kept(job):
            _import_file(job, counts, errors_name)
    except JobLeaseLost:
        return job  # another run holds the job now
    except (ImportFileError, UnicodeDecodeError, OSError) as error:
        reason = str(error).rstrip(".")
        _job_finish(job, counts, errors_name, error=f"The import stopped: {reason}. Rows before it were kept.")
        return job
    except Exception as error:
        _job_finish(job, counts, errors_name, error=f"The import failed: {error}")
        raise
    _job_finish(job, counts, errors_name)
    return job


def _import_file(job: Job, counts: ImportCounts, errors_name: str) -> None:
    path, delimiter = import_path(job.params["file"]), job.params["delimiter"]
    mapping = {target: int(index) for target, index in job.params["mapping"].items()}
    job_heartbeat(job, total=_rows_readable(path, delimiter))
    line = job.checkpoint.get("line", 0)
    with _errors_file(errors_name, job) as errors_file:
        errors = csv.writer(errors_file)
        batch: list[ImportRow] = []
        done_line = line  # the last line whose row is written (or listed as bad)
        try:
            for line, cells in import_rows(path, delimiter):
                if line <= done_line:
                    continue  # committed by an earlier run
                row = import_row_clean(cells, mapping, line)
                if not row.ok:
                    counts.failed += 1
                    errors.writerow([line, "; ".join(row.errors), *(csv_safe(cell) for cell in cells)])
                    continue
                batch.append(row)
                if len(batch) == IMPORT_BATCH:
                    _import_batch(job, batch, counts, line, errors_file)
                    batch = []
        except ImportFileError:
            _import_batch(job, batch, counts, line, errors_file)  # keep the good rows before the bad line
            raise
        _import_batch(job, batch, counts, line, errors_file)


def _errors_file(errors_name: str, job: Job) -> IO[str]:
    """The error CSV, opened to go on where the last committed batch left it: a resumed run
    cuts what a dead one wrote after its last checkpoint, so no bad row is listed twice."""
    path = import_path(errors_name)
    kept = job.checkpoint.get("errors_bytes")
    if kept is None or not path.exists():
        errors_file = path.open("w", encoding="utf-8-sig", newline="")
        csv.writer(errors_file).writerow(["line", "problem", *job.params["headers"]])
        return errors_file
    errors_file = path.open("r+", encoding="utf-8-sig", newline="")
    errors_file.truncate(kept)
    errors_file.seek(kept)
    return errors_file


def _rows_readable(path: Path, delimiter: str) -> int:
    """Rows up to the end, or up to a line that is not CSV (the import then stops there too)."""
    count = 0
    try:
        for _ in import_rows(path, delimiter):
            count += 1
    except ImportFileError:
        pass  # reported by the import pass, after it has kept the rows before the bad line
    return count


def _import_batch(job: Job, rows: list[ImportRow], counts: ImportCounts, line: int, errors_file: IO[str]) -> None:
    """Write one batch through the capture path and the job's checkpoint in one transaction:
    both commit or neither, so a resumed run never writes a row twice."""
    rows = _erased_listed(rows, counts, errors_file)
    errors_file.flush()
    with transaction.atomic():
        if rows:
            created = leads_import(rows=rows, key_prefix=f"import-{job.pk}")
            counts.created += created
            counts.updated += len(rows) - created
        checkpoint = {"line": line, "counts": asdict(counts), "errors_bytes": errors_file.tell()}
        job_heartbeat(job, done=counts.done, result=counts.as_result(""), checkpoint=checkpoint)


def _erased_listed(rows: list[ImportRow], counts: ImportCounts, errors_file: IO[str]) -> list[ImportRow]:
    """The rows to import: those whose address was erased at its owner's request go to the error
    CSV by their line alone (the file need not repeat the address), one query a batch."""
    erased = ErasedAddress.objects.among(row.email for row in rows)
    if not erased:
        return rows
    errors = csv.writer(errors_file)
    for row in rows:
        if row.email in erased:
            counts.failed += 1
            errors.writerow([row.line, ERASED_REFUSAL])
    return [row for row in rows if row.email not in erased]


def leads_import(*, rows: list[ImportRow], key_prefix: str) -> int:
    """Create or fill in the rows' leads; returns how many leads were new.

    1. leads_ensure creates unknown emails and fills known leads' blanks (never overwrites);
       within a batch the first non-blank value of an email wins.
    2. Rows carrying UTM values become a `lead_imported` event, which records the touch
       (first/last source, campaign) like any other capture.
    3. New leads without a touch get the CSV's source, else "import"; their first stage
       change says it came from an import.
    4. Every lead in the batch is rescored and requalified (its facts may have changed its fit).
    """
    lead_data: dict[str, dict[str, Any]] = {}
    for row in rows:
        known = lead_data.setdefault(row.email, {})
        for name, value in row.lead.items():
            known.setdefault(name, value)
    ids, created = leads_ensure(lead_data)
    now = timezone.now()
    events = [
        EventIn(
            email=row.email,
            type=IMPORT_EVENT,
            occurred_at=now,
            idempotency_key=f"{key_prefix}-{row.line}",
            properties=row.touch,
        )
        for row in rows
        if row.touch
    ]
    if events:
        events_ingest(events=events, qualify=False)
    created_ids = [ids[email] for email in created]
    _sources_fill(rows, ids, created)
    StageChange.objects.filter(lead_id__in=created_ids, from_stage="").update(source=ChangeSource.IMPORT)
    scoring.leads_rescore(lead_ids=ids.values())
    qualification.leads_qualify(lead_ids=ids.values())
    return len(created)


def _sources_fill(rows: Iterable[ImportRow], ids: dict[str, int], created: set[str]) -> None:
    """One UPDATE per distinct source value (a file holds few), never one per row."""
    by_source: dict[str, set[int]] = {}
    for row in rows:
        if row.email in created:
            by_source.setdefault(row.source or DEFAULT_SOURCE, set()).add(ids[row.email])
    for source, lead_ids in by_source.items():
        Lead.objects.filter(pk__in=lead_ids, source="").update(source=source)


def _job_finish(job: Job, counts: ImportCounts, errors_name: str, *, error: str = "") -> None:
    has_errors = counts.failed > 0 and import_path(errors_name).exists()
    if not has_errors:
        import_path(errors_name).unlink(missing_ok=True)  # a header alone helps nobody
    job_finish(job, result=counts.as_result(errors_name if has_errors else ""), error=error, done=counts.done)
