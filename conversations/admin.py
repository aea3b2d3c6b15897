from django.contrib import admin

from conversations.models import (
    Contact,
    Conversation,
    Message,
    PlatformEvent,
    StatusReport,
    WebhookDelivery,
    WhatsAppNumber,
)


@admin.register(WhatsAppNumber)
class WhatsAppNumberAdmin(admin.ModelAdmin):
    list_display = ["name", "display_phone_number", "phone_number_id", "waba_id", "created_at"]
    search_fields = ["name", "display_phone_number", "phone_number_id"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["profile_name", "phone", "wa_id", "user_id", "country", "created_at"]
    search_fields = ["profile_name", "phone", "wa_id", "user_id"]
    list_filter = ["country"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["contact", "number", "status", "assignee", "last_message_at", "unread_count"]
    list_filter = ["status", "number"]
    list_select_related = ["contact", "number", "assignee"]
    raw_id_fields = ["contact", "assignee"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "direction", "type", "status", "text", "error_code"]
    list_filter = ["direction", "type", "status"]
    search_fields = ["wamid", "text"]
    raw_id_fields = ["conversation", "sent_by"]


@admin.register(StatusReport)
class StatusReportAdmin(admin.ModelAdmin):
    list_display = ["wamid", "status", "timestamp", "applied", "received_at"]
    list_filter = ["status", "applied"]
    search_fields = ["wamid"]
    raw_id_fields = ["message"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every delivery; filter on "Dead letter" to see what could not be applied and why."""

    list_display = ["received_at", "outcome", "event_count", "reason"]
    list_filter = ["outcome"]
    search_fields = ["reason", "body"]
    readonly_fields = ["body", "received_at", "outcome", "reason", "event_count"]


@admin.register(PlatformEvent)
class PlatformEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "field", "event", "template_name", "template_language", "reason"]
    list_filter = ["field", "event"]
    search_fields = ["template_name", "reason"]
    raw_id_fields = ["delivery"]
