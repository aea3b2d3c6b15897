"""The refusals of the services: ``ServiceError`` and its kinds, each with a
machine-readable ``code`` and the HTTP status the API answers with; the message
is for people.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A request the rules refuse; ``code`` is machine-readable, the message is for people."""

    code = "invalid"
    http_status = 400

    def extra(self) -> dict[str, Any]:
        """What the API's answer carries besides the code and the sentence."""
        return {}


class WindowClosed(ServiceError):
    code = "window_closed"
    http_status = 409


class InvalidWebhookBody(ServiceError):
    code = "invalid_json"


class DuplicateNumber(ServiceError):
    code = "duplicate"
    http_status = 409


class AlreadyAssigned(ServiceError):
    code = "already_assigned"
    http_status = 409


class InvalidAssignee(ServiceError):
    code = "invalid_assignee"


class InvalidTeam(ServiceError):
    code = "invalid_team"


class InvalidLabel(ServiceError):
    code = "invalid_label"


class InvalidSnooze(ServiceError):
    code = "invalid_snooze"


class NotAllowed(ServiceError):
    code = "permission_denied"
    http_status = 403


class InvalidReplyTo(ServiceError):
    code = "invalid_reply_to"


class InvalidMedia(ServiceError):
    code = "invalid_media"


class InvalidReaction(ServiceError):
    code = "invalid_reaction"


class NotRetryable(ServiceError):
    code = "not_retryable"
    http_status = 409


class InvalidProfile(ServiceError):
    """Values WhatsApp would refuse; ``fields`` holds a sentence per field."""

    code = "invalid_profile"

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__(" ".join(f"{name}: {text}" for name, text in sorted(fields.items())))


class ProfileUnavailable(ServiceError):
    """WhatsApp did not give the business profile; the message says why."""

    code = "whatsapp_error"
    http_status = 502


class MediaNotRetryable(ServiceError):
    code = "media_not_failed"
    http_status = 409


class SendRefused(ServiceError):
    """A send rule refused the message (``send_rules.send_verdict``); nothing was
    sent and the refusal is in the compliance log. ``code`` is the rule's."""

    http_status = 409

    def __init__(self, code: str, detail: str, retry_at: Any = None) -> None:
        self.code = code
        self.retry_at = retry_at
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        if self.retry_at is None:
            return {}
        return {"retry_at": self.retry_at.isoformat().replace("+00:00", "Z")}


class InvalidConsent(ServiceError):
    code = "invalid_consent"


class UnknownCategory(ServiceError):
    code = "unknown_category"
