"""`manage.py reports_rebuild`: make the ROI rollups again from scratch (a cold start)."""

import time
from typing import Any

from django.core.management.base import BaseCommand

from reports.attribution import services


class Command(BaseCommand):
    help = (
        "Rebuild the ROI rollups (lead milestones and won deals' credits) from the leads, stage "
        "history, events and deals, and start their cursors at the rows written so far. A rollup "
        "run in progress is waited for; the pages read the rollups as they fill."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(message: str) -> None:
            if options["verbosity"] >= 1:
                self.stdout.write(f"{time.monotonic() - started:6.1f}s  {message}")

        result = services.rollups_rebuild(progress=progress)
        self.stdout.write(
            f"Rebuilt in {time.monotonic() - started:.1f}s: {result['milestones']:,} lead milestones, "
            f"{result['won_deals']:,} won deals credited."
        )
