"""Sweeps and workers running at once: each delivery is claimed by one of them, a locked one is
skipped rather than waited for."""

import json
import threading

import pytest
from django.db import connection, transaction

from playbooks.models import WebhookDelivery
from playbooks.outgoing import services
from tests.concurrency import in_thread
from tests.playbooks.outgoing.receiver import Receiver

Status = WebhookDelivery.Status


@pytest.mark.django_db(transaction=True)
def test_sweeps_running_at_once_post_each_delivery_once(receiver: Receiver, loopback_allowed):
    deliveries = [services.webhook_queue(url=receiver.url(f"/{n}"), payload={"n": n}) for n in range(12)]

    sweeps = [in_thread(services.webhooks_due_send) for _ in range(4)]
    for sweep in sweeps:
        sweep.join()

    assert [sweep.errors for sweep in sweeps] == [[]] * 4
    ids = sorted(json.loads(request.body)["id"] for request in receiver.requests)
    assert ids == sorted(delivery.pk for delivery in deliveries)
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(Status.DELIVERED, 1)}


@pytest.mark.django_db(transaction=True)
def test_a_delivery_locked_by_another_transaction_is_skipped_not_waited_for(receiver: Receiver, loopback_allowed):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks (its writers take turns)")
    held, other = (services.webhook_queue(url=receiver.url(f"/{name}"), payload={}) for name in ("held", "other"))
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            WebhookDelivery.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)

    running = in_thread(hold)
    assert locked.wait(10), running.errors
    try:
        assert services.webhooks_due_send() == 1
        assert [request.path for request in receiver.requests] == ["/other"]
    finally:
        release.set()
        running.join()
    assert running.errors == []
    assert WebhookDelivery.objects.get(pk=held.pk).status == Status.PENDING
