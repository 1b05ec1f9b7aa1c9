"""Celery tasks for email: thin wrappers over playbooks.email.services."""

from celery import shared_task

from playbooks.email import services


# acks_late: a worker killed before finishing leaves the message for another; the row's
# queued → sending claim keeps the send at most once.
@shared_task(name="email.outbox_send", acks_late=True)
def outbox_send(email_id: int) -> str:
    return services.outbox_send(email_id=email_id)


@shared_task(name="email.outbox_send_many", acks_late=True)
def outbox_send_many(email_ids: list[int]) -> dict[str, int]:
    return services.outbox_send_many(email_ids=email_ids)


@shared_task(name="email.outbox_flush", acks_late=True)
def outbox_flush() -> dict[str, int]:
    return services.outbox_flush()
