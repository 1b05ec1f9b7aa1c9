"""Delivering webhooks to a real HTTP server on 127.0.0.1 (the allow-list names it): signed
bodies, retries with backoff, redirects not followed, unsafe URLs refused before connecting,
the connection made to the address that was checked."""

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from playbooks.models import WebhookDelivery
from playbooks.outgoing import safety, services, tasks
from playbooks.outgoing.signing import signature_valid
from tests.playbooks.outgoing.receiver import SECRET, Receiver, free_port, resolver

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status
PAYLOAD = {"event": "playbook.step", "lead": {"email": "ann@example.com", "first_name": "Ann"}, "step": "s1"}


def queued(url: str, payload: dict | None = None) -> WebhookDelivery:
    return services.webhook_queue(url=url, payload=payload or PAYLOAD)


def row(delivery: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_the_step_is_refused_for_an_unsafe_or_missing_url_and_accepted_for_a_public_one(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    names = resolver({"hooks.example.com": ["93.184.216.34"]})
    [loopback] = services.webhook_step_errors({"type": "webhook", "url": "http://0x7f.1/"}, resolve=names)["url"]
    assert "127.0.0.1, a loopback address" in loopback
    assert services.webhook_step_errors({"type": "webhook"}, resolve=names) == {
        "url": ["Enter the receiver's address (https://…)."]
    }
    assert list(services.webhook_step_errors({"type": "webhook", "url": 42}, resolve=names)) == ["url"]
    step = {"type": "webhook", "key": "s1", "url": "https://hooks.example.com/in"}
    assert services.webhook_step_errors(step, resolve=names) == {}
    assert not WebhookDelivery.objects.exists()


def test_a_queued_delivery_is_a_row_with_a_sorted_json_body_carrying_its_id_sent_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = queued("https://hooks.example.com/in")
    stored = row(delivery)
    body = json.loads(stored.body)
    assert body["id"] == delivery.pk and body["event"] == "playbook.step" and body["lead"]["first_name"] == "Ann"
    assert body["sent_at"] == stored.created_at.isoformat()
    assert stored.body == json.dumps(body, sort_keys=True)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (Status.PENDING, 0, stored.created_at)
    assert len(callbacks) == 1  # the task is sent once the caller's transaction commits


def test_a_payload_may_not_set_the_keys_the_delivery_adds():
    with pytest.raises(ValueError, match="id"):
        queued("https://hooks.example.com/in", {"id": 1})
    assert not WebhookDelivery.objects.exists()


def test_a_delivery_arrives_signed_and_the_receiver_verifies_it(receiver: Receiver, loopback_allowed):
    delivery = queued(receiver.url("/hooks/in?source=crm"))

    assert services.webhook_deliver(delivery_id=delivery.pk) == Status.DELIVERED

    [request] = receiver.requests
    assert request.path == "/hooks/in?source=crm"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == row(delivery).body.encode()
    assert json.loads(request.body)["id"] == delivery.pk
    assert signature_valid(request.body, request.headers, secret=SECRET, now=time.time())
    assert not signature_valid(request.body, request.headers, secret="someone else's", now=time.time())
    assert not signature_valid(request.body.replace(b"Ann", b"Bob"), request.headers, secret=SECRET, now=time.time())
    done = row(delivery)
    assert (done.status, done.attempts, done.last_status_code, done.last_error) == (Status.DELIVERED, 1, 200, "")
    assert done.delivered_at is not None
    # Delivered is final: running the task again sends nothing.
    assert services.webhook_deliver(delivery_id=delivery.pk) == Status.DELIVERED
    assert len(receiver.requests) == 1


def test_a_500_schedules_a_retry_with_backoff_and_a_later_200_delivers(receiver: Receiver, loopback_allowed):
    receiver.replies = [(500, {})]
    delivery = queued(receiver.url())
    now = timezone.now()

    assert services.webhook_deliver(delivery_id=delivery.pk, now=now) == Status.PENDING
    failed = row(delivery)
    assert (failed.attempts, failed.last_status_code, failed.last_error) == (1, 500, "HTTP 500 Internal Server Error")
    assert now + timedelta(minutes=1) <= failed.next_attempt_at <= now + timedelta(minutes=1.2)

    # Not due yet: nothing is sent.
    assert services.webhook_deliver(delivery_id=delivery.pk, now=now + timedelta(seconds=30)) == Status.PENDING
    assert len(receiver.requests) == 1

    later = now + timedelta(minutes=2)
    assert services.webhook_deliver(delivery_id=delivery.pk, now=later) == Status.DELIVERED
    first, second = receiver.requests
    assert first.body == second.body  # the same delivery: receivers dedupe on its id
    assert int(second.headers["X-Smarketing-Timestamp"]) - int(first.headers["X-Smarketing-Timestamp"]) == 120
    assert signature_valid(second.body, second.headers, secret=SECRET, now=later)
    done = row(delivery)
    assert (done.status, done.attempts, done.last_status_code, done.last_error) == (Status.DELIVERED, 2, 200, "")


def test_the_waits_grow_and_the_sixth_failure_gives_up(receiver: Receiver, loopback_allowed):
    receiver.replies = [(503, {})] * 6
    delivery = queued(receiver.url())
    now = timezone.now()
    waits = []
    for _ in range(5):
        assert services.webhook_deliver(delivery_id=delivery.pk, now=now) == Status.PENDING
        due = row(delivery).next_attempt_at
        waits.append(due - now)
        now = due
    for wait, least in zip(waits, services.BACKOFF, strict=True):
        assert least <= wait <= least * 1.2

    assert services.webhook_deliver(delivery_id=delivery.pk, now=now) == Status.FAILED
    gave_up = row(delivery)
    assert (gave_up.status, gave_up.attempts, gave_up.last_status_code) == (Status.FAILED, 6, 503)
    assert "gave up after 6" in gave_up.last_error
    assert len(receiver.requests) == 6
    assert services.webhooks_due_send(now=now + timedelta(days=1)) == 0  # failed is final
    assert len(receiver.requests) == 6


def test_a_redirect_is_a_failure_reported_with_its_location_and_not_followed(receiver: Receiver, loopback_allowed):
    elsewhere = receiver.url("/elsewhere")
    receiver.replies = [(302, {"Location": elsewhere})]
    delivery = queued(receiver.url())

    assert services.webhook_deliver(delivery_id=delivery.pk) == Status.PENDING

    assert [request.path for request in receiver.requests] == ["/hook"]
    failed = row(delivery)
    assert failed.last_status_code == 302 and elsewhere in failed.last_error and "not followed" in failed.last_error


def test_a_receiver_that_is_not_listening_is_recorded_and_retried(loopback_allowed):
    delivery = queued(f"http://127.0.0.1:{free_port()}/hook")
    now = timezone.now()

    assert services.webhook_deliver(delivery_id=delivery.pk, now=now) == Status.PENDING

    failed = row(delivery)
    assert failed.last_status_code is None and "ConnectionRefusedError" in failed.last_error
    assert (failed.attempts, failed.status) == (1, Status.PENDING)
    assert failed.next_attempt_at >= now + timedelta(minutes=1)


def test_a_url_that_became_unsafe_is_refused_at_delivery_without_a_connection(receiver: Receiver, loopback_allowed):
    delivery = queued(receiver.url())
    loopback_allowed.WEBHOOK_ALLOWED_HOSTS = []

    assert services.webhook_deliver(delivery_id=delivery.pk) == Status.FAILED

    assert receiver.connections == 0 and receiver.requests == []
    refused = row(delivery)
    assert refused.last_error.startswith("Refused, not sent: 127.0.0.1 is a loopback address")


def test_a_name_is_checked_again_at_delivery_and_refused_if_it_now_resolves_privately(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    delivery = queued("https://rebind.example.com/hook")  # public when the step was saved

    status = services.webhook_deliver(
        delivery_id=delivery.pk, resolve=resolver({"rebind.example.com": ["93.184.216.34", "10.0.0.5"]})
    )

    assert status == Status.FAILED
    assert "resolves to 10.0.0.5, a private-network address" in row(delivery).last_error


def test_a_name_that_does_not_resolve_at_delivery_is_retried(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    delivery = queued("https://gone.example.com/hook")

    assert services.webhook_deliver(delivery_id=delivery.pk, resolve=resolver({})) == Status.PENDING

    assert "does not resolve" in row(delivery).last_error and row(delivery).attempts == 1


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(receiver: Receiver, loopback_allowed):
    # hooks.example.com is 127.0.0.1 only in this resolver: the request reaching the local server
    # shows the client connected to the address it checked, not to a second lookup.
    delivery = queued(receiver.url(host="hooks.example.com"))

    status = services.webhook_deliver(delivery_id=delivery.pk, resolve=resolver({"hooks.example.com": ["127.0.0.1"]}))

    assert status == Status.DELIVERED
    assert receiver.requests[0].headers["Host"] == f"hooks.example.com:{receiver.port}"


@pytest.fixture
def tls_receiver(tmp_path: Path, monkeypatch) -> Receiver:
    """An https receiver with a certificate for hooks.example.com, which this process trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hooks.example.com"]
        + ["-addext", "subjectAltName=DNS:hooks.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the trust store ssl.create_default_context() loads
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with Receiver(tls=context) as running:
        yield running


def test_https_is_called_at_the_checked_address_with_the_name_in_sni_and_the_certificate_check(
    tls_receiver: Receiver, loopback_allowed
):
    delivery = queued(tls_receiver.url(host="hooks.example.com", scheme="https"))
    names = resolver({"hooks.example.com": ["127.0.0.1"], "wrong.example.com": ["127.0.0.1"]})

    assert services.webhook_deliver(delivery_id=delivery.pk, resolve=names) == Status.DELIVERED

    assert tls_receiver.server_names == ["hooks.example.com"]
    assert tls_receiver.requests[0].headers["Host"] == f"hooks.example.com:{tls_receiver.port}"
    # A certificate for another name is a failed attempt, nothing is posted.
    other = queued(tls_receiver.url(host="wrong.example.com", scheme="https"))
    assert services.webhook_deliver(delivery_id=other.pk, resolve=names) == Status.PENDING
    assert "certificate" in row(other).last_error.lower() and len(tls_receiver.requests) == 1


def test_the_sweep_sends_what_is_due_and_leaves_the_rest(receiver: Receiver, loopback_allowed):
    due, later, done = (queued(receiver.url(f"/{name}")) for name in ("due", "later", "done"))
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=done.pk).update(status=Status.DELIVERED)

    assert services.webhooks_due_send(now=now) == 1

    assert [request.path for request in receiver.requests] == ["/due"]
    assert list(WebhookDelivery.objects.order_by("pk").values_list("status", flat=True)) == [
        Status.DELIVERED,
        Status.PENDING,
        Status.DELIVERED,
    ]


def test_the_beat_task_runs_the_sweep(receiver: Receiver, loopback_allowed):
    delivery = queued(receiver.url())
    assert tasks.webhooks_due() == 1
    assert row(delivery).status == Status.DELIVERED and len(receiver.requests) == 1


def test_a_claimed_delivery_is_not_taken_again_until_its_lease_runs_out(receiver: Receiver, loopback_allowed):
    # As a worker leaves it when it dies between the POST and recording the outcome.
    now = timezone.now()
    delivery = queued(receiver.url())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1, next_attempt_at=now + services.LEASE)

    assert services.webhook_deliver(delivery_id=delivery.pk, now=now) == Status.PENDING
    assert services.webhooks_due_send(now=now) == 0
    assert receiver.requests == []

    # Then it is sent again (at least once): same body, same id.
    assert services.webhooks_due_send(now=now + services.LEASE) == 1
    assert json.loads(receiver.requests[0].body)["id"] == delivery.pk
    assert row(delivery).attempts == 2


def test_a_last_attempt_that_was_interrupted_gives_up_without_sending(receiver: Receiver, loopback_allowed):
    delivery = queued(receiver.url())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=services.MAX_ATTEMPTS)

    assert services.webhooks_due_send() == 0

    assert receiver.connections == 0
    gave_up = row(delivery)
    assert gave_up.status == Status.FAILED and "interrupted" in gave_up.last_error


def test_a_receiver_that_drips_its_reply_is_cut_off_at_the_deadline(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.is_set():  # a byte every 0.1 s: no single read ever times out
                try:
                    connection.sendall(b"z")
                except OSError:
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    target = safety.url_target(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match="No complete reply within 1 s"):
            safety.pinned_post(target, b"{}", {}, timeout=0.5, deadline=1.0)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 5
