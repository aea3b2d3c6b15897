from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from conversations import services
from conversations.models import (
    AgentProfile,
    AutoReply,
    BusinessCalendar,
    BusinessProfile,
    CalendarInterval,
    CannedReply,
    Consent,
    ConsentCategory,
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
    "address": "Via dell'Esempio 1, 00184 Roma",
    "email": "hello@demo-shop.example",
    "websites": ["https://demo-shop.example"],
    "vertical": "RETAIL",
}
CANNED_REPLIES = (
    ("hello", "Greeting", "Hello {{first_name}}, this is {{agent}}. How can I help you today?"),
    ("thanks", "Thanks", "Thank you, {{first_name}}! Is there anything else I can do for you?"),
    (
        "hours",
        "Opening hours",
        "We answer chats Monday to Friday, 8:00 to 20:00, and on Friday nights until 6:00.",
    ),
)

DEMO_TIME_ZONE = "Europe/Rome"
WEEKDAYS = range(5)
FRIDAY = 4
CALENDARS = {
    # team: (calendar name, [(weekday, opens, closes)]); a closing time at or
    # before the opening time runs into the next day.
    "Support": (
        "Support hours",
        [(day, "08:00", "20:00") for day in WEEKDAYS] + [(FRIDAY, "22:00", "06:00")],
    ),
    "Sales": ("Sales hours", [(day, "09:00", "18:00") for day in WEEKDAYS]),
}
AUTO_REPLIES = {
    # (team, kind, language): text
    ("Support", "closed", "en"): (
        "Hello {{name}}, thank you for your message! Our support team is offline now "
        "and back {{opens_at}}; we will answer you here then. Need help sooner? Write to "
        "{{email}}, see {{website}} or call {{phone}}."
    ),
    ("Support", "closed", "ru"): (
        "Здравствуйте, {{name}}! Спасибо за сообщение. Сейчас служба поддержки не работает, "
        "мы вернёмся: {{opens_at}} и ответим вам здесь. Если вопрос срочный, напишите на "
        "{{email}}, загляните на {{website}} или позвоните по номеру {{phone}}."
    ),
    ("Support", "busy", "en"): (
        "Hello {{name}}, thank you for your message! All our operators are busy right now; "
        "one of them will answer you here shortly. You can also write to {{email}} or call "
        "{{phone}}."
    ),
    ("Support", "busy", "ru"): (
        "Здравствуйте, {{name}}! Спасибо за сообщение. Сейчас все операторы заняты, один из "
        "них скоро ответит вам здесь. Также можно написать на {{email}} или позвонить по "
        "номеру {{phone}}."
    ),
    ("Sales", "closed", "en"): (
        "Hello {{name}}, thank you for your interest! Our sales team is back {{opens_at}} "
        "and will answer you here then. Meanwhile our catalogue is at {{website}}, and "
        "{{email}} reaches us any time."
    ),
    ("Sales", "closed", "ru"): (
        "Здравствуйте, {{name}}! Спасибо за интерес к нам. Отдел продаж вернётся: "
        "{{opens_at}} и ответит вам здесь. Пока можно посмотреть каталог на {{website}} "
        "или написать на {{email}}."
    ),
    ("Sales", "busy", "en"): (
        "Hello {{name}}, thank you for your interest! Our sales team is with other customers "
        "right now and will answer you here shortly. Our catalogue is at {{website}}."
    ),
    ("Sales", "busy", "ru"): (
        "Здравствуйте, {{name}}! Спасибо за интерес к нам. Сейчас менеджеры заняты с другими "  # noqa: RUF001
        "клиентами и скоро ответят вам здесь. Каталог: {{website}}."
    ),
}


# What the demo shop's customers may agree to hear about, and the prefilled
# message of each category's opt-in link.
DEMO_CONSENT_CATEGORIES = (
    ("order-updates", "Order updates", ["UTILITY"], "Yes, send me updates about my orders"),
    ("offers", "Offers", ["MARKETING"], "Yes, send me your offers"),
)
# The simulator's customers (simulator/scripts.py DEFAULT_CUSTOMERS) agreed to both
# on the shop's website, so the demo's templates may go to them.
DEMO_CUSTOMERS = (
    ("16505551234", "Sheena Nelson"),
    ("447700900123", "Oliver Smith"),
    ("4915112345678", "Lena Müller"),
    ("79161234567", "Ivan Petrov"),
    ("5511987654321", "Ana Souza"),
)
DEMO_CONSENT_WORDING = "I agree to receive order updates and offers from the Demo shop on WhatsApp."


class Command(BaseCommand):
    help = (
        "Create the demo users (one per role, two teams with working hours and automatic "
        "replies), labels and canned replies, and register the simulator's number, routed "
        "to Support."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="demo-inbox-2026")
        parser.add_argument("--phone-number-id", default="106540352242922")
        parser.add_argument("--display-phone-number", default="15550783881")
        parser.add_argument("--waba-id", default="102290129340398")
        parser.add_argument(
            "--no-auto-replies",
            action="store_true",
            help="Leave the teams without automatic replies (scripted tests and benchmarks).",
        )

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
        for team_name, (calendar_name, intervals) in CALENDARS.items():
            calendar, created = BusinessCalendar.objects.get_or_create(
                name=calendar_name, defaults={"time_zone": DEMO_TIME_ZONE}
            )
            if created:
                CalendarInterval.objects.bulk_create(
                    CalendarInterval(
                        calendar=calendar,
                        weekday=day,
                        opens=dt.time.fromisoformat(opens),
                        closes=dt.time.fromisoformat(closes),
                    )
                    for day, opens, closes in intervals
                )
            teams[team_name].calendar = calendar
            teams[team_name].save(update_fields=["calendar"])
        if not options["no_auto_replies"]:
            for (team_name, kind, language), text in AUTO_REPLIES.items():
                AutoReply.objects.get_or_create(
                    team=teams[team_name], kind=kind, language=language, defaults={"text": text}
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
        self._consents(options["waba_id"])
        for username, role, _, team in DEMO_USERS:
            where = f" ({team})" if team else ""
            self.stdout.write(f"  {role:<11} {username} / {options['password']}{where}")

    def _consents(self, waba_id: str) -> None:
        """Consent categories, and the demo customers opted in to each (once)."""
        categories = []
        for slug, name, template_categories, opt_in_text in DEMO_CONSENT_CATEGORIES:
            category = ConsentCategory.objects.filter(waba_id=waba_id, slug=slug).first()
            categories.append(
                category
                or services.consent_category_create(
                    waba_id=waba_id,
                    slug=slug,
                    name=name,
                    template_categories=template_categories,
                    opt_in_text=opt_in_text,
                )
            )
        for wa_id, name in DEMO_CUSTOMERS:
            contact, _ = services.contact_create(wa_id=wa_id, name=name)
            for category in categories:
                if not Consent.objects.filter(contact=contact, category=category).exists():
                    services.consent_record(
                        contact=contact,
                        category=category,
                        state="opted_in",
                        source="website_form",
                        wording=DEMO_CONSENT_WORDING,
                    )
