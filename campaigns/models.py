"""Campaigns as the inbox keeps them: what an admin set up (template variants,
audience, consent category, schedule), one row per recipient whose state moves
only forward under a lock, the number's pace and health over time, and the
price table the preview's cost estimate reads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from conversations.models import ConsentCategory, Contact, Conversation, Message, WhatsAppNumber
from templates_app.models import MessageTemplate


class Tier(models.TextChoices):
    """Unique customers a business account may reach outside their window in a
    rolling 24 hours (shared by the account's numbers)."""

    TIER_250 = "TIER_250", "250"
    TIER_2K = "TIER_2K", "2,000"
    TIER_10K = "TIER_10K", "10,000"
    TIER_100K = "TIER_100K", "100,000"
    TIER_UNLIMITED = "TIER_UNLIMITED", "Unlimited"


TIER_LIMITS: dict[str, int | None] = {
    Tier.TIER_250: 250,
    Tier.TIER_2K: 2000,
    Tier.TIER_10K: 10000,
    Tier.TIER_100K: 100000,
    Tier.TIER_UNLIMITED: None,
}


class Quality(models.TextChoices):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    FLAGGED = "FLAGGED"
    UNKNOWN = "UNKNOWN"


class NumberPace(models.Model):
    """How fast a number may send (messages per second, the platform's 80 by
    default, up to 1,000) and its latest known quality and restriction."""

    number = models.OneToOneField(WhatsAppNumber, on_delete=models.CASCADE, related_name="pace")
    messages_per_second = models.PositiveIntegerField(default=80)
    quality = models.CharField(max_length=8, choices=Quality.choices, default=Quality.UNKNOWN)
    restricted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(messages_per_second__gte=1, messages_per_second__lte=1000),
                name="number_pace_between_1_and_1000",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.messages_per_second}/s"


class AccountTier(models.Model):
    """A business account's messaging tier, as WhatsApp last reported it."""

    waba_id = models.CharField(max_length=64, unique=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.TIER_2K)
    restricted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.waba_id}: {self.tier}"

    @property
    def limit(self) -> int | None:
        return TIER_LIMITS.get(self.tier)


class HealthEvent(models.Model):
    """One report of a number's or account's health (quality, tier, restriction),
    kept over time for the admins."""

    waba_id = models.CharField(max_length=64, blank=True, default="")
    number = models.ForeignKey(
        WhatsAppNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=64)
    event = models.CharField(max_length=64, blank=True, default="")
    quality = models.CharField(max_length=8, blank=True, default="")
    tier = models.CharField(max_length=16, blank=True, default="")
    restriction = models.CharField(max_length=64, blank=True, default="")
    # Whether it paused running campaigns.
    paused = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.field} {self.event}"


class Price(models.Model):
    """What WhatsApp charges for one delivered template message of ``category`` to
    a number of ``country`` (USD); the admins edit it. ``copied_on``: when the
    value was copied from the platform's rate card."""

    country = models.CharField(max_length=2)
    category = models.CharField(max_length=16, choices=MessageTemplate.Category.choices)
    price = models.DecimalField(max_digits=8, decimal_places=4)
    copied_on = models.DateField()

    class Meta:
        ordering = ["country", "category"]
        constraints = [
            models.UniqueConstraint(fields=["country", "category"], name="price_unique_country")
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.category} {self.price}"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=200)
    number = models.ForeignKey(WhatsAppNumber, on_delete=models.PROTECT, related_name="campaigns")
    consent_category = models.ForeignKey(
        ConsentCategory, on_delete=models.PROTECT, related_name="campaigns"
    )
    # The template category every variant shares (the consent it needs, the price).
    category = models.CharField(max_length=16, choices=MessageTemplate.Category.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # How the audience was chosen: {"label": id} | {"contacts": [...]} | {"wa_ids": [...]}
    # | {"csv": rows}; the recipients are resolved into rows when it is created.
    audience = models.JSONField(default=dict)
    # Variables every recipient shares ({"body": [...]}), a recipient's own override them.
    parameters = models.JSONField(default=dict, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    # Why it was paused by the inbox (quality, restriction, tier) rather than by an admin.
    paused_reason = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The latest moment a send job worked on it: the clock starts new ones when it
    # is old while recipients are due (their worker died).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """One template of a campaign (A/B: up to four), sent to ``share`` percent."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="+")
    share = models.PositiveSmallIntegerField(default=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "position"]

    def __str__(self) -> str:
        return f"{self.campaign} {self.label}"

    @property
    def label(self) -> str:
        return "ABCD"[self.position] if self.position < 4 else str(self.position)


class Recipient(models.Model):
    """One customer of a campaign: at most one message, ever.

    ``state`` moves pending/deferred -> sending (in the same transaction as the
    message is created) -> sent | failed, or to excluded, always under the row's
    lock. ``next_try_at`` is when a send job may take the row (null: nothing left
    to do); ``lease_until`` holds it for the job that took it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DEFERRED = "deferred", "Deferred"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        EXCLUDED = "excluded", "Excluded"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    wa_id = models.CharField(max_length=32)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    variant = models.ForeignKey(Variant, null=True, on_delete=models.CASCADE, related_name="+")
    parameters = models.JSONField(default=dict, blank=True)
    country = models.CharField(max_length=2, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    reason = models.CharField(max_length=64, blank=True, default="")
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_recipient"
    )
    tries = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    # The customer's first message after this campaign's reached them.
    replied_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["campaign", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "wa_id"], name="recipient_unique_wa_id")
        ]
        indexes = [
            models.Index(
                fields=["campaign", "next_try_at"],
                condition=Q(next_try_at__isnull=False),
                name="recipient_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.wa_id} {self.state}"
