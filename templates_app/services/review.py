"""WhatsApp's side of a template: the submission job (exactly once, even when a job
is retried or its worker dies), deletion, what the webhooks report (review status,
quality, category), and reconciling with the account's list on the platform.

A submission never creates a second template on the platform: before posting, the
job looks the name up, and adopts the template it finds (a post whose answer was
lost). An edit is compared with what the platform holds before it is posted again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations.enqueue import enqueue, enqueue_on_commit
from templates_app.models import MessageTemplate, TemplateChange
from templates_app.services.common import (
    lock_template,
    publish_template,
    record_change,
    set_status,
)
from whatsapp.client import GraphAPIError, GraphUnreachable
from whatsapp.events import TemplateUpdate
from whatsapp.templates import TemplateClient

logger = logging.getLogger(__name__)

SUBMIT_JOB = "templates_app.jobs.submit_template"
DELETE_JOB = "templates_app.jobs.delete_template"
SYNC_JOB = "templates_app.jobs.sync_templates"
MAX_SUBMIT_ATTEMPTS = 5
# A submission job that has not finished after this long died (a worker killed, a
# machine lost): the clock gives the template to a new job.
SUBMISSION_STUCK_AFTER = dt.timedelta(minutes=5)
# What WhatsApp's review events make of a template.
EVENT_STATUS = {
    "APPROVED": MessageTemplate.Status.APPROVED,
    "REINSTATED": MessageTemplate.Status.APPROVED,
    "REJECTED": MessageTemplate.Status.REJECTED,
    "PAUSED": MessageTemplate.Status.PAUSED,
    "DISABLED": MessageTemplate.Status.DISABLED,
    "FLAGGED": MessageTemplate.Status.FLAGGED,
    "IN_APPEAL": MessageTemplate.Status.IN_APPEAL,
    "PENDING": MessageTemplate.Status.PENDING,
    "PENDING_DELETION": MessageTemplate.Status.PENDING_DELETION,
    "DELETED": MessageTemplate.Status.DELETED,
    "ARCHIVED": MessageTemplate.Status.ARCHIVED,
    "LIMIT_EXCEEDED": MessageTemplate.Status.LIMIT_EXCEEDED,
}
QUALITY = {"GREEN", "YELLOW", "RED", "UNKNOWN"}
LIST_FIELDS = "id,name,language,status,category,components,quality_score,parameter_format"


def template_client() -> TemplateClient:
    return TemplateClient(
        base_url=settings.WHATSAPP_GRAPH_URL,
        access_token=settings.WHATSAPP_ACCESS_TOKEN,
        timeout=settings.WHATSAPP_HTTP_TIMEOUT,
    )


# --- Submission -------------------------------------------------------------------


def template_submission_run(*, template_id: int, client: TemplateClient | None = None) -> None:
    """Post a ``SUBMITTING`` template to WhatsApp, at most once.

    The row is taken (``submitting_since``) in its own transaction before any HTTP
    call; a second job finds it taken and does nothing. A refusal WhatsApp says is
    temporary, or no answer at all, tries again later (the name is looked up first,
    so a post that did arrive is adopted, not repeated); any other refusal puts the
    template back to ``DRAFT`` with WhatsApp's error."""
    now = timezone.now()
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().filter(pk=template_id).first()
        if template is None or template.status != MessageTemplate.Status.SUBMITTING:
            return
        if template.submitting_since and now - template.submitting_since < SUBMISSION_STUCK_AFTER:
            return  # another job has it
        template.submitting_since = now
        template.submit_attempts += 1
        template.save(update_fields=["submitting_since", "submit_attempts"])
    client = client or template_client()
    try:
        platform_id, status = _post(template, client)
    except GraphAPIError as exc:
        if exc.retryable and template.submit_attempts < MAX_SUBMIT_ATTEMPTS:
            _submit_later(template, exc.title)
        else:
            _submission_refused(template, exc.code, exc.title, exc.details)
        return
    except GraphUnreachable as exc:
        if template.submit_attempts < MAX_SUBMIT_ATTEMPTS:
            _submit_later(template, str(exc))
        else:
            _submission_refused(template, None, "WhatsApp could not be reached", str(exc))
        return
    with transaction.atomic():
        template = lock_template(template_id)
        if template.status != MessageTemplate.Status.SUBMITTING:
            return
        template.platform_id = platform_id
        template.submitting_since = None
        template.submit_attempts = 0
        template.rejected_reason = ""
        template.rejection_info = None
        set_status(
            template,
            EVENT_STATUS.get(status, MessageTemplate.Status.PENDING),
            source=TemplateChange.Source.SUBMISSION,
            data={"platform_id": platform_id},
        )
        template.updated_at = timezone.now()
        template.save()
        publish_template(template)


def _post(template: MessageTemplate, client: TemplateClient) -> tuple[str, str]:
    """The platform's id and status after posting ``template`` (or finding it there)."""
    if template.platform_id:
        held = client.get_template(template.platform_id, fields="components,status")
        if held.get("components") == template.components:
            return template.platform_id, str(held.get("status") or "PENDING")
        client.edit_template(template.platform_id, {"components": template.components})
        return template.platform_id, "PENDING"
    for found in client.list_templates(template.waba_id, name=template.name):
        if found.get("name") == template.name and found.get("language") == template.language:
            return str(found["id"]), str(found.get("status") or "PENDING")
    answer = client.create_template(
        template.waba_id,
        {
            "name": template.name,
            "language": template.language,
            "category": template.category,
            "parameter_format": template.parameter_format,
            "components": template.components,
        },
    )
    return str(answer["id"]), str(answer.get("status") or "PENDING")


def _submit_later(template: MessageTemplate, why: str) -> None:
    delay = dt.timedelta(seconds=30 * 2 ** (template.submit_attempts - 1))
    logger.warning("template %s: trying again in %s (%s)", template.pk, delay, why)
    MessageTemplate.objects.filter(pk=template.pk).update(submitting_since=None)
    enqueue(SUBMIT_JOB, (template.pk,), delay)


def _submission_refused(
    template: MessageTemplate, code: int | None, title: str, details: str
) -> None:
    with transaction.atomic():
        template = lock_template(template.pk)
        if template.status != MessageTemplate.Status.SUBMITTING:
            return
        template.error_code = code
        template.error_title = title[:255]
        template.error_details = details
        template.submitting_since = None
        template.submit_attempts = 0
        back = (
            MessageTemplate.Status.REJECTED
            if template.rejected_reason
            else MessageTemplate.Status.APPROVED
            if template.platform_id
            else MessageTemplate.Status.DRAFT
        )
        set_status(
            template,
            back,
            source=TemplateChange.Source.SUBMISSION,
            reason=f"({code}) {title}" if code else title,
        )
        template.updated_at = timezone.now()
        template.save()
        publish_template(template)


def templates_submissions_resume(*, now: dt.datetime | None = None) -> int:
    """Hand templates whose submission job died (``SUBMITTING`` for too long, taken
    or never taken) to a new job. Returns how many."""
    now = now or timezone.now()
    stuck = MessageTemplate.objects.filter(
        status=MessageTemplate.Status.SUBMITTING, submitted_at__lt=now - SUBMISSION_STUCK_AFTER
    ).exclude(submitting_since__gt=now - SUBMISSION_STUCK_AFTER)
    ids = list(stuck.values_list("pk", flat=True)[:100])
    for pk in ids:
        MessageTemplate.objects.filter(pk=pk).update(submitting_since=None)
        enqueue(SUBMIT_JOB, (pk,))
    return len(ids)


# --- Deletion ---------------------------------------------------------------------


def template_platform_delete(*, template_id: int, client: TemplateClient | None = None) -> None:
    """Delete a ``PENDING_DELETION`` template on WhatsApp, then mark it ``DELETED``."""
    template = MessageTemplate.objects.filter(
        pk=template_id, status=MessageTemplate.Status.PENDING_DELETION
    ).first()
    if template is None:
        return
    client = client or template_client()
    try:
        client.delete_template(template.waba_id, name=template.name, hsm_id=template.platform_id)
    except GraphAPIError as exc:
        if exc.retryable:
            enqueue(DELETE_JOB, (template_id,), dt.timedelta(minutes=1))
            return
        if exc.code not in (100, 132001):  # gone already
            logger.warning("template %s could not be deleted: %s", template_id, exc.title)
            return
    except GraphUnreachable:
        enqueue(DELETE_JOB, (template_id,), dt.timedelta(minutes=1))
        return
    with transaction.atomic():
        template = lock_template(template_id)
        if set_status(
            template, MessageTemplate.Status.DELETED, source=TemplateChange.Source.SUBMISSION
        ):
            template.updated_at = timezone.now()
            template.save()
            publish_template(template)


# --- What the webhooks report -----------------------------------------------------


def template_update_apply(stored: Any, event: TemplateUpdate) -> MessageTemplate | None:
    """Apply a template webhook (status, quality, category, components) to the
    template it names (the platform's id, else account, name and language); a
    template made elsewhere is left to the next reconciliation. Runs in the
    webhook's transaction (``conversations.hooks``)."""
    template = _template_for(event)
    if template is None:
        return None
    data = event.data if isinstance(event.data, dict) else {}
    changed = False
    if event.template_id and not template.platform_id:
        # Found by name: the submission's answer was lost (or has not been saved yet),
        # and this is how the template learns its id.
        template.platform_id = str(event.template_id)
        changed = True
    if event.field == "message_template_status_update":
        status = EVENT_STATUS.get(event.event.upper())
        if status is None:
            return template
        if status == MessageTemplate.Status.REJECTED:
            template.rejected_reason = event.reason or "REJECTED"
            rejection = data.get("rejection_info")
            template.rejection_info = rejection if isinstance(rejection, dict) else None
        elif status == MessageTemplate.Status.APPROVED:
            template.rejected_reason = ""
            template.rejection_info = None
        changed = set_status(
            template, status, source=TemplateChange.Source.WEBHOOK, reason=event.reason, data=data
        )
        if template.submitting_since and status != MessageTemplate.Status.SUBMITTING:
            template.submitting_since = None
    elif event.field == "message_template_quality_update":
        quality = str(data.get("new_quality_score") or event.event).upper()
        if quality in QUALITY and quality != template.quality:
            record_change(
                template,
                TemplateChange.Kind.QUALITY,
                old=template.quality,
                new=quality,
                source=TemplateChange.Source.WEBHOOK,
                data=data,
            )
            template.quality = quality
            changed = True
    elif event.field == "template_category_update":
        new = str(data.get("new_category") or "").upper()
        impending = "impending" in str(data.get("event") or event.event).lower() or bool(
            data.get("correct_category") and not data.get("new_category")
        )
        if new in MessageTemplate.Category.values and new != template.category and not impending:
            record_change(
                template,
                TemplateChange.Kind.CATEGORY,
                old=template.category,
                new=new,
                source=TemplateChange.Source.WEBHOOK,
                data=data,
            )
            template.category = new
            changed = True
        elif impending:
            record_change(
                template,
                TemplateChange.Kind.CATEGORY,
                old=template.category,
                new=str(data.get("correct_category") or new or "")[:32],
                source=TemplateChange.Source.WEBHOOK,
                reason="WhatsApp will move it to another category",
                data=data,
            )
            changed = True
    elif event.field == "message_template_components_update":
        record_change(
            template,
            TemplateChange.Kind.COMPONENTS,
            old="",
            new="",
            source=TemplateChange.Source.WEBHOOK,
            data=data,
        )
        changed = True
    if changed:
        template.updated_at = timezone.now()
        template.save()
        publish_template(template)
    return template


def _template_for(event: TemplateUpdate) -> MessageTemplate | None:
    templates = MessageTemplate.objects.select_for_update()
    if event.template_id:
        found = templates.filter(platform_id=event.template_id).first()
        if found is not None:
            return found
    if event.name and event.language:
        return templates.filter(
            waba_id=event.waba_id, name=event.name, language=event.language.replace("-", "_")
        ).first()
    return None


# --- Reconciling with the platform ------------------------------------------------


def templates_sync(*, waba_id: str, client: TemplateClient | None = None) -> int:
    """Make the account's templates here what WhatsApp holds: templates made
    elsewhere appear, ones deleted there are marked ``DELETED``, status, quality and
    category follow. Templates here that WhatsApp never had (drafts, ones on their
    way) are left alone. Returns how many changed."""
    client = client or template_client()
    held = {
        (str(t.get("name")), str(t.get("language"))): t
        for t in client.list_templates(
            waba_id,
            fields="id,name,language,status,category,components,quality_score,parameter_format",
        )
    }
    changed = 0
    for (name, language), found in held.items():
        with transaction.atomic():
            template = (
                MessageTemplate.objects.select_for_update()
                .filter(waba_id=waba_id, name=name, language=language)
                .first()
            )
            if template is None:
                template = MessageTemplate.objects.create(
                    waba_id=waba_id,
                    name=name,
                    language=language,
                    category=str(found.get("category") or "UTILITY").upper(),
                    parameter_format=str(found.get("parameter_format") or "POSITIONAL").upper(),
                    components=found.get("components") or [],
                    status=EVENT_STATUS.get(
                        str(found.get("status")), MessageTemplate.Status.PENDING
                    ),
                    platform_id=str(found.get("id") or ""),
                    quality=_quality(found),
                )
                record_change(
                    template,
                    TemplateChange.Kind.STATUS,
                    old="",
                    new=template.status,
                    source=TemplateChange.Source.SYNC,
                    reason="made outside the inbox",
                )
                publish_template(template)
                changed += 1
                continue
            if template.status == MessageTemplate.Status.SUBMITTING:
                continue  # its own job settles it
            if _follow(template, found):
                template.updated_at = timezone.now()
                template.save()
                publish_template(template)
                changed += 1
    gone = MessageTemplate.objects.filter(waba_id=waba_id).exclude(platform_id="")
    gone = gone.exclude(
        status__in=[MessageTemplate.Status.DELETED, MessageTemplate.Status.SUBMITTING]
    )
    for template_id in _missing(gone.values_list("pk", "name", "language"), held):
        with transaction.atomic():
            template = lock_template(template_id)
            if set_status(
                template,
                MessageTemplate.Status.DELETED,
                source=TemplateChange.Source.SYNC,
                reason="no longer on WhatsApp",
            ):
                template.updated_at = timezone.now()
                template.save()
                publish_template(template)
                changed += 1
    return changed


def _follow(template: MessageTemplate, found: dict[str, Any]) -> bool:
    changed = False
    if found.get("id") and template.platform_id != str(found["id"]):
        template.platform_id = str(found["id"])
        changed = True
    status = EVENT_STATUS.get(str(found.get("status")))
    if status and set_status(template, status, source=TemplateChange.Source.SYNC):
        changed = True
    quality = _quality(found)
    if quality != template.quality and quality != MessageTemplate.Quality.UNKNOWN:
        record_change(
            template,
            TemplateChange.Kind.QUALITY,
            old=template.quality,
            new=quality,
            source=TemplateChange.Source.SYNC,
        )
        template.quality = quality
        changed = True
    category = str(found.get("category") or "").upper()
    if category in MessageTemplate.Category.values and category != template.category:
        record_change(
            template,
            TemplateChange.Kind.CATEGORY,
            old=template.category,
            new=category,
            source=TemplateChange.Source.SYNC,
        )
        template.category = category
        changed = True
    return changed


def _quality(found: dict[str, Any]) -> str:
    score = found.get("quality_score")
    value = str(score.get("score") if isinstance(score, dict) else score or "UNKNOWN").upper()
    return value if value in QUALITY else MessageTemplate.Quality.UNKNOWN


def _missing(rows: Iterable[tuple[int, str, str]], held: dict[tuple[str, str], Any]) -> list[int]:
    return [pk for pk, name, language in rows if (name, language) not in held]


def templates_sync_due(now: dt.datetime) -> None:
    """The clock's hook: reconcile every account every ``TEMPLATES_SYNC_EVERY``
    seconds (one process does it, whichever ticks first), and resume submissions
    whose job died."""
    from django.core.cache import cache

    from conversations.models import WhatsAppNumber

    templates_submissions_resume(now=now)
    if not cache.add("templates:sync", now.isoformat(), timeout=settings.TEMPLATES_SYNC_EVERY):
        return
    for waba_id in WhatsAppNumber.objects.values_list("waba_id", flat=True).distinct():
        enqueue_on_commit(SYNC_JOB, waba_id)
