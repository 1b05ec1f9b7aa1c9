"""CSV import: upload, column mapping, preview, the import job, its error file and history."""

import csv
import io
import tracemalloc
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.capture import imports as csv_io
from leads.capture import views as capture_views
from leads.capture.imports import ImportUpload, import_guess_mapping, import_run
from leads.models import Campaign, ChangeSource, Event, Job, Lead, StageChange
from tests.celery_worker import wait_for
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    "E-mail,First Name,Surname,Company,Employees,Country,utm_source,utm_campaign,Notes\n"
    "ana@acme.io,Ana,Pérez,Acme,120,es,linkedin,spring,first\n"
    "LUIS@nube.co,Luis,Gómez,Nube,,MX,,,second\n"
    "not-an-email,Eve,X,Evil,10,ES,,,bad email\n"
    "ana@acme.io,Ana María,,Acme Ltda,,,,,duplicate in the file\n"
    "bo@known.io,Bo,,,lots,ES,,,bad size\n"
    "known@acme.io,,,Known Co,40,,,,fills blanks\n"
    "\n"
    "zoe@acme.io,<script>alert(1)</script>,,=HYPERLINK(1),,Spain,,,bad country\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored(text: str, media: Path, *, name: str = "leads.csv", encoding: str = "utf-8") -> ImportUpload:
    upload = SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")
    return csv_io.import_store_upload(upload=upload)


def queued_job(upload: ImportUpload, user) -> Job:
    mapping = {target: index for index, target in import_guess_mapping(upload.headers).items()}
    return Job.objects.create(
        kind="import",
        created_by=user,
        params={
            "file": f"{upload.token}.csv",
            "name": upload.name,
            "delimiter": upload.delimiter,
            "headers": upload.headers,
            "mapping": mapping,
        },
    )


def test_column_guesses_follow_common_header_spellings():
    headers = ["E-mail", "First Name", "Surname", "Company", "Employees", "Country", "utm_source", "Notes", "email"]
    assert import_guess_mapping(headers) == {
        0: "email",
        1: "first_name",
        2: "last_name",
        3: "company",
        4: "company_size",
        5: "country",
        6: "utm_source",
    }


def test_import_creates_fills_and_never_duplicates_and_lists_bad_rows(marketer, media):
    LeadFactory(email="known@acme.io", company="", first_name="Kim", company_size=None)
    Campaign.objects.create(name="Spring", channel="paid_social", utm_campaign="spring")
    job = queued_job(stored(GOOD_AND_BAD, media), marketer)
    import_run(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error
    assert (job.total, job.done) == (7, 7)
    assert job.result["created"] == 2 and job.result["updated"] == 2 and job.result["failed"] == 3
    assert Lead.objects.filter(email="ana@acme.io").count() == 1
    ana = Lead.objects.get(email="ana@acme.io")
    assert (ana.first_name, ana.last_name, ana.company, ana.company_size, ana.country) == (
        "Ana",
        "Pérez",
        "Acme",
        120,
        "ES",
    )
    assert ana.source == "linkedin" and ana.first_campaign.utm_campaign == "spring"
    assert Event.objects.filter(lead=ana, type="lead_imported").count() == 1
    assert Lead.objects.get(email="luis@nube.co").source == "import"
    known = Lead.objects.get(email="known@acme.io")
    assert (known.first_name, known.company, known.company_size) == ("Kim", "Known Co", 40)
    assert StageChange.objects.get(lead=ana).source == ChangeSource.IMPORT
    assert not Lead.objects.filter(email__in=["bo@known.io", "zoe@acme.io"]).exists()


def test_the_error_csv_gives_each_bad_row_its_line_and_reason(marketer, media, client):
    job = queued_job(stored(GOOD_AND_BAD, media), marketer)
    import_run(job=job)
    client.force_login(marketer)
    response = client.get(reverse("leads:import_errors", args=[job.pk]))
    assert response.status_code == 200
    assert 'filename="leads-errors.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(row["line"], row["problem"]) for row in rows] == [
        ("4", "“not-an-email” is not a valid email address"),
        ("6", "company size “lots” is not a number of employees"),
        ("9", "country “SPAIN” is not a two-letter code"),
    ]
    assert rows[2]["Company"] == "'=HYPERLINK(1)"  # a formula stays inert in the error file too
    assert rows[0]["Notes"] == "bad email"


def test_markup_in_a_csv_cell_is_stored_as_given_and_shown_escaped(marketer, marketer_client, media):
    text = "email,first_name,company\nzoe@acme.io,<script>alert(1)</script>,<img src=x onerror=alert(2)>\n"
    job = queued_job(stored(text, media), marketer)
    import_run(job=job)
    lead = Lead.objects.get(email="zoe@acme.io")
    assert lead.first_name == "<script>alert(1)</script>"
    assert lead.company == "<img src=x onerror=alert(2)>"
    content = marketer_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "<script>alert(1)</script>" not in content and "<img src=x" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_a_bom_and_semicolons_are_understood(marketer, media):
    upload = stored("\ufeffEmail;Company\nana@acme.io;Acme\n", media)
    assert (upload.headers, upload.delimiter) == (["Email", "Company"], ";")
    import_run(job=queued_job(upload, marketer))
    assert Lead.objects.get(email="ana@acme.io").company == "Acme"


def test_running_the_import_twice_imports_once(marketer, media):
    job = queued_job(stored("email\nana@acme.io\n", media), marketer)
    import_run(job=job)
    import_run(job=job)
    assert Lead.objects.count() == 1
    job.refresh_from_db()
    assert job.result["created"] == 1


def test_import_reads_the_file_as_a_stream(marketer, media, monkeypatch):
    """Peak memory while reading does not grow with the file: rows are read one at a time."""
    monkeypatch.setattr(csv_io, "IMPORT_BATCH", 50)

    def peak(rows: int) -> int:
        text = "email,company\n" + "".join(f"lead{n}@example.com,Company {n}\n" for n in range(rows))
        upload = stored(text, media)
        tracemalloc.start()
        for _ in csv_io.import_rows(csv_io.import_path(f"{upload.token}.csv"), ","):
            pass
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    small, large = peak(1_000), peak(50_000)
    assert large < small * 2


def test_a_file_that_turns_out_unreadable_fails_the_job_with_a_message(marketer, media):
    upload = stored("email,company\nana@acme.io,Acme\n", media)
    job = queued_job(upload, marketer)
    csv_io.import_path(job.params["file"]).write_bytes(b"email,company\nana@acme.io,Acme\nbo@acme.io,\xff\xfe\n")
    import_run(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "The import stopped" in job.error and "Rows before it were kept" in job.error


# --- Pages ----------------------------------------------------------------------------------


def test_upload_then_mapping_page_guesses_columns_and_previews_rows(marketer_client, media):
    upload = SimpleUploadedFile("people.csv", GOOD_AND_BAD.encode(), content_type="text/csv")
    response = marketer_client.post(reverse("leads:import_new"), {"file": upload})
    assert response.status_code == 302
    assert list((media / "imports").iterdir())  # stored under MEDIA_ROOT/imports/
    page = marketer_client.get(response.url)
    assert page.status_code == 200
    form = page.context["form"]
    assert form["col_0"].initial == "email" and form["col_8"].initial == ""
    preview = page.context["preview"]
    assert len(preview["rows"]) == 7
    assert preview["rows"][2]["errors"] == ["“not-an-email” is not a valid email address"]
    content = page.content.decode()
    assert "&lt;script&gt;" in content and "<script>alert(1)" not in content


def test_a_chosen_mapping_previews_in_place_and_import_queues_the_job(marketer_client, marketer, media):
    upload = SimpleUploadedFile("people.csv", b"A,B\nana@acme.io,Acme\n", content_type="text/csv")
    url = marketer_client.post(reverse("leads:import_new"), {"file": upload}).url
    preview = marketer_client.post(url, {"col_0": "email", "col_1": "company"}, HTTP_HX_REQUEST="true")
    assert preview.status_code == 200
    assert preview.content.decode().strip().startswith('<section class="card" id="preview"')
    assert "Acme" in preview.content.decode()
    response = marketer_client.post(url, {"col_0": "email", "col_1": "company", "action": "import"})
    job = Job.objects.get(kind="import")
    assert response.url == reverse("leads:import_detail", args=[job.pk])
    assert job.params["mapping"] == {"email": 0, "company": 1} and job.created_by == marketer
    assert marketer_client.get(url).status_code == 404  # the draft is used up
    detail = marketer_client.get(response.url)
    assert detail.status_code == 200 and 'hx-trigger="every 1s"' in detail.content.decode()


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"col_1": "company"}, "email address: it is required"),
        ({"col_0": "email", "col_1": "email"}, "already filled from"),
        ({"col_0": "password"}, "Select a valid choice"),
    ],
)
def test_a_bad_mapping_is_a_400_with_a_message(marketer_client, media, mapping, message):
    upload = SimpleUploadedFile("people.csv", b"A,B\nana@acme.io,Acme\n", content_type="text/csv")
    url = marketer_client.post(reverse("leads:import_new"), {"file": upload}).url
    response = marketer_client.post(url, {**mapping, "action": "import"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Job.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "in-place"])
def test_a_mapping_sent_empty_is_a_400_asking_for_the_email_column(marketer_client, media, htmx):
    """Every column left unchosen: no preview of nothing, the email column is asked for."""
    upload = SimpleUploadedFile("people.csv", b"A,B\nana@acme.io,Acme\n", content_type="text/csv")
    url = marketer_client.post(reverse("leads:import_new"), {"file": upload}).url
    response = marketer_client.post(url, {}, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
    assert response.status_code == 400
    message = "Choose the column that holds the email address: it is required."
    assert f'<p class="error">Fix the mapping to see the preview: {message}</p>' in response.text
    if not htmx:
        assert f'<div role="alert"><ul class="errorlist nonfield"><li>{message}</li></ul></div>' in response.text
    assert not Job.objects.exists()
    assert marketer_client.get(url).status_code == 200  # the upload is still there to map


def test_an_upload_sent_without_a_file_is_a_400_naming_the_file_field(marketer_client, media):
    response = marketer_client.post(reverse("leads:import_new"), {})
    assert response.status_code == 400
    assert response.context["form"].errors == {"file": ["This field is required."]}
    assert '<ul class="errorlist" id="id_file_error"><li>This field is required.</li></ul>' in response.text
    assert not (media / "imports").exists() and not Job.objects.exists()


def test_a_file_that_is_not_utf8_is_refused_with_what_to_do(marketer_client, media):
    upload = SimpleUploadedFile("latin.csv", "email,company\nana@acme.io,Compañía\n".encode("latin-1"))
    response = marketer_client.post(reverse("leads:import_new"), {"file": upload})
    assert response.status_code == 400
    assert "CSV UTF-8" in response.content.decode()
    assert not list((media / "imports").iterdir())


def test_a_file_over_the_size_limit_or_empty_is_refused(marketer_client, media, monkeypatch):
    monkeypatch.setattr(capture_views, "IMPORT_MAX_BYTES", 10)
    big = SimpleUploadedFile("big.csv", b"email\n" + b"a@b.io\n" * 10)
    assert "the limit is" in marketer_client.post(reverse("leads:import_new"), {"file": big}).content.decode()
    empty = marketer_client.post(reverse("leads:import_new"), {"file": SimpleUploadedFile("e.csv", b"")})
    assert empty.status_code == 400


def test_another_users_upload_draft_is_not_found(marketer_client, manager_client, media):
    upload = SimpleUploadedFile("people.csv", b"email\nana@acme.io\n")
    url = marketer_client.post(reverse("leads:import_new"), {"file": upload}).url
    assert manager_client.get(url).status_code == 404


def test_history_lists_past_imports_with_their_status(manager_client, marketer, media):
    job = queued_job(stored(GOOD_AND_BAD, media, name="spring-list.csv"), marketer)
    import_run(job=job)
    response = manager_client.get(reverse("leads:imports"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "spring-list.csv" in content and "Done" in content
    status = manager_client.get(reverse("leads:import_status", args=[job.pk])).content.decode()
    assert "Rows not imported" in status and "every 1s" not in status  # finished: polling stops


def test_reps_cannot_import_or_see_imports(rep_client, marketer, media):
    job = queued_job(stored("email\nana@acme.io\n", media), marketer)
    for url in (
        reverse("leads:imports"),
        reverse("leads:import_new"),
        reverse("leads:import_detail", args=[job.pk]),
        reverse("leads:import_status", args=[job.pk]),
        reverse("leads:import_errors", args=[job.pk]),
    ):
        assert rep_client.get(url).status_code == 403, url
    assert rep_client.post(reverse("leads:import_new"), {}).status_code == 403


def test_an_import_without_bad_rows_has_no_error_file(marketer_client, marketer, media):
    job = queued_job(stored("email\nana@acme.io\n", media), marketer)
    import_run(job=job)
    job.refresh_from_db()
    assert job.result["errors_file"] == ""
    assert marketer_client.get(reverse("leads:import_errors", args=[job.pk])).status_code == 404


def test_the_import_task_is_registered_with_celery():
    from smarketing.celery import app

    app.loader.import_default_modules()  # what a worker does at start
    assert "jobs.import" in app.tasks


def test_only_imports_is_current_in_the_navigation_on_the_imports_page(marketer_client):
    items = marketer_client.get(reverse("leads:imports")).context["nav_items"]
    assert [item["label"] for item in items if item["active"]] == ["Imports"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_queued_import(request, marketer, settings):
    """Through the real path: the upload is stored, Import queues the task on commit, a worker runs it."""
    process, log = request.getfixturevalue("worker")
    var_dir = request.getfixturevalue("celery_env")["SMARKETING_VAR_DIR"]
    settings.MEDIA_ROOT = Path(var_dir) / "media"  # where the worker looks
    upload = stored("email,company\nana@acme.io,Acme\nnot-an-email,X\n", settings.MEDIA_ROOT)
    job = csv_io.import_enqueue(upload=upload, mapping={"email": 0, "company": 1}, by=marketer)
    done = wait_for(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.DONE).first(), process, log)
    assert (done.result["created"], done.result["failed"]) == (1, 1)
    assert Lead.objects.get(email="ana@acme.io").company == "Acme"


def test_a_row_that_is_not_csv_is_a_400_in_the_preview_and_fails_the_job_with_its_line(
    marketer_client, marketer, media
):
    text = b"email,notes\nana@acme.io,ok\nbo@acme.io," + b"x" * 200_000 + b"\n"
    url = marketer_client.post(reverse("leads:import_new"), {"file": SimpleUploadedFile("big.csv", text)}).url
    preview = marketer_client.get(url)
    assert preview.status_code == 400
    assert "Line 3 cannot be read as CSV" in preview.content.decode()
    marketer_client.post(url, {"col_0": "email", "action": "import"})
    job = Job.objects.get(kind="import")
    import_run(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("The import stopped: Line 3 cannot be read as CSV")
    assert (job.total, job.result["created"]) == (1, 1)
    assert Lead.objects.filter(email="ana@acme.io").exists()  # the row before the bad line is kept
