"""Contacts, conversations, messages and what WhatsApp told us about them.

Models hold fields, constraints and small derived properties only; every write
goes through ``conversations.services``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

SERVICE_WINDOW = dt.timedelta(hours=24)
# A chat that starts from a click-to-WhatsApp ad stays open this long.
FREE_ENTRY_WINDOW = dt.timedelta(hours=72)


def _validate_time_zone(value: str) -> None:
    import zoneinfo

    from django.core.exceptions import ValidationError

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone: {value!r}") from exc


class BusinessCalendar(models.Model):
    """When a team works: weekly intervals in one time zone, minus holidays.

    One model shared by routing, automatic replies, quiet hours and SLA; the
    time arithmetic lives in ``conversations.calendars``."""

    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[_validate_time_zone], help_text="IANA name"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"


class CalendarInterval(models.Model):
    """Open from ``opens`` to ``closes`` on ``weekday`` (local time). A closing
    time at or before the opening time runs past midnight (an overnight shift)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="intervals"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="At or before the opening time: the next day.")

    class Meta:
        ordering = ["weekday", "opens"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class CalendarHoliday(models.Model):
    """A local date the team does not work, whatever its weekly intervals say."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Team(models.Model):
    """A department: operators answer the chats routed to it."""

    class Escalation(models.TextChoices):
        REASSIGN = "reassign", "Reassign to another operator"
        SUPERVISOR = "supervisor", "Escalate to the supervisors"

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    auto_assign = models.BooleanField(
        default=False, help_text="Assign new chats round robin to online operators."
    )
    capacity_counts_waiting = models.BooleanField(
        "pending and snoozed chats count toward capacity", default=False
    )
    escalate_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Minutes a customer may wait for an operator's reply; empty: never escalate.",
    )
    escalation = models.CharField(
        max_length=16, choices=Escalation.choices, default=Escalation.SUPERVISOR
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teams",
        help_text="Working hours; empty: always open.",
    )
    # Round robin pointer: the operator who received the team's previous chat.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """What the inbox knows about a user who answers chats."""

    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    capacity = models.PositiveSmallIntegerField(
        default=5, help_text="Most active chats assigned automatically at once."
    )
    # The operator's own switch; with no open socket the operator is offline whatever it says.
    presence = models.CharField(max_length=8, choices=Presence.choices, default=Presence.ONLINE)
    language = models.CharField(max_length=8, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    notify_desktop = models.BooleanField(default=True)
    notify_sound = models.BooleanField(default=True)

    def __str__(self) -> str:
        return str(self.user)


class AgentConnection(models.Model):
    """One open operator WebSocket; presence is derived from these."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections"
    )
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} on {self.channel_name}"


class Label(models.Model):
    """A topic put on conversations."""

    name = models.CharField(max_length=64, unique=True)
    color = models.CharField(max_length=7, default="#64748b", help_text="#rrggbb")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CannedReply(models.Model):
    """A ready answer an operator inserts by typing ``/`` and its shortcut."""

    shortcut = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=120)
    text = models.TextField(help_text="Variables: {{name}}, {{first_name}}, {{phone}}, {{agent}}.")
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        help_text="Empty: every operator may use it.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shortcut"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class AutoReply(models.Model):
    """The automatic answer a team's customers receive when nobody can answer.

    ``closed``: the customer wrote outside the team's calendar; ``busy``: within
    it, but no operator of the team is online. Placeholders: ``{{opens_at}}``
    (when the team is back), ``{{name}}``, ``{{email}}``, ``{{website}}`` and
    ``{{phone}}`` (from the number's business profile)."""

    class Kind(models.TextChoices):
        CLOSED = "closed", "Outside working hours"
        BUSY = "busy", "No operator online"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="auto_replies")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    language = models.CharField(
        max_length=8, blank=True, default="", help_text="Empty: any language."
    )
    text = models.TextField()
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["team", "kind", "language"]
        verbose_name_plural = "automatic replies"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "kind", "language"], name="autoreply_unique_team_kind_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.kind} {self.language or '*'}"


class WhatsAppNumber(models.Model):
    """A business phone number on the Cloud API; webhooks are routed by ``phone_number_id``."""

    phone_number_id = models.CharField(max_length=64, unique=True)
    display_phone_number = models.CharField(max_length=32)
    waba_id = models.CharField("WhatsApp Business Account id", max_length=64)
    name = models.CharField(max_length=120)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="numbers",
        help_text="The team new chats on this number are routed to.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "WhatsApp number"

    def __str__(self) -> str:
        return f"{self.name} ({self.display_phone_number})"


class BusinessProfile(models.Model):
    """What customers see of a number on WhatsApp; admins edit it, a job pushes
    it to the platform."""

    class Vertical(models.TextChoices):
        UNDEFINED = "UNDEFINED", "Not set"
        OTHER = "OTHER", "Other"
        AUTO = "AUTO", "Automotive"
        BEAUTY = "BEAUTY", "Beauty, spa and salon"
        APPAREL = "APPAREL", "Clothing and apparel"
        EDU = "EDU", "Education"
        ENTERTAIN = "ENTERTAIN", "Entertainment"
        EVENT_PLAN = "EVENT_PLAN", "Event planning and service"
        FINANCE = "FINANCE", "Finance and banking"
        GROCERY = "GROCERY", "Food and grocery"
        GOVT = "GOVT", "Public service"
        HOTEL = "HOTEL", "Hotel and lodging"
        HEALTH = "HEALTH", "Medical and health"
        NONPROFIT = "NONPROFIT", "Non-profit"
        PROF_SERVICES = "PROF_SERVICES", "Professional services"
        RETAIL = "RETAIL", "Shopping and retail"
        TRAVEL = "TRAVEL", "Travel and transportation"
        RESTAURANT = "RESTAURANT", "Restaurant"
        NOT_A_BIZ = "NOT_A_BIZ", "Not a business"

    class Sync(models.TextChoices):
        PENDING = "pending", "Waiting to be sent to WhatsApp"
        SYNCED = "synced", "On WhatsApp"
        FAILED = "failed", "WhatsApp refused it"

    number = models.OneToOneField(WhatsAppNumber, on_delete=models.CASCADE, related_name="profile")
    about = models.CharField(max_length=139, blank=True, default="")
    description = models.CharField(max_length=512, blank=True, default="")
    address = models.CharField(max_length=256, blank=True, default="")
    email = models.EmailField(max_length=128, blank=True, default="")
    websites = models.JSONField(default=list, blank=True, help_text="At most two URLs.")
    vertical = models.CharField(
        "industry", max_length=16, choices=Vertical.choices, default=Vertical.UNDEFINED
    )
    profile_picture = models.FileField(upload_to="profiles/", blank=True, default="")
    # What the platform serves as the photo after an upload (read back from it).
    profile_picture_url = models.URLField(max_length=1000, blank=True, default="")
    sync_state = models.CharField(max_length=8, choices=Sync.choices, blank=True, default="")
    sync_error = models.TextField(blank=True, default="")
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Profile of {self.number}"


class Contact(models.Model):
    """A WhatsApp user. Known by ``wa_id`` (the phone number) and/or by the
    business-scoped ``user_id``; either may be empty, never both."""

    wa_id = models.CharField(max_length=32, blank=True, default="")
    user_id = models.CharField(max_length=128, blank=True, default="")
    profile_name = models.CharField(max_length=256, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="", help_text="E.164")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")
    # From the phone number (``phonenumbers.timezone``): where quiet hours are counted.
    time_zone = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The customer stopped the business's marketing on WhatsApp itself (a
    # user_preferences stop, or a send failed with 131050): no MARKETING template
    # goes, whatever the consent categories say, until a resume.
    marketing_stopped_on_platform = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wa_id"], condition=~Q(wa_id=""), name="contact_unique_wa_id"
            ),
            models.UniqueConstraint(
                fields=["user_id"], condition=~Q(user_id=""), name="contact_unique_user_id"
            ),
            models.CheckConstraint(
                condition=~Q(wa_id="", user_id=""), name="contact_has_wa_id_or_user_id"
            ),
        ]

    def __str__(self) -> str:
        return self.profile_name or self.phone or self.wa_id or self.user_id

    @property
    def address(self) -> str:
        """The identifier the Graph API sends to."""
        return self.wa_id or self.user_id


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        SNOOZED = "snoozed", "Snoozed"
        RESOLVED = "resolved", "Resolved"

    number = models.ForeignKey(
        WhatsAppNumber, on_delete=models.PROTECT, related_name="conversations"
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    labels = models.ManyToManyField(Label, related_name="conversations", blank=True)
    # When the customer's oldest message still without an operator's reply arrived.
    waiting_since = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Waiting in the team's queue for automatic assignment since (arrival order).
    queued_at = models.DateTimeField(null=True, blank=True)
    # A chat started from a click-to-WhatsApp ad: the window stays open until then.
    free_entry_until = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_text = models.CharField(max_length=200, blank=True, default="")
    # The platform's timestamp of the customer's latest message: the window runs from it.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    # The period (kind and start) the customer last got an automatic reply for:
    # at most one per conversation per period.
    auto_reply_period = models.CharField(max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["number", "contact"], name="conversation_unique_number_contact"
            )
        ]
        indexes = [
            models.Index(fields=["-last_message_at", "-id"], name="conversation_activity"),
            models.Index(
                fields=["team", "queued_at"],
                condition=Q(queued_at__isnull=False),
                name="conversation_team_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} on {self.number.display_phone_number}"

    def window_expires_at(self, now: dt.datetime | None = None) -> dt.datetime | None:
        """When the customer-service window closes, or None when it is closed."""
        candidates = [self.free_entry_until]
        if self.last_inbound_at is not None:
            latest = dt.datetime.max.replace(tzinfo=dt.UTC)
            # A timestamp at the end of the calendar (a broken sender) cannot overflow.
            candidates.append(
                self.last_inbound_at + SERVICE_WINDOW
                if self.last_inbound_at < latest - SERVICE_WINDOW
                else latest
            )
        expires = max((c for c in candidates if c is not None), default=None)
        if expires is None:
            return None
        return expires if expires > (now or timezone.now()) else None


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", "Inbound"
        OUT = "out", "Outbound"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        ACCEPTED = "accepted", "Accepted by WhatsApp"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        # Held back by the platform (131049, its per-user marketing limit): sent
        # again once at ``retry_at``.
        DEFERRED = "deferred", "Deferred"

    class Media(models.TextChoices):
        NONE = "", "No media"
        PENDING = "pending", "Downloading"
        READY = "ready", "Stored"
        FAILED = "failed", "Download failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    wamid = models.CharField(max_length=255, null=True, blank=True, unique=True)
    type = models.CharField(max_length=32, default="text")
    text = models.TextField(blank=True, default="")
    content = models.JSONField(default=dict, blank=True)
    context_wamid = models.CharField(max_length=255, blank=True, default="")
    referral = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True, default="")
    error_details = models.TextField(blank=True, default="")
    # The platform's timestamp for inbound messages; our own clock for outbound.
    timestamp = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    status_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    send_attempts = models.PositiveSmallIntegerField(default=0)
    # Sent by the inbox itself (an automatic reply), not by an operator: it
    # never counts as an answer.
    automatic = models.BooleanField(default=False, db_default=False)
    # The media's bytes in Django storage: downloaded from WhatsApp for a
    # customer's message, uploaded by the operator for ours.
    media_file = models.FileField(
        upload_to="messages/%Y/%m/", max_length=255, blank=True, default="", db_default=""
    )
    media_state = models.CharField(
        max_length=8, choices=Media.choices, blank=True, default="", db_default=""
    )
    media_size = models.BigIntegerField(null=True, blank=True)
    media_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    media_error = models.TextField(blank=True, default="", db_default="")
    # Reactions on this message by side ("customer", "business"): the emoji.
    reactions = models.JSONField(null=True, blank=True)
    # Why the message waits (``platform_marketing_limit``) and when it goes again;
    # the reason stays once it was deferred, so it is deferred at most once.
    deferred_reason = models.CharField(max_length=32, blank=True, default="", db_default="")
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "timestamp"], name="message_thread")]

    def __str__(self) -> str:
        return f"{self.direction} {self.type} {self.wamid or self.id}"


class SendAttempt(models.Model):
    """One try at handing an outbound message to WhatsApp, and how it ended."""

    class Outcome(models.TextChoices):
        SENDING = "sending", "In progress"
        ACCEPTED = "accepted", "Accepted by WhatsApp"
        RETRY = "retry", "Refused for now; tried again later"
        FAILED = "failed", "Failed"
        UNCONFIRMED = "unconfirmed", "No answer; may have been sent"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.SENDING)
    wamid = models.CharField(max_length=255, blank=True, default="")
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True, default="")
    error_details = models.TextField(blank=True, default="")
    # Who asked for a manual retry; empty for the first try and automatic retries.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["message", "number"]
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="attempt_unique_number")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.message_id}: {self.outcome}"


# Outbound statuses only move forward along this order, whatever order the
# webhooks arrive in. A failure outranks "sent" but not a proven delivery.
STATUS_RANK = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.ACCEPTED: 2,
    Message.Status.SENT: 3,
    Message.Status.FAILED: 4,
    Message.Status.DEFERRED: 4,
    Message.Status.DELIVERED: 5,
    Message.Status.READ: 6,
}


class StatusReport(models.Model):
    """Every status webhook, kept as WhatsApp sent it. One for a message we have
    not seen yet waits here (``applied`` false) and is applied when it appears."""

    wamid = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=16)
    timestamp = models.DateTimeField()
    recipient_id = models.CharField(max_length=128, blank=True, default="")
    callback_data = models.CharField(max_length=512, blank=True, default="")
    errors = models.JSONField(default=list, blank=True)
    pricing = models.JSONField(null=True, blank=True)
    conversation_info = models.JSONField(null=True, blank=True)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    applied = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wamid", "status", "timestamp"], name="status_report_unique"
            )
        ]
        indexes = [
            models.Index(fields=["wamid"], condition=Q(applied=False), name="status_report_pending")
        ]

    def __str__(self) -> str:
        return f"{self.status} for {self.wamid}"


class WebhookDelivery(models.Model):
    """One POST from WhatsApp, raw. Dead letters are kept here with the reason."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        DEAD_LETTER = "dead_letter", "Dead letter"

    body = models.TextField()
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True, default="")
    event_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["-received_at"],
                condition=Q(outcome="dead_letter"),
                name="webhook_dead_letters",
            )
        ]

    def __str__(self) -> str:
        return f"{self.outcome} delivery at {self.received_at:%Y-%m-%d %H:%M:%S}"


class PlatformEvent(models.Model):
    """Account-level events (template review and quality, number quality, account
    updates, user preferences, value errors), kept for the modules that act on them."""

    field = models.CharField(max_length=64)
    waba_id = models.CharField(max_length=64, blank=True, default="")
    phone_number_id = models.CharField(max_length=64, blank=True, default="")
    template_id = models.CharField(max_length=64, blank=True, default="")
    template_name = models.CharField(max_length=512, blank=True, default="")
    template_language = models.CharField(max_length=16, blank=True, default="")
    event = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict)
    delivery = models.ForeignKey(
        WebhookDelivery, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["field", "-received_at"], name="platform_event_field")]

    def __str__(self) -> str:
        return f"{self.field} {self.event} {self.template_name}".strip()


class ConversationEvent(models.Model):
    """Who changed what in a conversation, and when: shown in the thread."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        UNASSIGNED = "unassigned", "Unassigned"
        TEAM = "team", "Team changed"
        ESCALATED = "escalated", "Escalated"
        LABELS = "labels", "Labels changed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # None: the system (automatic assignment, timers, a customer's message).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"], name="event_thread")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.conversation_id}"


class Note(models.Model):
    """A private note in a thread: never sent to the customer."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"], name="note_thread")]

    def __str__(self) -> str:
        return f"note on {self.conversation_id}"


class Notification(models.Model):
    """Something an operator should see: a mention, an escalation, an SLA target
    near or missed, a customer's window closing unanswered."""

    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        ESCALATION = "escalation", "Escalation"
        SLA_WARNING = "sla_warning", "SLA target near"
        SLA_BREACH = "sla_breach", "SLA target missed"
        WINDOW_CLOSING = "window_closing", "Window closing unanswered"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="notifications"
    )
    note = models.ForeignKey(Note, null=True, blank=True, on_delete=models.CASCADE)
    text = models.CharField(max_length=300, blank=True, default="")
    # What the sentence is made of, for pages that say it in the operator's language.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user}"


# --- Consent and the send rules ------------------------------------------------------

TEMPLATE_CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")


class ConsentCategory(models.Model):
    """What a customer may agree to hear about from one WhatsApp Business Account
    (order updates, reminders, offers...), and the template categories it covers.

    ``opt_in_text`` is the message the wa.me link fills in: a customer who sends it
    opts in to this category (source ``whatsapp_link``)."""

    waba_id = models.CharField("WhatsApp Business Account id", max_length=64)
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=120)
    template_categories = models.JSONField(
        default=list, help_text="Template categories it covers: UTILITY, MARKETING, AUTHENTICATION."
    )
    opt_in_text = models.CharField(
        "prefilled opt-in message", max_length=256, blank=True, default=""
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["waba_id", "slug"]
        verbose_name_plural = "consent categories"
        constraints = [
            models.UniqueConstraint(fields=["waba_id", "slug"], name="consent_category_unique_slug")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def covers_marketing(self) -> bool:
        return "MARKETING" in (self.template_categories or [])


class ConsentState(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"


class ConsentSource(models.TextChoices):
    WEBSITE_FORM = "website_form", "Website form"
    CHECKOUT = "checkout", "Checkout"
    WHATSAPP_MESSAGE = "whatsapp_message", "WhatsApp message"
    WHATSAPP_LINK = "whatsapp_link", "WhatsApp opt-in link"
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    IMPORT = "import", "Import"
    OPERATOR = "operator", "Operator"
    API = "api", "API"
    PLATFORM = "platform", "WhatsApp itself"


class ConsentChange(models.Model):
    """One change of a customer's consent: never edited nor deleted (the audit
    trail). ``category`` empty: the platform's own stop or resume of marketing."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_changes")
    waba_id = models.CharField(max_length=64)
    category = models.ForeignKey(
        ConsentCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="changes"
    )
    state = models.CharField(max_length=10, choices=ConsentState.choices)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    wording = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["contact", "at"], name="consent_change_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.state} {self.category_id or 'platform'}"


class Consent(models.Model):
    """A customer's current state in one category: the latest ``ConsentChange``,
    written in the same transaction. No row: ``unknown``."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    category = models.ForeignKey(ConsentCategory, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=ConsentState.choices)
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    wording = models.TextField(blank=True, default="")
    change = models.ForeignKey(ConsentChange, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "category"], name="consent_unique_category")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.category_id} {self.state}"


class CompliancePolicy(models.Model):
    """The admins' send rules for proactive messages (one row for the inbox).

    Quiet hours run from ``quiet_start`` to ``quiet_end`` in the recipient's own
    time zone (an end at or before the start: past midnight), and all day on
    ``weekend_days`` (Monday = 0); no start: no quiet hours. At most
    ``cap_messages`` MARKETING messages per contact in ``cap_days`` days (empty:
    no cap). ``allowed_countries`` null: every country."""

    quiet_start = models.TimeField(null=True, blank=True, default=dt.time(21, 0))
    quiet_end = models.TimeField(null=True, blank=True, default=dt.time(9, 0))
    weekend_days = models.JSONField(default=list, blank=True)
    cap_messages = models.PositiveIntegerField(null=True, blank=True, default=2)
    cap_days = models.PositiveIntegerField(null=True, blank=True, default=7)
    allowed_countries = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "compliance policy"

    def __str__(self) -> str:
        return "Compliance policy"

    @classmethod
    def default(cls) -> CompliancePolicy:
        return cls(pk=1, weekend_days=[5, 6])


class SendPath(models.TextChoices):
    COMPOSER = "composer", "Composer"
    API = "api", "API"
    CAMPAIGN = "campaign", "Campaign"
    AUTOMATIC = "automatic", "Automatic"


class ComplianceLogEntry(models.Model):
    """A message that was not sent, or was deferred, and why (the business's audit)."""

    at = models.DateTimeField(default=timezone.now)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    wa_id = models.CharField(max_length=32, blank=True, default="")
    path = models.CharField(max_length=10, choices=SendPath.choices)
    reason = models.CharField(max_length=32)
    template = models.CharField(max_length=512, blank=True, default="")
    campaign = models.CharField(max_length=64, blank=True, default="")
    detail = models.TextField(blank=True, default="")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "compliance log"
        indexes = [models.Index(fields=["-at"], name="compliance_log_at")]

    def __str__(self) -> str:
        return f"{self.reason} {self.path} {self.at:%Y-%m-%d %H:%M}"


class ConsentImport(models.Model):
    """A CSV of consents an admin uploaded, its job's progress and its report."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    waba_id = models.CharField(max_length=64)
    csv = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    # One entry per row: {"row", "wa_id", "category", "outcome", "reason"}.
    report = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"consent import {self.pk} ({self.status})"
