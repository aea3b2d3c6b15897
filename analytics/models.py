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

    class Meta:
        indexes = [
            models.Index(fields=["started_at"], name="episode_started"),
            models.Index(fields=["resolved_at"], name="episode_resolved"),
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

    class Meta:
        indexes = [
            models.Index(fields=["started_at"], name="wait_started"),
            models.Index(fields=["conversation"], name="wait_conversation"),
            models.Index(
                fields=["started_at"],
                condition=Q(answered_at__isnull=True, ended_at__isnull=True),
                name="wait_open",
            ),
        ]

    def __str__(self) -> str:
        return f"wait in {self.conversation_id} from {self.started_at:%Y-%m-%d %H:%M:%S}"


class HourlyRollup(models.Model):
    """Counts for one hour (UTC) and one team, number, operator and country: what
    the dashboards read for hours that are over. Recomputed from raw rows, never
    incremented in place. Zero and "" stand for none (so the key is unique)."""

    hour = models.DateTimeField()
    team_id = models.BigIntegerField(default=0)
    number_id = models.BigIntegerField(default=0)
    operator_id = models.BigIntegerField(default=0)
    country = models.CharField(max_length=2, blank=True, default="")
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)
    templates_out = models.PositiveIntegerField(default=0)
    automatic_out = models.PositiveIntegerField(default=0)

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
