"""JSON shapes of conversations and messages, shared by the API and live events."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations.models import Contact, Conversation, Message, WhatsAppNumber
from whatsapp.events import MEDIA_TYPES


class NumberSerializer(serializers.ModelSerializer):
    class Meta:
        model = WhatsAppNumber
        fields = ["id", "phone_number_id", "display_phone_number", "waba_id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is checked by the service's constraint, reported as a clear error.
        extra_kwargs = {"phone_number_id": {"validators": []}}


class ContactSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="profile_name")

    class Meta:
        model = Contact
        fields = ["id", "wa_id", "user_id", "name", "phone", "country"]


class UserSummarySerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "name"]

    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.username


class MessageErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    details = serializers.CharField()


class MediaSerializer(serializers.Serializer):
    id = serializers.CharField()
    mime_type = serializers.CharField()
    filename = serializers.CharField()
    caption = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    conversation_id = serializers.IntegerField(read_only=True)
    media = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    sent_by = UserSummarySerializer(read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation_id",
            "wamid",
            "direction",
            "type",
            "text",
            "content",
            "media",
            "context_wamid",
            "referral",
            "status",
            "error",
            "timestamp",
            "status_at",
            "created_at",
            "sent_by",
        ]

    @extend_schema_field(MediaSerializer(allow_null=True))
    def get_media(self, message: Message) -> dict[str, str] | None:
        if message.type not in MEDIA_TYPES:
            return None
        content = message.content or {}
        return {
            "id": str(content.get("id", "")),
            "mime_type": str(content.get("mime_type", "")),
            "filename": str(content.get("filename", "")),
            "caption": str(content.get("caption", "")),
        }

    @extend_schema_field(MessageErrorSerializer(allow_null=True))
    def get_error(self, message: Message) -> dict[str, Any] | None:
        if message.error_code is None and not message.error_title:
            return None
        return {
            "code": message.error_code,
            "title": message.error_title,
            "details": message.error_details,
        }


class ConversationSerializer(serializers.ModelSerializer):
    number = NumberSerializer(read_only=True)
    contact = ContactSerializer(read_only=True)
    assignee = UserSummarySerializer(read_only=True)
    window_expires_at = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "number",
            "contact",
            "status",
            "assignee",
            "last_message_at",
            "last_message_text",
            "last_inbound_at",
            "unread_count",
            "window_expires_at",
            "created_at",
        ]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_window_expires_at(self, conversation: Conversation) -> str | None:
        expires = conversation.window_expires_at()
        return serializers.DateTimeField().to_representation(expires) if expires else None


class SendTextSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4096, trim_whitespace=True)
    reply_to = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


def message_payload(message: Message) -> dict[str, Any]:
    return dict(MessageSerializer(message).data)


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return dict(ConversationSerializer(conversation).data)
