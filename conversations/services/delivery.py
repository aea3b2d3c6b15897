"""The send job's side of an outbound message: one locked move from ``queued`` to
``sending``, the Graph API call (a file uploaded first, once), and the outcome
recorded as a ``SendAttempt``; also settling sends that were interrupted, never
confirmed or whose job was lost.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone

from conversations.enqueue import enqueue_send
from conversations.models import STATUS_RANK, Message, SendAttempt, StatusReport
from conversations.services.common import graph_client, publish_message
from conversations.services.deferrals import platform_refusal_apply
from conversations.services.status_reports import apply_reports
from whatsapp import errors as wa_errors
from whatsapp.client import (
    MEDIA_SEND_TYPES,
    GraphAPIError,
    GraphClient,
    GraphUnreachable,
    outbound_message,
)

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5
# WhatsApp asked to slow down (the number's throughput, or one customer too often):
# the message itself is fine.
THROTTLE_CODES = frozenset({130429, 131056})


@dataclass(frozen=True)
class DeliveryAttempt:
    message: Message | None
    retry_in: dt.timedelta | None = None


def message_deliver(
    *,
    message_id: Any = None,
    message: Message | None = None,
    client: GraphClient | None = None,
    requested_by_id: int | None = None,
    retry_throttled: bool = False,
    publish: bool = True,
) -> DeliveryAttempt:
    """Send one queued outbound message (of any type) through the Graph API, at most once.

    The row moves to ``sending`` (only if still ``queued``, in the same transaction
    as its ``SendAttempt``) before the HTTP call, so a second run (a retried or
    duplicated job) finds it not queued and does nothing; the outcome is recorded
    in one transaction after the call. Each run that goes on records a
    ``SendAttempt`` (``requested_by_id``: who asked for a manual retry). A file is
    uploaded first, once: its media id is kept in ``content["id"]``, so a later try
    sends it by that id. Only a refusal that WhatsApp says is temporary, or a
    request that never reached it, puts the message back in the queue. With
    ``retry_throttled`` a throttling refusal (``THROTTLE_CODES``) always does,
    however many tries it took (a campaign paces itself and never fails a
    recipient for it).

    ``message`` instead of ``message_id``: the row as the caller just stored it
    (its conversation's contact and number loaded), not read again. ``publish``
    False: no ``message.updated`` for it (a campaign's message: its page reads
    counts, the campaign publishes its progress). ``client``: pass one for many
    sends, its HTTP session keeps the connection alive.
    """
    if message is None:
        message = (
            Message.objects.select_related("conversation__contact", "conversation__number")
            .filter(pk=message_id)
            .first()
        )
    attempt = None
    for _ in range(2):
        if message is None or message.status != Message.Status.QUEUED:
            return DeliveryAttempt(message=message)
        attempt = _sending(message, requested_by_id)
        if attempt is not None:
            break
        # Moved by someone else since it was read: look again.
        message = (
            Message.objects.select_related("conversation__contact", "conversation__number")
            .filter(pk=message.pk)
            .first()
        )
    if attempt is None:
        return DeliveryAttempt(message=message)

    conversation = message.conversation
    client = client or graph_client()
    may_retry = _attempts_this_round(message) < MAX_SEND_ATTEMPTS
    try:
        if message.type in MEDIA_SEND_TYPES and not (message.content or {}).get("id"):
            _media_upload(message, client)
        payload = outbound_message(
            conversation.contact.address,
            message.type,
            text=message.text,
            content=message.content,
            callback_data=str(message.id),
            reply_to=message.context_wamid,
        )
    except GraphAPIError as exc:
        # The upload was refused: nothing reached the customer.
        if exc.retryable and may_retry:
            _attempt_end(attempt, SendAttempt.Outcome.RETRY, exc.code, exc.title, exc.details)
            return _requeue(message, exc.code, exc.title, exc.details, attempt)
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, exc.code, exc.title, exc.details)
        return DeliveryAttempt(
            message=_fail(message, exc.code, exc.title, exc.details, attempt, publish=publish)
        )
    except GraphUnreachable as exc:
        # An upload that may have arrived does no harm when repeated.
        title = "WhatsApp could not be reached"
        if may_retry:
            _attempt_end(attempt, SendAttempt.Outcome.RETRY, None, title, str(exc))
            return _requeue(message, None, title, str(exc), attempt)
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, None, title, str(exc))
        return DeliveryAttempt(
            message=_fail(message, None, title, str(exc), attempt, publish=publish)
        )
    except (ValueError, OSError) as exc:
        title = "The message could not be prepared for WhatsApp"
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, None, title, str(exc))
        return DeliveryAttempt(
            message=_fail(message, None, title, str(exc), attempt, publish=publish)
        )
    try:
        result = client.send_message(conversation.number.phone_number_id, payload)
    except GraphAPIError as exc:
        throttled = retry_throttled and exc.code in THROTTLE_CODES
        if exc.retryable and (may_retry or throttled):
            _attempt_end(attempt, SendAttempt.Outcome.RETRY, exc.code, exc.title, exc.details)
            return _requeue(message, exc.code, exc.title, exc.details, attempt)
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, exc.code, exc.title, exc.details)
        return DeliveryAttempt(
            message=_fail(message, exc.code, exc.title, exc.details, attempt, publish=publish)
        )
    except GraphUnreachable as exc:
        title = "WhatsApp could not be reached"
        if not exc.maybe_delivered and may_retry:
            _attempt_end(attempt, SendAttempt.Outcome.RETRY, None, title, str(exc))
            return _requeue(message, None, title, str(exc), attempt)
        if exc.maybe_delivered:
            _attempt_end(
                attempt, SendAttempt.Outcome.UNCONFIRMED, None, "No answer from WhatsApp", str(exc)
            )
            return DeliveryAttempt(
                message=_unconfirmed(message, str(exc), attempt, publish=publish)
            )
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, None, title, str(exc))
        return DeliveryAttempt(
            message=_fail(message, None, title, str(exc), attempt, publish=publish)
        )
    _attempt_end(attempt, SendAttempt.Outcome.ACCEPTED, wamid=result.wamid)
    return DeliveryAttempt(message=_accepted(message, result.wamid, attempt, publish=publish))


def _sending(message: Message, requested_by_id: int | None) -> SendAttempt | None:
    """Move ``message`` from ``queued`` to ``sending`` and record the attempt,
    atomically; None (nothing written) when it is no longer queued as read."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        # One statement: atomic by itself, one round trip instead of four.
        with connection.cursor() as cursor:
            cursor.execute(
                _statements()["sending"],
                {
                    "id": message.pk,
                    "queued": Message.Status.QUEUED,
                    "sending": Message.Status.SENDING,
                    "attempts": message.send_attempts,
                    "now": now,
                    "by": requested_by_id,
                },
            )
            row = cursor.fetchone()
        if row is None:
            return None
        message.status = Message.Status.SENDING
        message.send_attempts += 1
        return SendAttempt(
            pk=row[0],
            message=message,
            number=message.send_attempts,
            started_at=now,
            requested_by_id=requested_by_id,
        )
    with transaction.atomic():
        moved = Message.objects.filter(
            pk=message.pk, status=Message.Status.QUEUED, send_attempts=message.send_attempts
        ).update(status=Message.Status.SENDING, send_attempts=message.send_attempts + 1)
        if moved != 1:
            return None
        message.status = Message.Status.SENDING
        message.send_attempts += 1
        return SendAttempt.objects.create(
            message=message, number=message.send_attempts, requested_by_id=requested_by_id
        )


@functools.cache
def _statements() -> dict[str, str]:
    """PostgreSQL statements for the two moves every send makes (a data-modifying
    ``WITH`` writes two tables in one statement). Names come from the models."""
    message = connection.ops.quote_name(Message._meta.db_table)
    attempt = connection.ops.quote_name(SendAttempt._meta.db_table)
    report = connection.ops.quote_name(StatusReport._meta.db_table)
    return {
        # queued -> sending, and the attempt that records it.
        "sending": f"""
            WITH moved AS (
                UPDATE {message} SET status = %(sending)s, send_attempts = send_attempts + 1
                WHERE id = %(id)s AND status = %(queued)s AND send_attempts = %(attempts)s
                RETURNING id, send_attempts
            )
            INSERT INTO {attempt} (
                message_id, number, started_at, outcome, wamid, error_title, error_details,
                requested_by_id
            )
            SELECT id, send_attempts, %(now)s, %(sending)s, '', '', '', %(by)s FROM moved
            RETURNING id
        """,  # noqa: S608
        # sending -> accepted with its wamid, and the attempt's end; only for a
        # message still as this send left it, with no status report waiting for
        # its wamid (anything else takes the locked path).
        "accepted": f"""
            WITH moved AS (
                UPDATE {message} SET wamid = %(wamid)s, status = %(accepted)s,
                    status_at = %(now)s, error_code = NULL, error_title = '', error_details = ''
                WHERE id = %(id)s AND status = %(sending)s AND wamid IS NULL
                    AND NOT EXISTS (
                        SELECT 1 FROM {report} WHERE wamid = %(wamid)s AND NOT applied
                    )
                RETURNING id
            ), ended AS (
                UPDATE {attempt} SET outcome = %(accepted)s, finished_at = %(now)s,
                    wamid = %(wamid)s
                WHERE id = %(attempt)s AND EXISTS (SELECT 1 FROM moved)
                RETURNING id
            )
            SELECT count(*) FROM moved
        """,  # noqa: S608
    }


def _attempts_this_round(message: Message) -> int:
    """Tries since the latest manual retry (or the first send): automatic retries
    start afresh after an operator asked to send again."""
    if message.send_attempts <= 1:
        return message.send_attempts  # the first try: no earlier one to look at
    last_manual = SendAttempt.objects.filter(message=message, requested_by__isnull=False).aggregate(
        number=Max("number")
    )["number"]
    return message.send_attempts - (last_manual or 1) + 1


def _attempt_end(
    attempt: SendAttempt,
    outcome: str,
    code: int | None = None,
    title: str = "",
    details: str = "",
    *,
    wamid: str = "",
) -> None:
    """How the attempt ended, in memory: ``_attempt_save`` writes it with the
    message's outcome, in the same transaction."""
    attempt.outcome = outcome
    attempt.finished_at = timezone.now()
    attempt.wamid = wamid
    attempt.error_code = code
    attempt.error_title = title[:255]
    attempt.error_details = details


def _attempt_save(attempt: SendAttempt | None) -> None:
    if attempt is None:
        return
    # An update, not a save: the chat may have been deleted while WhatsApp answered.
    SendAttempt.objects.filter(pk=attempt.pk).update(
        outcome=attempt.outcome,
        finished_at=attempt.finished_at,
        wamid=attempt.wamid,
        error_code=attempt.error_code,
        error_title=attempt.error_title,
        error_details=attempt.error_details,
    )


def _media_upload(message: Message, client: GraphClient) -> None:
    """Upload the operator's stored file and keep WhatsApp's media id on the message."""
    content = message.content or {}
    if not message.media_file:
        raise ValueError("The file of this message is no longer stored.")
    filename = str(content.get("filename") or os.path.basename(message.media_file.name))
    with message.media_file.open("rb") as handle:
        media_id = client.upload_media(
            message.conversation.number.phone_number_id,
            handle,
            str(content.get("mime_type") or "application/octet-stream"),
            filename,
        )
    with transaction.atomic():
        locked = Message.objects.select_for_update(of=("self",)).filter(pk=message.pk).first()
        if locked is None:
            raise ValueError("The message was deleted while its file was being uploaded.")
        locked.content = {**(locked.content or {}), "id": media_id}
        locked.save(update_fields=["content"])
    message.content = locked.content


def _requeue(
    message: Message,
    code: int | None,
    title: str,
    details: str,
    attempt: SendAttempt | None = None,
) -> DeliveryAttempt:
    with transaction.atomic():
        _attempt_save(attempt)
        Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED,
            error_code=code,
            error_title=title,
            error_details=details,
        )
    delay = dt.timedelta(seconds=min(2**message.send_attempts, 300))
    again = Message.objects.filter(pk=message.pk).first()
    return DeliveryAttempt(message=again, retry_in=delay if again is not None else None)


def _still_there(message: Message) -> Message | None:
    """The message row locked again after the call to WhatsApp; None when its chat
    was deleted meanwhile (nothing is left to record the outcome on)."""
    locked = Message.objects.select_for_update().filter(pk=message.pk).first()
    if locked is None:
        logger.info("message %s was deleted while it was being sent", message.pk)
    return locked


def _fail(
    message: Message,
    code: int | None,
    title: str,
    details: str,
    attempt: SendAttempt | None = None,
    *,
    publish: bool = True,
) -> Message | None:
    with transaction.atomic():
        _attempt_save(attempt)
        message = _still_there(message)
        if message is None:
            return None
        message.status = Message.Status.FAILED
        message.error_code = code
        message.error_title = wa_errors.meaning(code, title) if code else title
        message.error_details = details or title
        message.status_at = timezone.now()
        message.save(
            update_fields=["status", "error_code", "error_title", "error_details", "status_at"]
        )
        platform_refusal_apply(message)
        if publish:
            publish_message(message, None, "message.updated")
    return message


def _unconfirmed(
    message: Message, details: str, attempt: SendAttempt | None = None, *, publish: bool = True
) -> Message | None:
    # The request may have reached WhatsApp: never send again. A status webhook
    # carrying our id as callback data will tell what happened.
    with transaction.atomic():
        _attempt_save(attempt)
        message = _still_there(message)
        if message is None:
            return None
        message.error_title = "Not confirmed by WhatsApp yet"
        message.error_details = details
        message.save(update_fields=["error_title", "error_details"])
        if publish:
            publish_message(message, None, "message.updated")
    return message


def _accepted(
    message: Message, wamid: str, attempt: SendAttempt | None = None, *, publish: bool = True
) -> Message | None:
    """WhatsApp took the message. Its status webhooks may have come first (matched
    through our id): what they said stands, a failure with WhatsApp's reason too.
    Only a failure the clock presumed (no answer came in time) gives way."""
    now = timezone.now()
    if (
        attempt is not None
        and message.status == Message.Status.SENDING
        and connection.vendor == "postgresql"
    ):
        with connection.cursor() as cursor:
            cursor.execute(
                _statements()["accepted"],
                {
                    "id": message.pk,
                    "attempt": attempt.pk,
                    "wamid": wamid,
                    "now": now,
                    "sending": Message.Status.SENDING,
                    "accepted": Message.Status.ACCEPTED,
                },
            )
            moved = cursor.fetchone()[0]
        if moved == 1:
            # The common case, in one statement: nothing else to apply.
            message.wamid = wamid
            message.status = Message.Status.ACCEPTED
            message.status_at = now
            message.error_code = None
            message.error_title = message.error_details = ""
            if publish:
                publish_message(message, None, "message.updated")
            return message
    with transaction.atomic():
        _attempt_save(attempt)
        message = _still_there(message)
        if message is None:
            return None
        if not message.wamid:
            message.wamid = wamid
        fields = ["wamid"]
        if STATUS_RANK[message.status] < STATUS_RANK[Message.Status.ACCEPTED] or _presumed_failed(
            message
        ):
            message.status = Message.Status.ACCEPTED
            message.status_at = now
            message.error_code = None
            message.error_title = ""
            message.error_details = ""
            fields += ["status", "status_at", "error_code", "error_title", "error_details"]
        message.save(update_fields=fields)
        waiting = list(
            StatusReport.objects.select_for_update().filter(wamid=message.wamid, applied=False)
        )
        if not (waiting and apply_reports(message, waiting)) and publish:
            publish_message(message, None, "message.updated")
    return message


def _presumed_failed(message: Message) -> bool:
    """Failed by the clock (``sends_interrupted_resolve``), not by WhatsApp's word."""
    if message.status != Message.Status.FAILED:
        return False
    reported = StatusReport.objects.filter(
        Q(message=message) | Q(wamid=message.wamid), status=Message.Status.FAILED
    )
    return not reported.exists()


def sends_interrupted_resolve(*, now: dt.datetime | None = None) -> int:
    """Outbound messages whose send never finished are marked failed, never sent again.

    A worker killed in the middle of a send, or a request WhatsApp never answered,
    leaves the message ``sending`` with an open (or unconfirmed) attempt. Once that
    attempt is older than ``SEND_STUCK_AFTER`` the message fails with the reason:
    it may have reached the customer, so only an operator decides to send it again.
    A status webhook that arrives later (our id travels as callback data) still
    moves it forward. Returns how many were marked.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.SEND_STUCK_AFTER_SECONDS)
    stuck = Message.objects.filter(
        status=Message.Status.SENDING,
        attempts__number=F("send_attempts"),
        attempts__started_at__lt=cutoff,
    ).values_list("pk", flat=True)
    marked = 0
    for pk in list(stuck[:500]):
        with transaction.atomic():
            message = Message.objects.select_for_update(of=("self",)).filter(pk=pk).first()
            if message is None or message.status != Message.Status.SENDING:
                continue
            attempt = message.attempts.filter(number=message.send_attempts).first()
            interrupted = attempt is not None and attempt.outcome == SendAttempt.Outcome.SENDING
            message.status = Message.Status.FAILED
            message.error_code = None
            message.error_title = (
                "Sending was interrupted"
                if interrupted
                else "WhatsApp never confirmed this message"
            )
            message.error_details = (
                "The send stopped before WhatsApp answered, so the message may or may not "
                "have reached the customer. Check the chat before sending it again."
            )
            message.status_at = now
            message.save(
                update_fields=["status", "error_code", "error_title", "error_details", "status_at"]
            )
            if interrupted:
                _attempt_end(
                    attempt, SendAttempt.Outcome.UNCONFIRMED, None, message.error_title, ""
                )
                _attempt_save(attempt)
            publish_message(message, None, "message.updated")
            marked += 1
    return marked


def sends_lost_requeue(*, now: dt.datetime | None = None) -> int:
    """Queue again the sends of queued messages nobody has tried for a long time
    (their job was lost with Redis' data). Harmless when the job still exists:
    a message leaves ``queued`` once, so a second job finds nothing to do."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.SEND_LOST_AFTER_SECONDS)
    recent_try = SendAttempt.objects.filter(message=OuterRef("pk"), started_at__gte=cutoff)
    lost = list(
        Message.objects.filter(
            direction=Message.Direction.OUT, status=Message.Status.QUEUED, created_at__lt=cutoff
        )
        .exclude(Exists(recent_try))
        .values_list("pk", flat=True)[:500]
    )
    for pk in lost:
        with transaction.atomic():
            enqueue_send(pk)
    return len(lost)
