"""Message templates as the inbox keeps them: what an admin wrote (in the platform's
own component JSON), where WhatsApp's review stands, each version submitted, every
change WhatsApp reported, and every message sent with one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conversations.models import Message, Team


class MessageTemplate(models.Model):
    class Category(models.TextChoices):
        MARKETING = "MARKETING"
        UTILITY = "UTILITY"
        AUTHENTICATION = "AUTHENTICATION"

    class ParameterFormat(models.TextChoices):
        POSITIONAL = "POSITIONAL"
        NAMED = "NAMED"

    class Status(models.TextChoices):
        # Ours: written, not sent to WhatsApp yet; queued for submission.
        DRAFT = "DRAFT"
        SUBMITTING = "SUBMITTING"
        # WhatsApp's.
        PENDING = "PENDING"
        APPROVED = "APPROVED"
        REJECTED = "REJECTED"
        PAUSED = "PAUSED"
        DISABLED = "DISABLED"
        FLAGGED = "FLAGGED"
        IN_APPEAL = "IN_APPEAL"
        PENDING_DELETION = "PENDING_DELETION"
        DELETED = "DELETED"
        ARCHIVED = "ARCHIVED"
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED"

    class Quality(models.TextChoices):
        GREEN = "GREEN"
        YELLOW = "YELLOW"
        RED = "RED"
        UNKNOWN = "UNKNOWN"

    waba_id = models.CharField(max_length=64)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=16, choices=Category.choices)
    parameter_format = models.CharField(
        max_length=16, choices=ParameterFormat.choices, default=ParameterFormat.POSITIONAL
    )
    components = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    platform_id = models.CharField(max_length=64, blank=True, default="")
    quality = models.CharField(max_length=8, choices=Quality.choices, default=Quality.UNKNOWN)
    rejected_reason = models.TextField(blank=True, default="")
    rejection_info = models.JSONField(null=True, blank=True)
    # WhatsApp's refusal of the latest submission (the request, not the review).
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True, default="")
    error_details = models.TextField(blank=True, default="")
    # Empty: every team may use it.
    allowed_teams = models.ManyToManyField(Team, related_name="templates", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # A submission job has taken it (``SUBMITTING``) and is talking to WhatsApp since;
    # the clock hands one that stays so too long to a new job.
    submitting_since = models.DateTimeField(null=True, blank=True)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    # The version now being written or reviewed; earlier ones stay in ``versions``.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["waba_id", "name", "language"], name="template_unique_per_account"
            )
        ]
        ordering = ["name", "language"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class TemplateVersion(models.Model):
    """What was submitted to WhatsApp each time, kept readable after an edit."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    category = models.CharField(max_length=16)
    parameter_format = models.CharField(max_length=16)
    components = models.JSONField(default=list)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique")
        ]
        ordering = ["template", "number"]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class TemplateChange(models.Model):
    """One change of a template's status, quality or category, and why."""

    class Kind(models.TextChoices):
        STATUS = "status"
        QUALITY = "quality"
        CATEGORY = "category"
        COMPONENTS = "components"

    class Source(models.TextChoices):
        ADMIN = "admin"
        SUBMISSION = "submission"
        WEBHOOK = "webhook"
        SYNC = "sync"

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    old = models.CharField(max_length=32, blank=True, default="")
    new = models.CharField(max_length=32, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["template", "at", "id"]

    def __str__(self) -> str:
        return f"{self.template}: {self.kind} {self.old} -> {self.new}"


class TemplateSend(models.Model):
    """A message sent with a template, and the values its variables were given."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="sends")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="template_send")
    parameters = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.template} in message {self.message_id}"
