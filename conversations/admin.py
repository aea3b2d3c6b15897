from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from conversations import calendars
from conversations.models import (
    AgentProfile,
    AutoReply,
    BusinessCalendar,
    CalendarHoliday,
    CalendarInterval,
    CannedReply,
    Contact,
    Conversation,
    ConversationEvent,
    Label,
    Message,
    Note,
    Notification,
    PlatformEvent,
    StatusReport,
    Team,
    WebhookDelivery,
    WhatsAppNumber,
)


class AutoReplyInline(admin.StackedInline):
    """The team's automatic replies, one per kind and language."""

    model = AutoReply
    extra = 0
    fields = ["kind", "language", "text", "enabled"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Teams, their members, working hours, automatic assignment, escalation
    and automatic replies."""

    list_display = [
        "name",
        "calendar",
        "auto_assign",
        "escalate_after_minutes",
        "escalation",
        "member_count",
    ]
    list_filter = ["auto_assign", "escalation", "calendar"]
    list_select_related = ["calendar"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    fieldsets = [
        (None, {"fields": ["name", "members"]}),
        ("Working hours", {"fields": ["calendar"]}),
        ("Automatic assignment", {"fields": ["auto_assign", "capacity_counts_waiting"]}),
        ("Escalation", {"fields": ["escalate_after_minutes", "escalation"]}),
    ]
    inlines = [AutoReplyInline]

    @admin.display(description="members")
    def member_count(self, team: Team) -> int:
        return team.members.count()


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "capacity", "presence", "language", "time_zone"]
    list_filter = ["presence", "language"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    raw_id_fields = ["user"]


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = False
    fields = ["capacity", "presence", "language", "time_zone", "notify_desktop", "notify_sound"]


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class InboxUserAdmin(UserAdmin):
    """Users with their agent settings (capacity, presence, language) on the same page."""

    inlines = [AgentProfileInline]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "team"]
    list_filter = ["team"]
    search_fields = ["shortcut", "title", "text"]


@admin.register(ConversationEvent)
class ConversationEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "conversation", "kind", "actor"]
    list_filter = ["kind"]
    raw_id_fields = ["conversation", "actor"]


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["created_at", "conversation", "author", "text"]
    raw_id_fields = ["conversation", "author", "mentions"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "conversation", "read_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "conversation", "note"]


@admin.register(WhatsAppNumber)
class WhatsAppNumberAdmin(admin.ModelAdmin):
    list_display = ["name", "display_phone_number", "team", "phone_number_id", "waba_id"]
    list_filter = ["team"]
    search_fields = ["name", "display_phone_number", "phone_number_id"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["profile_name", "phone", "wa_id", "user_id", "country", "created_at"]
    search_fields = ["profile_name", "phone", "wa_id", "user_id"]
    list_filter = ["country"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "contact",
        "number",
        "team",
        "status",
        "assignee",
        "last_message_at",
        "unread_count",
    ]
    list_filter = ["status", "team", "number", "labels"]
    list_select_related = ["contact", "number", "assignee", "team"]
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


class CalendarIntervalInline(admin.TabularInline):
    model = CalendarInterval
    extra = 1


class CalendarHolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    """When teams work: weekly intervals in a time zone (a closing time at or
    before the opening time runs into the next day), minus holidays."""

    list_display = ["name", "time_zone", "open_now", "team_names"]
    search_fields = ["name"]
    inlines = [CalendarIntervalInline, CalendarHolidayInline]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).prefetch_related("intervals", "holidays", "teams")

    @admin.display(description="open now", boolean=True)
    def open_now(self, calendar: BusinessCalendar) -> bool:
        return calendars.is_open(calendar, timezone.now())

    @admin.display(description="teams")
    def team_names(self, calendar: BusinessCalendar) -> str:
        return ", ".join(team.name for team in calendar.teams.all())
