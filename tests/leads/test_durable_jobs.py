"""Durable jobs (leads.jobs): claimed under a lease, resumed from a checkpoint, swept when a
worker dies or the broker never delivered, and never writing a row twice when a chunk reruns."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from leads import jobs
from leads.capture import imports as csv_io
from leads.models import Event, Job, Lead
from leads.services import leads_set_owner_enqueue, leads_set_owner_run
from smarketing.celery import app
from tests.celery_worker import reset_broker_pool

pytestmark = pytest.mark.django_db

ROWS = "".join(f"lead{n}@acme.io,Co {n},li,spring\n" for n in range(1, 8)) + "not-an-email,X,,\n"
CSV = "email,company,utm_source,utm_campaign\n" + ROWS


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def import_job(marketer) -> Job:
    upload = csv_io.import_store_upload(upload=SimpleUploadedFile("leads.csv", CSV.encode(), content_type="text/csv"))
    mapping = {"email": 0, "company": 1, "utm_source": 2, "utm_campaign": 3}
    return csv_io.import_enqueue(upload=upload, mapping=mapping, by=marketer)


def expire(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_a_claim_gives_a_lease_and_counts_an_attempt_and_a_second_claim_loses(marketer, settings):
    job = jobs.job_queue(kind="set_owner", params={}, total=0, by=marketer)
    assert jobs.job_claim(job)
    assert (job.status, job.attempts) == (Job.Status.RUNNING, 1)
    assert job.lease_until > timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS - 5)
    assert not jobs.job_claim(Job.objects.get(pk=job.pk))


def test_a_running_job_whose_lease_ran_out_is_taken_over_and_the_old_run_stops_at_its_next_chunk(marketer):
    job = jobs.job_queue(kind="set_owner", params={}, total=0, by=marketer)
    jobs.job_claim(job)
    expire(job)
    taker = Job.objects.get(pk=job.pk)
    assert jobs.job_claim(taker)
    assert taker.attempts == 2
    with pytest.raises(jobs.JobLeaseLost):
        jobs.job_heartbeat(job, done=1)  # the first run's
    jobs.job_heartbeat(taker, done=1)
    assert Job.objects.get(pk=job.pk).done == 1


def test_the_sweep_requeues_and_sends_a_job_whose_worker_died_and_leaves_live_ones(
    marketer, settings, django_capture_on_commit_callbacks
):
    dead = jobs.job_queue(kind="set_owner", params={}, total=0, by=marketer)
    live = jobs.job_queue(kind="set_owner", params={}, total=0, by=marketer)
    jobs.job_claim(dead)
    jobs.job_claim(live)
    expire(dead)
    settings.JOB_SEND_AGAIN_SECONDS = 60
    with django_capture_on_commit_callbacks() as sends:
        outcome = jobs.jobs_sweep()
    assert outcome == {"requeued": 1, "sent": 1, "failed": 0}
    assert len(sends) == 1
    assert Job.objects.get(pk=dead.pk).status == Job.Status.QUEUED
    assert Job.objects.get(pk=dead.pk).sends == 1  # sent once since re-queued: its back-off starts over
    assert Job.objects.get(pk=live.pk).status == Job.Status.RUNNING


def test_the_sweep_sends_again_a_queued_job_nobody_took_but_not_a_fresh_one(
    marketer, settings, django_capture_on_commit_callbacks
):
    settings.JOB_SEND_AGAIN_SECONDS = 60
    lost = jobs.job_queue(kind="rescore", params={}, total=0, by=marketer)
    Job.objects.filter(pk=lost.pk).update(sent_at=timezone.now() - timedelta(seconds=61))
    jobs.job_queue(kind="rescore", params={}, total=0, by=marketer)
    with django_capture_on_commit_callbacks() as sends:
        assert jobs.jobs_sweep()["sent"] == 1
        assert jobs.jobs_sweep()["sent"] == 0  # sent_at moved: not again until another minute passes
    assert len(sends) == 1
    assert Job.objects.get(pk=lost.pk).sent_at > timezone.now() - timedelta(seconds=5)


def test_a_job_that_ran_out_of_attempts_fails_with_a_message_saying_so(marketer, settings):
    job = jobs.job_queue(kind="set_owner", params={}, total=0, by=marketer)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=settings.JOB_MAX_ATTEMPTS)
    expire(job)
    assert jobs.jobs_sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert f"stopped {settings.JOB_MAX_ATTEMPTS} times" in job.error


@contextmanager
def broker_unreachable(monkeypatch) -> Iterator[None]:
    saved = app.conf.broker_url
    nowhere = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setenv("CELERY_BROKER_URL", nowhere)  # Celery reads it before its configuration
    app.conf.broker_url = nowhere
    reset_broker_pool()
    try:
        yield
    finally:
        monkeypatch.undo()
        app.conf.broker_url = saved
        reset_broker_pool()


def test_asking_for_a_job_succeeds_soon_when_the_broker_is_unreachable(
    marketer, caplog, django_capture_on_commit_callbacks, monkeypatch
):
    started = time.monotonic()
    with broker_unreachable(monkeypatch), django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_queue(kind="rescore", params={}, total=0, by=marketer)
    assert time.monotonic() - started < 5
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED  # the sweep sends it later
    assert f"could not send jobs.rescore({job.pk},)" in caplog.text


def test_a_queued_job_waiting_behind_busy_workers_is_sent_again_less_and_less_often(
    marketer, settings, django_capture_on_commit_callbacks
):
    settings.JOB_SEND_AGAIN_SECONDS, settings.JOB_SEND_AGAIN_MAX_SECONDS = 60, 30 * 60
    with time_machine.travel(timezone.now(), tick=False) as clock:
        job = jobs.job_queue(kind="rescore", params={}, total=0, by=marketer)
        sent_again_at = []
        for second in range(30, 2 * 3600 + 1, 30):  # beat's sweep every 30 s for two hours
            clock.shift(30)
            with django_capture_on_commit_callbacks() as sends:
                jobs.jobs_sweep()
            if sends:
                sent_again_at.append(second)
    # Waits of 1, 2, 4, 8, 16 minutes, then 30 at most: seven messages in two hours, not 80.
    assert sent_again_at == [90, 240, 510, 1020, 2010, 3840, 5670]
    assert Job.objects.get(pk=job.pk).sends == 8


def test_a_send_the_broker_refuses_does_not_count_and_brings_every_queued_job_back_to_the_first_wait(
    marketer, settings, caplog, django_capture_on_commit_callbacks, monkeypatch
):
    settings.JOB_SEND_AGAIN_SECONDS, settings.JOB_SEND_AGAIN_MAX_SECONDS = 60, 30 * 60
    now = timezone.now()
    due = [jobs.job_queue(kind="rescore", params={}, total=0, by=marketer) for _ in range(2)]
    Job.objects.filter(pk__in=[job.pk for job in due]).update(sends=4, sent_at=now - timedelta(minutes=9))
    waiting = jobs.job_queue(kind="rescore", params={}, total=0, by=marketer)  # its message may be lost too
    Job.objects.filter(pk=waiting.pk).update(sends=6, sent_at=now - timedelta(minutes=10))
    with broker_unreachable(monkeypatch), django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_sweep()["sent"] == 2
    assert caplog.text.count("could not send jobs.rescore") == 1  # the broker is down: the second is not tried
    assert "the broker is unreachable; 0 of 2 job(s) sent" in caplog.text
    assert set(Job.objects.values_list("sends", flat=True)) == {1}

    back = timezone.now() + timedelta(seconds=61)  # the broker is back; a minute passed
    with time_machine.travel(back), django_capture_on_commit_callbacks() as sends:
        assert jobs.jobs_sweep()["sent"] == 3
    assert len(sends) == 1


def test_an_import_killed_after_a_batch_resumes_from_its_checkpoint_and_writes_nothing_twice(
    marketer, media, monkeypatch
):
    monkeypatch.setattr(csv_io, "IMPORT_BATCH", 3)
    job = import_job(marketer)
    real_import = csv_io.leads_import
    batches = []

    def dies_on_the_second_batch(**kwargs):
        if len(batches) == 1:
            raise SystemExit("worker killed")  # not an Exception: the job stays running, as after SIGKILL
        batches.append(real_import(**kwargs))
        return batches[-1]

    monkeypatch.setattr(csv_io, "leads_import", dies_on_the_second_batch)
    with pytest.raises(SystemExit):
        csv_io.import_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.done, job.checkpoint["line"]) == (Job.Status.RUNNING, 3, 4)
    assert Lead.objects.count() == 3

    monkeypatch.setattr(csv_io, "leads_import", real_import)
    expire(job)
    csv_io.import_run(job=Job.objects.get(pk=job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error
    assert (job.attempts, job.done, job.total) == (2, 8, 8)
    assert job.result == {"created": 7, "updated": 0, "failed": 1, "errors_file": job.result["errors_file"]}
    assert Lead.objects.count() == 7
    assert Event.objects.filter(type="lead_imported").count() == 7
    errors = csv_io.import_path(job.result["errors_file"]).read_text(encoding="utf-8-sig").splitlines()
    assert len(errors) == 2 and errors[1].startswith("9,")


def test_a_rerun_of_a_committed_import_batch_writes_no_touch_twice(marketer, media):
    job = import_job(marketer)
    rows = [csv_io.import_row_clean(["ana@acme.io", "Acme", "li", "spring"], {"email": 0, "utm_source": 2}, 2)]
    csv_io.leads_import(rows=rows, key_prefix=f"import-{job.pk}")
    csv_io.leads_import(rows=rows, key_prefix=f"import-{job.pk}")
    assert Event.objects.filter(type="lead_imported", lead__email="ana@acme.io").count() == 1


def test_a_bulk_owner_change_resumes_after_its_last_committed_batch(marketer, manager, rep, monkeypatch):
    from leads import services
    from tests.factories import LeadFactory

    monkeypatch.setattr(services, "BULK_BATCH", 2)
    leads = LeadFactory.create_batch(5)
    job = leads_set_owner_enqueue(lead_ids=[lead.pk for lead in leads], owner_id=rep.pk, by=manager)
    # An earlier run committed the first two batches, then its worker died.
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        attempts=1,
        done=4,
        checkpoint={"batches": 2, "tally": {"changed": 4, "handed_off": 0, "not_changed": {}}},
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    leads_set_owner_run(job=Job.objects.get(pk=job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.result == {"changed": 5}  # four from before, one now
    assert Lead.objects.filter(owner=rep).count() == 1  # only the last batch ran in this run


def test_the_job_page_says_a_job_resumed_after_its_worker_stopped(manager_client, manager):
    job = jobs.job_queue(kind="rescore", params={}, total=10, by=manager)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED, attempts=1, done=4)  # re-queued by the sweep
    assert "the job waits to resume from where it was" in manager_client.get(reverse("leads:job", args=[job.pk])).text
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=2)
    page = manager_client.get(reverse("leads:job", args=[job.pk])).text
    assert "the job resumed from where it was" in page and "(4 of 10)" in page


@pytest.mark.django_db(transaction=True)
def test_a_step_longer_than_the_lease_keeps_its_lease_while_the_process_lives(manager, settings):
    settings.JOB_LEASE_SECONDS = 0.6
    job = jobs.job_queue(kind="backtest", params={}, total=1, by=manager)
    seen = {}

    def one_long_step(job: Job, advance: jobs.Advance) -> dict:
        time.sleep(1.5)  # no chunk, no heartbeat of its own
        seen["lease_left"] = Job.objects.get(pk=job.pk).lease_until > timezone.now()
        seen["swept"] = jobs.jobs_sweep()["requeued"]
        return {"ok": True}

    jobs.job_run(job=job, work=one_long_step)
    assert seen == {"lease_left": True, "swept": 0}
    assert Job.objects.get(pk=job.pk).status == Job.Status.DONE


def test_a_run_without_progress_for_the_stall_limit_is_no_longer_renewed_and_the_sweep_requeues_it(
    manager, settings, caplog
):
    settings.JOB_LEASE_SECONDS, settings.JOB_STALL_SECONDS = 0.3, 0.6
    job = jobs.job_queue(kind="rescore", params={}, total=10, by=manager)
    jobs.job_claim(job)
    time.sleep(0.4)
    assert jobs.job_lease_renew(job)  # claimed 0.4 s ago: still within the stall limit
    jobs.job_heartbeat(job, done=1)  # a chunk committed: the stall limit counts from here
    time.sleep(0.4)
    assert jobs.job_lease_renew(job)
    renewed_until = Job.objects.get(pk=job.pk).lease_until

    time.sleep(0.4)  # 0.8 s since the last chunk: the run hangs
    assert not jobs.job_lease_renew(job)
    assert Job.objects.get(pk=job.pk).lease_until == renewed_until
    assert f"job {job.pk}: no progress for 0.6 s" in caplog.text
    time.sleep(max(0, (renewed_until - timezone.now()).total_seconds()) + 0.05)
    assert jobs.jobs_sweep()["requeued"] == 1
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED
    with pytest.raises(jobs.JobLeaseLost):
        jobs.job_heartbeat(job, done=2)  # the hung run wakes: it stops at its next chunk
    assert jobs.job_claim(taker := Job.objects.get(pk=job.pk))
    assert (taker.attempts, taker.done) == (2, 1)


@pytest.mark.django_db(transaction=True)
def test_a_hung_run_loses_its_lease_is_requeued_and_stops_quietly_when_it_wakes(manager, settings):
    settings.JOB_LEASE_SECONDS, settings.JOB_STALL_SECONDS = 0.6, 1
    job = jobs.job_queue(kind="rescore", params={}, total=10, by=manager)
    seen = {}

    def hangs_after_a_chunk(job: Job, advance: jobs.Advance) -> dict:
        advance(1, checkpoint={"after": 1})
        time.sleep(2.5)  # no chunk for longer than the stall limit: the keeper lets the lease run out
        seen["lease_left"] = Job.objects.get(pk=job.pk).lease_until > timezone.now()
        seen["swept"] = jobs.jobs_sweep()["requeued"]
        advance(1)  # wakes: the lease is lost, so the run stops here
        seen["went_on"] = True
        return {"ok": True}

    jobs.job_run(job=job, work=hangs_after_a_chunk)
    assert seen == {"lease_left": False, "swept": 1}
    job.refresh_from_db()
    assert (job.status, job.done, job.checkpoint, job.attempts) == (Job.Status.QUEUED, 1, {"after": 1}, 1)


def test_a_backtest_counts_each_month_as_progress_so_a_long_one_is_not_taken_for_a_hung_one(marketer, monkeypatch):
    from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
    from leads.qualification import backtest
    from leads.qualification import services as qualification

    definition = qualification.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    job = backtest.backtest_enqueue(definition=definition, by=marketer)
    heartbeats = []
    real_heartbeat = jobs.job_heartbeat
    monkeypatch.setattr(jobs, "job_heartbeat", lambda job, **fields: heartbeats.append(real_heartbeat(job, **fields)))
    backtest.backtest_run(job=job)
    assert Job.objects.get(pk=job.pk).status == Job.Status.DONE
    assert len(heartbeats) == 12 * 2  # twelve months of the draft's MQL and SQL trees


def test_a_requalification_killed_after_a_chunk_resumes_and_counts_every_promotion_once(
    marketer, rep, manager, monkeypatch, django_capture_on_commit_callbacks
):
    from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
    from leads.models import Stage, StageChange
    from leads.qualification import services as qualification
    from tests.factories import EventFactory, LeadFactory

    webinar = timezone.now() - timedelta(days=3)
    leads = LeadFactory.create_batch(5)
    for lead in leads:
        EventFactory(lead=lead, type="webinar_registered", occurred_at=webinar)
        EventFactory(lead=lead, type="webinar_attended", occurred_at=webinar + timedelta(hours=1))
    definition = qualification.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    qualification.definition_propose(definition=definition, by=marketer)
    qualification.definition_sign(definition=definition, by=marketer, side="marketing")
    qualification.definition_sign(definition=definition, by=rep, side="sales")
    with django_capture_on_commit_callbacks(execute=False):
        job = qualification.definition_activate(definition=definition, by=manager)
    monkeypatch.setattr(qualification, "CHUNK", 2)
    real_move = qualification.leads_move_stage
    calls = []

    def dies_on_the_second_chunk(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # the job stays running, as after SIGKILL
        return real_move(**kwargs)

    monkeypatch.setattr(qualification, "leads_move_stage", dies_on_the_second_chunk)
    with pytest.raises(SystemExit):
        qualification.requalify_run(job=job)
    assert Lead.objects.filter(stage=Stage.MQL).count() == 2
    assert Job.objects.get(pk=job.pk).checkpoint == {"promoted": {"mql": 2}}

    monkeypatch.setattr(qualification, "leads_move_stage", real_move)
    expire(job)
    qualification.requalify_run(job=Job.objects.get(pk=job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.result == {"promoted": {"mql": 5, "sql": 0}}  # what one uninterrupted run counts
    assert StageChange.objects.filter(to_stage=Stage.MQL).count() == 5
