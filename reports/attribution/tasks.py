"""The ROI rollups' Celery task, on beat every few seconds (settings.CELERY_BEAT_SCHEDULE)."""

from typing import Any

from celery import shared_task

from reports.attribution import services


# Safe to run twice or at once: runs take turns, and each recomputes from the source rows.
@shared_task(name="reports.rollups_update", acks_late=True)
def rollups_update() -> dict[str, Any]:
    return services.rollups_update()
