"""Fill an empty product with a living demo: a year of a company's marketing and sales, run
through the product itself (leads.demo)."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.demo.services import demo_seed
from leads.demo.world import DEMO_ADMIN, DEMO_MORE_USERS, DEMO_PASSWORD, DEMO_USERS
from leads.models import Lead

__all__ = ["DEMO_ADMIN", "DEMO_MORE_USERS", "DEMO_PASSWORD", "DEMO_USERS", "Command"]


class Command(BaseCommand):
    help = "Run a year of a demo company's marketing and sales through the product (on an empty database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any lead exists.")
        parser.add_argument("--leads", type=int, default=3_000, help="How many people arrive over the year.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same demo.")

    def handle(self, *args: object, if_empty: bool, leads: int, seed: int, **options: object) -> None:
        if Lead.objects.exists():
            if if_empty:
                self.stdout.write("Leads exist already: demo data not seeded.")
                return
            raise CommandError("The demo replays a year through the product: run it on an empty database.")
        started = time.monotonic()
        counts = demo_seed(count=leads, seed=seed)
        self.stdout.write(
            f"Demo ready in {time.monotonic() - started:.1f}s: {Lead.objects.count()} leads from "
            f"{counts['people']} people; {counts['forms']} form posts and {counts['events']} events captured, "
            f"{counts['claims']} claims, {counts['calls']} first calls, {counts['decisions']} decisions, "
            f"{counts['deals']} deals."
        )
        names = ", ".join(name for name, _ in DEMO_USERS)
        self.stdout.write(f"Log in as {names} (or {DEMO_ADMIN} for the admin) with password {DEMO_PASSWORD!r}.")
