"""``manage.py first_account``: when no account exists, create one (an administrator) and print its user name
and a generated password once. The password is stored only as Django's salted hash."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a first (admin) account with a generated password if there is no account yet."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--username", default="admin")

    def handle(self, *args: object, username: str = "admin", **options: object) -> None:
        users = get_user_model().objects
        if users.exists():
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username, password=password)
        self.stdout.write(f"Created the first account: user name {username!r}, password {password!r} "
                          "(shown only now; change it in /admin/ or with `manage.py changepassword`).")
