"""Factories for the inbox's own rows and for webhook payloads in the platform's shape."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import factory
import orjson
from django.contrib.auth.models import Group, User
from django.utils import timezone

from conversations import services
from conversations.models import (
    AgentConnection,
    CannedReply,
    ConsentCategory,
    Contact,
    Conversation,
    Label,
    Team,
    WhatsAppNumber,
)
from simulator import wire

_ids = itertools.count(1)


class NumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WhatsAppNumber
        django_get_or_create = ("phone_number_id",)

    phone_number_id = "106540352242922"
    display_phone_number = "15550783881"
    waba_id = "102290129340398"
    name = "Main line"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    wa_id = factory.Sequence(lambda n: f"4477009{n:05d}")
    profile_name = factory.Faker("name")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    number = factory.SubFactory(NumberFactory)
    contact = factory.SubFactory(ContactFactory)
    last_inbound_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))
    last_message_at = factory.SelfAttribute("last_inbound_at")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        if create:
            self.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create: bool, extracted: list[Any] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.members.add(*extracted)


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"label{n}")


class CannedReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedReply

    shortcut = factory.Sequence(lambda n: f"reply{n}")
    title = factory.Sequence(lambda n: f"Reply {n}")
    text = "Hello {{first_name}}"


def online(user: User, *, at: dt.datetime | None = None, channel: str = "") -> AgentConnection:
    """An open inbox socket for ``user``, last seen ``at`` (default now)."""
    return AgentConnection.objects.create(
        user=user,
        channel_name=channel or f"test.channel.{user.pk}.{next(_ids)}",
        last_seen=at or timezone.now(),
    )


def wamid() -> str:
    return f"wamid.TEST{next(_ids):08d}=="


def text_webhook(
    *,
    wa_id: str = "16505551234",
    text: str = "Hello",
    name: str = "Sheena Nelson",
    message_id: str | None = None,
    timestamp: dt.datetime | None = None,
    phone_number_id: str = "106540352242922",
    user_id: str = "",
) -> dict[str, Any]:
    ts = timestamp or timezone.now()
    contact: dict[str, Any] = {"profile": {"name": name}, "wa_id": wa_id}
    message: dict[str, Any] = {
        "from": wa_id,
        "id": message_id or wamid(),
        "timestamp": str(int(ts.timestamp())),
        "type": "text",
        "text": {"body": text},
    }
    if user_id:
        contact["user_id"] = user_id
        message["from_user_id"] = user_id
    return _envelope(phone_number_id, {"contacts": [contact], "messages": [message]})


def status_webhook(
    *,
    message_id: str,
    status: str,
    timestamp: dt.datetime | None = None,
    callback_data: str = "",
    errors: list[dict[str, Any]] | None = None,
    recipient: str = "16505551234",
    phone_number_id: str = "106540352242922",
) -> dict[str, Any]:
    ts = timestamp or timezone.now()
    report: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": str(int(ts.timestamp())),
        "recipient_id": recipient,
    }
    if callback_data:
        report["biz_opaque_callback_data"] = callback_data
    if errors:
        report["errors"] = errors
    return _envelope(phone_number_id, {"statuses": [report]})


def _envelope(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return wire.webhook(
        waba_id="102290129340398",
        display_phone_number="15550783881",
        phone_number_id=phone_number_id,
        value=value,
    )


def body(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload)


def consent_to(
    contact: Contact,
    *,
    waba_id: str = "102290129340398",
    template_categories: tuple[str, ...] = ("UTILITY", "MARKETING", "AUTHENTICATION"),
    slug: str = "everything",
) -> ConsentCategory:
    """Opt ``contact`` in to a consent category covering ``template_categories``
    (made when the account has none by that slug), as the customer did on a form."""
    category = ConsentCategory.objects.filter(waba_id=waba_id, slug=slug).first()
    if category is None:
        category = services.consent_category_create(
            waba_id=waba_id,
            slug=slug,
            name=slug.replace("-", " ").title(),
            template_categories=list(template_categories),
            opt_in_text=f"Yes, send me {slug.replace('-', ' ')}",
        )
    services.consent_record(
        contact=contact,
        category=category,
        state="opted_in",
        source="website_form",
        wording="Send me updates on WhatsApp",
    )
    return category


def no_quiet_hours() -> None:
    """The admins' policy without quiet hours (for tests about something else)."""
    services.compliance_policy_update(
        quiet_hours=None, frequency_cap={"messages": 2, "days": 7}, allowed_countries=None
    )
