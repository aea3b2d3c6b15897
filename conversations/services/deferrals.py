"""The platform's refusals of marketing templates: 131050 (the customer stopped
the business's marketing on WhatsApp) records the stop; 131049 (the platform's
per-user marketing limit) defers the message 24 hours and the clock sends it
again once. Both go to the compliance log."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from conversations.enqueue import enqueue_send
from conversations.models import Message, SendPath
from conversations.services.common import publish_message
from conversations.services.consent import compliance_log_record, platform_marketing_set
from conversations.services.send_rules import send_verdict

PLATFORM_MARKETING_LIMIT = "platform_marketing_limit"
PLATFORM_RETRY_AFTER = dt.timedelta(hours=24)
# WhatsApp's codes: the customer stopped marketing; the platform's per-user marketing limit.
MARKETING_STOPPED_CODE = 131050
MARKETING_LIMIT_CODE = 131049


def platform_refusal_apply(message: Message, *, now: dt.datetime | None = None) -> None:
    """A marketing template WhatsApp failed for a consent reason (message row
    locked, status ``failed`` with the platform's code): 131050 records the customer's stop of
    marketing on the platform; 131049 (its per-user marketing limit) defers the
    message 24 hours, once, instead of failing it. Both go to the compliance log."""
    code = message.error_code
    if code not in (MARKETING_STOPPED_CODE, MARKETING_LIMIT_CODE):
        return
    if message.type != "template" or (message.content or {}).get("category") not in (
        None,
        "MARKETING",
    ):
        return  # only marketing templates meet these limits: kept as a plain failure
    now = now or timezone.now()
    conversation = message.conversation
    contact = conversation.contact
    template = str((message.content or {}).get("name") or "") if message.type == "template" else ""
    path = str((message.content or {}).get("path") or "") or (
        SendPath.AUTOMATIC if message.automatic else SendPath.COMPOSER
    )
    if code == MARKETING_STOPPED_CODE:
        platform_marketing_set(
            contact=contact,
            waba_id=conversation.number.waba_id,
            stopped=True,
            detail=message.error_title or "The send failed with 131050.",
            at=now,
        )
        compliance_log_record(
            contact=contact,
            path=path,
            reason="opted_out",
            template=template,
            detail="WhatsApp refused it (131050): the customer stopped marketing messages.",
            message=message,
            at=now,
        )
        return
    if message.deferred_reason:
        compliance_log_record(
            contact=contact,
            path=path,
            reason=PLATFORM_MARKETING_LIMIT,
            template=template,
            detail="WhatsApp held it back again (131049) after one deferral: failed.",
            message=message,
            at=now,
        )
        return
    message.status = Message.Status.DEFERRED
    message.deferred_reason = PLATFORM_MARKETING_LIMIT
    message.retry_at = now + PLATFORM_RETRY_AFTER
    message.save(update_fields=["status", "deferred_reason", "retry_at"])
    compliance_log_record(
        contact=contact,
        path=path,
        reason=PLATFORM_MARKETING_LIMIT,
        template=template,
        detail="WhatsApp held it back (131049, its per-user marketing limit): "
        "it goes again once, 24 hours later.",
        message=message,
        retry_at=message.retry_at,
        at=now,
    )


def sends_deferred_due(*, now: dt.datetime | None = None) -> int:
    """Queue again, once, the messages the platform deferred whose time has come.
    Sent again only if the customer still consents; otherwise failed, and logged."""
    now = now or timezone.now()
    due = list(
        Message.objects.filter(status=Message.Status.DEFERRED, retry_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    queued = 0
    for pk in due:
        with transaction.atomic():
            message = (
                Message.objects.select_for_update(of=("self",))
                .select_related("conversation__contact", "conversation__number")
                .filter(pk=pk, status=Message.Status.DEFERRED)
                .first()
            )
            if message is None:
                continue
            category = (message.content or {}).get("category")
            refusal = None
            if message.type == "template" and category:
                refusal = send_verdict(
                    contact=message.conversation.contact,
                    waba_id=message.conversation.number.waba_id,
                    template_category=str(category),
                    path=SendPath.AUTOMATIC,
                    window_open=True,  # its time was chosen by the platform, not quiet hours
                    now=now,
                )
                if refusal is not None and refusal.code == "frequency_cap":
                    refusal = None  # it was counted when it was first sent
            if refusal is not None:
                message.status = Message.Status.FAILED
                message.error_title = refusal.detail[:255]
                message.status_at = now
                message.save(update_fields=["status", "error_title", "status_at"])
                compliance_log_record(
                    contact=message.conversation.contact,
                    path=SendPath.AUTOMATIC,
                    reason=refusal.code,
                    template=str((message.content or {}).get("name") or ""),
                    detail=refusal.detail,
                    message=message,
                    at=now,
                )
                publish_message(message, None, "message.updated")
                continue
            message.status = Message.Status.QUEUED
            message.wamid = None
            message.error_code = None
            message.error_title = message.error_details = ""
            message.status_at = now
            message.save(
                update_fields=[
                    "status",
                    "wamid",
                    "error_code",
                    "error_title",
                    "error_details",
                    "status_at",
                ]
            )
            publish_message(message, None, "message.updated")
            enqueue_send(message.id)
            queued += 1
    return queued
