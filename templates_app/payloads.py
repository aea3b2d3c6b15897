"""A template's JSON shape, the same for the API and the live events."""

from __future__ import annotations

from typing import Any

from conversations.serializers import iso, user_payload
from templates_app.models import MessageTemplate, TemplateChange, TemplateVersion


def change_payload(change: TemplateChange) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "old": change.old,
        "new": change.new,
        "reason": change.reason,
        "source": change.source,
        "actor": user_payload(change.actor) if change.actor_id else None,
        "at": iso(change.at),
    }


def version_payload(version: TemplateVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "category": version.category,
        "parameter_format": version.parameter_format,
        "components": version.components,
        "submitted_at": iso(version.submitted_at),
    }


def template_payload(template: MessageTemplate) -> dict[str, Any]:
    """The template with its status history and earlier versions (prefetch
    ``changes__actor``, ``versions`` and ``allowed_teams`` when serializing many)."""
    error = None
    if template.error_title or template.error_code is not None:
        error = {
            "code": template.error_code,
            "title": template.error_title,
            "details": template.error_details,
        }
    return {
        "id": template.pk,
        "waba_id": template.waba_id,
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "parameter_format": template.parameter_format,
        "components": template.components,
        "status": template.status,
        "platform_id": template.platform_id,
        "quality": template.quality,
        "rejected_reason": template.rejected_reason,
        "rejection_info": template.rejection_info,
        "error": error,
        "allowed_teams": sorted(team.pk for team in template.allowed_teams.all()),
        "version": template.version,
        "created_at": iso(template.created_at),
        "updated_at": iso(template.updated_at),
        "submitted_at": iso(template.submitted_at),
        "history": [change_payload(change) for change in template.changes.all()],
        "versions": [version_payload(version) for version in template.versions.all()],
    }
