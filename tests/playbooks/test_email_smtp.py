"""Email over a real SMTP server (aiosmtpd on a loopback port): sent in-process, and by a real
Celery worker process that takes the send task from the broker."""

import subprocess
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from playbooks.email import services
from playbooks.models import OutboundEmail, TemplateKind
from tests.celery_worker import start, stop, wait_for
from tests.factories import LeadFactory
from tests.playbooks.smtp import Inbox, smtp_server


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


def _smtp_settings(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port


def _template(marketer):
    body = "<html><head><style>p{color:#123456}</style></head><body><p>Hello {{ first_name }}</p></body></html>"
    data = {"name": "Welcome", "kind": TemplateKind.PROMOTIONAL, "subject": "Hello {{ first_name }}", "body": body}
    return services.template_save(data=data, by=marketer)


def _parts(message: Message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


@pytest.mark.django_db
def test_a_sent_email_arrives_over_smtp_with_its_headers_and_both_parts(smtp, settings, marketer):
    inbox, port = smtp
    _smtp_settings(settings, port)
    lead = LeadFactory(first_name="Zoë", consent=True)
    queued = services.email_queue(lead=lead, template=_template(marketer), cause="test")

    assert services.outbox_send(email_id=queued.pk) == OutboundEmail.Status.SENT

    [(sender, recipients, message)] = inbox.messages
    assert sender == settings.DEFAULT_FROM_EMAIL and recipients == [lead.email]
    assert message["Subject"] == "Hello Zoë"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].strip().startswith("<http") and "/e/u/" in message["List-Unsubscribe"]
    assert message["Message-ID"] == OutboundEmail.objects.get(pk=queued.pk).message_id
    parts = _parts(message)
    assert 'style="color: #123456;"' in parts["text/html"] and "Hello Zoë" in parts["text/plain"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_queued_email_once_over_smtp(smtp, celery_env, tmp_path: Path, marketer) -> None:
    inbox, port = smtp
    env = {**celery_env, "EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
    log = tmp_path / "worker.log"
    queue = env["SMARKETING_TEST_QUEUE"]
    args = [
        "worker",
        "--pool=solo",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    process: subprocess.Popen = start(args, env, log)
    try:
        lead = LeadFactory(consent=True)
        queued = services.email_queue(lead=lead, template=_template(marketer), cause="worker test")
        sent = wait_for(
            lambda: OutboundEmail.objects.filter(pk=queued.pk, status=OutboundEmail.Status.SENT).first(), process, log
        )
    finally:
        stop(process)
    assert [recipients for _, recipients, _ in inbox.messages] == [[lead.email]]
    assert sent.sent_at is not None
