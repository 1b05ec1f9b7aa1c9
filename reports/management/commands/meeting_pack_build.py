"""`manage.py meeting_pack_build [2026-W49] [--no-email]`: build a week's meeting pack by hand."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.pack import services
from reports.pack.selectors import last_week, week_parse


class Command(BaseCommand):
    help = (
        "Build (or build again) a week's meeting pack, last week's by default, and mail it to the "
        "managers unless that was done already."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("week", nargs="?", help="The ISO week, like 2026-W49 (default: last week).")
        parser.add_argument("--no-email", action="store_true", help="Build only; mail nobody.")

    def handle(self, *args: Any, week: str | None = None, no_email: bool = False, **options: Any) -> None:
        try:
            monday = week_parse(week) if week else last_week()
        except ValueError as error:
            raise CommandError(str(error)) from error
        emailed_before = services.MeetingPack.objects.filter(week_start=monday, emailed_at__isnull=False).exists()
        pack = services.meeting_pack_build(monday=monday, email=not no_email)
        mailed = "mailed before" if emailed_before else ("mailed to managers" if pack.emailed_at else "not mailed")
        self.stdout.write(
            f"Meeting pack {pack.week} built ({pack.week_start:%d %b} – {pack.week_end:%d %b %Y}); {mailed}."
        )
