"""WhatsApp's status reports on outbound messages: stored once, matched by wamid or
by our id carried as callback data, and applied only forward (sent < delivered <
read; failed keeps WhatsApp's reason), whatever order they arrive in.
"""

from __future__ import annotations

import uuid
from typing import Any

from conversations.models import STATUS_RANK, Message, SendAttempt, StatusReport
from conversations.services.common import publish_message
from conversations.services.deferrals import platform_refusal_apply
from whatsapp.events import PlatformError, StatusUpdate


def message_status_apply(*, event: StatusUpdate) -> bool:
    """Record a status report and apply it to its outbound message if known.

    Statuses only move forward. A report for a message not seen yet is kept and
    applied when the message gets its WhatsApp id. True when a message changed.
    """
    duplicate = StatusReport.objects.filter(
        wamid=event.wamid, status=event.status, timestamp=event.timestamp
    ).exists()
    if duplicate:
        return False  # a repeated delivery of the same report
    report = StatusReport.objects.create(
        wamid=event.wamid,
        status=event.status,
        timestamp=event.timestamp,
        recipient_id=event.recipient_id,
        callback_data=event.biz_opaque_callback_data,
        errors=[_error_dict(e) for e in event.errors],
        pricing=event.pricing,
        conversation_info=event.conversation,
    )
    message = (
        Message.objects.select_for_update()
        .filter(wamid=event.wamid, direction=Message.Direction.OUT)
        .first()
    )
    if message is None and event.biz_opaque_callback_data:
        # The send job may have died before saving the WhatsApp id: our own id
        # travels back as callback data.
        message = _message_by_callback(event.biz_opaque_callback_data)
        if message is not None and _earlier_try(message, event.wamid):
            # A report about a try the operator has since sent again: kept, not applied.
            return False
        if message is not None and not message.wamid:
            message.wamid = event.wamid
            message.save(update_fields=["wamid"])
    if message is None:
        return False
    return apply_reports(message, [report])


def _earlier_try(message: Message, wamid: str) -> bool:
    """Whether ``wamid`` belongs to an earlier try of ``message`` (sent again since)."""
    if message.wamid:
        return message.wamid != wamid
    return SendAttempt.objects.filter(message=message, wamid=wamid).exists()


def _message_by_callback(callback_data: str) -> Message | None:
    try:
        message_id = uuid.UUID(callback_data)
    except ValueError:
        return None  # callback data set by another sender, not one of our ids
    return (
        Message.objects.select_for_update()
        .filter(id=message_id, direction=Message.Direction.OUT)
        .first()
    )


def _error_dict(error: PlatformError) -> dict[str, Any]:
    return {"code": error.code, "title": error.title, "details": error.details}


def apply_reports(message: Message, reports: list[StatusReport]) -> bool:
    """Move ``message`` forward along the reports (message row locked by caller)."""
    changed = False
    for report in sorted(reports, key=lambda r: (r.timestamp, STATUS_RANK.get(r.status, -1))):
        report.message = message
        report.applied = True
        report.save(update_fields=["message", "applied"])
        rank = STATUS_RANK.get(report.status)
        if rank is None or rank <= STATUS_RANK.get(message.status, -1):
            continue
        message.status = report.status
        message.status_at = report.timestamp
        if report.status == Message.Status.FAILED and report.errors:
            error = report.errors[0]
            message.error_code = error.get("code")
            message.error_title = error.get("title") or ""
            message.error_details = error.get("details") or ""
        elif report.status != Message.Status.FAILED:
            # Past a failure only the clock presumed (the send was never answered):
            # it reached the customer after all.
            message.error_code = None
            message.error_title = message.error_details = ""
        changed = True
    if changed:
        message.save(
            update_fields=["status", "status_at", "error_code", "error_title", "error_details"]
        )
        if message.status == Message.Status.FAILED:
            platform_refusal_apply(message)
        publish_message(message, None, "message.updated")
    return changed
