"""Playbooks run by a real Celery worker process that sends their email over a real SMTP server
(aiosmtpd on a loopback port): the messages arrive as marketing wrote them, a worker killed in the
middle of a run (a batch open, emails going out) loses no step and sends no email twice, and a
paused playbook sends nothing.

On the embedded defaults the worker reads the filesystem broker and the SQLite test database;
with DATABASE_URL and CELERY_BROKER_URL set, PostgreSQL and Redis (CI's second run).
"""

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from leads.selectors import lead_timeline
from playbooks.email import services as email
from playbooks.engine import services
from playbooks.engine.enrol import leads_enrol
from playbooks.lists import services as lists
from playbooks.models import Enrollment, OutboundEmail, Playbook, StepRun, TemplateKind
from smarketing.lib.tasks import task_send, tasks_not_sent
from tests.celery_worker import start, stop, wait_for
from tests.factories import LeadFactory
from tests.playbooks.smtp import Inbox, smtp_env, smtp_server

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

Status = OutboundEmail.Status


def worker_start(env: dict[str, str], log: Path, *, concurrency: int = 0) -> subprocess.Popen:
    """A worker on the test's queue (solo, or `concurrency` forked children); the tasks it sends
    itself go to that queue too (worker_settings)."""
    queue = env["SMARKETING_TEST_QUEUE"]
    pool = ["--pool=prefork", f"--concurrency={concurrency}"] if concurrency else ["--pool=solo"]
    args = ["worker", *pool, "-Q", queue, "-n", f"{queue}-{log.stem}@%h", "--loglevel=INFO"]
    env = {**env, "DJANGO_SETTINGS_MODULE": "tests.playbooks.engine.worker_settings"}
    return start([*args, "--without-gossip", "--without-mingle", "--without-heartbeat"], env, log)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool children at once (their own process group): nothing
    runs after it, no task is acknowledged, no transaction commits."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def template(name: str, subject: str, marketer):
    body = (
        "<html><head><style>p{color:#123456}</style></head>"
        f"<body><p>Hi {{{{ first_name }}}}, {name}.</p><p><a href='https://example.com/'>Read</a></p></body></html>"
    )
    data = {"name": name, "kind": TemplateKind.PROMOTIONAL, "subject": subject, "body": body}
    return email.template_save(data=data, by=marketer)


def playbook(name: str, steps: list[dict], marketer) -> Playbook:
    saved = services.playbook_save(data={"name": name, "trigger": {"type": "manual"}, "steps": steps}, by=marketer)
    return services.playbook_activate(playbook=saved, by=marketer)


def enrol(target: Playbook, leads) -> int:
    """As a person enrolling them would (the runner's task is sent once this commits)."""
    return leads_enrol(playbook=target, causes=[(lead.pk, f"test:{lead.pk}") for lead in leads])


def arrived(inbox: Inbox) -> Counter:
    """(To, Subject) of each message the server received, counted."""
    return Counter((tuple(recipients), str(message["Subject"])) for _, recipients, message in inbox.messages)


def test_a_playbook_run_by_the_worker_sends_its_emails_over_smtp(celery_env, tmp_path: Path, marketer) -> None:
    inbox = Inbox()
    welcome = template("the welcome", "Welcome, {{ first_name }}", marketer)
    onboarding = playbook("Onboarding", [{"type": "email", "template": welcome.pk}], marketer)
    leads = LeadFactory.create_batch(30, consent=True)
    with smtp_server(inbox) as port:
        log = tmp_path / "worker.log"
        process = worker_start({**celery_env, **smtp_env(port)}, log)
        try:
            assert enrol(onboarding, leads) == 30
            task_send("playbooks.run_due")  # as beat's tick would, besides the one the enrolment sent
            wait_for(lambda: OutboundEmail.objects.filter(status=Status.SENT).count() == 30, process, log)
        finally:
            stop(process)

    by_recipient = {recipients[0]: message for _, recipients, message in inbox.messages}
    assert len(inbox.messages) == 30 and set(by_recipient) == {lead.email for lead in leads}
    for lead in leads:
        message = by_recipient[lead.email]
        assert message["To"] == lead.email and message["Subject"] == f"Welcome, {lead.first_name}"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/e/u/" in message["List-Unsubscribe"]
        sent = OutboundEmail.objects.get(lead=lead)
        assert message["Message-ID"] == sent.message_id
        assert StepRun.objects.get(enrollment__lead=lead, enrollment__playbook=onboarding).email_id == sent.pk
        timeline, _ = lead_timeline(lead, kind="events")
        assert [item.row.properties["email_id"] for item in timeline if item.row.type == "email_sent"] == [sent.pk]
    completed = Enrollment.objects.filter(playbook=onboarding, status=Enrollment.Status.COMPLETED)
    assert completed.count() == 30


# The kill test: two emails, then steps that write, then a wait, so every enrolment ends the run
# active at the wait with one step-run per step; two of the runner's batches (200, then 100).
KILL_LEADS = 300
KILL_STEPS = ["first", "second", "field", "list", "pause"]


def test_a_worker_killed_mid_run_loses_no_step_and_sends_no_email_twice(
    celery_env, tmp_path: Path, settings, marketer
) -> None:
    """SIGKILL twice (the worker and its children, mid-batch and mid-send), then what beat does
    brings everything to its end: each step ran once, each email left at most once."""
    inbox = Inbox(delay=0.02)  # a slow mail server: a kill finds sends under way
    first = template("the first", "First, {{ first_name }}", marketer)
    second = template("the second", "Second, {{ first_name }}", marketer)
    reached = lists.list_save(data={"name": "Reached", "kind": "static"}, by=marketer)
    steps = [
        {"key": "first", "type": "email", "template": first.pk},
        {"key": "second", "type": "email", "template": second.pk},
        {"key": "field", "type": "set_field", "field": "industry", "value": "Retail"},
        {"key": "list", "type": "list_add", "list": reached.pk},
        {"key": "pause", "type": "wait", "hours": 1},
    ]
    leads = LeadFactory.create_batch(KILL_LEADS, consent=True)
    with tasks_not_sent():  # one runner, sent below: the worker's other child sends the emails
        drip = playbook("Drip", steps, marketer)
        assert enrol(drip, leads) == KILL_LEADS
    step_runs = StepRun.objects.filter(enrollment__playbook=drip)
    with smtp_server(inbox) as port:
        env = {**celery_env, **smtp_env(port)}

        # 1. Killed while the runner's second batch runs: its first has committed.
        process = worker_start(env, tmp_path / "killed-running.log", concurrency=2)
        try:
            task_send("playbooks.run_due")
            at_once(step_runs.exists, process)
        finally:
            kill(process)
        assert 0 < step_runs.count() < KILL_LEADS * len(KILL_STEPS)

        # 2. Killed while emails are being sent: what beat sends each minute starts the runners.
        process = worker_start(env, tmp_path / "killed-sending.log", concurrency=2)
        try:
            task_send("playbooks.tick")
            at_once(lambda: len(inbox.messages) >= 50, process)
        finally:
            kill(process)
        assert len(inbox.messages) < 2 * KILL_LEADS

        # 3. A worker that lives: beat's tick and outbox sweep, until nothing is left to take.
        inbox.delay = 0  # no kill to land any more: the server may answer at once
        log = tmp_path / "restarted.log"
        process = worker_start(env, log, concurrency=2)
        try:
            task_send("playbooks.tick")
            task_send("email.outbox_flush")
            wait_for(Settled(inbox, log), process, log)
        finally:
            stop(process)
        # Beat's sweep ten minutes on: a send cut between its claim and the server's answer has
        # an unknown outcome (never sent again by itself); a queued message whose task died with
        # a worker is sent. Run here, with the clock moved, through the same SMTP server.
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        later = timezone.now() + email.SENDING_AT_MOST + email.FLUSH_AFTER
        while email.outbox_flush(now=later)["sent"]:
            pass

    enrolments = Enrollment.objects.filter(playbook=drip)
    assert enrolments.count() == KILL_LEADS
    assert set(enrolments.values_list("status", "position")) == {(Enrollment.Status.ACTIVE, len(KILL_STEPS))}
    ran: dict[int, list[str]] = {}
    for enrolment_id, step in step_runs.values_list("enrollment_id", "step"):
        ran.setdefault(enrolment_id, []).append(step)
    assert len(ran) == KILL_LEADS and all(sorted(steps) == sorted(KILL_STEPS) for steps in ran.values())
    assert reached.memberships.count() == KILL_LEADS

    outbox = OutboundEmail.objects.filter(lead__in=leads)
    assert outbox.count() == 2 * KILL_LEADS  # each step queued its email once
    statuses = Counter(outbox.values_list("status", flat=True))
    # At most one chunk of sends cut short per child and kill (two kills, two children).
    cut_short = 2 * 2 * email.SEND_CHUNK
    assert set(statuses) <= {Status.SENT, Status.UNKNOWN} and statuses[Status.UNKNOWN] <= cut_short
    received = arrived(inbox)
    assert max(received.values()) == 1  # nobody got the same email twice
    as_received = {(recipients[0], subject) for recipients, subject in received}
    sent = {(row.to_email, row.subject) for row in outbox.filter(status=Status.SENT)}
    unknown = {(row.to_email, row.subject) for row in outbox.filter(status=Status.UNKNOWN)}
    expected = {(lead.email, f"{word}, {lead.first_name}") for lead in leads for word in ("First", "Second")}
    assert sent | unknown == expected
    assert sent <= as_received <= sent | unknown


def at_once(check, process: subprocess.Popen, seconds: float = 60) -> None:
    """Wait for `check`, looking often: a kill must land right after it holds."""
    deadline = time.monotonic() + seconds
    while not check():
        assert process.poll() is None, "the worker died before it was killed"
        assert time.monotonic() < deadline, f"nothing happened within {seconds} s"
        time.sleep(0.02)


class Settled:
    """True once the worker has run beat's tasks, nothing is due and, for `quiet` seconds,
    nothing has arrived or changed state: the worker has no message left to take."""

    def __init__(self, inbox: Inbox, log: Path, quiet: float = 2.0) -> None:
        self.inbox, self.log, self.quiet = inbox, log, quiet
        self.state: tuple[int, ...] = ()
        self.since = time.monotonic()

    def __call__(self) -> bool:
        if not (succeeded(self.log, "playbooks.tick") and succeeded(self.log, "email.outbox_flush")):
            return False
        if Enrollment.objects.filter(status=Enrollment.Status.ACTIVE, due_at__lte=timezone.now()).exists():
            return False
        state = (len(self.inbox.messages), *(OutboundEmail.objects.filter(status=s).count() for s in Status.values))
        if state != self.state:
            self.state, self.since = state, time.monotonic()
        return time.monotonic() - self.since >= self.quiet


def succeeded(log: Path, task: str) -> int:
    """How many of this task's runs the worker's log says succeeded."""
    return sum(f"Task {task}[" in line and "succeeded" in line for line in log.read_text().splitlines())


def test_a_paused_playbook_sends_nothing_through_the_worker(celery_env, tmp_path: Path, settings, marketer) -> None:
    inbox = Inbox()
    news = template("the news", "News for {{ first_name }}", marketer)
    still = template("the control", "Still here, {{ first_name }}", marketer)
    waiting, other = LeadFactory.create_batch(5, consent=True), LeadFactory(consent=True)
    with tasks_not_sent():  # the only runners are the ones this test sends
        paused = playbook("Newsletter", [{"type": "email", "template": news.pk}], marketer)
        running = playbook("Control", [{"type": "email", "template": still.pk}], marketer)
        assert enrol(paused, waiting) == 5 and enrol(running, [other]) == 1
        services.playbook_pause(playbook=paused, by=marketer)
    with smtp_server(inbox) as port:
        log = tmp_path / "worker.log"
        process = worker_start({**celery_env, **smtp_env(port)}, log)
        try:
            task_send("playbooks.tick")  # beat's: it sends PLAYBOOK_RUNNERS runners
            task_send("playbooks.run_due")
            runs = settings.PLAYBOOK_RUNNERS + 1
            wait_for(lambda: succeeded(log, "playbooks.run_due") == runs, process, log)
            # The same runs took the active playbook's lead through and its email left.
            wait_for(lambda: OutboundEmail.objects.filter(lead=other, status=Status.SENT).exists(), process, log)
            assert succeeded(log, "playbooks.tick") == 1
            assert [recipients for _, recipients, _ in inbox.messages] == [[other.email]]
            assert not StepRun.objects.filter(enrollment__playbook=paused).exists()
            assert not OutboundEmail.objects.filter(lead__in=waiting).exists()

            services.playbook_activate(playbook=paused, by=marketer)  # asks for a run once it commits
            sent = OutboundEmail.objects.filter(lead__in=waiting, status=Status.SENT)
            wait_for(lambda: sent.count() == 5, process, log)
        finally:
            stop(process)
    expected = {((lead.email,), f"News for {lead.first_name}") for lead in waiting}
    assert arrived(inbox) == Counter([*expected, ((other.email,), f"Still here, {other.first_name}")])
    assert StepRun.objects.filter(enrollment__playbook=paused, outcome="emailed").count() == 5
