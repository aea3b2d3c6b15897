"""The refusals of the template services, each with the code and HTTP status the
API answers with (``ServiceError`` from the core, so the API's one error handler
shapes them)."""

from __future__ import annotations

import dataclasses
from typing import Any

from conversations.services import ServiceError


class InvalidTemplate(ServiceError):
    code = "invalid_template"


class DuplicateTemplate(ServiceError):
    code = "duplicate"
    http_status = 409


class TemplateChecksFailed(ServiceError):
    """The checks found errors: nothing is sent to WhatsApp."""

    code = "template_check_failed"
    http_status = 422

    def __init__(self, message: str, findings: list[Any]) -> None:
        super().__init__(message)
        self.findings = findings

    def extra(self) -> dict[str, Any]:
        return {"findings": [dataclasses.asdict(finding) for finding in self.findings]}


class TemplateBusy(ServiceError):
    """WhatsApp is reviewing it, or it is on its way there: wait for the outcome."""

    code = "template_busy"
    http_status = 409


class EditLimitReached(ServiceError):
    code = "edit_limit"
    http_status = 409


class TemplateNotApproved(ServiceError):
    code = "template_not_approved"
    http_status = 409


class TemplateNotAllowed(ServiceError):
    code = "template_not_allowed"
    http_status = 409


class InvalidParameters(ServiceError):
    code = "invalid_parameters"
