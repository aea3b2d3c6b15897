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


class WhatsAppNumber(models.Model):
    """A business phone number on the Cloud API; webhooks are routed by ``phone_number_id``."""

    phone_number_id = models.CharField(max_length=64, unique=True)
    display_phone_number = models.CharField(max_length=32)
    waba_id = models.CharField("WhatsApp Business Account id", max_length=64)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "WhatsApp number"

    def __str__(self) -> str:
        return f"{self.name} ({self.display_phone_number})"


class Contact(models.Model):
    """A WhatsApp user. Known by ``wa_id`` (the phone number) and/or by the
    business-scoped ``user_id``; either may be empty, never both."""

    wa_id = models.CharField(max_length=32, blank=True, default="")
    user_id = models.CharField(max_length=128, blank=True, default="")
    profile_name = models.CharField(max_length=256, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="", help_text="E.164")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")
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
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_text = models.CharField(max_length=200, blank=True, default="")
    # The platform's timestamp of the customer's latest message: the window runs from it.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["number", "contact"], name="conversation_unique_number_contact"
            )
        ]
        indexes = [models.Index(fields=["-last_message_at", "-id"], name="conversation_activity")]

    def __str__(self) -> str:
        return f"{self.contact} on {self.number.display_phone_number}"

    def window_expires_at(self, now: dt.datetime | None = None) -> dt.datetime | None:
        """When the customer-service window closes, or None when it is closed."""
        if self.last_inbound_at is None:
            return None
        expires = self.last_inbound_at + SERVICE_WINDOW
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

    class Meta:
        indexes = [models.Index(fields=["conversation", "timestamp"], name="message_thread")]

    def __str__(self) -> str:
        return f"{self.direction} {self.type} {self.wamid or self.id}"


# Outbound statuses only move forward along this order, whatever order the
# webhooks arrive in. A failure outranks "sent" but not a proven delivery.
STATUS_RANK = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.ACCEPTED: 2,
    Message.Status.SENT: 3,
    Message.Status.FAILED: 4,
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
