"""Receiving the webhook: a signed delivery stored and its events applied in one
transaction (dead letters for what cannot be), contacts upserted, and a
customer's message stored in its conversation, which it opens again, routes and
may answer automatically.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import orjson
import phonenumbers
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from conversations import hooks
from conversations.enqueue import enqueue_media_download
from conversations.models import (
    FREE_ENTRY_WINDOW,
    Contact,
    Conversation,
    ConversationEvent,
    Message,
    PlatformEvent,
    WebhookDelivery,
    WhatsAppNumber,
)
from conversations.phones import phone_time_zone
from conversations.services.auto_replies import auto_reply_send_if_due
from conversations.services.common import (
    message_preview,
    publish_message,
    record_event,
    status_fields,
)
from conversations.services.consent import user_preferences_apply
from conversations.services.consent_messages import consent_apply_inbound
from conversations.services.errors import InvalidWebhookBody
from conversations.services.media import media_expect, reaction_apply_customer
from conversations.services.routing import conversation_route
from conversations.services.status_reports import message_status_apply
from whatsapp.events import (
    AccountEvent,
    Event,
    InboundMessage,
    PayloadError,
    Sender,
    StatusUpdate,
    TemplateUpdate,
    parse_webhook,
)

logger = logging.getLogger(__name__)


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
            stored = PlatformEvent.objects.create(
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
            hooks.platform_event(stored, event)
        elif isinstance(event, AccountEvent):
            stored = PlatformEvent.objects.create(
                field=event.field,
                waba_id=event.waba_id,
                phone_number_id=event.phone_number_id,
                event=str(event.data.get("event", "")),
                reason="; ".join(f"({e.code}) {e.title}" for e in event.errors),
                data=event.data,
                delivery=delivery,
            )
            if event.preferences:
                user_preferences_apply(event=event)
            hooks.platform_event(stored, event)
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
            time_zone=phone_time_zone(sender.wa_id),
        )
    changed = []
    if sender.user_id and not contact.user_id:
        contact.user_id = sender.user_id
        changed.append("user_id")
    if sender.wa_id and not contact.wa_id:
        contact.wa_id = sender.wa_id
        contact.phone, contact.country = _phone_and_country(sender.wa_id)
        contact.time_zone = phone_time_zone(sender.wa_id)
        changed += ["wa_id", "phone", "country", "time_zone"]
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


def _conversation_for(number: WhatsAppNumber, contact: Contact) -> tuple[Conversation, bool]:
    conversation = (
        Conversation.objects.select_for_update().filter(number=number, contact=contact).first()
    )
    created = conversation is None
    if conversation is None:
        # A new chat goes to the team its number routes to.
        conversation = Conversation.objects.create(
            number=number, contact=contact, team_id=number.team_id
        )
    conversation.number = number
    conversation.contact = contact
    return conversation, created


def conversation_for_contact(*, number: WhatsAppNumber, contact: Contact) -> Conversation:
    """The chat of ``contact`` on ``number``, started when there is none (routed to
    the number's team, as a customer's first message starts one): for the business
    writing first, as a campaign does."""
    with transaction.atomic():
        return _conversation_for(number, contact)[0]


def conversations_for_contacts(
    *, number: WhatsAppNumber, contacts: list[Contact]
) -> dict[int, Conversation]:
    """``conversation_for_contact`` for many contacts at once, per contact id: one
    query when every chat exists, three when some are started (a chat another
    process starts at the same time is read back, not started twice)."""
    by_contact = {c.pk: c for c in contacts}
    found = {
        conversation.contact_id: conversation
        for conversation in Conversation.objects.filter(number=number, contact_id__in=by_contact)
    }
    missing = [pk for pk in by_contact if pk not in found]
    if missing:
        Conversation.objects.bulk_create(
            [Conversation(number=number, contact_id=pk, team_id=number.team_id) for pk in missing],
            ignore_conflicts=True,
        )
        found.update(
            (conversation.contact_id, conversation)
            for conversation in Conversation.objects.filter(number=number, contact_id__in=missing)
        )
    for contact_id, conversation in found.items():
        conversation.number = number
        conversation.contact = by_contact[contact_id]
    return found


def message_receive_inbound(*, number: WhatsAppNumber, event: InboundMessage) -> Message | None:
    """Store a customer's message; None when this message id was already stored
    (the first delivery stands).

    A customer's message opens the chat again (resolved: "reopened", snoozed:
    "woke", pending: "customer_replied"), starts the customer's waiting time
    unless it runs already, and a click-to-WhatsApp ad's referral opens the
    72-hour window; a reaction only shows on its message (and moves the chat up).
    A new chat, or a reopened one nobody holds, is routed in its
    team (automatic assignment or the queue).

    Call inside a transaction: locks the conversation row. Raises IntegrityError
    when a concurrent delivery stores the same rows first (apply again then).
    Publishes ``message.created`` after commit.
    """
    if Message.objects.filter(wamid=event.wamid).exists():
        return None
    contact = contact_upsert(sender=event.sender)
    conversation, created = _conversation_for(number, contact)
    message = message_from_event(event, conversation_id=conversation.pk)
    message.conversation = conversation
    media_expect(message, event)
    message.save(force_insert=True)

    customer_wrote = event.type not in ("system",)
    # A reaction (a 👍 to "your parcel left") is shown on its message: it asks
    # nothing of the operators, so it neither counts as unread nor reopens the
    # chat nor starts a wait for an answer.
    asks_for_answer = customer_wrote and event.type != "reaction"
    fields = []
    if event.type != "reaction":
        conversation.unread_count += 1
        fields.append("unread_count")
    if conversation.last_message_at is None or event.timestamp >= conversation.last_message_at:
        conversation.last_message_at = event.timestamp
        conversation.last_message_text = message_preview(message)
        fields += ["last_message_at", "last_message_text"]
    if customer_wrote and (
        conversation.last_inbound_at is None or event.timestamp > conversation.last_inbound_at
    ):
        conversation.last_inbound_at = event.timestamp
        fields.append("last_inbound_at")
    status_change: dict[str, Any] | None = None
    if asks_for_answer and conversation.status != Conversation.Status.OPEN:
        status_change = {
            "from": conversation.status,
            "to": Conversation.Status.OPEN,
            "reason": WAKE_REASONS[conversation.status],
        }
        fields += status_fields(conversation, Conversation.Status.OPEN)
    if (
        asks_for_answer
        and (conversation.waiting_since is None or event.timestamp < conversation.waiting_since)
        and not _answered_since(conversation.pk, event.timestamp)
    ):
        # The customer waits from their oldest message after the operators' last
        # answer, whatever order the messages arrive in.
        conversation.waiting_since = event.timestamp
        fields.append("waiting_since")
    if event.referral:
        # A timestamp at the end of the calendar (a broken sender) keeps the window open.
        free_until = (
            event.timestamp + FREE_ENTRY_WINDOW
            if event.timestamp < _LATEST - FREE_ENTRY_WINDOW
            else _LATEST
        )
        if conversation.free_entry_until is None or free_until > conversation.free_entry_until:
            conversation.free_entry_until = free_until
            fields.append("free_entry_until")
    if fields:
        conversation.save(update_fields=list(dict.fromkeys(fields)))
    if status_change is not None:
        record_event(conversation, ConversationEvent.Kind.STATUS, actor=None, data=status_change)
    if (created or status_change) and conversation.assignee_id is None:
        conversation_route(conversation, now=timezone.now())
    publish_message(message, conversation, "message.created")
    hooks.messages_stored([message])
    if event.type == "reaction":
        reaction_apply_customer(conversation, event.reacted_wamid)
    if message.media_state == Message.Media.PENDING:
        enqueue_media_download(message.id)
    # A STOP, an opt-out button or an opt-in link's message is answered by its
    # confirmation (or needs none), not by the team's automatic reply.
    consent = consent_apply_inbound(conversation=conversation, message=message)
    if asks_for_answer and not consent:
        auto_reply_send_if_due(conversation=conversation)
    return message


_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


ANSWER_RESOLUTION = dt.timedelta(seconds=1)


def _answered_since(conversation_id: int, moment: dt.datetime) -> bool:
    """Whether an operator wrote in the chat after ``moment`` (a customer message
    delivered late may already have its answer). WhatsApp's timestamps are whole
    seconds: an answer within the same second cannot have answered it."""
    if moment >= _LATEST - ANSWER_RESOLUTION:
        return False  # a broken sender's end-of-calendar timestamp
    return Message.objects.filter(
        conversation_id=conversation_id,
        direction=Message.Direction.OUT,
        automatic=False,
        timestamp__gte=moment + ANSWER_RESOLUTION,
    ).exists()


WAKE_REASONS = {
    Conversation.Status.RESOLVED: "reopened",
    Conversation.Status.SNOOZED: "woke",
    Conversation.Status.PENDING: "customer_replied",
}


def message_from_event(event: InboundMessage, *, conversation_id: int) -> Message:
    """A customer's message as a row, not saved yet (the webhook's batched path
    saves many at once)."""
    error = event.errors[0] if event.errors else None
    return Message(
        conversation_id=conversation_id,
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
