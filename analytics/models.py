"""Reply facts (an episode of a conversation and the customer's waits in it),
derived from messages and status changes, and the hourly rollups dashboards read.

Facts are rewritten for a conversation whenever one of its messages or status
changes is stored (``services.conversation_facts_refresh``): they are a function
of the raw rows, so recomputing them gives the same result.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from conversations.models import Conversation, Team, WhatsAppNumber


class Episode(models.Model):
    """From a customer's first message of a chat (new, or reopened after it was
    resolved) to its resolution."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    # The WhatsApp timestamp of the customer's first message of the episode.
    started_at = models.DateTimeField()
    reopened = models.BooleanField(default=False)
    team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL, related_name="+")
    number = models.ForeignKey(WhatsAppNumber, on_delete=models.CASCADE, related_name="+")
    country = models.CharField(max_length=2, blank=True, default="")
    # Who first answered, else who resolved it.
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_response_at = models.DateTimeField(null=True)
    resolved_at = models.DateTimeField(null=True)
    resolution_s = models.FloatField(null=True)
    resolution_business_s = models.FloatField(null=True)
    pending_s = models.FloatField(default=0)
    # Pending on the customer since (the resolution clock is paused).
    pending_since = models.DateTimeField(null=True)
    policy = models.ForeignKey("SlaPolicy", null=True, on_delete=models.SET_NULL, related_name="+")
    resolution_due_at = models.DateTimeField(null=True)
    resolution_warn_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            # A period's new and resolved chats, and their split by operator, team,
            # number or country, from the indexes alone.
            models.Index(
                fields=["started_at"],
                include=["reopened", "operator", "team", "number", "country"],
                name="episode_started",
            ),
            models.Index(
                fields=["resolved_at"],
                include=[
                    "resolution_s",
                    "resolution_business_s",
                    "operator",
                    "team",
                    "number",
                    "country",
                ],
                name="episode_resolved",
            ),
            # The resolutions by operator in operator order (no sort to group them).
            models.Index(
                fields=["operator", "resolved_at"],
                include=["resolution_s", "resolution_business_s", "team", "number", "country"],
                condition=Q(resolved_at__isnull=False),
                name="episode_operator_resolved",
            ),
            models.Index(fields=["conversation"], name="episode_conversation"),
        ]

    def __str__(self) -> str:
        return f"episode of {self.conversation_id} from {self.started_at:%Y-%m-%d %H:%M}"


class Wait(models.Model):
    """A customer waiting for a person's answer: from the first of their messages
    after the team's last reply to the next reply by a person (automatic replies
    do not end it). ``first``: the episode's first wait (first response time)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="waits")
    first = models.BooleanField()
    # WhatsApp timestamps of the customer's first and latest message of the wait.
    started_at = models.DateTimeField()
    last_customer_at = models.DateTimeField()
    # When the customer's service window closes if nobody answers (24 hours after
    # their latest message of the wait).
    window_closes_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The chat was resolved before anyone answered.
    ended_at = models.DateTimeField(null=True)
    seconds = models.FloatField(null=True)
    business_seconds = models.FloatField(null=True)
    team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL, related_name="+")
    number = models.ForeignKey(WhatsAppNumber, on_delete=models.CASCADE, related_name="+")
    country = models.CharField(max_length=2, blank=True, default="")
    # The SLA target of the wait (first response or next reply), when a policy has one.
    due_at = models.DateTimeField(null=True)
    warn_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            # What a period's figures read of each wait (and split it by), from the
            # index alone.
            models.Index(
                fields=["started_at"],
                include=[
                    "first",
                    "seconds",
                    "business_seconds",
                    "answered_at",
                    "ended_at",
                    "window_closes_at",
                    "due_at",
                    "answered_by",
                    "team",
                    "number",
                    "country",
                ],
                name="wait_period",
            ),
            models.Index(fields=["conversation"], name="wait_conversation"),
            models.Index(
                fields=["started_at"],
                include=["answered_by", "team", "number", "country"],
                condition=Q(answered_at__isnull=True, ended_at__isnull=True),
                name="wait_open",
            ),
            # The breakdown by operator: the period's waits in operator order, from
            # the index alone (no sort to group them, no heap to read).
            models.Index(
                fields=["answered_by", "started_at"],
                include=[
                    "first",
                    "seconds",
                    "business_seconds",
                    "answered_at",
                    "ended_at",
                    "window_closes_at",
                    "due_at",
                ],
                name="wait_operator_period",
            ),
        ]

    def __str__(self) -> str:
        return f"wait in {self.conversation_id} from {self.started_at:%Y-%m-%d %H:%M:%S}"


class RollupCounts(models.Model):
    """Message counts for one team, number, operator and country over a span of
    time. Zero and "" stand for none (so the key is unique)."""

    team_id = models.BigIntegerField(default=0)
    number_id = models.BigIntegerField(default=0)
    operator_id = models.BigIntegerField(default=0)
    country = models.CharField(max_length=2, blank=True, default="")
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)
    templates_out = models.PositiveIntegerField(default=0)
    automatic_out = models.PositiveIntegerField(default=0)
    # Customers' messages that answer a campaign (``periods.campaign_reply``).
    campaign_replies = models.PositiveIntegerField(default=0)

    COUNTS = ("messages_in", "messages_out", "templates_out", "automatic_out", "campaign_replies")
    KEY = ("team_id", "number_id", "operator_id", "country")

    class Meta:
        abstract = True


class HourlyRollup(RollupCounts):
    """Counts for one hour (UTC): what the dashboards read for hours that are
    over. Recomputed from raw rows, never incremented in place."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "team_id", "number_id", "operator_id", "country"],
                name="rollup_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"rollup {self.hour:%Y-%m-%d %H}h"


class RollupHour(models.Model):
    """An hour whose rollup is current (``rolled_at``) or must be computed again
    (``dirty``: a late message, a change of history)."""

    hour = models.DateTimeField(unique=True)
    dirty = models.BooleanField(default=True)
    rolled_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h{' (dirty)' if self.dirty else ''}"


class DailyRollup(RollupCounts):
    """The sums of a day's (UTC) hourly rollups, kept once every hour of the day
    that holds messages is rolled up: a quarter reads 90 of these per key instead
    of 2,160."""

    day = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team_id", "number_id", "operator_id", "country"],
                name="daily_rollup_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"rollup {self.day:%Y-%m-%d}"


class RollupDay(models.Model):
    """A day whose rollup is current, or must be summed again from its hours
    (``dirty``: one of its hours changed, or an hour of it is not rolled up yet)."""

    day = models.DateTimeField(unique=True)
    dirty = models.BooleanField(default=True)
    rolled_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}{' (dirty)' if self.dirty else ''}"


class SlaPolicy(models.Model):
    """Answer-speed targets of a team, optionally only for chats with a label or
    on a number. A chat gets the most specific policy of its team that matches it
    (label and number, then label, then number, then the team's own), never by hand."""

    name = models.CharField(max_length=120)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(
        "conversations.Label", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    number = models.ForeignKey(
        WhatsAppNumber, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_reply_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Targets count the team's working hours only (its calendar), or every hour.
    business_hours = models.BooleanField(default=True)
    # Warn the assignee and the supervisors at this share of a target.
    warn_percent = models.PositiveSmallIntegerField(default=80)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"{self.name} ({self.team})"


class SlaBreach(models.Model):
    """A target of a conversation reached (``breach``) or nearly (``warning``), or
    its customer's window about to close unanswered, kept per conversation; one per
    target, level and wait."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        NEXT_REPLY = "next_reply", "Next reply"
        RESOLUTION = "resolution", "Resolution"
        # The customer's window closes soon and their message is unanswered (a
        # warning only, with or without a policy).
        WINDOW = "window", "Window closing"

    class Level(models.TextChoices):
        WARNING = "warning", "Warning"
        BREACH = "breach", "Breach"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    level = models.CharField(max_length=8, choices=Level.choices)
    # When the wait (or, for resolution, the episode) started: one per wait.
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "kind", "level", "started_at"], name="sla_breach_unique"
            )
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="sla_breach_thread")]

    def __str__(self) -> str:
        return f"{self.kind} {self.level} on {self.conversation_id}"


class OnlineSpan(models.Model):
    """A stretch of time an operator was online (a fresh socket and their switch on
    ``online``), as the clock saw it on each tick: its ``ended_at`` moves on while
    they stay online; a new span starts after a gap."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["ended_at"], include=["user", "started_at"], name="online_span")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} online {self.started_at:%Y-%m-%d %H:%M} to {self.ended_at:%H:%M}"
