"""What the template services share: recording a change, telling the pages, and
reading a template locked."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from conversations import realtime
from templates_app.models import MessageTemplate, TemplateChange
from templates_app.payloads import template_payload


def lock_template(pk: int) -> MessageTemplate:
    """The template's row, locked until the end of the caller's transaction."""
    return MessageTemplate.objects.select_for_update().get(pk=pk)


def record_change(
    template: MessageTemplate,
    kind: str,
    *,
    old: str,
    new: str,
    source: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor: Any = None,
) -> TemplateChange:
    return TemplateChange.objects.create(
        template=template,
        kind=kind,
        old=old[:32],
        new=new[:32],
        reason=reason,
        data=data or {},
        source=source,
        actor=actor if getattr(actor, "pk", None) else None,
        at=timezone.now(),
    )


def publish_template(template: MessageTemplate) -> None:
    """``template.updated`` after commit, to supervisors and admins (the template
    pages' sockets are theirs)."""
    realtime.publish(
        "template.updated",
        {"template_id": template.pk, "template": template_payload(template)},
        groups=(realtime.SUPERVISORS_GROUP,),
    )


def set_status(
    template: MessageTemplate,
    status: str,
    *,
    source: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor: Any = None,
) -> bool:
    """Move ``template`` (locked) to ``status`` and record it; False when it was there."""
    if template.status == status:
        return False
    record_change(
        template,
        TemplateChange.Kind.STATUS,
        old=template.status,
        new=status,
        source=source,
        reason=reason,
        data=data,
        actor=actor,
    )
    template.status = status
    return True
