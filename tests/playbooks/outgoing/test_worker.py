"""A real Celery worker process takes the delivery task from the broker and POSTs the signed
webhook to a real HTTP server on 127.0.0.1 (named in the worker's allow-list)."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from playbooks.models import WebhookDelivery
from playbooks.outgoing import services
from playbooks.outgoing.signing import signature_valid
from tests.celery_worker import start, stop, wait_for
from tests.playbooks.outgoing.receiver import SECRET, Receiver


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_queued_webhook_signed(receiver: Receiver, celery_env, tmp_path: Path) -> None:
    env = {**celery_env, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOK_SIGNING_SECRET": SECRET}
    log = tmp_path / "worker.log"
    queue = env["SMARKETING_TEST_QUEUE"]
    args = ["worker", "--pool=solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=INFO"]
    process: subprocess.Popen = start([*args, "--without-gossip", "--without-mingle"], env, log)
    try:
        delivery = services.webhook_queue(url=receiver.url("/crm"), payload={"event": "playbook.step"})
        delivered = wait_for(
            lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.DELIVERED).first(),
            process,
            log,
        )
    finally:
        stop(process)
    [request] = receiver.requests
    assert request.body == delivered.body.encode()
    assert json.loads(request.body)["id"] == delivery.pk and json.loads(request.body)["event"] == "playbook.step"
    assert signature_valid(request.body, request.headers, secret=SECRET, now=time.time())
    assert (delivered.attempts, delivered.last_status_code) == (1, 200)
