"""Benchmark scenarios for nurture playbooks: steps run by a real Celery worker, the tick's lag
when 100,000 enrolments fall due at once, email rendered and handed to an SMTP server, and
the worker's peak memory.

Registered with bench/scenarios.py's `@scenario` when bench/run.py imports this module. The
worker scenarios start `celery worker` (prefork, 2 children, as `make run` and the compose
file start it) on the bench database and need Redis as the broker:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/run.py --only playbook_steps_worker playbook_tick_lag playbook_emails_smtp

Give the bench a Redis database of its own: the worker's queue there is emptied first. Each
scenario makes its own leads (emails starting `bench-playbooks-`), list, template and playbook
and deletes them after, so the other scenarios' figures do not change.
"""

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.scenarios import Context, Result, scenario

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))
PREFIX = "bench-playbooks-"  # the leads these scenarios make; the names of their other rows start "Bench playbooks"
NAME = "Bench playbooks"
CONCURRENCY = 2
STEP_ENROLMENTS = 20_000
LAG_ENROLMENTS = 100_000
EMAILS = 2_000
CLAIM_BATCH = 200  # playbooks.engine.runner's
# The lag scenario's playbook: one step, so the lag is the scheduler's own (claim, step-run, move
# on). A playbook whose first steps cost more drains at the steps scenario's rate instead.
LAG_STEPS = [{"type": "wait", "days": 7}]
BEAT_SECONDS = 60  # beat's tick, every minute
WAIT_LIMIT = 900  # no scenario waits longer for the worker


# --- What the scenarios make, and remove --------------------------------------------------


def clear() -> None:
    """Remove every row these scenarios made (also what a run that died left behind)."""
    from django.db import connection

    from leads.models import Lead
    from playbooks.models import EmailTemplate, Enrollment, LeadList, OutboundEmail, Playbook, StepRun

    playbooks = list(Playbook.objects.filter(name__startswith=NAME).values_list("pk", flat=True))
    if playbooks:
        with connection.cursor() as cursor:  # set-based: the ORM would load 100,000 enrolments first
            cursor.execute(
                f"DELETE FROM {StepRun._meta.db_table} WHERE enrollment_id IN "
                f"(SELECT id FROM {Enrollment._meta.db_table} WHERE playbook_id = ANY(%s))",
                [playbooks],
            )
            cursor.execute(f"DELETE FROM {Enrollment._meta.db_table} WHERE playbook_id = ANY(%s)", [playbooks])
        Playbook.objects.filter(pk__in=playbooks).delete()
    OutboundEmail.objects.filter(lead__email__startswith=PREFIX).delete()
    Lead.objects.filter(email__startswith=PREFIX).delete()
    LeadList.objects.filter(name__startswith=NAME).delete()
    EmailTemplate.objects.filter(name__startswith=NAME).delete()


@contextmanager
def bench_rows() -> Iterator[None]:
    from smarketing.celery import app

    app.control.purge()  # what an interrupted run left in the worker's queue
    clear()
    try:
        yield
    finally:
        clear()


def leads_make(count: int) -> list[int]:
    """`count` leads of the scenario's own, who agreed to marketing email."""
    from django.utils import timezone

    from leads.models import Lead

    now = timezone.now()
    rows = (
        Lead(email=f"{PREFIX}{n}@example.net", first_name=f"Ana{n}", company="Bench Ltd", consent=True, consent_at=now)
        for n in range(count)
    )
    Lead.objects.bulk_create(rows, batch_size=5_000)
    return list(Lead.objects.filter(email__startswith=PREFIX).order_by("pk").values_list("pk", flat=True))


def playbook_make(name: str, steps: list[dict[str, Any]], lead_ids: list[int]) -> Any:
    """An active playbook with these leads in it, due now; no runner is asked for yet."""
    from playbooks.engine import services
    from playbooks.engine.enrol import leads_enrol
    from smarketing.lib.tasks import tasks_not_sent

    with tasks_not_sent():
        playbook = services.playbook_save(
            data={"name": f"{NAME}: {name}", "trigger": {"type": "manual"}, "steps": steps}, by=None
        )
        services.playbook_activate(playbook=playbook)
        entered = leads_enrol(playbook=playbook, causes=((pk, f"bench:{pk}") for pk in lead_ids))
    assert entered == len(lead_ids), (entered, len(lead_ids))
    return playbook


def list_make() -> Any:
    from playbooks.lists import services as lists

    return lists.list_save(data={"name": f"{NAME}: reached", "kind": "static"}, by=None)


# --- A real worker ------------------------------------------------------------------------


def redis_broker() -> bool:
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return True
    print("  skipped: the worker scenarios need CELERY_BROKER_URL=redis://… (a Redis database of the bench's own)")
    return False


@contextmanager
def celery_worker(**env: str) -> Iterator["Worker"]:
    """`celery worker` with 2 children on the bench database and the broker; stopped (warm
    shutdown) after."""
    handle, name = tempfile.mkstemp(prefix="bench-worker-", suffix=".log")
    os.close(handle)
    log = Path(name)
    command = [CELERY, "-A", "smarketing", "worker", f"--concurrency={CONCURRENCY}", "--loglevel=INFO"]
    command += [
        "-n",
        f"bench-playbooks-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process, log)
    try:
        worker.wait(lambda: " ready." in log.read_text(), "to start")
        yield worker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.unlink(missing_ok=True)


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process, self.log = process, log

    def wait(self, check: Any, what: str, *, every: float = 0.1) -> None:
        deadline = time.monotonic() + WAIT_LIMIT
        while not check():
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker took over {WAIT_LIMIT} s {what}:\n{self.log.read_text()[-3000:]}")
            time.sleep(every)

    def succeeded(self, task: str) -> int:
        text = self.log.read_text()
        return sum(f"Task {task}[" in line and " succeeded in " in line for line in text.splitlines())

    def memory_mb(self) -> tuple[dict[str, float], float]:
        """Peak resident memory (VmHWM) of the main process and of each pool child, and what
        they hold together now (PSS: pages the children share with the main process since the
        fork counted once), in MB."""
        import psutil

        main = psutil.Process(self.process.pid)
        processes = {"main": main.pid}
        for number, child in enumerate(main.children(recursive=True), 1):
            processes[f"child {number}"] = child.pid
        peaks = {name: _proc_kb(f"/proc/{pid}/status", "VmHWM:") / 1024 for name, pid in processes.items()}
        shared = sum(_proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in processes.values()) / 1024
        return peaks, shared


def _proc_kb(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def due(playbook: Any) -> bool:
    from django.utils import timezone

    from playbooks.models import Enrollment

    return Enrollment.objects.filter(
        playbook=playbook, status=Enrollment.Status.ACTIVE, due_at__lte=timezone.now()
    ).exists()


# --- Step executions per second -----------------------------------------------------------


@scenario
def playbook_steps_worker(ctx: Context) -> list[Result]:
    """20,000 enrolments due now in a playbook of cheap steps (add to a list, set a field, wait),
    run by a real worker (2 children) that is sent two runners; steps per second until none is due."""
    from playbooks.models import StepRun
    from smarketing.lib.tasks import task_send

    if not redis_broker():
        return []
    with bench_rows():
        reached = list_make()
        steps = [
            {"type": "list_add", "list": reached.pk},
            {"type": "set_field", "field": "industry", "value": "Bench"},
            {"type": "wait", "days": 1},
        ]
        playbook = playbook_make("steps", steps, leads_make(STEP_ENROLMENTS))
        with celery_worker() as worker:
            started = time.perf_counter()
            sent = 0
            while due(playbook):
                # Two runners, as beat's tick sends them; once both have spent their budget
                # (50 s) the next two go at once instead of at the next minute.
                if worker.succeeded("playbooks.run_due") == sent:
                    for _ in range(CONCURRENCY):
                        task_send("playbooks.run_due")
                    sent += CONCURRENCY
                time.sleep(0.1)
            seconds = time.perf_counter() - started
            worker.wait(lambda: worker.succeeded("playbooks.run_due") == sent, "to finish its runners")
            peaks, pss = worker.memory_mb()
        ran = StepRun.objects.filter(enrollment__playbook=playbook).count()
    rate = ran / seconds
    print(f"  {ran:,} steps in {seconds:.1f} s = {rate:,.0f}/s; {sent} runners; peak RSS {peaks}, PSS now {pss:.0f} MB")
    note = f"{STEP_ENROLMENTS:,} enrolments x {len(steps)} steps in {seconds:.1f} s"
    note += f"; {sent} runners, {CONCURRENCY} children"
    children = [mb for name, mb in peaks.items() if name != "main"]
    return [
        Result("playbook steps through a worker", rate, "steps/s", 1_000, True, note),
        Result(
            "worker peak RSS (main + children)",
            sum(peaks.values()),
            "MB",
            300,
            note=f"VmHWM main {peaks['main']:.0f}, children {', '.join(f'{mb:.0f}' for mb in children)} MB "
            f"(shared pages counted in each); together now (PSS) {pss:.0f} MB",
        ),
    ]


# --- The tick's lag ------------------------------------------------------------------------


@scenario
def playbook_tick_lag(ctx: Context) -> list[Result]:
    """100,000 enrolments fall due at the same moment (as a "wait until Monday 9:00" releases
    them, the moment beat's tick meets); beat's tick, every minute, drains them. The lag is
    each one's first step-run (the runner's batch moment) less the moment it fell due."""
    return _tick_lag(lambda: LAG_STEPS, "")


@scenario
def playbook_tick_lag_writing(ctx: Context) -> list[Result]:
    """The same with steps that write before the wait: add to a list, set a field (rescored and
    requalified), then wait."""
    return _tick_lag(
        lambda: [
            {"type": "list_add", "list": list_make().pk},
            # A new value each run, so every lead is written, rescored and requalified.
            {"type": "set_field", "field": "industry", "value": f"Bench {time.time():.0f}"},
            *LAG_STEPS,
        ],
        ", writing",
    )


def _tick_lag(make_steps: Callable[[], list[dict[str, Any]]], label: str) -> list[Result]:
    from django.db import connection
    from django.utils import timezone

    from leads.models import Lead
    from playbooks.models import Enrollment, StepRun
    from smarketing.lib.tasks import task_send

    if not redis_broker():
        return []
    with bench_rows():
        ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True)[:LAG_ENROLMENTS])
        if len(ids) < LAG_ENROLMENTS:
            ids += leads_make(LAG_ENROLMENTS - len(ids))
        steps = make_steps()
        playbook = playbook_make(f"tick lag{label}", steps, ids)
        with celery_worker():
            # All fall due a few seconds from now; beat's tick comes at that moment.
            moment = timezone.now() + timedelta(seconds=5)
            Enrollment.objects.filter(playbook=playbook).update(due_at=moment)
            time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))
            ticks = 0
            started = time.perf_counter()
            while due(playbook):
                if time.perf_counter() - started >= ticks * BEAT_SECONDS:
                    task_send("playbooks.tick")
                    ticks += 1
                time.sleep(0.1)
            drained = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute(  # each enrolment's first step-run
                "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) "
                "WITHIN GROUP (ORDER BY extract(epoch FROM ran_at - %s)), count(*) "
                f"FROM {StepRun._meta.db_table} r JOIN {Enrollment._meta.db_table} e ON e.id = r.enrollment_id "
                "WHERE e.playbook_id = %s AND r.step = %s",
                [moment, playbook.pk, playbook.steps[0]["key"]],
            )
            (p50, p95, p99), ran = cursor.fetchone()
    lags = f"lag p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f} s"
    print(f"  {ran:,} due at once drained in {drained:.1f} s by {ticks} ticks; {lags}")
    note = f"{ran:,} enrolments due at once, {len(steps)} step(s) each; {ticks} ticks, {CONCURRENCY} children"
    return [
        Result(f"tick lag p50{label}", p50, "s", note=note),
        Result(f"tick lag p95{label}", p95, "s", note=note),
        Result(f"tick lag p99{label}", p99, "s", 60, note=note),
        Result(f"tick drain{label}", drained, "s", note=f"{ran / drained:,.0f} enrolments/s"),
    ]


# --- Email rendered and handed to an SMTP server ---------------------------------------------

NEWSLETTER = """<html><head><style>
body { font-family: Helvetica, Arial, sans-serif; color: #222; background: #f4f4f4; }
.wrap { max-width: 600px; margin: 0 auto; background: #fff; padding: 24px; }
h1 { font-size: 22px; color: #0b5394; margin: 0 0 12px; }
p { font-size: 15px; line-height: 1.5; margin: 0 0 12px; }
.button { display: inline-block; padding: 10px 18px; background: #0b5394; color: #fff; text-decoration: none; }
.muted { color: #777; font-size: 12px; }
</style></head><body><div class="wrap">
<h1>What's new at {{ company }}, {{ first_name }}</h1>
<p>Hi {{ first_name }}, here is this month's round-up: three customer stories, the new reporting
pages and a webinar on aligning marketing and sales.</p>
<p><a class="button" href="https://example.com/stories">Read the stories</a></p>
<p>Our webinar on <a href="https://example.com/webinar">lead scoring that sales trusts</a> is next
Thursday; <a href="https://example.com/reports">the new reports</a> are live for everyone.</p>
<p class="muted">You receive this as {{ email }}.</p>
</div></body></html>"""


def newsletter_template() -> Any:
    """The newsletter the email scenarios send: promotional, with CSS to inline."""
    from playbooks.email import services as email
    from playbooks.models import TemplateKind

    data = {"name": f"{NAME}: newsletter", "kind": TemplateKind.PROMOTIONAL, "subject": "News for {{ first_name }}"}
    return email.template_save(data={**data, "body": NEWSLETTER}, by=None)


class Inbox:
    """aiosmtpd handler: counts what arrives."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 -- aiosmtpd's hook
        self.received += 1
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a free loopback port, in a thread of this process."""
    import socket

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per connection otherwise
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@scenario
def playbook_emails_smtp(ctx: Context) -> list[Result]:
    """2,000 emails from a template with CSS: rendered into the outbox (emails_queue, a runner's
    batch at a time, this process),
    then sent by a real worker (2 children, EMAIL_BACKEND=smtp) to an SMTP server on loopback."""
    from django.db.models import Max, Min

    from leads.models import Lead
    from playbooks.email import services as email
    from playbooks.models import OutboundEmail
    from smarketing.lib.tasks import task_send, tasks_not_sent

    if not redis_broker():
        return []
    with bench_rows(), smtp_server() as (inbox, port):
        ids = leads_make(EMAILS)
        template = newsletter_template()
        leads = list(Lead.objects.filter(pk__in=ids))
        started = time.perf_counter()
        with tasks_not_sent():  # sent below, once all are written
            queued = []
            for batch in range(0, len(leads), CLAIM_BATCH):  # as a playbook's runner writes a batch's
                written = email.emails_queue(
                    leads=leads[batch : batch + CLAIM_BATCH], template=template, cause="bench", events=[]
                )
                queued += [row.pk for row in written]
        rendered = time.perf_counter() - started
        refused = OutboundEmail.objects.filter(pk__in=queued).exclude(status=OutboundEmail.Status.QUEUED).count()
        # In the broker before the worker starts, as a playbook batch asks for them: a task per
        # SEND_TASK_SIZE messages, each sent over one connection.
        for chunk in range(0, len(queued), email.SEND_TASK_SIZE):
            task_send(email.SEND_MANY_TASK, queued[chunk : chunk + email.SEND_TASK_SIZE])
        smtp = {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
        with celery_worker(**smtp) as worker:
            outbox = OutboundEmail.objects.filter(pk__in=queued)
            worker.wait(
                lambda: (
                    not outbox.filter(status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING]).exists()
                ),
                "to send",
                every=0.5,
            )
        span = outbox.aggregate(first=Min("sending_at"), last=Max("sent_at"))
        sent = outbox.filter(status=OutboundEmail.Status.SENT).count()
        received = inbox.received
    sending = (span["last"] - span["first"]).total_seconds()
    print(
        f"  rendered {EMAILS:,} in {rendered:.1f} s, sent {sent:,} in {sending:.1f} s, the server received {received:,}"
    )
    how = f"through a real worker ({CONCURRENCY} children) to aiosmtpd on loopback, in this process"
    return [
        Result(
            "emails rendered (emails_queue)",
            EMAILS / rendered,
            "emails/s",
            200,
            True,
            f"{refused} refused by the rules",
        ),
        Result("emails sent over SMTP", sent / sending, "emails/s", 200, True, f"{how}; first claim to last sent"),
        Result(
            "emails rendered, then sent",
            sent / (rendered + sending),
            "emails/s",
            note=f"one after the other (a playbook overlaps them: playbook_emails_end_to_end); "
            f"{sent:,} sent of {EMAILS:,}, {received:,} received",
        ),
    ]


@scenario
def playbook_emails_end_to_end(ctx: Context) -> list[Result]:
    """2,000 leads due at a playbook's email step, as a campaign's send goes: a real worker
    (2 children, EMAIL_BACKEND=smtp) runs the step (the rules, the rows and the rendering for a
    batch together) and sends what it queued to an SMTP server on loopback. From the runners'
    start to the last message sent."""
    from django.db.models import Max

    from playbooks.models import OutboundEmail
    from smarketing.lib.tasks import task_send

    if not redis_broker():
        return []
    with bench_rows(), smtp_server() as (inbox, port):
        template = newsletter_template()
        playbook_make("emails", [{"type": "email", "template": template.pk}], leads_make(EMAILS))
        smtp = {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
        with celery_worker(**smtp) as worker:
            started = timezone_now()
            for _ in range(CONCURRENCY):
                task_send("playbooks.run_due")
            outbox = OutboundEmail.objects.filter(template=template)
            worker.wait(lambda: outbox.filter(status=OutboundEmail.Status.SENT).count() >= EMAILS, "to send", every=0.5)
        last = outbox.aggregate(last=Max("sent_at"))["last"]
        received = inbox.received
    seconds = (last - started).total_seconds()
    print(f"  {EMAILS:,} emails through the playbook and SMTP in {seconds:.1f} s; the server received {received:,}")
    note = f"{EMAILS:,} leads at an email step; runners and senders in one worker ({CONCURRENCY} children)"
    return [Result("playbook emails rendered and sent", EMAILS / seconds, "emails/s", 200, True, note)]


def timezone_now() -> Any:
    from django.utils import timezone

    return timezone.now()
