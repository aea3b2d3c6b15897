from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from conversations import services
from conversations.models import (
    AgentProfile,
    BusinessProfile,
    CannedReply,
    Label,
    Team,
    WhatsAppNumber,
)

DEMO_USERS = (
    # username, role, full name, team
    ("admin", "admin", "Ada Admin", None),
    ("supervisor", "supervisor", "Sam Supervisor", None),
    ("operator", "operator", "Olga Operator", "Support"),
    ("operator2", "operator", "Oleg Operator", "Support"),
    ("sales", "operator", "Sasha Sales", "Sales"),
)
LABELS = (("billing", "#2563eb"), ("delivery", "#16a34a"), ("returns", "#dc2626"))
DEMO_PROFILE = {
    "about": "Parcels, returns and questions: we answer within minutes.",
    "description": "Demo shop of the WhatsApp inbox: a small online store answering its "
    "customers together on one number.",
    "address": "1 Example Street, 10115 Berlin",
    "email": "hello@demo-shop.example",
    "websites": ["https://demo-shop.example"],
    "vertical": "RETAIL",
}
CANNED_REPLIES = (
    ("hello", "Greeting", "Hello {{first_name}}, this is {{agent}}. How can I help you today?"),
    ("thanks", "Thanks", "Thank you, {{first_name}}! Is there anything else I can do for you?"),
    ("hours", "Opening hours", "We answer chats Monday to Friday, 9:00 to 18:00."),
)


class Command(BaseCommand):
    help = (
        "Create the demo users (one per role, two teams), labels and canned replies, "
        "and register the simulator's number, routed to Support, with its business profile."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="demo-inbox-2026")
        parser.add_argument("--phone-number-id", default="106540352242922")
        parser.add_argument("--display-phone-number", default="15550783881")
        parser.add_argument("--waba-id", default="102290129340398")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        teams = {
            "Support": Team.objects.get_or_create(
                name="Support",
                defaults={"escalate_after_minutes": 15, "escalation": Team.Escalation.SUPERVISOR},
            )[0],
            "Sales": Team.objects.get_or_create(name="Sales", defaults={"auto_assign": True})[0],
        }
        for username, role, full_name, team in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, _ = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            user.set_password(options["password"])
            user.is_staff = role == "admin"
            user.is_superuser = role == "admin"
            user.save()
            user.groups.set([Group.objects.get_or_create(name=role)[0]])
            user.teams.set([teams[team]] if team else [])
            AgentProfile.objects.get_or_create(user=user)
        for name, color in LABELS:
            Label.objects.get_or_create(name=name, defaults={"color": color})
        for shortcut, title, text in CANNED_REPLIES:
            CannedReply.objects.get_or_create(
                shortcut=shortcut, defaults={"title": title, "text": text}
            )
        number, _ = WhatsAppNumber.objects.update_or_create(
            phone_number_id=options["phone_number_id"],
            defaults={
                "display_phone_number": options["display_phone_number"],
                "waba_id": options["waba_id"],
                "name": "Demo shop",
                "team": teams["Support"],
            },
        )
        # Sent to WhatsApp (the simulator) by ``push_business_profiles`` once it runs;
        # a profile edited in an earlier demo is kept and sent again.
        if BusinessProfile.objects.filter(number=number).exists():
            services.business_profile_update(number=number, user=None, push=False)
        else:
            services.business_profile_update(number=number, user=None, push=False, **DEMO_PROFILE)
        for username, role, _, team in DEMO_USERS:
            where = f" ({team})" if team else ""
            self.stdout.write(f"  {role:<11} {username} / {options['password']}{where}")
