"""Every write to contacts, conversations and messages.

Functions take keyword arguments, own their transaction, and publish what
changed through ``conversations.realtime`` (sent after commit).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import phonenumbers
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from conversations import jobs, realtime
from conversations.models import (
    STATUS_RANK,
    Contact,
    Conversation,
    Message,
    PlatformEvent,
    StatusReport,
    WebhookDelivery,
    WhatsAppNumber,
)
from conversations.serializers import conversation_payload, message_payload
from whatsapp import errors as wa_errors
from whatsapp.client import GraphAPIError, GraphClient, GraphUnreachable, text_message
from whatsapp.events import (
    AccountEvent,
    Event,
    InboundMessage,
    PayloadError,
    PlatformError,
    Sender,
    StatusUpdate,
    TemplateUpdate,
    parse_webhook,
)

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5


class ServiceError(Exception):
    """A request the rules refuse; ``code`` is machine-readable, the message is for people."""

    code = "invalid"
    http_status = 400


class WindowClosed(ServiceError):
    code = "window_closed"
    http_status = 409


class InvalidWebhookBody(ServiceError):
    code = "invalid_json"


class DuplicateNumber(ServiceError):
    code = "duplicate"
    http_status = 409


# --- Numbers ---------------------------------------------------------------


def number_register(
    *, phone_number_id: str, display_phone_number: str, waba_id: str, name: str
) -> WhatsAppNumber:
    """Register a business number so its webhooks are routed to the inbox.

    Raises ``DuplicateNumber`` when ``phone_number_id`` is already registered.
    """
    try:
        with transaction.atomic():
            return WhatsAppNumber.objects.create(
                phone_number_id=phone_number_id,
                display_phone_number=display_phone_number,
                waba_id=waba_id,
                name=name,
            )
    except IntegrityError as exc:
        raise DuplicateNumber(f"The number {phone_number_id} is already registered.") from exc


# --- Inbound webhooks --------------------------------------------------------


def webhook_receive(*, body: bytes) -> WebhookDelivery:
    """Store one signed delivery and apply every event in it, in one transaction.

    The caller has checked the signature. Repeated deliveries change nothing.
    Raises ``InvalidWebhookBody`` for a body that is not JSON (it is still kept
    as a dead letter). A JSON body that is not understood, or that names a
    number nobody registered, is kept as a dead letter and not raised.
    """
    text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        _dead_letter(text, f"invalid JSON: {exc}")
        raise InvalidWebhookBody(f"The body is not valid JSON: {exc}") from exc
    if b"\\u0000" in body:
        # PostgreSQL text and jsonb cannot hold NUL: keep the rest of the message.
        payload = _without_nul(payload)
    try:
        events = parse_webhook(payload)
    except PayloadError as exc:
        return _dead_letter(text, str(exc))
    for attempt in range(3):
        try:
            return _apply_events(text, events)
        except DataError as exc:
            # A value the platform would never send (an id too long, a number out
            # of range): storing it again cannot succeed, so keep it for inspection.
            return _dead_letter(text, f"a value cannot be stored: {exc}")
        except IntegrityError:
            # A concurrent delivery stored the same contact, conversation or
            # message first; the next pass finds those rows and skips them.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _dead_letter(text: str, reason: str) -> WebhookDelivery:
    logger.warning("webhook kept as dead letter: %s", reason)
    return WebhookDelivery.objects.create(
        body=text, outcome=WebhookDelivery.Outcome.DEAD_LETTER, reason=reason
    )


@transaction.atomic
def _apply_events(text: str, events: list[Event]) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        body=text, outcome=WebhookDelivery.Outcome.APPLIED, event_count=len(events)
    )
    numbers: dict[str, WhatsAppNumber | None] = {}
    unknown: set[str] = set()

    def number_for(phone_number_id: str) -> WhatsAppNumber | None:
        if phone_number_id not in numbers:
            numbers[phone_number_id] = WhatsAppNumber.objects.filter(
                phone_number_id=phone_number_id
            ).first()
        return numbers[phone_number_id]

    for event in events:
        if isinstance(event, InboundMessage):
            number = number_for(event.phone_number_id)
            if number is None:
                unknown.add(event.phone_number_id)
                continue
            message_receive_inbound(number=number, event=event)
        elif isinstance(event, StatusUpdate):
            if number_for(event.phone_number_id) is None:
                unknown.add(event.phone_number_id)
                continue
            message_status_apply(event=event)
        elif isinstance(event, TemplateUpdate):
            PlatformEvent.objects.create(
                field=event.field,
                waba_id=event.waba_id,
                template_id=event.template_id,
                template_name=event.name,
                template_language=event.language,
                event=event.event,
                reason=event.reason,
                data=event.data,
                delivery=delivery,
            )
        elif isinstance(event, AccountEvent):
            PlatformEvent.objects.create(
                field=event.field,
                waba_id=event.waba_id,
                phone_number_id=event.phone_number_id,
                event=str(event.data.get("event", "")),
                reason="; ".join(f"({e.code}) {e.title}" for e in event.errors),
                data=event.data,
                delivery=delivery,
            )
    if unknown:
        # Events for registered numbers were applied (applying again is harmless);
        # the delivery is kept so an admin can register the number and replay it.
        delivery.outcome = WebhookDelivery.Outcome.DEAD_LETTER
        delivery.reason = "no registered number for phone_number_id " + ", ".join(sorted(unknown))
        delivery.save(update_fields=["outcome", "reason"])
        logger.warning("webhook kept as dead letter: %s", delivery.reason)
    return delivery


def contact_upsert(*, sender: Sender) -> Contact:
    """The contact for ``sender``, created on first sight; the business-scoped
    user id and the phone-number id are both recorded as they become known."""
    contact = None
    if sender.user_id:
        contact = Contact.objects.filter(user_id=sender.user_id).first()
    if contact is None and sender.wa_id:
        contact = Contact.objects.filter(wa_id=sender.wa_id).first()
    if contact is None:
        # A concurrent first message from the same person makes this raise
        # IntegrityError; webhook_receive applies the delivery again.
        phone, country = _phone_and_country(sender.wa_id)
        return Contact.objects.create(
            wa_id=sender.wa_id,
            user_id=sender.user_id,
            profile_name=sender.profile_name,
            phone=phone,
            country=country,
        )
    changed = []
    if sender.user_id and not contact.user_id:
        contact.user_id = sender.user_id
        changed.append("user_id")
    if sender.wa_id and not contact.wa_id:
        contact.wa_id = sender.wa_id
        contact.phone, contact.country = _phone_and_country(sender.wa_id)
        changed += ["wa_id", "phone", "country"]
    if sender.profile_name and sender.profile_name != contact.profile_name:
        contact.profile_name = sender.profile_name
        changed.append("profile_name")
    if changed:
        contact.save(update_fields=changed)
    return contact


def _phone_and_country(wa_id: str) -> tuple[str, str]:
    if not wa_id:
        return "", ""
    try:
        parsed = phonenumbers.parse("+" + wa_id.lstrip("+"))
    except phonenumbers.NumberParseException:
        return "", ""
    # A number the library cannot place exactly still tells its country by its calling code.
    region = phonenumbers.region_code_for_number(
        parsed
    ) or phonenumbers.region_code_for_country_code(parsed.country_code)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, region if region and region != "ZZ" else ""


def _conversation_for(number: WhatsAppNumber, contact: Contact) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update().filter(number=number, contact=contact).first()
    )
    if conversation is None:
        conversation = Conversation.objects.create(number=number, contact=contact)
    conversation.number = number
    conversation.contact = contact
    return conversation


def message_receive_inbound(*, number: WhatsAppNumber, event: InboundMessage) -> Message | None:
    """Store a customer's message; None when this message id was already stored
    (the first delivery stands).

    Call inside a transaction: locks the conversation row. Raises IntegrityError
    when a concurrent delivery stores the same rows first (apply again then).
    Publishes ``message.created`` after commit.
    """
    if Message.objects.filter(wamid=event.wamid).exists():
        return None
    contact = contact_upsert(sender=event.sender)
    conversation = _conversation_for(number, contact)
    error = event.errors[0] if event.errors else None
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.IN,
        wamid=event.wamid,
        type=event.type,
        text=event.text,
        content=event.content,
        context_wamid=str((event.context or {}).get("id", "")),
        referral=event.referral,
        status=Message.Status.RECEIVED,
        error_code=error.code if error else None,
        error_title=error.title if error else "",
        error_details=error.details if error else "",
        timestamp=event.timestamp,
    )

    fields = ["unread_count"]
    conversation.unread_count += 1
    if conversation.last_message_at is None or event.timestamp >= conversation.last_message_at:
        conversation.last_message_at = event.timestamp
        conversation.last_message_text = _preview(message)
        fields += ["last_message_at", "last_message_text"]
    if event.type not in ("system",) and (
        conversation.last_inbound_at is None or event.timestamp > conversation.last_inbound_at
    ):
        conversation.last_inbound_at = event.timestamp
        fields.append("last_inbound_at")
    if conversation.status == Conversation.Status.RESOLVED:
        conversation.status = Conversation.Status.OPEN
        fields.append("status")
    conversation.save(update_fields=fields)
    _publish_message(message, conversation, "message.created")
    return message


def _preview(message: Message) -> str:
    text = message.text or f"[{message.type}]"
    return text[:200]


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
        if message is not None and not message.wamid:
            message.wamid = event.wamid
            message.save(update_fields=["wamid"])
    if message is None:
        return False
    return _apply_reports(message, [report])


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


def _apply_reports(message: Message, reports: list[StatusReport]) -> bool:
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
        changed = True
    if changed:
        message.save(
            update_fields=["status", "status_at", "error_code", "error_title", "error_details"]
        )
        _publish_message(message, None, "message.updated")
    return changed


def _publish_message(message: Message, conversation: Conversation | None, event_type: str) -> None:
    conversation_id = message.conversation_id
    payload: dict[str, Any] = {
        "conversation_id": conversation_id,
        "message": message_payload(message),
    }
    if conversation is not None:
        payload["conversation"] = conversation_payload(conversation)
    realtime.publish(event_type, payload, groups=realtime.groups_for_conversation(conversation_id))


def conversation_mark_read(*, conversation: Conversation, user: Any) -> Conversation:
    """The operator has seen the thread: its unread count drops to zero.

    Publishes ``conversation.updated`` after commit when the count changed.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("number", "contact", "assignee")
            .get(pk=conversation.pk)
        )
        if conversation.unread_count:
            conversation.unread_count = 0
            conversation.save(update_fields=["unread_count"])
            realtime.publish(
                "conversation.updated",
                {
                    "conversation_id": conversation.pk,
                    "conversation": conversation_payload(conversation),
                },
                groups=realtime.groups_for_conversation(conversation.pk),
            )
    return conversation


# --- Outbound ----------------------------------------------------------------


def message_send_text(
    *, conversation: Conversation, text: str, user: Any, reply_to: str = ""
) -> Message:
    """Queue a free-form text reply; the send job delivers it after commit.

    Raises ``WindowClosed`` when the customer's last message is more than 24
    hours old (only an approved template may be sent then).
    """
    text = text.strip()
    if not text:
        raise ServiceError("The message is empty.")
    if len(text) > 4096:
        raise ServiceError("A WhatsApp text message holds at most 4096 characters.")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.window_expires_at() is None:
            raise WindowClosed(
                "The 24-hour customer service window is closed: the customer last wrote "
                "more than 24 hours ago, so only an approved template can be sent."
            )
        now = timezone.now()
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUT,
            type="text",
            text=text,
            content={"body": text},
            context_wamid=reply_to,
            status=Message.Status.QUEUED,
            timestamp=now,
            sent_by=user if getattr(user, "pk", None) else None,
        )
        conversation.last_message_at = now
        conversation.last_message_text = _preview(message)
        conversation.unread_count = 0
        conversation.save(update_fields=["last_message_at", "last_message_text", "unread_count"])
        _publish_message(message, conversation, "message.created")
        jobs.enqueue_send(message.id)
    return message


@dataclass(frozen=True)
class DeliveryAttempt:
    message: Message | None
    retry_in: dt.timedelta | None = None


def graph_client() -> GraphClient:
    return GraphClient(
        base_url=settings.WHATSAPP_GRAPH_URL,
        access_token=settings.WHATSAPP_ACCESS_TOKEN,
        timeout=settings.WHATSAPP_HTTP_TIMEOUT,
    )


def message_deliver(*, message_id: Any, client: GraphClient | None = None) -> DeliveryAttempt:
    """Send one queued outbound message through the Graph API, at most once.

    The row is locked and moved to ``sending`` in its own transaction before the
    HTTP call, so a second run (a retried or duplicated job) finds it not
    queued and does nothing. Only a refusal that WhatsApp says is temporary, or
    a connection that never reached it, puts the message back in the queue.
    """
    with transaction.atomic():
        message = (
            # Only the message row: the joined number is shared by every send.
            Message.objects.select_for_update(of=("self",))
            .select_related("conversation__contact", "conversation__number")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.status != Message.Status.QUEUED:
            return DeliveryAttempt(message=message)
        message.status = Message.Status.SENDING
        message.send_attempts += 1
        message.save(update_fields=["status", "send_attempts"])

    conversation = message.conversation
    payload = text_message(
        conversation.contact.address,
        message.text,
        callback_data=str(message.id),
        reply_to=message.context_wamid,
    )
    client = client or graph_client()
    try:
        result = client.send_message(conversation.number.phone_number_id, payload)
    except GraphAPIError as exc:
        if exc.retryable and message.send_attempts < MAX_SEND_ATTEMPTS:
            return _requeue(message, exc.code, exc.title, exc.details)
        return DeliveryAttempt(message=_fail(message, exc.code, exc.title, exc.details))
    except GraphUnreachable as exc:
        if not exc.maybe_delivered and message.send_attempts < MAX_SEND_ATTEMPTS:
            return _requeue(message, None, "WhatsApp could not be reached", str(exc))
        if exc.maybe_delivered:
            return DeliveryAttempt(message=_unconfirmed(message, str(exc)))
        return DeliveryAttempt(
            message=_fail(message, None, "WhatsApp could not be reached", str(exc))
        )
    return DeliveryAttempt(message=_accepted(message, result.wamid))


def _requeue(message: Message, code: int | None, title: str, details: str) -> DeliveryAttempt:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED,
            error_code=code,
            error_title=title,
            error_details=details,
        )
    delay = dt.timedelta(seconds=min(2**message.send_attempts, 300))
    message.refresh_from_db()
    return DeliveryAttempt(message=message, retry_in=delay)


def _fail(message: Message, code: int | None, title: str, details: str) -> Message:
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        message.status = Message.Status.FAILED
        message.error_code = code
        message.error_title = wa_errors.meaning(code, title) if code else title
        message.error_details = details or title
        message.status_at = timezone.now()
        message.save(
            update_fields=["status", "error_code", "error_title", "error_details", "status_at"]
        )
        _publish_message(message, None, "message.updated")
    return message


def _unconfirmed(message: Message, details: str) -> Message:
    # The request may have reached WhatsApp: never send again. A status webhook
    # carrying our id as callback data will tell what happened.
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        message.error_title = "Not confirmed by WhatsApp yet"
        message.error_details = details
        message.save(update_fields=["error_title", "error_details"])
        _publish_message(message, None, "message.updated")
    return message


def _accepted(message: Message, wamid: str) -> Message:
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if not message.wamid:
            message.wamid = wamid
        if STATUS_RANK[message.status] < STATUS_RANK[Message.Status.ACCEPTED]:
            message.status = Message.Status.ACCEPTED
            message.status_at = timezone.now()
        message.error_code = None
        message.error_title = ""
        message.error_details = ""
        message.save(
            update_fields=[
                "wamid",
                "status",
                "status_at",
                "error_code",
                "error_title",
                "error_details",
            ]
        )
        waiting = list(
            StatusReport.objects.select_for_update().filter(wamid=message.wamid, applied=False)
        )
        if not (waiting and _apply_reports(message, waiting)):
            _publish_message(message, None, "message.updated")
    return message
