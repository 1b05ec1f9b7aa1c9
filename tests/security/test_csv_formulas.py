"""CSV formula injection: every would-be formula in the corpus, entered through the API or a
CSV import, leaves every export as text (a leading apostrophe), full-width and
invisibly-prefixed ones included; harmless text is left as it was."""

import csv
import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from leads.capture.imports import import_run
from leads.models import Lead
from playbooks.lists import services as lists
from smarketing.lib.csv_export import csv_safe, csv_stream
from tests.bad_input import CSV_FORMULAS, CSV_HARMLESS, neutralised
from tests.leads.capture.test_imports import queued_job, stored

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("formula", CSV_FORMULAS)
def test_the_shared_writer_neutralises_every_formula_in_the_corpus(formula):
    [_, line] = list(csv.reader(io.StringIO("".join(csv_stream(["cell"], [[formula]])).lstrip("\ufeff"))))
    assert neutralised(line[0]) and line[0][1:] == formula


@pytest.mark.parametrize("text", CSV_HARMLESS)
def test_harmless_text_is_exported_as_it_was(text):
    assert csv_safe(text) == text


def test_formulas_sent_through_the_api_are_inert_in_the_lead_export(marketer, marketer_client):
    client = APIClient()
    client.force_authenticate(marketer)
    for number, formula in enumerate(CSV_FORMULAS):
        body = {"email": f"f{number}@example.com", "first_name": formula, "company": formula, "utm_campaign": formula}
        assert client.post("/api/v1/leads/", body, format="json").status_code == 201, repr(formula)
    rows = rows_of(marketer_client.get(reverse("leads:export"), {"ordering": "created_at"}))
    assert len(rows) == len(CSV_FORMULAS)
    for row in rows:
        for column in ("first_name", "company"):
            stored = getattr(Lead.objects.get(pk=row["id"]), column)
            assert stored and neutralised(row[column]), (column, row[column])
            assert row[column][1:] == stored  # only the guard is added; the text is kept


def test_formulas_in_a_list_export_are_inert(marketer, marketer_client):
    leads = [
        Lead.objects.create(email=f"l{number}@example.com", first_name=formula, last_name=formula, title=formula)
        for number, formula in enumerate(CSV_FORMULAS)
    ]
    lead_list = lists.list_save(data={"name": "\uff1dformula list"}, by=marketer)
    lists.list_add_leads(lead_list=lead_list, lead_ids=[lead.pk for lead in leads], source="manual", by=marketer)
    rows = rows_of(marketer_client.get(reverse("playbooks:list-export", args=[lead_list.pk])))
    assert len(rows) == len(CSV_FORMULAS)
    for row in rows:
        assert neutralised(row["first_name"]) and neutralised(row["last_name"]), row


def test_formulas_in_an_imported_file_are_inert_in_its_error_file(marketer, marketer_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    lines = ["email,company"] + [f"not-an-email-{n},{_quoted(formula)}" for n, formula in enumerate(CSV_FORMULAS)]
    job = queued_job(stored("\n".join(lines) + "\n", tmp_path), marketer)
    import_run(job=job)
    rows = rows_of(marketer_client.get(reverse("leads:import_errors", args=[job.pk])))
    assert len(rows) == len(CSV_FORMULAS)
    assert all(neutralised(row["company"]) for row in rows), [row["company"] for row in rows]


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'
