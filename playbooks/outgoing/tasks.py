"""Celery tasks for outgoing webhooks: thin wrappers over playbooks.outgoing.services."""

from celery import shared_task

from playbooks.outgoing import services


# acks_late: a worker killed mid-task leaves the message for another; the row's claim (attempts
# counted, leased) keeps two workers from sending the same attempt.
@shared_task(name="outgoing.webhook_deliver", acks_late=True)
def webhook_deliver(delivery_id: int) -> str:
    return services.webhook_deliver(delivery_id=delivery_id)


@shared_task(name="outgoing.webhooks_due", acks_late=True)
def webhooks_due() -> int:
    return services.webhooks_due_send()
