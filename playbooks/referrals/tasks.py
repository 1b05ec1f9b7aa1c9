"""Celery tasks for referrals: thin wrappers over playbooks.referrals.services."""

from celery import shared_task

from playbooks.referrals import services


# A reader of the stage history (settings.HISTORY_READERS): sent after every commit that adds
# to it, and run by beat every minute in case a message was lost.
@shared_task(name="playbooks.referrals_follow", acks_late=True)
def referrals_follow() -> int:
    return services.referrals_follow()
