"""JSON shapes of numbers, contacts, conversations, messages and the workspace
around them (teams, labels, notes, events, notifications, canned replies, agents).

The ``*_payload`` functions are the one definition of each shape, used by the
API and by live events alike (they are plain dict builders: building a DRF
field tree per message would cost more than storing the message). The
serializer classes declare the same fields for the OpenAPI schema and
represent objects through those functions; a test keeps both in step.

One shape has a second builder: on PostgreSQL the conversation list's rows are
built by the database (``conversations_json``), and a test holds it to
``conversation_payload`` field by field. The API adds to a conversation what the
apps above give through ``hooks.on_conversation_fields`` (``sla``), in one call per
answer (``conversation_fields_added``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations import calendars, hooks, selectors
from conversations.models import (
    SERVICE_WINDOW,
    AgentProfile,
    BusinessProfile,
    CannedReply,
    Contact,
    Conversation,
    ConversationEvent,
    Label,
    Message,
    Note,
    Notification,
    Team,
    WhatsAppNumber,
)
from conversations.phones import contact_country, contact_time_zone
from whatsapp import profiles as wa_profiles
from whatsapp.events import MEDIA_TYPES


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def number_payload(number: WhatsAppNumber) -> dict[str, Any]:
    return {
        "id": number.id,
        "phone_number_id": number.phone_number_id,
        "display_phone_number": number.display_phone_number,
        "waba_id": number.waba_id,
        "name": number.name,
        "created_at": iso(number.created_at),
    }


def business_profile_payload(profile: BusinessProfile) -> dict[str, Any]:
    return {
        "about": profile.about,
        "description": profile.description,
        "address": profile.address,
        "email": profile.email,
        "websites": list(profile.websites or []),
        "vertical": profile.vertical,
        "profile_picture_url": profile.profile_picture_url,
        "sync_state": profile.sync_state,
        "sync_error": profile.sync_error,
        "synced_at": iso(profile.synced_at),
    }


def contact_payload(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "wa_id": contact.wa_id,
        "user_id": contact.user_id,
        "name": contact.profile_name,
        "phone": contact.phone,
        "country": contact.country,
    }


def user_payload(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username}


def message_payload(message: Message) -> dict[str, Any]:
    content = message.content or {}
    media = None
    if message.type in MEDIA_TYPES:
        ready = message.media_state == Message.Media.READY
        media = {
            "id": str(content.get("id", "")),
            "mime_type": str(content.get("mime_type", "")),
            "filename": str(content.get("filename", "")),
            "caption": str(content.get("caption", "")),
            "state": message.media_state,
            "size": message.media_size,
            "error": message.media_error,
            # Served only to users who may see the conversation, once stored.
            "url": f"/api/v1/messages/{message.id}/media/" if ready else None,
        }
    error = None
    if message.error_code is not None or message.error_title:
        error = {
            "code": message.error_code,
            "title": message.error_title,
            "details": message.error_details,
        }
    return {
        "id": str(message.id),
        "conversation_id": message.conversation_id,
        "wamid": message.wamid,
        "direction": message.direction,
        "type": message.type,
        "text": message.text,
        "content": content,
        "media": media,
        "context_wamid": message.context_wamid,
        "referral": message.referral,
        "status": message.status,
        "error": error,
        "timestamp": iso(message.timestamp),
        "status_at": iso(message.status_at),
        "created_at": iso(message.created_at),
        "sent_by": user_payload(message.sent_by) if message.sent_by_id else None,
        "automatic": message.automatic,
        "reactions": message.reactions or {},
        "send_attempts": message.send_attempts,
        "retryable": selectors.message_retryable(message),
        "retry_at": iso(message.retry_at),
    }


def team_summary(team: Team | None) -> dict[str, Any] | None:
    if team is None:
        return None
    return {"id": team.id, "name": team.name}


def label_payload(label: Label) -> dict[str, Any]:
    return {"id": label.id, "name": label.name, "color": label.color}


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    """The conversation as the list, the thread header and live events show it.

    Reads ``labels`` through ``.all()`` unless ``sorted_labels`` holds them, as
    ``selectors.conversations_visible_to`` prefetches them for serializing many."""
    labels = getattr(conversation, "sorted_labels", None)
    if labels is None:
        labels = conversation.labels.all()
    return {
        "id": conversation.id,
        "number": number_payload(conversation.number),
        "contact": contact_payload(conversation.contact),
        "status": conversation.status,
        "assignee": user_payload(conversation.assignee) if conversation.assignee_id else None,
        "last_message_at": iso(conversation.last_message_at),
        "last_message_text": conversation.last_message_text,
        "last_inbound_at": iso(conversation.last_inbound_at),
        "unread_count": conversation.unread_count,
        "window_expires_at": iso(conversation.window_expires_at()),
        "created_at": iso(conversation.created_at),
        "team": team_summary(conversation.team) if conversation.team_id else None,
        "labels": [label_payload(label) for label in labels],
        "snoozed_until": iso(conversation.snoozed_until),
        "waiting_since": iso(conversation.waiting_since),
        "escalated_at": iso(conversation.escalated_at),
        "queued": conversation.queued_at is not None,
    }


def _iso_sql(column: str) -> str:
    """SQL writing a timestamptz as ``iso`` does (UTC, ``Z``, microseconds only when
    there are some)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN date_part('microseconds', {column})::bigint %% 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || 'Z' END"
    )


@functools.cache
def _conversations_json_sql() -> str:
    conversation = Conversation._meta.db_table
    labels = Conversation.labels.through._meta.db_table
    user_table = Conversation._meta.get_field("assignee").related_model._meta.db_table
    latest = "'9999-12-31 23:59:59.999999+00'::timestamptz"  # Python's datetime.max
    # (least() skips a null: a chat never written to has no inbound window at all.)
    inbound = (
        "CASE WHEN c.last_inbound_at IS NOT NULL "
        f"THEN least(c.last_inbound_at + %(window)s, {latest}) END"
    )
    window = f"greatest(c.free_entry_until, {inbound})"
    # ``get_full_name() or username``: first and last name, whitespace stripped.
    full_name = r"regexp_replace(u.first_name || ' ' || u.last_name, '^\s+|\s+$', '', 'g')"
    # Table names come from the models, never from a request.
    return f"""
SELECT coalesce(json_agg(json_build_object(
  'id', c.id,
  'number', json_build_object(
    'id', n.id, 'phone_number_id', n.phone_number_id,
    'display_phone_number', n.display_phone_number, 'waba_id', n.waba_id, 'name', n.name,
    'created_at', {_iso_sql("n.created_at")}),
  'contact', json_build_object(
    'id', ct.id, 'wa_id', ct.wa_id, 'user_id', ct.user_id, 'name', ct.profile_name,
    'phone', ct.phone, 'country', ct.country),
  'status', c.status,
  'assignee', CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object(
    'id', u.id, 'username', u.username,
    'name', coalesce(nullif({full_name}, ''), u.username)) END,
  'last_message_at', {_iso_sql("c.last_message_at")},
  'last_message_text', c.last_message_text,
  'last_inbound_at', {_iso_sql("c.last_inbound_at")},
  'unread_count', c.unread_count,
  'window_expires_at', CASE WHEN {window} > %(now)s THEN {_iso_sql(window)} END,
  'created_at', {_iso_sql("c.created_at")},
  'team', CASE WHEN t.id IS NULL THEN NULL ELSE json_build_object('id', t.id, 'name', t.name) END,
  'labels', (SELECT coalesce(json_agg(json_build_object(
                 'id', l.id, 'name', l.name, 'color', l.color) ORDER BY l.name), '[]')
             FROM "{labels}" cl JOIN "{Label._meta.db_table}" l ON l.id = cl.label_id
             WHERE cl.conversation_id = c.id),
  'snoozed_until', {_iso_sql("c.snoozed_until")},
  'waiting_since', {_iso_sql("c.waiting_since")},
  'escalated_at', {_iso_sql("c.escalated_at")},
  'queued', c.queued_at IS NOT NULL
) ORDER BY page.position), '[]')::text
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS page(id, position)
JOIN "{conversation}" c ON c.id = page.id
JOIN "{WhatsAppNumber._meta.db_table}" n ON n.id = c.number_id
JOIN "{Contact._meta.db_table}" ct ON ct.id = c.contact_id
LEFT JOIN "{user_table}" u ON u.id = c.assignee_id
LEFT JOIN "{Team._meta.db_table}" t ON t.id = c.team_id
"""  # noqa: S608


def conversations_json(ids: Sequence[int], now: dt.datetime | None = None) -> str:
    """The conversations ``ids``, in that order, as a JSON array of what
    ``conversation_payload`` gives for each, built by PostgreSQL.

    For the list: Python building 200 conversations (model instances, their dates,
    the payloads) cost more than the query that found them. A test holds both
    builders to the same output."""
    with connection.cursor() as cursor:
        cursor.execute(
            _conversations_json_sql(),
            {"ids": list(ids), "now": now or timezone.now(), "window": SERVICE_WINDOW},
        )
        return cursor.fetchone()[0]


def conversation_fields_added(
    payloads: list[dict[str, Any]], now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """``payloads`` of conversations with the fields the apps above add to them
    (``hooks.on_conversation_fields``), in place; one call for all."""
    added = hooks.conversation_fields([p["id"] for p in payloads], now or timezone.now())
    for payload in payloads:
        payload.update(added.get(payload["id"], ()))
    return payloads


def event_payload(event: ConversationEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "conversation_id": event.conversation_id,
        "kind": event.kind,
        "actor": user_payload(event.actor) if event.actor_id else None,
        "data": event.data,
        "created_at": iso(event.created_at),
    }


def note_payload(note: Note) -> dict[str, Any]:
    """Reads ``mentions`` through ``.all()``: prefetch them when serializing many."""
    return {
        "id": note.id,
        "conversation_id": note.conversation_id,
        "author": user_payload(note.author) if note.author_id else None,
        "text": note.text,
        "mentions": [user_payload(user) for user in note.mentions.all()],
        "created_at": iso(note.created_at),
    }


def notification_payload(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "conversation_id": notification.conversation_id,
        "text": notification.text,
        "data": notification.data,
        "created_at": iso(notification.created_at),
        "read_at": iso(notification.read_at),
    }


def canned_reply_payload(reply: CannedReply, rendered: str) -> dict[str, Any]:
    return {
        "id": reply.id,
        "shortcut": reply.shortcut,
        "title": reply.title,
        "text": reply.text,
        "rendered": rendered,
    }


def team_payload(team: Team) -> dict[str, Any]:
    """Reads ``members`` through ``.all()``: prefetch them when serializing many."""
    return {
        "id": team.id,
        "name": team.name,
        "members": [member.pk for member in team.members.all()],
        "auto_assign": team.auto_assign,
        "capacity_counts_waiting": team.capacity_counts_waiting,
        "escalate_after_minutes": team.escalate_after_minutes,
        "escalation": team.escalation,
        **team_hours_payload(team),
    }


def team_hours_payload(team: Team, now: dt.datetime | None = None) -> dict[str, Any]:
    """Whether the team works now by its calendar, and when it opens again.

    Reads ``calendar`` with its ``intervals`` and ``holidays``: prefetch them
    when serializing many."""
    if team.calendar_id is None:
        return {"calendar": None, "open_now": True, "opens_at": None}
    calendar = team.calendar
    now = now or timezone.now()
    open_now = calendars.is_open(calendar, now)
    return {
        "calendar": {"id": calendar.id, "name": calendar.name, "time_zone": calendar.time_zone},
        "open_now": open_now,
        "opens_at": None if open_now else iso(calendars.next_opening(calendar, now)),
    }


def agent_payload(user: Any, *, presence: str, active_chats: int) -> dict[str, Any]:
    """An inbox user as colleagues see them; ``teams`` prefetched, ``agent`` joined."""
    profile = getattr(user, "agent", None)
    return {
        **user_payload(user),  # type: ignore[dict-item]
        "presence": presence,
        "teams": [team.id for team in user.teams.all()],
        "active_chats": active_chats,
        "capacity": profile.capacity
        if profile is not None
        else AgentProfile._meta.get_field("capacity").default,
    }


def me_payload(
    user: Any, *, roles: list[str], teams: list[Team], presence: str, profile: AgentProfile
) -> dict[str, Any]:
    return {
        **user_payload(user),  # type: ignore[dict-item]
        "roles": roles,
        "teams": [team_summary(team) for team in teams],
        "presence": presence,
        "presence_choice": profile.presence,
        "language": profile.language,
        "time_zone": profile.time_zone,
        "notify_desktop": profile.notify_desktop,
        "notify_sound": profile.notify_sound,
    }


# --- Schema declarations ------------------------------------------------------


def inline_choice_field(choices: list[tuple[str, str]], **kwargs: Any) -> serializers.ChoiceField:
    """A choice field documented as a string listing its values: a choice set that
    several shapes share keeps a single enum component in the schema."""
    values = ", ".join(value for value, _ in choices)
    schema = {"type": "string", "description": f"one of: {values}"}
    field_class = extend_schema_field(schema)(
        type("InlineChoiceField", (serializers.ChoiceField,), {})
    )
    return field_class(choices=choices, **kwargs)


class NumberSerializer(serializers.ModelSerializer):
    """Also validates ``POST /api/v1/numbers/``."""

    class Meta:
        model = WhatsAppNumber
        fields = ["id", "phone_number_id", "display_phone_number", "waba_id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is reported by the service as a 409, not as a field error.
        extra_kwargs = {"phone_number_id": {"validators": []}}

    def to_representation(self, instance: WhatsAppNumber) -> dict[str, Any]:
        return number_payload(instance)


class BusinessProfileSerializer(serializers.Serializer):
    """What customers see of a number on WhatsApp, and whether WhatsApp has it yet."""

    about = serializers.CharField(help_text="Under the name and photo; at most 139 characters")
    description = serializers.CharField(help_text="At most 512 characters")
    address = serializers.CharField(help_text="At most 256 characters")
    email = serializers.CharField(help_text="At most 128 characters")
    websites = serializers.ListField(
        child=serializers.CharField(), help_text="At most 2, each starting with http(s)://"
    )
    vertical = serializers.ChoiceField(
        choices=BusinessProfile.Vertical.choices, help_text="The industry"
    )
    profile_picture_url = serializers.CharField(
        help_text="Where WhatsApp serves the photo; empty while a new photo is on its way"
    )
    sync_state = serializers.ChoiceField(
        choices=[("", "Never edited here"), *BusinessProfile.Sync.choices],
        help_text="pending: being sent to WhatsApp; synced: WhatsApp shows it; "
        "failed: WhatsApp refused it (see sync_error)",
    )
    sync_error = serializers.CharField(help_text="Why WhatsApp refused it, in words")
    synced_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: BusinessProfile) -> dict[str, Any]:
        return business_profile_payload(instance)


class BusinessProfileUpdateSerializer(serializers.Serializer):
    """The fields an admin changes; each is checked against WhatsApp's limits."""

    about = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    address = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    email = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    websites = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, allow_empty=True
    )
    vertical = serializers.ChoiceField(
        choices=BusinessProfile.Vertical.choices, required=False, help_text="The industry"
    )

    def _check(self, name: str, value: Any) -> Any:
        problem = wa_profiles.problems({name: value}).get(name)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_about(self, value: str) -> str:
        return self._check("about", value)

    def validate_description(self, value: str) -> str:
        return self._check("description", value)

    def validate_address(self, value: str) -> str:
        return self._check("address", value)

    def validate_email(self, value: str) -> str:
        return self._check("email", value)

    def validate_websites(self, value: list[str]) -> list[str]:
        return self._check("websites", [site.strip() for site in value if site.strip()])


class BusinessProfilePhotoSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG or PNG, at most 5 MB")


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    wa_id = serializers.CharField(help_text="Phone-number id; empty when only user_id is known")
    user_id = serializers.CharField(help_text="Business-scoped user id; may be empty")
    name = serializers.CharField()
    phone = serializers.CharField(help_text="E.164")
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2, from the number")


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class MessageErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True, help_text="WhatsApp's error code")
    title = serializers.CharField()
    details = serializers.CharField()


class MediaSerializer(serializers.Serializer):
    id = serializers.CharField()
    mime_type = serializers.CharField()
    filename = serializers.CharField()
    caption = serializers.CharField()
    state = serializers.ChoiceField(
        choices=Message.Media.choices, help_text="Empty for media the operator sent from here"
    )
    size = serializers.IntegerField(allow_null=True, help_text="Bytes, once stored")
    error = serializers.CharField(help_text="Why the download failed")
    url = serializers.CharField(
        allow_null=True, help_text="Where the stored bytes are served; null until stored"
    )


class MessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.IntegerField()
    wamid = serializers.CharField(allow_null=True)
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    type = serializers.CharField()
    text = serializers.CharField()
    content = serializers.JSONField()
    media = MediaSerializer(allow_null=True)
    context_wamid = serializers.CharField()
    referral = serializers.JSONField(allow_null=True)
    status = serializers.ChoiceField(choices=Message.Status.choices)
    error = MessageErrorSerializer(allow_null=True)
    timestamp = serializers.DateTimeField()
    status_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    sent_by = UserSummarySerializer(allow_null=True)
    automatic = serializers.BooleanField(
        help_text="Sent by the inbox itself (an automatic reply), not by an operator"
    )
    reactions = serializers.DictField(
        child=serializers.CharField(),
        help_text='Emoji on this message by side: {"customer": "👍", "business": "❤️"}',
    )
    send_attempts = serializers.IntegerField(help_text="Tries at handing it to WhatsApp")
    retryable = serializers.BooleanField(
        help_text="Failed, and sending it again may help (POST .../retry/)"
    )
    retry_at = serializers.DateTimeField(
        allow_null=True,
        help_text="A deferred message (status deferred): when it goes to WhatsApp again",
    )

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return message_payload(instance)


class TeamSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LabelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField(help_text="#rrggbb")

    def to_representation(self, instance: Label) -> dict[str, Any]:
        return label_payload(instance)


class SlaClockSerializer(serializers.Serializer):
    first_response_due_at = serializers.DateTimeField(
        allow_null=True, help_text="When the first reply is due; null when none is awaited"
    )
    next_reply_due_at = serializers.DateTimeField(
        allow_null=True, help_text="When the reply to the customer's latest message is due"
    )
    resolution_due_at = serializers.DateTimeField(
        allow_null=True, help_text="When the chat should be resolved; null while pending"
    )
    breached = serializers.ListField(
        child=serializers.ChoiceField(choices=["first_response", "next_reply", "resolution"]),
        help_text="Targets breached since the customer opened this episode of the chat",
    )


class ConversationListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        return conversation_fields_added([conversation_payload(c) for c in data])


class ConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = NumberSerializer()
    contact = ContactSerializer()
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    assignee = UserSummarySerializer(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)
    last_message_text = serializers.CharField()
    last_inbound_at = serializers.DateTimeField(
        allow_null=True, help_text="When the customer last wrote, as WhatsApp reports it"
    )
    unread_count = serializers.IntegerField()
    window_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the 24-hour window closes; null when it is closed"
    )
    created_at = serializers.DateTimeField()
    team = TeamSummarySerializer(allow_null=True)
    labels = LabelSerializer(many=True)
    snoozed_until = serializers.DateTimeField(allow_null=True)
    waiting_since = serializers.DateTimeField(
        allow_null=True, help_text="When the customer started waiting for an operator's reply"
    )
    escalated_at = serializers.DateTimeField(allow_null=True)
    queued = serializers.BooleanField(help_text="Waiting in the team queue for an operator")
    sla = SlaClockSerializer(
        required=False,
        help_text="The chat's SLA clock (API answers; live events carry it as "
        "``conversation.sla``); every date null when no policy applies",
    )

    class Meta:
        list_serializer_class = ConversationListSerializer

    def to_representation(self, instance: Conversation) -> dict[str, Any]:
        return conversation_fields_added([conversation_payload(instance)])[0]


class ConversationEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ConversationEvent.Kind.choices)
    actor = UserSummarySerializer(allow_null=True, help_text="null: the system")
    data = serializers.JSONField(help_text='What changed, e.g. {"from": ..., "to": ...}')
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: ConversationEvent) -> dict[str, Any]:
        return event_payload(instance)


class NoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    author = UserSummarySerializer(allow_null=True)
    text = serializers.CharField()
    mentions = UserSummarySerializer(many=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: Note) -> dict[str, Any]:
        return note_payload(instance)


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    conversation_id = serializers.IntegerField()
    text = serializers.CharField()
    data = serializers.DictField(
        help_text="mention: author, note; escalation: customer, waited_minutes, team"
    )
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        return notification_payload(instance)


class CannedReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    shortcut = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField(help_text="With {{name}}, {{first_name}}, {{phone}}, {{agent}}")
    rendered = serializers.CharField(help_text="The text with the variables filled in")


class CalendarSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField(help_text="IANA name")


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    members = serializers.ListField(child=serializers.IntegerField(), help_text="user ids")
    auto_assign = serializers.BooleanField()
    capacity_counts_waiting = serializers.BooleanField()
    escalate_after_minutes = serializers.IntegerField(allow_null=True)
    escalation = serializers.ChoiceField(choices=Team.Escalation.choices)
    calendar = CalendarSummarySerializer(allow_null=True, help_text="Working hours; null: always")
    open_now = serializers.BooleanField(help_text="Working now by its calendar")
    opens_at = serializers.DateTimeField(
        allow_null=True, help_text="When a closed team opens again; null while open"
    )

    def to_representation(self, instance: Team) -> dict[str, Any]:
        return team_payload(instance)


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    presence = serializers.ChoiceField(choices=AgentProfile.Presence.choices)
    teams = serializers.ListField(child=serializers.IntegerField(), help_text="team ids")
    active_chats = serializers.IntegerField(help_text="Chats counting toward capacity")
    capacity = serializers.IntegerField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    teams = TeamSummarySerializer(many=True, read_only=True)
    presence = inline_choice_field(
        AgentProfile.Presence.choices,
        required=False,
        help_text="Effective presence (offline without an open inbox); "
        "PATCH sets the switch, like presence_choice",
    )
    presence_choice = inline_choice_field(AgentProfile.Presence.choices, required=False)
    language = serializers.ChoiceField(choices=["en", "ru", ""], required=False)
    time_zone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    notify_desktop = serializers.BooleanField(required=False)
    notify_sound = serializers.BooleanField(required=False)

    def validate_time_zone(self, value: str) -> str:
        import zoneinfo

        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise serializers.ValidationError(f"Unknown time zone {value!r}.") from exc
        return value


class ClaimConflictSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        required=False, allow_null=True, help_text="user id; null unassigns"
    )
    team = serializers.IntegerField(required=False, help_text="team id to transfer to")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "assignee" not in attrs and "team" not in attrs:
            raise serializers.ValidationError("Give an assignee, a team, or both.")
        return attrs


class StatusSerializer(serializers.Serializer):
    status = inline_choice_field(Conversation.Status.choices)
    snoozed_until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Required for snoozed; in the future"
    )


class LabelsSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000, trim_whitespace=True)


class SendTextSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4096, trim_whitespace=True)
    reply_to = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="id of the message of this chat to quote",
    )


class SendMediaSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=False,
        help_text="Sent as image (JPEG, PNG; 5 MB), audio (AAC, AMR, MP3, M4A, OGG; 16 MB), "
        "video (MP4, 3GP; 16 MB) or document (PDF, text, office; 100 MB)",
    )
    caption = serializers.CharField(
        max_length=1024, required=False, allow_blank=True, default="", trim_whitespace=True
    )
    reply_to = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="id of the message of this chat to quote",
    )


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField(
        max_length=16, allow_blank=True, trim_whitespace=True, help_text='"" removes the reaction'
    )


# --- Contacts, consent and the send rules ----------------------------------------


def contact_detail_payload(contact: Contact, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A contact as the contacts API shows it: with their time zone and local time."""
    zone = contact_time_zone(contact)
    local = (now or timezone.now()).astimezone(zone)
    return {
        **contact_payload(contact),
        "country": contact_country(contact),
        "time_zone": zone.key,
        "local_time": local.isoformat(timespec="minutes"),
        "marketing_stopped_on_platform": contact.marketing_stopped_on_platform,
        "created_at": contact.created_at,
    }


class ContactDetailSerializer(ContactSerializer):
    time_zone = serializers.CharField(help_text="IANA name, from the phone number")
    local_time = serializers.CharField(help_text="The customer's local time now (ISO 8601)")
    marketing_stopped_on_platform = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ContactConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(source="number_id")
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    team = serializers.IntegerField(source="team_id", allow_null=True)
    labels = serializers.ListField(child=serializers.CharField())
    last_message_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(
            {
                "id": instance.pk,
                "number_id": instance.number_id,
                "status": instance.status,
                "team_id": instance.team_id,
                "labels": [label.name for label in instance.labels.all()],
                "last_message_at": instance.last_message_at,
                "created_at": instance.created_at,
            }
        )
        return data


class ContactWithConversationsSerializer(ContactDetailSerializer):
    conversations = ContactConversationSerializer(
        many=True, help_text="The customer's chats the user may see, newest first"
    )


class ContactCreateSerializer(serializers.Serializer):
    wa_id = serializers.CharField(max_length=32, help_text="The phone number, digits")
    name = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")


CONSENT_STATES = ["opted_in", "opted_out"]
CONSENT_STATES_NOW = ["opted_in", "opted_out", "unknown"]
CONSENT_SOURCES = [
    "website_form",
    "checkout",
    "whatsapp_message",
    "whatsapp_link",
    "sms",
    "email",
    "import",
    "operator",
    "api",
    "platform",
]
CONSENT_RECORD_SOURCES = [s for s in CONSENT_SOURCES if s != "platform"]


class ConsentStateSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="The category's slug")
    state = serializers.ChoiceField(choices=CONSENT_STATES_NOW)
    changed_at = serializers.DateTimeField(allow_null=True)
    source = serializers.ChoiceField(choices=CONSENT_SOURCES, allow_null=True)
    wording = serializers.CharField(allow_null=True)


class ConsentChangeSerializer(serializers.Serializer):
    category = serializers.CharField(
        allow_null=True, help_text="null: the platform's own stop or resume of marketing"
    )
    waba_id = serializers.CharField()
    state = serializers.ChoiceField(choices=CONSENT_STATES)
    at = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=CONSENT_SOURCES)
    wording = serializers.CharField()
    recorded_by = serializers.DictField(allow_null=True)


class ConsentsSerializer(serializers.Serializer):
    categories = ConsentStateSerializer(many=True)
    marketing_stopped_on_platform = serializers.BooleanField()
    history = ConsentChangeSerializer(many=True)


class ConsentRecordSerializer(serializers.Serializer):
    category = serializers.SlugField(max_length=64)
    state = serializers.ChoiceField(choices=CONSENT_STATES)
    source = serializers.ChoiceField(choices=CONSENT_RECORD_SOURCES, required=False)
    wording = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    waba_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["state"] == "opted_in" and not attrs.get("wording", "").strip():
            raise serializers.ValidationError(
                {"wording": ["An opt-in keeps the words the customer agreed to."]}
            )
        return attrs


class OptInLinkSerializer(serializers.Serializer):
    link = serializers.URLField(help_text="wa.me link with the prefilled message")
    qr_svg = serializers.CharField(help_text="The link's QR code, an SVG document")
    button_html = serializers.CharField(help_text='A "Chat on WhatsApp" button for a website')


class ConsentCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    waba_id = serializers.CharField(
        max_length=64, required=False, help_text="May be left out while there is one account"
    )
    slug = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=120)
    template_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=["UTILITY", "MARKETING", "AUTHENTICATION"]),
        min_length=1,
        max_length=3,
    )
    opt_in_text = serializers.CharField(
        max_length=256,
        required=False,
        allow_blank=True,
        default="",
        help_text="The prefilled message of the opt-in link",
    )
    opt_in = OptInLinkSerializer(read_only=True, allow_null=True)


class QuietHoursSerializer(serializers.Serializer):
    start = serializers.RegexField(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", help_text="HH:MM, local")
    end = serializers.RegexField(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", help_text="HH:MM, local")
    weekend_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), max_length=7, default=list
    )


class FrequencyCapSerializer(serializers.Serializer):
    messages = serializers.IntegerField(min_value=1, max_value=1000)
    days = serializers.IntegerField(min_value=1, max_value=365)


class CompliancePolicySerializer(serializers.Serializer):
    quiet_hours = QuietHoursSerializer(allow_null=True)
    frequency_cap = FrequencyCapSerializer(allow_null=True)
    allowed_countries = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2),
        allow_null=True,
        max_length=300,
    )


def compliance_policy_payload(policy: Any) -> dict[str, Any]:
    return {
        "quiet_hours": None
        if policy.quiet_start is None or policy.quiet_end is None
        else {
            "start": policy.quiet_start.strftime("%H:%M"),
            "end": policy.quiet_end.strftime("%H:%M"),
            "weekend_days": list(policy.weekend_days or []),
        },
        "frequency_cap": None
        if policy.cap_messages is None or policy.cap_days is None
        else {"messages": policy.cap_messages, "days": policy.cap_days},
        "allowed_countries": policy.allowed_countries,
    }


class ComplianceLogEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    contact = serializers.IntegerField(allow_null=True, source="contact_id")
    wa_id = serializers.CharField()
    path = serializers.ChoiceField(choices=["composer", "api", "campaign", "automatic"])
    reason = serializers.CharField()
    template = serializers.CharField()
    campaign = serializers.CharField(allow_null=True)
    detail = serializers.CharField()
    retry_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["campaign"] = instance.campaign or None
        return data


class ConsentImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    waba_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    rows = serializers.IntegerField()
    processed = serializers.IntegerField()
    imported = serializers.IntegerField()
    refused = serializers.IntegerField()
    quarantined = serializers.IntegerField()
    report = serializers.ListField(child=serializers.DictField())
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ConsentImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV: wa_id, category, state, source, date, wording")
    waba_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
