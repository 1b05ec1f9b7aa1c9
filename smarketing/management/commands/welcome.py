"""Prints where the product runs and how to log in (used by `make run`)."""

from django.core.management.base import BaseCommand, CommandParser

from leads.management.commands.seed_demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Print the URL and the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: object, port: int, **options: object) -> None:
        line = "=" * 64
        self.stdout.write(line)
        self.stdout.write(f"  smarketing is starting at  http://127.0.0.1:{port}/")
        self.stdout.write(f"  demo logins (password: {DEMO_PASSWORD})")
        for username, role in DEMO_USERS:
            self.stdout.write(f"    {username:<10} {role}")
        self.stdout.write(f"    {DEMO_ADMIN:<10} superuser: the Django admin at http://127.0.0.1:{port}/admin/")
        self.stdout.write("  web, Celery worker and beat run together; Ctrl-C stops all.")
        self.stdout.write(line)
