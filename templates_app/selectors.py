"""Reads: which templates a user may see and send, and how each template fared."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from conversations import selectors as conversation_selectors
from conversations.models import Message
from templates_app.models import MessageTemplate, TemplateSend


def templates_visible_to(user: Any) -> QuerySet[MessageTemplate]:
    """Supervisors and admins see every template; operators the approved ones
    their teams may send."""
    access = conversation_selectors.access_for(user)
    if not access.member:
        return MessageTemplate.objects.none()
    templates = MessageTemplate.objects.prefetch_related(
        "allowed_teams", "changes__actor", "versions"
    )
    if access.supervisor:
        return templates.all()
    return _usable(templates, access).filter(status=MessageTemplate.Status.APPROVED)


def templates_usable_by(user: Any) -> QuerySet[MessageTemplate]:
    """The templates ``user`` may send (any status): every one for supervisors and
    admins, those allowed to every team or to one of theirs for operators."""
    access = conversation_selectors.access_for(user)
    if not access.member:
        return MessageTemplate.objects.none()
    if access.supervisor:
        return MessageTemplate.objects.all()
    return _usable(MessageTemplate.objects.all(), access)


def template_usable_by(template: MessageTemplate, user: Any) -> bool:
    return templates_usable_by(user).filter(pk=template.pk).exists()


def _usable(templates: QuerySet[MessageTemplate], access: Any) -> QuerySet[MessageTemplate]:
    restricted = MessageTemplate.allowed_teams.through.objects.filter(
        messagetemplate_id=OuterRef("pk")
    )
    return templates.filter(~Exists(restricted) | Q(allowed_teams__in=access.team_ids)).distinct()


def template_usage(template: MessageTemplate) -> dict[str, Any]:
    """How often it was sent, delivered, read, answered (the customer wrote after
    it) and failed (by WhatsApp's error code)."""
    sends = TemplateSend.objects.filter(template=template)
    statuses = dict(
        sends.values_list("message__status")
        .annotate(n=Count("pk"))
        .values_list("message__status", "n")
    )
    answered = sends.filter(
        Exists(
            Message.objects.filter(
                conversation_id=OuterRef("message__conversation_id"),
                direction=Message.Direction.IN,
                timestamp__gt=OuterRef("message__timestamp"),
            )
        )
    ).count()
    failed_by_code = {
        str(code if code is not None else "unknown"): n
        for code, n in sends.filter(message__status=Message.Status.FAILED)
        .values_list("message__error_code")
        .annotate(n=Count("pk"))
        .values_list("message__error_code", "n")
    }
    return _usage(statuses, answered, failed_by_code)


def templates_usage(templates: list[MessageTemplate]) -> dict[int, dict[str, Any]]:
    """``template_usage`` of many templates at once (three queries), by template id."""
    ids = [template.pk for template in templates]
    sends = TemplateSend.objects.filter(template_id__in=ids)
    statuses: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for pk, status, n in (
        sends.values_list("template_id", "message__status")
        .annotate(n=Count("pk"))
        .values_list("template_id", "message__status", "n")
    ):
        statuses[pk][status] = n
    answered = dict(
        sends.filter(
            Exists(
                Message.objects.filter(
                    conversation_id=OuterRef("message__conversation_id"),
                    direction=Message.Direction.IN,
                    timestamp__gt=OuterRef("message__timestamp"),
                )
            )
        )
        .values_list("template_id")
        .annotate(n=Count("pk"))
        .values_list("template_id", "n")
    )
    failed: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for pk, code, n in (
        sends.filter(message__status=Message.Status.FAILED)
        .values_list("template_id", "message__error_code")
        .annotate(n=Count("pk"))
        .values_list("template_id", "message__error_code", "n")
    ):
        failed[pk][str(code if code is not None else "unknown")] = n
    return {pk: _usage(statuses[pk], answered.get(pk, 0), failed[pk]) for pk in ids}


def _usage(
    statuses: dict[str, int], answered: int, failed_by_code: dict[str, int]
) -> dict[str, Any]:
    reached = ("sent", "delivered", "read")
    return {
        "sent": sum(n for status, n in statuses.items() if status in reached),
        "delivered": statuses.get("delivered", 0) + statuses.get("read", 0),
        "read": statuses.get("read", 0),
        "answered": answered,
        "failed": statuses.get("failed", 0),
        "failed_by_code": failed_by_code,
        "queued": sum(statuses.get(s, 0) for s in ("queued", "sending", "accepted")),
    }
