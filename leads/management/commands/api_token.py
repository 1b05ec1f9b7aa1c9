"""Give a user an API token: `manage.py api_token USERNAME` prints the key on its last line.

An integration is a user with a role: give it the Marketing role to post leads and events
(see leads/api.py). `--reset` replaces a leaked token; the old key stops working at once.
"""

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from smarketing.roles import Role, has_role


class Command(BaseCommand):
    help = "Create (or show) a user's API token and print it alone on the last line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="Replace the user's token with a new one.")

    def handle(self, *args: Any, username: str, reset: bool, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}. Create it first (manage.py createsuperuser or the admin).")
        with transaction.atomic():
            if reset:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
        if not user.is_active:
            self.stderr.write(f"{username} is inactive: the token will be refused until the user is reactivated.")
        elif not has_role(user, Role.MARKETING, Role.MANAGER):
            self.stderr.write(f"{username} has no Marketing or Manager role: it can read but not post leads or events.")
        self.stdout.write(f"{'New' if created else 'Existing'} API token for {username}:")
        self.stdout.write(token.key)
