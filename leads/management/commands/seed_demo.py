"""Fill the product with a living demo: users per role, campaigns, leads and their journeys."""

import time

from django.core.management.base import BaseCommand, CommandParser

from leads.demo import services as demo
from leads.demo.scoring import demo_scoring_setup
from leads.models import Lead
from smarketing.roles import Role

DEMO_PASSWORD = "smarketing-demo"  # noqa: S105 -- a published demo login, not a secret
DEMO_USERS = [("marketer", "Marketing"), ("rep", "Sales"), ("manager", "Manager")]
# More reps, so queues, assignment and per-rep reports have someone to compare with.
DEMO_MORE_USERS = [("rep2", "Sales"), ("rep3", "Sales"), ("rep4", "Sales")]


class Command(BaseCommand):
    help = "Create demo users, campaigns and a few thousand leads with six months of history (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any lead exists.")
        parser.add_argument("--leads", type=int, default=3_000, help="How many demo leads (default 3,000).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same demo.")

    def handle(self, *args: object, if_empty: bool, leads: int, seed: int, **options: object) -> None:
        if if_empty and Lead.objects.exists():
            self.stdout.write("Leads exist already: demo data not seeded.")
            return
        started = time.monotonic()
        users = demo.demo_users_ensure(users=[*DEMO_USERS, *DEMO_MORE_USERS], password=DEMO_PASSWORD)
        reps = [users[name] for name, role in [*DEMO_USERS, *DEMO_MORE_USERS] if role == Role.SALES]
        created = demo.demo_seed(marketer=users["marketer"], reps=reps, count=leads, seed=seed)
        # The article's personas, rules and definition (v1); new leads are scored by them, and
        # requalifying promotes nobody, because the demo's histories already follow that definition.
        scored = demo_scoring_setup(
            marketer=users["marketer"], signer_for_sales=users["manager"], score_now=created["leads"] > 0
        )
        self.stdout.write(
            f"Demo data ready in {time.monotonic() - started:.1f}s: {len(users)} users, "
            f"{created['campaigns']} campaigns ({created['costs']} new cost rows); created "
            f"{created['leads']} leads, {created['events']} events, {created['stage_changes']} stage changes; "
            f"scored {scored.get('rescored', 0)} leads."
        )
        self.stdout.write(f"Log in as {', '.join(name for name, _ in DEMO_USERS)} with password {DEMO_PASSWORD!r}.")
