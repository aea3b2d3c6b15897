"""JSON shapes of numbers, contacts, conversations and messages.

The ``*_payload`` functions are the one definition of each shape, used by the
API and by live events alike (they are plain dict builders: building a DRF
field tree per message would cost more than storing the message). The
serializer classes declare the same fields for the OpenAPI schema and
represent objects through those functions; a test keeps both in step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from conversations.models import Contact, Conversation, Message, WhatsAppNumber
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
        media = {
            "id": str(content.get("id", "")),
            "mime_type": str(content.get("mime_type", "")),
            "filename": str(content.get("filename", "")),
            "caption": str(content.get("caption", "")),
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
    }


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
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
    }


# --- Schema declarations ------------------------------------------------------


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

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return message_payload(instance)


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

    def to_representation(self, instance: Conversation) -> dict[str, Any]:
        return conversation_payload(instance)


class SendTextSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4096, trim_whitespace=True)
    reply_to = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="wamid to quote"
    )
