"""A small inbox with something of everything, seen by each kind of user.

Two teams (Support with the operator Olga, Sales with the operator Boris), a
supervisor, an admin and a user without a role. Support's chat holds messages of
several types (text, a stored photo, a document whose download failed, a failed
reply, a sent reply), a note mentioning Olga, labels and events; Sales has its
own chat, and one chat has no team yet (every operator may see it). Canned
replies of each team and one for everybody, a notification for each inbox user.

The security and contract tests share it so that their requests hit real rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token

from campaigns.models import Campaign
from campaigns.services import campaign_create
from conversations import services
from conversations.models import (
    CannedReply,
    ConsentCategory,
    Conversation,
    Label,
    Message,
    Note,
    Notification,
    Team,
    WhatsAppNumber,
)
from conversations.tests.factories import (
    CannedReplyFactory,
    ContactFactory,
    ConversationFactory,
    LabelFactory,
    NumberFactory,
    TeamFactory,
    consent_to,
    wamid,
)
from simulator import Simulator
from templates_app.models import MessageTemplate

# Who asks: the keys of ``World.users`` (plus "anonymous", who is nobody).
ANONYMOUS = "anonymous"
NO_ROLE = "no_role"
OUTSIDER = "outsider"  # an operator of another team
OPERATOR = "operator"  # an operator of the chat's team
SUPERVISOR = "supervisor"
ADMIN = "admin"
ROLES = (ANONYMOUS, NO_ROLE, OUTSIDER, OPERATOR, SUPERVISOR, ADMIN)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF a photo of the broken handle"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@dataclass
class World:
    number: WhatsAppNumber
    support: Team
    sales: Team
    users: dict[str, User]
    tokens: dict[str, str]
    support_chat: Conversation
    sales_chat: Conversation
    lobby_chat: Conversation  # no team: every operator may see it
    inbound: Message  # the customer's text in Support's chat
    photo: Message  # a photo the customer sent, stored
    failed_download: Message  # a document whose download failed
    failed_reply: Message  # our reply WhatsApp refused for a reason a retry can pass
    sales_photo: Message
    note: Note
    label: Label
    canned: dict[str, CannedReply]  # "support", "sales", "everyone"
    notifications: dict[str, Notification]  # one each, by role (not for NO_ROLE)
    # "everyone", "support", "sales" (approved, for those teams), "draft"
    templates: dict[str, MessageTemplate] = field(default_factory=dict)

    def user(self, role: str) -> User | None:
        return self.users.get(role)

    def conversation_ids(self) -> dict[str, int]:
        return {
            "support": self.support_chat.pk,
            "sales": self.sales_chat.pk,
            "lobby": self.lobby_chat.pk,
        }


def _message(conversation: Conversation, **fields: Any) -> Message:
    defaults: dict[str, Any] = {
        "direction": Message.Direction.IN,
        "status": Message.Status.RECEIVED,
        "timestamp": timezone.now(),
        "type": "text",
    }
    if fields.get("direction", "in") == Message.Direction.IN:
        defaults["wamid"] = wamid()
    return Message.objects.create(conversation=conversation, **{**defaults, **fields})


def _stored_photo(conversation: Conversation, name: str) -> Message:
    photo = _message(
        conversation,
        type="image",
        content={"id": f"media-{name}", "mime_type": "image/jpeg", "caption": "Broken"},
        text="Broken",
        media_state=Message.Media.READY,
        media_size=len(JPEG),
    )
    photo.media_file.save(f"{name}.jpg", ContentFile(JPEG))
    return photo


ORDER_SHIPPED = [
    {
        "type": "BODY",
        "text": "Hello {{1}}, your order {{2}} has shipped and will arrive on {{3}}.",
        "example": {"body_text": [["Anna", "A-1042", "Friday"]]},
    }
]


def _template(number: WhatsAppNumber, key: str, teams: list[Team]) -> MessageTemplate:
    template = MessageTemplate.objects.create(
        waba_id=number.waba_id,
        name=f"order_shipped_{key}",
        language="en_US",
        category=MessageTemplate.Category.UTILITY,
        components=ORDER_SHIPPED,
        status=MessageTemplate.Status.DRAFT if key == "draft" else MessageTemplate.Status.APPROVED,
        platform_id="" if key == "draft" else f"5944254792615{len(key)}{len(teams)}",
    )
    template.allowed_teams.set(teams)
    return template


def _user(username: str, role: str) -> User:
    """A user who signs in by API token or session only (no password to hash)."""
    user = User.objects.create(username=username, first_name=username.title())
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def build_world() -> World:
    """Create the inbox described above (call inside a test with database access;
    point MEDIA_ROOT at a temporary folder first)."""
    now = timezone.now()
    users = {
        OPERATOR: _user("olga", "operator"),
        OUTSIDER: _user("boris", "operator"),
        SUPERVISOR: _user("sam", "supervisor"),
        ADMIN: _user("ada", "admin"),
        NO_ROLE: _user("visitor", ""),
    }
    tokens = {key: Token.objects.create(user=user).key for key, user in users.items()}
    support = TeamFactory(name="Support", members=[users[OPERATOR]])
    sales = TeamFactory(name="Sales", members=[users[OUTSIDER]])
    number = NumberFactory(team=support)
    recent = now - dt.timedelta(minutes=5)

    support_chat = ConversationFactory(
        number=number,
        team=support,
        contact=ContactFactory(profile_name="Ana Support", phone="+16505550001"),
        unread_count=2,
        waiting_since=recent,
    )
    # Ana agreed to hear from the shop on its website form: templates may go to her.
    consent_to(support_chat.contact, waba_id=number.waba_id)
    inbound = _message(support_chat, text="My kettle's handle broke", timestamp=recent)
    photo = _stored_photo(support_chat, "handle")
    failed_download = _message(
        support_chat,
        type="document",
        content={"id": "media-doc", "mime_type": "application/pdf", "filename": "receipt.pdf"},
        media_state=Message.Media.FAILED,
        media_attempts=5,
        media_error="WhatsApp answered 404 for the file.",
    )
    failed_reply = _message(
        support_chat,
        direction=Message.Direction.OUT,
        text="Sorry to hear that",
        status=Message.Status.FAILED,
        error_code=131016,
        error_title="Service unavailable",
        sent_by=users[OPERATOR],
    )
    _message(
        support_chat,
        direction=Message.Direction.OUT,
        wamid=wamid(),
        text="We will send a new one",
        status=Message.Status.DELIVERED,
        sent_by=users[OPERATOR],
    )
    label = LabelFactory(name="refund", color="#ff0000")
    services.conversation_set_labels(
        conversation=support_chat, actor=users[SUPERVISOR], label_ids=[label.pk]
    )
    note = services.note_create(
        conversation=support_chat, author=users[SUPERVISOR], text="@olga please check the photo"
    )
    services.note_create(
        conversation=support_chat, author=users[OPERATOR], text="@sam @ada a refund?"
    )

    sales_chat = ConversationFactory(
        number=number,
        team=sales,
        contact=ContactFactory(profile_name="Ben Sales", phone="+16505550002"),
    )
    _message(sales_chat, text="Do you ship to Haifa?")
    sales_photo = _stored_photo(sales_chat, "catalogue")
    services.note_create(
        conversation=sales_chat, author=users[SUPERVISOR], text="@boris a big order"
    )
    lobby_chat = ConversationFactory(
        number=number, contact=ContactFactory(profile_name="Cy Lobby", phone="+16505550003")
    )
    _message(lobby_chat, text="Hello?")

    canned = {
        "support": CannedReplyFactory(shortcut="refund", title="Refund", team=support),
        "sales": CannedReplyFactory(shortcut="prices", title="Prices", team=sales),
        "everyone": CannedReplyFactory(shortcut="hello", title="Hello"),
    }
    notifications = {
        key: Notification.objects.get(user=users[key])
        for key in (OPERATOR, OUTSIDER, SUPERVISOR, ADMIN)
    }
    templates = {
        key: _template(number, key, teams)
        for key, teams in (
            ("everyone", []),
            ("support", [support]),
            ("sales", [sales]),
            ("draft", []),
        )
    }
    # An admin's import of consents, waiting for its job.
    services.consent_import_create(
        waba_id=number.waba_id,
        csv_text="wa_id,category,state,source,date\n393331234567,everything,opted_in,sms,2026-11-02\n",
        user=users[ADMIN],
    )
    return World(
        templates=templates,
        number=number,
        support=support,
        sales=sales,
        users=users,
        tokens=tokens,
        support_chat=support_chat,
        sales_chat=sales_chat,
        lobby_chat=lobby_chat,
        inbound=inbound,
        photo=photo,
        failed_download=failed_download,
        failed_reply=failed_reply,
        sales_photo=sales_photo,
        note=note,
        label=label,
        canned=canned,
        notifications=notifications,
    )


@contextlib.contextmanager
def graph_simulator(settings: Any) -> Iterator[Simulator]:
    """The Graph API the app calls while answering a request (importing a business
    profile), served by the simulator; ``settings`` is pytest-django's fixture."""
    with Simulator(
        "http://127.0.0.1:9/unused", "secret", django_settings.WHATSAPP_ACCESS_TOKEN
    ) as simulator:
        settings.WHATSAPP_GRAPH_URL = simulator.graph_url
        yield simulator


def a_campaign(w: World, *, status: str = "draft") -> None:
    """A campaign of the world's number, to one customer, in ``status``."""
    if not ConsentCategory.objects.filter(waba_id=w.number.waba_id, slug="updates").exists():
        ConsentCategory.objects.create(
            waba_id=w.number.waba_id,
            slug="updates",
            name="Updates",
            template_categories=["UTILITY"],
        )
    made = campaign_create(
        name="Order updates",
        number_id=w.number.pk,
        consent_category="updates",
        variants=[{"template": w.templates["everyone"].pk, "share": 100}],
        audience={"wa_ids": ["393331234568"]},
    )
    Campaign.objects.filter(pk=made.pk).update(status=status)
    w.campaign_id = made.pk  # type: ignore[attr-defined]
