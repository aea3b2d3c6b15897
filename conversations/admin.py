from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from conversations import calendars, services
from conversations.models import (
    AgentProfile,
    AutoReply,
    BusinessCalendar,
    BusinessProfile,
    CalendarHoliday,
    CalendarInterval,
    CannedReply,
    ComplianceLogEntry,
    ConsentCategory,
    ConsentChange,
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
from whatsapp import profiles as wa_profiles


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


class BusinessProfileForm(forms.ModelForm):
    """The profile with WhatsApp's limits checked field by field, and the two
    websites as two address fields."""

    website_1 = forms.CharField(
        label="Website",
        required=False,
        max_length=wa_profiles.WEBSITE_MAX,
        help_text="Starting with https:// or http://",
    )
    website_2 = forms.CharField(
        label="Second website", required=False, max_length=wa_profiles.WEBSITE_MAX
    )
    profile_picture = forms.FileField(
        label="New profile photo",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text="JPEG or PNG, at most 5 MB; square photos look best.",
    )

    class Meta:
        model = BusinessProfile
        fields = ["about", "description", "address", "email", "vertical", "profile_picture"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        websites = list(self.instance.websites or []) if self.instance.pk else []
        for index, name in enumerate(["website_1", "website_2"]):
            self.fields[name].initial = websites[index] if index < len(websites) else ""
        self.fields["profile_picture"].initial = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        websites = [cleaned.get(name) for name in ("website_1", "website_2")]
        cleaned["websites"] = [site for site in websites if site]
        values = {name: cleaned.get(name) for name in wa_profiles.FIELDS if name in cleaned}
        for name, text in wa_profiles.problems(values).items():
            self.add_error("website_1" if name == "websites" else name, text)
        photo = cleaned.get("profile_picture")
        if photo:
            data = photo.read(wa_profiles.PHOTO_MAX_BYTES + 1)
            photo.seek(0)
            if len(data) > wa_profiles.PHOTO_MAX_BYTES:
                self.add_error("profile_picture", "The photo may be at most 5 MB.")
            elif wa_profiles.photo_type(data) is None:
                self.add_error("profile_picture", "The photo must be a JPEG or PNG image.")
        return cleaned

    def profile_changes(self) -> dict[str, Any]:
        """The changed fields, as ``services.business_profile_update`` takes them."""
        changes: dict[str, Any] = {}
        for name in self.changed_data:
            if name in ("website_1", "website_2"):
                changes["websites"] = self.cleaned_data["websites"]
            elif name == "profile_picture":
                if self.cleaned_data.get("profile_picture"):
                    changes["profile_picture"] = self.cleaned_data["profile_picture"]
            elif name in wa_profiles.FIELDS:
                changes[name] = self.cleaned_data[name]
        return changes


class BusinessProfileInline(admin.StackedInline):
    """What customers see of the number on WhatsApp; saving sends it there."""

    model = BusinessProfile
    form = BusinessProfileForm
    can_delete = False
    max_num = 1
    verbose_name = "WhatsApp business profile"
    verbose_name_plural = "WhatsApp business profile"
    fields = [
        "about",
        "description",
        "address",
        "email",
        "website_1",
        "website_2",
        "vertical",
        "photo",
        "profile_picture",
        "sync",
        "synced_at",
    ]
    readonly_fields = ["photo", "sync", "synced_at"]

    @admin.display(description="Profile photo on WhatsApp")
    def photo(self, profile: BusinessProfile) -> str:
        if profile.profile_picture_url:
            return format_html(
                '<img src="{}" alt="" style="max-height:96px;border-radius:50%">',
                profile.profile_picture_url,
            )
        if profile.profile_picture:
            return "A new photo is on its way to WhatsApp."
        return "None"

    @admin.display(description="On WhatsApp")
    def sync(self, profile: BusinessProfile) -> str:
        if not profile.sync_state:
            return "Not edited here yet (use the action “Fetch the business profile from WhatsApp”)"
        label = BusinessProfile.Sync(profile.sync_state).label
        if profile.sync_error:
            return format_html("{}: {}", label, profile.sync_error)
        return label


@admin.register(WhatsAppNumber)
class WhatsAppNumberAdmin(admin.ModelAdmin):
    list_display = ["name", "display_phone_number", "team", "phone_number_id", "waba_id"]
    list_filter = ["team"]
    search_fields = ["name", "display_phone_number", "phone_number_id"]
    inlines = [BusinessProfileInline]
    actions = ["fetch_business_profile", "push_business_profile"]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not BusinessProfile:
            super().save_formset(request, form, formset, change)
            return
        # Through the service: validated, saved as pending and sent to WhatsApp.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for profile_form in formset.forms:
            if not profile_form.has_changed():
                continue
            existed = profile_form.instance.pk is not None
            profile = services.business_profile_update(
                number=formset.instance, user=request.user, **profile_form.profile_changes()
            )
            if existed:
                formset.changed_objects.append((profile, profile_form.changed_data))
            else:
                formset.new_objects.append(profile)

    @admin.action(description="Fetch the business profile from WhatsApp")
    def fetch_business_profile(self, request: HttpRequest, queryset: Any) -> None:
        for number in queryset:
            try:
                services.business_profile_fetch(number=number)
            except services.ServiceError as exc:
                self.message_user(request, f"{number}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{number}: the profile WhatsApp shows was imported.")

    @admin.action(description="Send the business profile to WhatsApp again")
    def push_business_profile(self, request: HttpRequest, queryset: Any) -> None:
        sending = queryset.filter(profile__isnull=False)
        for number in sending:
            services.business_profile_update(number=number, user=request.user)
        self.message_user(request, f"Sending {sending.count()} profile(s) to WhatsApp.")
        skipped = queryset.count() - sending.count()
        if skipped:
            self.message_user(
                request,
                f"{skipped} number(s) have no profile here yet: fetch it from WhatsApp first.",
                messages.WARNING,
            )


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


@admin.register(ConsentCategory)
class ConsentCategoryAdmin(admin.ModelAdmin):
    """What customers may agree to hear about, per business account; the API shows
    each category's opt-in link, QR code and website button."""

    list_display = ["name", "slug", "waba_id", "template_categories", "opt_in_text"]
    search_fields = ["name", "slug"]


class _ReadOnlyAdmin(admin.ModelAdmin):
    """An audit trail: shown, never written here."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(ConsentChange)
class ConsentChangeAdmin(_ReadOnlyAdmin):
    list_display = ["at", "contact", "category", "state", "source", "recorded_by"]
    list_filter = ["state", "source"]
    list_select_related = ["contact", "category", "recorded_by"]
    search_fields = ["contact__wa_id", "contact__profile_name"]


@admin.register(ComplianceLogEntry)
class ComplianceLogEntryAdmin(_ReadOnlyAdmin):
    list_display = ["at", "wa_id", "path", "reason", "template", "campaign"]
    list_filter = ["reason", "path"]
    search_fields = ["wa_id", "template"]
