from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from conversations.models import WhatsAppNumber

DEMO_USERS = (
    # username, role, full name
    ("admin", "admin", "Ada Admin"),
    ("supervisor", "supervisor", "Sam Supervisor"),
    ("operator", "operator", "Olga Operator"),
)


class Command(BaseCommand):
    help = "Create the demo users (one per role) and register the simulator's number."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="demo-inbox-2026")
        parser.add_argument("--phone-number-id", default="106540352242922")
        parser.add_argument("--display-phone-number", default="15550783881")
        parser.add_argument("--waba-id", default="102290129340398")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        for username, role, full_name in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, _ = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            user.set_password(options["password"])
            user.is_staff = role == "admin"
            user.is_superuser = role == "admin"
            user.save()
            user.groups.set([Group.objects.get_or_create(name=role)[0]])
        WhatsAppNumber.objects.update_or_create(
            phone_number_id=options["phone_number_id"],
            defaults={
                "display_phone_number": options["display_phone_number"],
                "waba_id": options["waba_id"],
                "name": "Demo shop",
            },
        )
        for username, role, _ in DEMO_USERS:
            self.stdout.write(f"  {role:<11} {username} / {options['password']}")
