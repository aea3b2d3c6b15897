"""Every write to contacts, conversations and messages, and to the workspace
around them: assignment and routing, statuses, labels, notes, notifications,
timers and operators' presence.

Functions take keyword arguments, own their transaction, and publish what
changed through ``conversations.realtime`` (sent after commit). Every change to
a conversation's workflow is recorded as a ``ConversationEvent`` (actor None:
the system) and published as ``conversation.event``.

Lock order, to stay free of deadlocks: a conversation row, then team rows in id
order; queue draining takes a team row and then only skips locked conversations.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import mimetypes
import os
import posixpath
import re
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

import orjson
import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import DataError, IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import formats, timezone, translation
from django.utils.text import get_valid_filename

from conversations import calendars, jobs, realtime, selectors
from conversations.models import (
    FREE_ENTRY_WINDOW,
    STATUS_RANK,
    AgentConnection,
    AgentProfile,
    AutoReply,
    BusinessProfile,
    Contact,
    Conversation,
    ConversationEvent,
    Label,
    Message,
    Note,
    Notification,
    PlatformEvent,
    SendAttempt,
    StatusReport,
    Team,
    WebhookDelivery,
    WhatsAppNumber,
)
from conversations.serializers import (
    conversation_payload,
    event_payload,
    iso,
    message_payload,
    note_payload,
    notification_payload,
    team_summary,
    user_payload,
)
from whatsapp import client as wa_client
from whatsapp import errors as wa_errors
from whatsapp import profiles as wa_profiles
from whatsapp.client import (
    MEDIA_SEND_TYPES,
    MIME_ALIASES,
    SEND_MEDIA_RULES,
    GraphAPIError,
    GraphClient,
    GraphUnreachable,
    outbound_message,
    read_receipt,
    send_media_kind,
)
from whatsapp.events import (
    MEDIA_TYPES,
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


class AlreadyAssigned(ServiceError):
    code = "already_assigned"
    http_status = 409


class InvalidAssignee(ServiceError):
    code = "invalid_assignee"


class InvalidTeam(ServiceError):
    code = "invalid_team"


class InvalidLabel(ServiceError):
    code = "invalid_label"


class InvalidSnooze(ServiceError):
    code = "invalid_snooze"


class NotAllowed(ServiceError):
    code = "permission_denied"
    http_status = 403


class InvalidReplyTo(ServiceError):
    code = "invalid_reply_to"


class InvalidMedia(ServiceError):
    code = "invalid_media"


class InvalidReaction(ServiceError):
    code = "invalid_reaction"


class NotRetryable(ServiceError):
    code = "not_retryable"
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


# --- Business profile ----------------------------------------------------------

PROFILE_PUSH_ATTEMPTS = 6


class InvalidProfile(ServiceError):
    """Values WhatsApp would refuse; ``fields`` holds a sentence per field."""

    code = "invalid_profile"

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__(" ".join(f"{name}: {text}" for name, text in sorted(fields.items())))


class ProfileUnavailable(ServiceError):
    """WhatsApp did not give the business profile; the message says why."""

    code = "whatsapp_error"
    http_status = 502


@dataclass(frozen=True)
class ProfilePush:
    profile: BusinessProfile | None
    retry_in: dt.timedelta | None = None


def business_profile_update(
    *, number: WhatsAppNumber, user: Any, push: bool = True, **fields: Any
) -> BusinessProfile:
    """Change what customers see of ``number`` on WhatsApp: any of ``about``,
    ``description``, ``address``, ``email``, ``websites``, ``vertical``, and
    ``profile_picture`` (a file: JPEG or PNG, at most 5 MB).

    Only admins (or ``user`` None: the system) may. The profile is saved as
    ``pending`` and, after commit, a job pushes it to WhatsApp (``push=False``
    leaves that to ``manage.py push_business_profiles``). With no fields the
    whole profile, photo included, is sent again. Raises ``InvalidProfile``
    with a sentence per field WhatsApp would refuse.
    """
    if user is not None and not _may_edit_profiles(user):
        raise NotAllowed("Only admins may change a number's business profile.")
    unknown = set(fields) - {*wa_profiles.FIELDS, "profile_picture"}
    if unknown:
        raise ServiceError(f"Unknown profile fields: {', '.join(sorted(unknown))}.")
    values = {name: _profile_value(name, value) for name, value in fields.items()}
    photo = values.pop("profile_picture", None)
    problems = wa_profiles.problems(values)
    if photo is not None:
        problem = _photo_problem(photo)
        if problem:
            problems["profile_picture"] = problem
    if problems:
        raise InvalidProfile(problems)
    with transaction.atomic():
        profile, _ = BusinessProfile.objects.select_for_update().get_or_create(number=number)
        for name, value in values.items():
            setattr(profile, name, value)
        if photo is not None:
            data, _ = photo
            replaced = profile.profile_picture.name
            extension = "png" if wa_profiles.photo_type(data) == "image/png" else "jpg"
            profile.profile_picture.save(
                f"number-{number.pk}.{extension}", ContentFile(data), save=False
            )
            if replaced:
                storage = profile.profile_picture.storage
                transaction.on_commit(lambda: storage.delete(replaced))
            # Unknown until WhatsApp has the new photo and says where it serves it.
            profile.profile_picture_url = ""
        if not fields and profile.profile_picture:
            profile.profile_picture_url = ""
        profile.sync_state = BusinessProfile.Sync.PENDING
        profile.sync_error = ""
        profile.updated_at = timezone.now()
        profile.save()
        if push:
            jobs.enqueue_profile_push(number.pk)
    return profile


def _may_edit_profiles(user: Any) -> bool:
    return "admin" in selectors.user_roles(user) or bool(
        getattr(user, "is_active", False) and user.has_perm("conversations.change_businessprofile")
    )


def _profile_value(name: str, value: Any) -> Any:
    if name == "profile_picture":
        if value is None:
            return None
        value.seek(0)
        return (value.read(wa_profiles.PHOTO_MAX_BYTES + 1), getattr(value, "name", "") or "photo")
    if name == "websites" and isinstance(value, list | tuple):
        if all(isinstance(site, str) for site in value):
            return [site.strip() for site in value if site.strip()]
        return value
    if isinstance(value, str):
        return value.strip()
    return value


def _photo_problem(photo: tuple[bytes, str]) -> str:
    data, _ = photo
    if len(data) > wa_profiles.PHOTO_MAX_BYTES:
        return f"The photo may be at most {wa_profiles.PHOTO_MAX_BYTES // 2**20} MB."
    if wa_profiles.photo_type(data) is None:
        return "The photo must be a JPEG or PNG image."
    return ""


def business_profile_push(
    *, number_id: int, attempt: int = 1, client: GraphClient | None = None
) -> ProfilePush:
    """Send a ``pending`` profile to WhatsApp: a new photo first through the
    Resumable Upload API, then the fields. Ends ``synced`` (with ``synced_at``),
    or ``failed`` with WhatsApp's reason; a passing fault or no answer leaves it
    ``pending`` and asks to be tried again after ``retry_in``.

    Running it twice does no harm: a profile not pending is left alone, and an
    edit made while the request was out keeps the profile pending for its own push.
    """
    with transaction.atomic():
        profile = (
            BusinessProfile.objects.select_for_update(of=("self",))
            .select_related("number")
            .filter(number_id=number_id)
            .first()
        )
        if profile is None or profile.sync_state != BusinessProfile.Sync.PENDING:
            return ProfilePush(profile=profile)
    edited_at = profile.updated_at
    phone_number_id = profile.number.phone_number_id
    values: dict[str, Any] = {
        "about": profile.about,
        "address": profile.address,
        "description": profile.description,
        "email": profile.email,
        "websites": list(profile.websites or []),
        "vertical": profile.vertical,
    }
    # An empty value clears the field on WhatsApp, but only once WhatsApp and the
    # inbox agreed (synced or imported): before that it means "not set here", and
    # WhatsApp keeps what it has. An empty About cannot be sent at all.
    clears = profile.synced_at is not None
    body = {
        name: value
        for name, value in values.items()
        if value not in ("", [], BusinessProfile.Vertical.UNDEFINED) or (clears and name != "about")
    }
    client = client or graph_client()
    picture_url = profile.profile_picture_url
    try:
        if profile.profile_picture and not profile.profile_picture_url:
            with profile.profile_picture.open("rb") as photo:
                data = photo.read()
            body["profile_picture_handle"] = client.upload_file(
                data,
                wa_profiles.photo_type(data) or "image/jpeg",
                file_name=profile.profile_picture.name.rsplit("/", 1)[-1],
            )
        client.update_business_profile(phone_number_id, body)
        if "profile_picture_handle" in body:
            picture_url = str(
                client.get_business_profile(phone_number_id).get("profile_picture_url") or ""
            )
    except GraphAPIError as exc:
        reason = _profile_reason(exc.code, exc.title, exc.details)
        if exc.retryable and attempt < PROFILE_PUSH_ATTEMPTS:
            return _profile_retry(profile, attempt, reason)
        return ProfilePush(profile=_profile_failed(profile, edited_at, reason))
    except GraphUnreachable as exc:
        reason = f"WhatsApp could not be reached: {exc}"
        if attempt < PROFILE_PUSH_ATTEMPTS:
            return _profile_retry(profile, attempt, reason)
        return ProfilePush(profile=_profile_failed(profile, edited_at, reason))
    with transaction.atomic():
        profile = BusinessProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.updated_at == edited_at:
            profile.sync_state = BusinessProfile.Sync.SYNCED
            profile.sync_error = ""
            profile.synced_at = timezone.now()
            profile.profile_picture_url = picture_url
            profile.save(
                update_fields=["sync_state", "sync_error", "synced_at", "profile_picture_url"]
            )
    return ProfilePush(profile=profile)


def _profile_reason(code: int | None, title: str, details: str) -> str:
    said = title + (f" ({details})" if details and details != title else "")
    known = wa_errors.meaning(code, "")
    return f"{known} WhatsApp said: {said}" if known else said


def _profile_retry(profile: BusinessProfile, attempt: int, reason: str) -> ProfilePush:
    delay = dt.timedelta(seconds=min(5 * 2**attempt, 600))
    BusinessProfile.objects.filter(pk=profile.pk, sync_state=BusinessProfile.Sync.PENDING).update(
        sync_error=f"{reason} Trying again in {int(delay.total_seconds())} s."
    )
    profile.refresh_from_db()
    return ProfilePush(profile=profile, retry_in=delay)


def _profile_failed(
    profile: BusinessProfile, edited_at: dt.datetime, reason: str
) -> BusinessProfile:
    with transaction.atomic():
        profile = BusinessProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.updated_at == edited_at:
            profile.sync_state = BusinessProfile.Sync.FAILED
            profile.sync_error = reason
            profile.save(update_fields=["sync_state", "sync_error"])
    return profile


def business_profile_fetch(
    *, number: WhatsAppNumber, client: GraphClient | None = None
) -> BusinessProfile:
    """Import what WhatsApp shows of ``number`` into its profile, replacing the
    values kept here (the photo becomes the one WhatsApp serves): ``synced``.

    Raises ``ProfileUnavailable`` with the reason when WhatsApp does not answer
    with a profile.
    """
    try:
        remote = (client or graph_client()).get_business_profile(number.phone_number_id)
    except GraphAPIError as exc:
        raise ProfileUnavailable(_profile_reason(exc.code, exc.title, exc.details)) from exc
    except GraphUnreachable as exc:
        raise ProfileUnavailable(f"WhatsApp could not be reached: {exc}") from exc
    values: dict[str, Any] = {}
    for name in ("about", "address", "description", "email"):
        limit = BusinessProfile._meta.get_field(name).max_length
        values[name] = str(remote.get(name) or "")[:limit]
    websites = remote.get("websites")
    values["websites"] = [
        site for site in (websites if isinstance(websites, list) else []) if isinstance(site, str)
    ][: wa_profiles.WEBSITES_MAX]
    vertical = remote.get("vertical")
    values["vertical"] = (
        vertical
        if vertical in BusinessProfile.Vertical.values
        else BusinessProfile.Vertical.UNDEFINED
    )
    picture_url = str(remote.get("profile_picture_url") or "")
    now = timezone.now()
    with transaction.atomic():
        profile, _ = BusinessProfile.objects.select_for_update().get_or_create(number=number)
        for name, value in values.items():
            setattr(profile, name, value)
        profile.profile_picture = ""
        profile.profile_picture_url = picture_url[
            : BusinessProfile._meta.get_field("profile_picture_url").max_length
        ]
        profile.sync_state = BusinessProfile.Sync.SYNCED
        profile.sync_error = ""
        profile.synced_at = now
        profile.updated_at = now
        profile.save()
    return profile


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
    _media_expect(message, event)
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
        fields += _status_fields(conversation, Conversation.Status.OPEN)
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
        _record(conversation, ConversationEvent.Kind.STATUS, actor=None, data=status_change)
    if (created or status_change) and conversation.assignee_id is None:
        _route(conversation, now=timezone.now())
    publish_message(message, conversation, "message.created")
    if event.type == "reaction":
        _reaction_apply_customer(conversation, event.reacted_wamid)
    if message.media_state == Message.Media.PENDING:
        jobs.enqueue_media_download(message.id)
    if asks_for_answer:
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


def message_preview(message: Message) -> str:
    text = message.text or f"[{message.type}]"
    return text[:200]


# --- Media and reactions from customers ---------------------------------------

# Pauses before the second, third and fourth try at downloading a customer's file.
MEDIA_RETRY_DELAYS = (
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=10),
)
MEDIA_MAX_ATTEMPTS = len(MEDIA_RETRY_DELAYS) + 1
# Extensions the mimetypes module does not know (or would pick oddly) for WhatsApp's media.
_MEDIA_EXTENSIONS = {
    "audio/ogg": ".ogg",
    "audio/amr": ".amr",
    "audio/mp4": ".m4a",
    "video/3gpp": ".3gp",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "text/plain": ".txt",
}


class MediaNotRetryable(ServiceError):
    code = "media_not_failed"
    http_status = 409


@dataclass(frozen=True)
class MediaAttempt:
    message: Message | None
    retry_in: dt.timedelta | None = None


def media_client() -> wa_client.MediaClient:
    return wa_client.MediaClient(
        base_url=settings.WHATSAPP_GRAPH_URL,
        access_token=settings.WHATSAPP_ACCESS_TOKEN,
        timeout=settings.WHATSAPP_HTTP_TIMEOUT,
        media_hosts=settings.WHATSAPP_MEDIA_HOSTS,
    )


def _media_expect(message: Message, event: InboundMessage) -> None:
    """Mark a customer's media message as waiting for its file (not saved yet)."""
    if event.type not in MEDIA_TYPES:
        return
    if event.media_id:
        message.media_state = Message.Media.PENDING
    else:
        message.media_state = Message.Media.FAILED
        message.media_error = "WhatsApp did not say which file this is, so it cannot be fetched."


def media_download(*, message_id: Any, client: wa_client.MediaClient | None = None) -> MediaAttempt:
    """Fetch a customer's file from WhatsApp (media id -> URL -> bytes) into storage.

    Acts only on an inbound media message still ``pending``; running it twice
    does no harm (the second run, or a late duplicate, finds it no longer
    pending and keeps what the first stored). On success the file is in
    ``media_file``, ``media_state`` is ``ready``. On failure ``media_attempts``
    grows and ``media_error`` says why; while attempts remain and retrying can
    help, ``retry_in`` says when to try again, otherwise the state is
    ``failed``. Only the media fields change: the message stays as received.
    The HTTP calls run outside any transaction; each state change publishes
    ``message.updated``.
    """
    message = (
        Message.objects.filter(pk=message_id, direction=Message.Direction.IN)
        .only("id", "type", "content", "media_state")
        .first()
    )
    if message is None or message.media_state != Message.Media.PENDING:
        return MediaAttempt(message=message)
    content = message.content or {}
    media_id = str(content.get("id", ""))
    if not media_id:
        return _media_failed(message.pk, "WhatsApp did not say which file this is.", False)
    client = client or media_client()
    downloaded: wa_client.DownloadedMedia | None = None
    try:
        info = client.media_info(media_id)
        downloaded = client.download(info.url)
        expected = [_sha256_bytes(info.sha256), _sha256_bytes(str(content.get("sha256", "")))]
        if any(digest is not None and digest != downloaded.sha256 for digest in expected):
            raise _MediaMismatch(
                "The file WhatsApp sent does not match its checksum (damaged in transit)."
            )
        name = _media_filename(content, media_id, info.mime_type)
        return MediaAttempt(message=_media_store(message.pk, name, downloaded))
    except wa_client.MediaRefused as exc:
        return _media_failed(message.pk, str(exc), retryable=False)
    except _MediaMismatch as exc:
        return _media_failed(message.pk, str(exc), retryable=True)
    except wa_client.GraphAPIError as exc:
        # A refusal of the media id or the token stays a refusal; server errors
        # and error pages from the download host may pass.
        passing = exc.retryable or exc.code is None
        reason = wa_errors.meaning(exc.code, exc.title) if exc.code else exc.title
        return _media_failed(message.pk, f"WhatsApp refused the download: {reason}", passing)
    except wa_client.GraphUnreachable as exc:
        return _media_failed(message.pk, str(exc), retryable=True)
    finally:
        if downloaded is not None:
            downloaded.close()


class _MediaMismatch(Exception):
    pass


def _sha256_bytes(value: str) -> bytes | None:
    """A SHA-256 as WhatsApp writes it: hex (media URL answers) or base64 (webhooks).
    None when there is none to check against."""
    value = value.strip()
    if len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == 32 else None


def _media_filename(content: dict[str, Any], media_id: str, mime_type: str) -> str:
    """A safe storage name: the customer's file name for documents, else the media
    id with the extension its type usually has."""
    mime = (str(content.get("mime_type") or "") or mime_type).split(";")[0].strip().lower()
    extension = _MEDIA_EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ""
    original = posixpath.basename(str(content.get("filename") or "").replace("\\", "/"))
    try:
        name = get_valid_filename(original) if original else ""
    except SuspiciousFileOperation:
        name = ""
    if not name:
        name = get_valid_filename(f"{media_id or 'media'}{extension}")
    stem, ext = posixpath.splitext(name)
    return f"{stem[:80]}{ext[:16]}"


def _media_store(
    message_id: Any, name: str, downloaded: wa_client.DownloadedMedia
) -> Message | None:
    with transaction.atomic():
        message = Message.objects.select_for_update(of=("self",)).filter(pk=message_id).first()
        if message is None or message.media_state != Message.Media.PENDING:
            return message  # another run stored it, or an operator's retry is under way
        message.media_file.save(name, File(downloaded.file, name=name), save=False)
        message.media_state = Message.Media.READY
        message.media_size = downloaded.size
        message.media_error = ""
        message.save(update_fields=["media_file", "media_state", "media_size", "media_error"])
        publish_message(message, None, "message.updated")
    return message


def _media_failed(message_id: Any, reason: str, retryable: bool) -> MediaAttempt:
    with transaction.atomic():
        message = Message.objects.select_for_update(of=("self",)).filter(pk=message_id).first()
        if message is None or message.media_state != Message.Media.PENDING:
            return MediaAttempt(message=message)
        message.media_attempts += 1
        message.media_error = reason[:1000]
        retry_in = None
        if retryable and message.media_attempts < MEDIA_MAX_ATTEMPTS:
            retry_in = MEDIA_RETRY_DELAYS[message.media_attempts - 1]
        else:
            message.media_state = Message.Media.FAILED
        message.save(update_fields=["media_attempts", "media_error", "media_state"])
        publish_message(message, None, "message.updated")
    logger.info("media of message %s not downloaded: %s", message_id, reason)
    return MediaAttempt(message=message, retry_in=retry_in)


def media_download_retry(*, message: Message) -> Message:
    """An operator asks for a customer's file again after the download failed:
    the attempts start over and the download job runs after commit.

    Raises ``MediaNotRetryable`` unless the download has failed. Publishes
    ``message.updated``."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("sent_by")
            .get(pk=message.pk)
        )
        if (
            message.direction != Message.Direction.IN
            or message.media_state != Message.Media.FAILED
            or not (message.content or {}).get("id")
        ):
            raise MediaNotRetryable("Only a file whose download failed can be fetched again.")
        message.media_state = Message.Media.PENDING
        message.media_attempts = 0
        message.media_error = ""
        message.save(update_fields=["media_state", "media_attempts", "media_error"])
        publish_message(message, None, "message.updated")
        jobs.enqueue_media_download(message.id)
    return message


def _reaction_apply_customer(conversation: Conversation, target_wamid: str) -> None:
    """Show the customer's current reaction on the message it targets.

    The customer's newest reaction to it (by the platform's time, whatever the
    order of delivery) wins; an empty emoji removes it. A target not stored
    (yet) leaves nothing to show. Publishes ``message.updated`` for the target
    when its reactions changed."""
    if not target_wamid:
        return
    target = (
        Message.objects.select_for_update(of=("self",))
        .select_related("sent_by")
        .filter(wamid=target_wamid, conversation=conversation)
        .first()
    )
    if target is None:
        return
    latest = (
        Message.objects.filter(
            conversation=conversation,
            direction=Message.Direction.IN,
            type="reaction",
            content__message_id=target_wamid,
        )
        .order_by("-timestamp", "-created_at")
        .values_list("content", flat=True)
        .first()
    )
    emoji = str((latest or {}).get("emoji") or "")
    reactions = dict(target.reactions or {})
    if emoji:
        reactions["customer"] = emoji
    else:
        reactions.pop("customer", None)
    if reactions == (target.reactions or {}):
        return
    target.reactions = reactions or None
    target.save(update_fields=["reactions"])
    publish_message(target, conversation, "message.updated")


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
    return _apply_reports(message, [report])


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
        publish_message(message, None, "message.updated")
    return changed


def publish_message(message: Message, conversation: Conversation | None, event_type: str) -> None:
    conversation_id = message.conversation_id
    payload: dict[str, Any] = {
        "conversation_id": conversation_id,
        "message": message_payload(message),
    }
    if conversation is not None:
        payload["conversation"] = conversation_payload(conversation)
        groups = _groups(conversation)
    else:
        team_id, assignee_id = (
            Conversation.objects.filter(pk=conversation_id)
            .values_list("team_id", "assignee_id")
            .get()
        )
        groups = realtime.groups_for_conversation(team_id=team_id, assignee_id=assignee_id)
    realtime.publish(event_type, payload, groups=groups)


def conversation_mark_read(*, conversation: Conversation, user: Any) -> Conversation:
    """The operator has seen the thread: its unread count drops to zero.

    Publishes ``conversation.updated`` after commit when the count changed.
    """
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.unread_count:
            conversation.unread_count = 0
            conversation.save(update_fields=["unread_count"])
            _publish_conversation(conversation)
        _read_receipt_enqueue(conversation)
    return conversation


# --- Outbound ----------------------------------------------------------------


def message_send_text(
    *, conversation: Conversation, text: str, user: Any, reply_to: str | Message | None = ""
) -> Message:
    """Queue a free-form text reply; the send job delivers it after commit. The
    customer is no longer waiting (``waiting_since`` and ``escalated_at`` clear).

    Raises ``WindowClosed`` when the customer's last message is more than 24
    hours old (only an approved template may be sent then). ``reply_to`` (our
    message id, or its wamid) quotes a message of this chat: ``InvalidReplyTo``
    when it is not one that reached WhatsApp.
    """
    text = text.strip()
    if not text:
        raise ServiceError("The message is empty.")
    if len(text) > 4096:
        raise ServiceError("A WhatsApp text message holds at most 4096 characters.")
    with transaction.atomic():
        conversation = _locked(conversation.pk)
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
            context_wamid=_reply_context(conversation, reply_to),
            status=Message.Status.QUEUED,
            timestamp=now,
            sent_by=user if getattr(user, "pk", None) else None,
        )
        _queued_in_conversation(conversation, message)
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


def message_deliver(
    *, message_id: Any, client: GraphClient | None = None, requested_by_id: int | None = None
) -> DeliveryAttempt:
    """Send one queued outbound message (of any type) through the Graph API, at most once.

    The row is locked and moved to ``sending`` in its own transaction before the
    HTTP call, so a second run (a retried or duplicated job) finds it not
    queued and does nothing. Each run that goes on records a ``SendAttempt``
    (``requested_by_id``: who asked for a manual retry). A file is uploaded
    first, once: its media id is kept in ``content["id"]``, so a later try sends
    it by that id. Only a refusal that WhatsApp says is temporary, or a request
    that never reached it, puts the message back in the queue.
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
        attempt = SendAttempt.objects.create(
            message=message, number=message.send_attempts, requested_by_id=requested_by_id
        )

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
            return _requeue(message, exc.code, exc.title, exc.details)
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, exc.code, exc.title, exc.details)
        return DeliveryAttempt(message=_fail(message, exc.code, exc.title, exc.details))
    except GraphUnreachable as exc:
        # An upload that may have arrived does no harm when repeated.
        title = "WhatsApp could not be reached"
        if may_retry:
            _attempt_end(attempt, SendAttempt.Outcome.RETRY, None, title, str(exc))
            return _requeue(message, None, title, str(exc))
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, None, title, str(exc))
        return DeliveryAttempt(message=_fail(message, None, title, str(exc)))
    except (ValueError, OSError) as exc:
        title = "The message could not be prepared for WhatsApp"
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, None, title, str(exc))
        return DeliveryAttempt(message=_fail(message, None, title, str(exc)))
    try:
        result = client.send_message(conversation.number.phone_number_id, payload)
    except GraphAPIError as exc:
        if exc.retryable and may_retry:
            _attempt_end(attempt, SendAttempt.Outcome.RETRY, exc.code, exc.title, exc.details)
            return _requeue(message, exc.code, exc.title, exc.details)
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, exc.code, exc.title, exc.details)
        return DeliveryAttempt(message=_fail(message, exc.code, exc.title, exc.details))
    except GraphUnreachable as exc:
        title = "WhatsApp could not be reached"
        if not exc.maybe_delivered and may_retry:
            _attempt_end(attempt, SendAttempt.Outcome.RETRY, None, title, str(exc))
            return _requeue(message, None, title, str(exc))
        if exc.maybe_delivered:
            _attempt_end(
                attempt, SendAttempt.Outcome.UNCONFIRMED, None, "No answer from WhatsApp", str(exc)
            )
            return DeliveryAttempt(message=_unconfirmed(message, str(exc)))
        _attempt_end(attempt, SendAttempt.Outcome.FAILED, None, title, str(exc))
        return DeliveryAttempt(message=_fail(message, None, title, str(exc)))
    _attempt_end(attempt, SendAttempt.Outcome.ACCEPTED, wamid=result.wamid)
    return DeliveryAttempt(message=_accepted(message, result.wamid))


def _attempts_this_round(message: Message) -> int:
    """Tries since the latest manual retry (or the first send): automatic retries
    start afresh after an operator asked to send again."""
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
    attempt.outcome = outcome
    attempt.finished_at = timezone.now()
    attempt.wamid = wamid
    attempt.error_code = code
    attempt.error_title = title[:255]
    attempt.error_details = details
    # An update, not a save: the chat may have been deleted while WhatsApp answered.
    SendAttempt.objects.filter(pk=attempt.pk).update(
        outcome=attempt.outcome,
        finished_at=attempt.finished_at,
        wamid=wamid,
        error_code=code,
        error_title=attempt.error_title,
        error_details=details,
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


def _requeue(message: Message, code: int | None, title: str, details: str) -> DeliveryAttempt:
    with transaction.atomic():
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


def _fail(message: Message, code: int | None, title: str, details: str) -> Message | None:
    with transaction.atomic():
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
        publish_message(message, None, "message.updated")
    return message


def _unconfirmed(message: Message, details: str) -> Message | None:
    # The request may have reached WhatsApp: never send again. A status webhook
    # carrying our id as callback data will tell what happened.
    with transaction.atomic():
        message = _still_there(message)
        if message is None:
            return None
        message.error_title = "Not confirmed by WhatsApp yet"
        message.error_details = details
        message.save(update_fields=["error_title", "error_details"])
        publish_message(message, None, "message.updated")
    return message


def _accepted(message: Message, wamid: str) -> Message | None:
    with transaction.atomic():
        message = _still_there(message)
        if message is None:
            return None
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
            publish_message(message, None, "message.updated")
    return message


# --- Outbound: files, replies, reactions, retries, read receipts, typing ----------

WINDOW_CLOSED_TEXT = (
    "The 24-hour customer service window is closed: the customer last wrote "
    "more than 24 hours ago, so only an approved template can be sent."
)
CAPTION_MAX = 1024
# File signatures of the image types WhatsApp accepts: a file that only claims
# to be one would be refused by the platform after the upload.
_IMAGE_SIGNATURES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}
# A read receipt per customer message is sent once; WhatsApp keeps a message
# markable for 30 days.
READ_RECEIPT_MEMORY = 30 * 24 * 3600
TYPING_EVERY_SECONDS = 20


def _reply_context(conversation: Conversation, reply_to: str | Message | None) -> str:
    """The wamid quoted by a reply: ``reply_to`` is a message of this chat (the
    row, our id, or its wamid) that reached WhatsApp."""
    if reply_to is None or reply_to == "":
        return ""
    if isinstance(reply_to, Message):
        target: Message | None = reply_to if reply_to.conversation_id == conversation.pk else None
    else:
        try:
            by = Q(pk=uuid.UUID(str(reply_to)))
        except ValueError:
            by = Q(wamid=str(reply_to))
        target = Message.objects.filter(by, conversation_id=conversation.pk).first()
    if target is None or not target.wamid or target.type in ("reaction", "system"):
        raise InvalidReplyTo("Only a message of this chat that reached WhatsApp can be replied to.")
    return target.wamid


def _queued_in_conversation(conversation: Conversation, message: Message) -> None:
    """An operator's message is queued: the chat's preview moves, the customer is
    no longer waiting, and the send job runs after commit. Conversation row locked."""
    conversation.last_message_at = message.timestamp
    conversation.last_message_text = message_preview(message)
    conversation.unread_count = 0
    conversation.waiting_since = None
    conversation.escalated_at = None
    conversation.save(
        update_fields=[
            "last_message_at",
            "last_message_text",
            "unread_count",
            "waiting_since",
            "escalated_at",
        ]
    )
    publish_message(message, conversation, "message.created")
    jobs.enqueue_send(message.id)


def _upload_kind(file: UploadedFile) -> tuple[str, str]:
    """The message type and mime type of an operator's file; ``InvalidMedia`` when
    WhatsApp does not accept it."""
    name = os.path.basename(file.name or "")
    declared = (getattr(file, "content_type", "") or "").split(";")[0].strip().lower()
    if declared in ("", "application/octet-stream"):
        declared = (mimetypes.guess_type(name)[0] or declared).lower()
    mime_type = MIME_ALIASES.get(declared, declared)
    kind = send_media_kind(mime_type)
    if kind is None:
        raise InvalidMedia(
            f"WhatsApp does not accept {mime_type or 'this kind of'} files: send JPEG or PNG "
            "images, AAC, AMR, MP3, M4A or OGG audio, MP4 or 3GP video, or a PDF, text or "
            "office document."
        )
    limit = SEND_MEDIA_RULES[kind][1]
    size = file.size or 0
    if size == 0:
        raise InvalidMedia("The file is empty.")
    if size > limit:
        raise InvalidMedia(
            f"The file is too large: WhatsApp accepts {kind} files up to "
            f"{limit // 2**20} MB, this one has {size / 2**20:.1f} MB."
        )
    signatures = _IMAGE_SIGNATURES.get(mime_type)
    if signatures:
        file.seek(0)
        head = file.read(16)
        file.seek(0)
        if not head.startswith(signatures):
            raise InvalidMedia(f"The file is not really a {mime_type.split('/')[1].upper()} image.")
    return kind, mime_type


def message_send_media(
    *,
    conversation: Conversation,
    user: Any,
    file: UploadedFile,
    caption: str = "",
    reply_to: str | Message | None = None,
) -> Message:
    """Queue a file as an image, audio, video or document message (chosen from
    its type); the send job uploads it to WhatsApp once and sends it by media id.

    The bytes are stored with the message at once (``media_state`` ready), so
    the thread shows them through the media URL. The customer is no longer
    waiting. Raises ``InvalidMedia`` for a type or size WhatsApp refuses,
    ``WindowClosed`` like ``message_send_text``, ``InvalidReplyTo`` for a
    ``reply_to`` that is not a message of this chat on WhatsApp. Publishes
    ``message.created``."""
    caption = (caption or "").strip()
    kind, mime_type = _upload_kind(file)
    if caption and kind == "audio":
        raise InvalidMedia("WhatsApp shows no caption with audio: send the text on its own.")
    if len(caption) > CAPTION_MAX:
        raise InvalidMedia(f"A caption holds at most {CAPTION_MAX} characters.")
    filename = (
        os.path.basename(file.name or "")[:200]
        or f"file{mimetypes.guess_extension(mime_type) or ''}"
    )
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.window_expires_at() is None:
            raise WindowClosed(WINDOW_CLOSED_TEXT)
        now = timezone.now()
        message = Message(
            conversation=conversation,
            direction=Message.Direction.OUT,
            type=kind,
            text=caption,
            content={"mime_type": mime_type, "filename": filename, "caption": caption},
            context_wamid=_reply_context(conversation, reply_to),
            status=Message.Status.QUEUED,
            timestamp=now,
            sent_by=user if getattr(user, "pk", None) else None,
            media_state=Message.Media.READY,
            media_size=file.size,
        )
        extension = os.path.splitext(filename)[1].lower()[:10] or (
            mimetypes.guess_extension(mime_type) or ""
        )
        file.seek(0)
        message.media_file.save(f"{message.id.hex}{extension}", file, save=False)
        message.save(force_insert=True)
        _queued_in_conversation(conversation, message)
    return message


def message_react(*, message: Message, user: Any, emoji: str) -> Message:
    """React to a message of the chat on WhatsApp (an empty ``emoji`` removes the
    business's reaction). The reaction is an outbound message of type
    ``reaction`` sent by the same job; the target's ``reactions["business"]``
    changes at once. It is not an answer: the customer's waiting time goes on.

    Raises ``WindowClosed`` outside the window (WhatsApp refuses reactions
    then), ``InvalidReaction`` for a target that never reached WhatsApp or for
    something that is not an emoji. Publishes ``message.created`` for the
    reaction and ``message.updated`` for the target."""
    emoji = (emoji or "").strip()
    if len(emoji) > 16 or any(char.isascii() and char.isalnum() for char in emoji):
        raise InvalidReaction("A reaction is a single emoji.")
    with transaction.atomic():
        conversation = _locked(message.conversation_id)
        target = Message.objects.select_for_update(of=("self",)).get(pk=message.pk)
        if not target.wamid or target.type in ("reaction", "system"):
            raise InvalidReaction("Only a message that reached WhatsApp can get a reaction.")
        if conversation.window_expires_at() is None:
            raise WindowClosed(WINDOW_CLOSED_TEXT)
        now = timezone.now()
        reaction = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUT,
            type="reaction",
            text=emoji,
            content={"message_id": target.wamid, "emoji": emoji},
            status=Message.Status.QUEUED,
            timestamp=now,
            sent_by=user if getattr(user, "pk", None) else None,
        )
        reactions = dict(target.reactions or {})
        if emoji:
            reactions["business"] = emoji
        else:
            reactions.pop("business", None)
        target.reactions = reactions or None
        target.save(update_fields=["reactions"])
        publish_message(reaction, conversation, "message.created")
        publish_message(target, conversation, "message.updated")
        jobs.enqueue_send(reaction.id)
    return reaction


def message_retry(*, message: Message, user: Any) -> Message:
    """Send a failed message again: back to ``queued`` with its error and wamid
    cleared (late reports of the earlier try are kept, not applied), and the send
    job records a new attempt requested by ``user``. A file WhatsApp could not
    take is uploaded again.

    Raises ``NotRetryable`` when the message has not failed, or trying again
    cannot help (see ``selectors.message_retryable``). Publishes
    ``message.updated``."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("conversation")
            .get(pk=message.pk)
        )
        if not selectors.message_retryable(message):
            if message.status != Message.Status.FAILED or message.direction != "out":
                raise NotRetryable("Only a message that failed to send can be sent again.")
            if message.conversation.window_expires_at() is None:
                raise NotRetryable(WINDOW_CLOSED_TEXT)
            raise NotRetryable(
                "Sending it again would fail the same way: "
                + (message.error_title or "WhatsApp refused it.")
            )
        if message.error_code in wa_errors.MEDIA_ERROR_CODES and message.media_file:
            message.content = {k: v for k, v in (message.content or {}).items() if k != "id"}
        message.status = Message.Status.QUEUED
        message.wamid = None
        message.error_code = None
        message.error_title = ""
        message.error_details = ""
        message.status_at = timezone.now()
        message.save(
            update_fields=[
                "status",
                "wamid",
                "error_code",
                "error_title",
                "error_details",
                "status_at",
                "content",
            ]
        )
        publish_message(message, None, "message.updated")
        jobs.enqueue_send(message.id, requested_by=user)
    return message


def _latest_inbound_wamid(conversation: Conversation) -> str | None:
    return (
        Message.objects.filter(
            conversation_id=conversation.pk, direction=Message.Direction.IN, wamid__isnull=False
        )
        .exclude(type="system")
        .order_by("-timestamp", "-created_at")
        .values_list("wamid", flat=True)
        .first()
    )


def _read_key(wamid: str) -> str:
    return f"whatsapp:read:{wamid}"


def _read_receipt_enqueue(conversation: Conversation) -> None:
    """The operator opened the chat: WhatsApp shows the customer's latest message
    (and those before it) as read, once per message."""
    wamid = _latest_inbound_wamid(conversation)
    if wamid and cache.get(_read_key(wamid)) is None:
        jobs.enqueue_read_receipt(conversation.pk, wamid)


def conversation_typing(*, conversation: Conversation, user: Any) -> bool:
    """The operator is typing: the customer sees the typing indicator (which also
    marks their latest message read). At most once per 20 seconds per chat, only
    while the window is open and the customer has written; True when sent."""
    if conversation.window_expires_at() is None:
        return False
    wamid = _latest_inbound_wamid(conversation)
    if not wamid:
        return False
    if not cache.add(f"whatsapp:typing:{conversation.pk}", 1, TYPING_EVERY_SECONDS):
        return False
    jobs.enqueue_read_receipt(conversation.pk, wamid, typing=True)
    return True


def read_receipt_send(
    *, conversation_id: int, wamid: str, typing: bool = False, client: GraphClient | None = None
) -> bool:
    """Tell WhatsApp the customer's message ``wamid`` was read (with ``typing``,
    also show the typing indicator). A read receipt goes once per message: the
    key is taken before the call and given back when it fails, so the next
    opening tries again. True when WhatsApp took it."""
    key = _read_key(wamid)
    if not typing and not cache.add(key, 1, READ_RECEIPT_MEMORY):
        return False
    phone_number_id = (
        Conversation.objects.filter(pk=conversation_id)
        .values_list("number__phone_number_id", flat=True)
        .first()
    )
    if phone_number_id is None:
        return False
    try:
        (client or graph_client()).mark_read(phone_number_id, read_receipt(wamid, typing=typing))
    except (GraphAPIError, GraphUnreachable) as exc:
        if not typing:
            cache.delete(key)
        logger.warning("read receipt for %s not sent: %s", wamid, exc)
        return False
    if typing:
        cache.set(key, 1, READ_RECEIPT_MEMORY)
    return True


# --- Workspace: shared helpers --------------------------------------------------

User = get_user_model()
UNSET: Any = object()
DEFAULT_CAPACITY: int = AgentProfile._meta.get_field("capacity").default


def _locked(pk: int) -> Conversation:
    """The conversation, its row locked, with what its payload needs joined."""
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("number", "contact", "assignee", "team")
        .get(pk=pk)
    )


def _groups(conversation: Conversation) -> tuple[str, ...]:
    return realtime.groups_for_conversation(
        team_id=conversation.team_id, assignee_id=conversation.assignee_id
    )


def _publish_conversation(conversation: Conversation, *, also: tuple[str, ...] = ()) -> None:
    """``conversation.updated`` to whoever may see it now, and to ``also`` (who saw it
    before a transfer, so their lists drop it)."""
    realtime.publish(
        "conversation.updated",
        {"conversation_id": conversation.pk, "conversation": conversation_payload(conversation)},
        groups=(*_groups(conversation), *also),
    )


def _record(
    conversation: Conversation,
    kind: str,
    *,
    actor: Any,
    data: dict[str, Any],
    now: dt.datetime | None = None,
    also: tuple[str, ...] = (),
) -> ConversationEvent:
    """Store one change of the conversation and publish it as ``conversation.event``."""
    event = ConversationEvent.objects.create(
        conversation=conversation,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        data=data,
        created_at=now or timezone.now(),
    )
    realtime.publish(
        "conversation.event",
        {"conversation_id": conversation.pk, "event": event_payload(event)},
        groups=(*_groups(conversation), *also),
    )
    return event


def _display_name(user: Any) -> str:
    return user.get_full_name() or user.username


def _status_fields(
    conversation: Conversation, status: str, snoozed_until: dt.datetime | None = None
) -> list[str]:
    """Move ``conversation`` to ``status`` in memory; the fields to save.

    A resolved chat leaves the queue and nobody waits on it any more."""
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == Conversation.Status.SNOOZED else None
    fields = ["status", "snoozed_until"]
    if status == Conversation.Status.RESOLVED:
        conversation.waiting_since = None
        conversation.escalated_at = None
        conversation.queued_at = None
        fields += ["waiting_since", "escalated_at", "queued_at"]
    return fields


def agent_profile(user: Any) -> AgentProfile:
    """The user's agent profile, created with the defaults on first use."""
    profile = getattr(user, "agent", None)
    if profile is None:
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        user.agent = profile
    return profile


def _may_work_on(user: Any, team: Team | None) -> bool:
    """Whether ``user`` may see a chat of ``team`` without being its assignee."""
    access = selectors.access_for(user)
    return access.member and (access.supervisor or team is None or team.pk in access.team_ids)


# --- Routing, automatic assignment and the team queue ------------------------


def _eligible_operators(
    team: Team, *, now: dt.datetime, exclude_ids: tuple[int, ...] = ()
) -> list[Any]:
    """Members of ``team`` who are online and below their capacity, by id."""
    statuses = list(selectors.ACTIVE_STATUSES)
    if team.capacity_counts_waiting:
        statuses += list(selectors.WAITING_STATUSES)
    active = (
        Conversation.objects.filter(assignee=OuterRef("pk"), status__in=statuses)
        .order_by()
        .values("assignee")
        .annotate(n=Count("id"))
        .values("n")
    )
    return list(
        team.members.filter(pk__in=selectors.users_in_roles().values("pk"))
        .filter(selectors.fresh_connection(now))
        .exclude(agent__presence__in=[AgentProfile.Presence.AWAY, AgentProfile.Presence.OFFLINE])
        .exclude(pk__in=[pk for pk in exclude_ids if pk is not None])
        .annotate(
            active_chats=Coalesce(Subquery(active), 0),
            chat_capacity=Coalesce(F("agent__capacity"), DEFAULT_CAPACITY),
        )
        .filter(active_chats__lt=F("chat_capacity"))
        .order_by("pk")
    )


def _next_operator(
    team: Team, *, now: dt.datetime, exclude_ids: tuple[int, ...] = ()
) -> Any | None:
    """Round robin: the first eligible operator after the one who got the team's
    previous chat (by user id, wrapping around). Lock the team row first."""
    candidates = _eligible_operators(team, now=now, exclude_ids=exclude_ids)
    if not candidates:
        return None
    last = team.last_assigned_id
    after = [user for user in candidates if last is None or user.pk > last]
    return (after or candidates)[0]


def _give_to(
    conversation: Conversation,
    team: Team,
    operator: Any,
    *,
    now: dt.datetime,
    reason: str,
    also: tuple[str, ...] = (),
) -> None:
    """Assign by the system and move the team's round robin pointer."""
    previous = conversation.assignee if conversation.assignee_id else None
    old_groups = (*_groups(conversation), *also)
    conversation.assignee = operator
    conversation.queued_at = None
    conversation.save(update_fields=["assignee", "queued_at"])
    team.last_assigned = operator
    team.save(update_fields=["last_assigned"])
    _record(
        conversation,
        ConversationEvent.Kind.ASSIGNED,
        actor=None,
        data={"assignee": user_payload(operator), "from": user_payload(previous), "reason": reason},
        now=now,
        also=old_groups,
    )


def _route(conversation: Conversation, *, now: dt.datetime) -> None:
    """Send an unassigned chat to the next free operator of its team, or queue it.

    Only for teams with automatic assignment; the conversation row is locked.
    Outside the team's calendar the chat is queued (the timer tick assigns it
    once the team opens)."""
    if conversation.team_id is None or conversation.assignee_id is not None:
        return
    team = Team.objects.select_for_update().filter(pk=conversation.team_id).first()
    if team is None or not team.auto_assign:
        return
    # Outside the team's calendar the chat waits in the queue until it opens.
    operator = _next_operator(team, now=now) if team_is_open(team, now=now) else None
    if operator is not None:
        _give_to(conversation, team, operator, now=now, reason="auto")
        _publish_conversation(conversation)
    elif conversation.queued_at is None:
        conversation.queued_at = now
        conversation.save(update_fields=["queued_at"])
        _publish_conversation(conversation)


def team_is_open(team: Team, *, now: dt.datetime | None = None) -> bool:
    """Whether ``team`` works now by its calendar (no calendar: always)."""
    if team.calendar_id is None:
        return True
    return calendars.is_open(selectors.team_schedule(team), now or timezone.now())


def team_queue_drain(*, team_id: int, now: dt.datetime | None = None) -> int:
    """Assign the team's queued chats in arrival order while an operator is free;
    the number assigned.

    Locks the team row; queued chats another transaction holds are skipped (the
    next drain takes them). Nothing moves while the team is closed by its calendar."""
    now = now or timezone.now()
    assigned = 0
    with transaction.atomic():
        team = Team.objects.select_for_update().filter(pk=team_id, auto_assign=True).first()
        if team is None or not team_is_open(team, now=now):
            return 0
        while True:
            conversation = (
                Conversation.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("number", "contact", "assignee", "team")
                .filter(team=team, queued_at__isnull=False, assignee__isnull=True)
                .order_by("queued_at", "id")
                .first()
            )
            if conversation is None:
                break
            operator = _next_operator(team, now=now)
            if operator is None:
                break
            _give_to(conversation, team, operator, now=now, reason="queue")
            _publish_conversation(conversation)
            assigned += 1
    return assigned


def _drain_teams_of(user_id: int, *, now: dt.datetime) -> int:
    """An operator freed up or came online: their teams' queues move."""
    team_ids = Team.objects.filter(members=user_id, auto_assign=True).order_by("id")
    return sum(
        team_queue_drain(team_id=team_id, now=now)
        for team_id in team_ids.values_list("id", flat=True)
    )


def team_queues_drain(*, now: dt.datetime | None = None) -> int:
    """Drain every automatic team's queue (the timer tick); the number assigned."""
    now = now or timezone.now()
    team_ids = (
        Conversation.objects.filter(
            queued_at__isnull=False, assignee__isnull=True, team__auto_assign=True
        )
        .order_by("team_id")
        .values_list("team_id", flat=True)
        .distinct()
    )
    return sum(team_queue_drain(team_id=team_id, now=now) for team_id in list(team_ids))


# --- Assignment by operators -------------------------------------------------------


def conversation_claim(*, conversation: Conversation, user: Any) -> Conversation:
    """Take an unassigned chat. Of two operators claiming at once exactly one wins:
    the row is updated only while it has no assignee.

    Raises ``AlreadyAssigned`` naming the holder. Publishes ``conversation.event``
    and ``conversation.updated``."""
    with transaction.atomic():
        taken = Conversation.objects.filter(pk=conversation.pk, assignee__isnull=True).update(
            assignee=user, queued_at=None
        )
        if not taken:
            holder = (
                Conversation.objects.filter(pk=conversation.pk)
                .values_list("assignee__first_name", "assignee__last_name", "assignee__username")
                .first()
            )
            name = (" ".join(filter(None, holder[:2])) or holder[2] or "") if holder else ""
            raise AlreadyAssigned(f"Already taken by {name}." if name else "Already taken.")
        conversation = _locked(conversation.pk)
        _record(
            conversation,
            ConversationEvent.Kind.ASSIGNED,
            actor=user,
            data={"assignee": user_payload(user), "from": None, "reason": "claim"},
        )
        _publish_conversation(conversation)
    return conversation


def conversation_assign(
    *, conversation: Conversation, actor: Any, assignee: Any = UNSET, team: Any = UNSET
) -> Conversation:
    """Transfer a chat to an operator (a user id), to a team (a team id), or both;
    ``assignee=None`` unassigns.

    Operators may move only chats assigned to them or to nobody; supervisors and
    admins any. The new assignee must be able to see the chat as a member of its
    team (``InvalidAssignee`` otherwise). A transfer to another team drops an
    assignee who is not in it, and routes the chat there when the team assigns
    automatically. An operator who lets a chat go frees capacity: their teams'
    queues move."""
    now = timezone.now()
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if not selectors.user_is_supervisor(actor) and conversation.assignee_id not in (
            None,
            actor.pk,
        ):
            raise NotAllowed("Only a supervisor may move a chat assigned to someone else.")
        old_groups = _groups(conversation)
        previous_user = conversation.assignee if conversation.assignee_id else None
        previous_team = conversation.team if conversation.team_id else None

        target_team = previous_team
        if team is not UNSET and team is not None:
            target_team = Team.objects.filter(pk=team).first()
            if target_team is None:
                raise InvalidTeam(f"There is no team {team}.")
        if assignee is UNSET:
            target_user = previous_user
            if target_user is not None and not _may_work_on(target_user, target_team):
                target_user = None
        elif assignee is None:
            target_user = None
        else:
            target_user = User.objects.filter(pk=assignee, is_active=True).first()
            if target_user is None or not _may_work_on(target_user, target_team):
                raise InvalidAssignee(
                    "That person cannot work on this chat: they are not in its team."
                )

        team_changed = (target_team.pk if target_team else None) != conversation.team_id
        user_changed = (target_user.pk if target_user else None) != conversation.assignee_id
        if not (team_changed or user_changed):
            return conversation
        fields = []
        if team_changed:
            conversation.team = target_team
            conversation.queued_at = None
            conversation.escalated_at = None
            fields += ["team", "queued_at", "escalated_at"]
        if user_changed:
            conversation.assignee = target_user
            conversation.queued_at = None
            fields += ["assignee", "queued_at"]
        conversation.save(update_fields=list(dict.fromkeys(fields)))
        if team_changed:
            _record(
                conversation,
                ConversationEvent.Kind.TEAM,
                actor=actor,
                data={"from": team_summary(previous_team), "to": team_summary(target_team)},
                now=now,
                also=old_groups,
            )
        if user_changed and target_user is not None:
            _record(
                conversation,
                ConversationEvent.Kind.ASSIGNED,
                actor=actor,
                data={
                    "assignee": user_payload(target_user),
                    "from": user_payload(previous_user),
                    "reason": "transfer",
                },
                now=now,
                also=old_groups,
            )
        elif user_changed:
            _record(
                conversation,
                ConversationEvent.Kind.UNASSIGNED,
                actor=actor,
                data={"from": user_payload(previous_user)},
                now=now,
                also=old_groups,
            )
        _publish_conversation(conversation, also=old_groups)
        if team_changed and target_user is None:
            _route(conversation, now=now)
        if previous_user is not None and user_changed:
            _drain_teams_of(previous_user.pk, now=now)
    return conversation


# --- Statuses ----------------------------------------------------------------------

# Leaving these statuses for those lowers an operator's load.
_FREES_CAPACITY = {
    (Conversation.Status.OPEN, Conversation.Status.PENDING),
    (Conversation.Status.OPEN, Conversation.Status.SNOOZED),
    (Conversation.Status.OPEN, Conversation.Status.RESOLVED),
    (Conversation.Status.PENDING, Conversation.Status.RESOLVED),
    (Conversation.Status.SNOOZED, Conversation.Status.RESOLVED),
}


def conversation_set_status(
    *,
    conversation: Conversation,
    actor: Any,
    status: str,
    snoozed_until: dt.datetime | None = None,
) -> Conversation:
    """Open, pending (waiting for the customer), snoozed until a future time, or
    resolved. A resolved chat leaves the queue and stops the customer's waiting
    time. Publishes ``conversation.event`` and ``conversation.updated``; a chat
    that stops counting toward its assignee's capacity moves their teams' queues.

    Raises ``InvalidSnooze`` for a snooze without a future time."""
    now = timezone.now()
    if status not in Conversation.Status.values:
        raise ServiceError(f"Unknown status {status!r}.")
    if status == Conversation.Status.SNOOZED and (snoozed_until is None or snoozed_until <= now):
        raise InvalidSnooze("A chat can only be snoozed until a time in the future.")
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        previous = conversation.status
        if previous == status and (
            status != Conversation.Status.SNOOZED or conversation.snoozed_until == snoozed_until
        ):
            return conversation
        conversation.save(update_fields=_status_fields(conversation, status, snoozed_until))
        data: dict[str, Any] = {"from": previous, "to": status}
        if status == Conversation.Status.SNOOZED:
            data["snoozed_until"] = iso(snoozed_until)
        _record(conversation, ConversationEvent.Kind.STATUS, actor=actor, data=data, now=now)
        _publish_conversation(conversation)
        if conversation.assignee_id and (previous, status) in _FREES_CAPACITY:
            _drain_teams_of(conversation.assignee_id, now=now)
    return conversation


def snoozed_wake_due(*, now: dt.datetime | None = None) -> int:
    """Open again every snoozed chat whose time has come; the number woken."""
    now = now or timezone.now()
    due = Conversation.objects.filter(
        status=Conversation.Status.SNOOZED, snoozed_until__lte=now
    ).values_list("pk", flat=True)
    woken = 0
    for pk in list(due):
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("number", "contact", "assignee", "team")
                .filter(pk=pk, status=Conversation.Status.SNOOZED, snoozed_until__lte=now)
                .first()
            )
            if conversation is None:
                continue
            conversation.save(update_fields=_status_fields(conversation, Conversation.Status.OPEN))
            _record(
                conversation,
                ConversationEvent.Kind.STATUS,
                actor=None,
                data={"from": "snoozed", "to": "open", "reason": "snooze_ended"},
                now=now,
            )
            _publish_conversation(conversation)
            woken += 1
    return woken


# --- Escalation --------------------------------------------------------------------


def conversations_escalate_due(*, now: dt.datetime | None = None) -> int:
    """Act on open chats whose customer has waited longer than their team allows
    without an operator's reply, once per waiting period; the number escalated.

    ``reassign``: the chat goes to another eligible operator of the team (when
    there is none, the supervisors are told instead). ``supervisor``: the chat is
    flagged (``escalated_at``) and every supervisor and admin is notified."""
    now = now or timezone.now()
    escalated = 0
    for team in Team.objects.filter(escalate_after_minutes__isnull=False).order_by("id"):
        cutoff = now - dt.timedelta(minutes=team.escalate_after_minutes or 0)
        if not _escalation_clock_runs(team, now=now, cutoff=cutoff):
            continue
        due = Q(
            team=team,
            status=Conversation.Status.OPEN,
            waiting_since__lte=cutoff,
            escalated_at__isnull=True,
        )
        for pk in list(
            Conversation.objects.filter(due).order_by("waiting_since").values_list("pk", flat=True)
        ):
            with transaction.atomic():
                conversation = (
                    Conversation.objects.select_for_update(of=("self",), skip_locked=True)
                    .select_related("number", "contact", "assignee", "team")
                    .filter(due, pk=pk)
                    .first()
                )
                if conversation is None:
                    continue
                _escalate(conversation, now=now)
                escalated += 1
    return escalated


def _escalation_clock_runs(team: Team, *, now: dt.datetime, cutoff: dt.datetime) -> bool:
    """Whether the team's customers may be escalated now: never while the team
    is closed, and only once it has been open for its whole escalation time (a
    customer who wrote overnight is not escalated the minute the team opens)."""
    if team.calendar_id is None:
        return True
    period = calendars.current_period(selectors.team_schedule(team), now)
    return period.kind == calendars.OPEN and (period.start is None or period.start <= cutoff)


def _escalate(conversation: Conversation, *, now: dt.datetime) -> None:
    team = Team.objects.select_for_update().get(pk=conversation.team_id)
    waited = int((now - conversation.waiting_since).total_seconds() // 60)
    conversation.escalated_at = now
    if team.escalation == Team.Escalation.REASSIGN:
        operator = _next_operator(team, now=now, exclude_ids=(conversation.assignee_id,))
        if operator is not None:
            previous = conversation.assignee if conversation.assignee_id else None
            old_groups = _groups(conversation)
            conversation.save(update_fields=["escalated_at"])
            _give_to(conversation, team, operator, now=now, reason="escalation")
            _record(
                conversation,
                ConversationEvent.Kind.ESCALATED,
                actor=None,
                data={
                    "action": "reassigned",
                    "from": user_payload(previous),
                    "to": user_payload(operator),
                    "waited_minutes": waited,
                },
                now=now,
                also=old_groups,
            )
            _publish_conversation(conversation, also=old_groups)
            return
    conversation.save(update_fields=["escalated_at"])
    _record(
        conversation,
        ConversationEvent.Kind.ESCALATED,
        actor=None,
        data={"action": "supervisor", "waited_minutes": waited},
        now=now,
    )
    _publish_conversation(conversation)
    text = f"{conversation.contact} has waited {waited} minutes for a reply ({team.name})."
    data = {"customer": str(conversation.contact), "waited_minutes": waited, "team": team.name}
    for supervisor in selectors.supervisors().order_by("pk"):
        _notify(
            supervisor, Notification.Kind.ESCALATION, conversation, text=text, data=data, now=now
        )


def _notify(
    user: Any,
    kind: str,
    conversation: Conversation,
    *,
    text: str,
    data: dict[str, Any],
    note: Note | None = None,
    now: dt.datetime | None = None,
) -> Notification:
    notification = Notification.objects.create(
        user=user,
        kind=kind,
        conversation=conversation,
        note=note,
        text=text[:300],
        data=data,
        created_at=now or timezone.now(),
    )
    realtime.publish(
        "notification.created",
        {"notification": notification_payload(notification)},
        groups=(realtime.user_group(user.pk),),
    )
    return notification


def notification_mark_read(*, notification: Notification) -> Notification:
    """The operator has seen the notification."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


# --- Labels and notes ---------------------------------------------------------------


def conversation_set_labels(
    *, conversation: Conversation, actor: Any, label_ids: list[int]
) -> Conversation:
    """Put exactly these labels on the chat. Raises ``InvalidLabel`` for an unknown id.
    Publishes ``conversation.event`` and ``conversation.updated`` when they changed."""
    wanted = set(label_ids)
    labels = list(Label.objects.filter(pk__in=wanted).order_by("name"))
    if len(labels) != len(wanted):
        missing = sorted(wanted - {label.pk for label in labels})
        raise InvalidLabel(f"There is no label {', '.join(map(str, missing))}.")
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        current = {label.pk: label for label in conversation.labels.all()}
        if set(current) == wanted:
            return conversation
        conversation.labels.set(labels)
        _record(
            conversation,
            ConversationEvent.Kind.LABELS,
            actor=actor,
            data={
                "added": [label.name for label in labels if label.pk not in current],
                "removed": sorted(label.name for pk, label in current.items() if pk not in wanted),
            },
        )
        _publish_conversation(conversation)
    return conversation


# A username after "@" (Django allows letters, digits and @.+-_); a sentence's
# full stop after it is not part of it.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")


def note_create(*, conversation: Conversation, author: Any, text: str) -> Note:
    """Add a private note to the thread (never sent to the customer).

    Every ``@username`` of someone who may see the chat (other than the author)
    is a mention: a ``mention`` notification, published to that user as
    ``notification.created``. Publishes ``note.created`` to the chat's groups."""
    text = text.strip()
    if not text:
        raise ServiceError("The note is empty.")
    usernames = {name.rstrip(".") for name in MENTION.findall(text)}
    with transaction.atomic():
        note = Note.objects.create(conversation=conversation, author=author, text=text)
        mentioned = [
            user
            for user in User.objects.filter(username__in=usernames, is_active=True).order_by("pk")
            if user.pk != author.pk and selectors.user_may_see(user, conversation)
        ]
        note.mentions.set(mentioned)
        realtime.publish(
            "note.created",
            {"conversation_id": conversation.pk, "note": note_payload(note)},
            groups=_groups(conversation),
        )
        summary = f"{_display_name(author)} mentioned you: {text}"
        data = {"author": _display_name(author), "note": text[:200]}
        for user in mentioned:
            _notify(
                user, Notification.Kind.MENTION, conversation, text=summary, data=data, note=note
            )
    return note


# --- Presence ----------------------------------------------------------------------


def agent_presence(user: Any, now: dt.datetime | None = None) -> str:
    """Effective presence: offline without a socket seen in the last 90 s,
    otherwise the operator's own switch (online, away, offline)."""
    now = now or timezone.now()
    connected = AgentConnection.objects.filter(
        user=user, last_seen__gte=now - selectors.PRESENCE_FRESHNESS
    ).exists()
    return selectors.effective_presence(
        connected=connected, profile=AgentProfile.objects.filter(user=user).first()
    )


def _presence_moved(user: Any, before: str, after: str, now: dt.datetime) -> None:
    if before == after:
        return
    realtime.publish(
        "presence.updated",
        {"user_id": user.pk, "presence": after},
        groups=(realtime.PRESENCE_GROUP,),
    )
    if after == AgentProfile.Presence.ONLINE:
        _drain_teams_of(user.pk, now=now)


def agent_connected(user: Any, channel_name: str, now: dt.datetime | None = None) -> None:
    """An inbox socket opened. Publishes ``presence.updated`` when the user's
    presence changes; coming online moves the queues of their teams."""
    now = now or timezone.now()
    with transaction.atomic():
        agent_profile(user)
        before = agent_presence(user, now)
        AgentConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"user": user, "last_seen": now}
        )
        _presence_moved(user, before, agent_presence(user, now), now)


def agent_seen(channel_name: str, user: Any = None, now: dt.datetime | None = None) -> None:
    """A socket pinged: it keeps its user present. A socket whose row was pruned
    meanwhile is connected again when ``user`` is given."""
    now = now or timezone.now()
    with transaction.atomic():
        connection = (
            AgentConnection.objects.select_for_update()
            .select_related("user")
            .filter(channel_name=channel_name)
            .first()
        )
        if connection is None:
            if user is not None:
                agent_connected(user, channel_name, now)
            return
        before = agent_presence(connection.user, now)
        connection.last_seen = now
        connection.save(update_fields=["last_seen"])
        _presence_moved(connection.user, before, agent_presence(connection.user, now), now)


def agent_disconnected(channel_name: str, now: dt.datetime | None = None) -> None:
    """An inbox socket closed. Publishes ``presence.updated`` when that was the
    user's last one."""
    now = now or timezone.now()
    with transaction.atomic():
        connection = (
            AgentConnection.objects.select_related("user").filter(channel_name=channel_name).first()
        )
        if connection is None:
            return
        user = connection.user
        before = agent_presence(user, now)
        connection.delete()
        _presence_moved(user, before, agent_presence(user, now), now)


def agent_set_presence(user: Any, presence: str, now: dt.datetime | None = None) -> None:
    """The operator's own switch: online, away or offline. Publishes
    ``presence.updated`` when the effective presence changes."""
    if presence not in AgentProfile.Presence.values:
        raise ServiceError(f"Unknown presence {presence!r}.")
    now = now or timezone.now()
    with transaction.atomic():
        profile = agent_profile(user)
        before = agent_presence(user, now)
        profile.presence = presence
        profile.save(update_fields=["presence"])
        _presence_moved(user, before, agent_presence(user, now), now)


def agent_profile_update(*, user: Any, **fields: Any) -> AgentProfile:
    """Change the operator's language, time zone, notification switches or capacity;
    a higher capacity moves the queues of their teams."""
    allowed = {"language", "time_zone", "notify_desktop", "notify_sound", "capacity"}
    unknown = set(fields) - allowed
    if unknown:
        raise ServiceError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        profile = agent_profile(user)
        if not fields:
            return profile
        capacity_before = profile.capacity
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.save(update_fields=list(fields))
        if profile.capacity > capacity_before:
            _drain_teams_of(user.pk, now=timezone.now())
    return profile


def agent_connections_prune(*, now: dt.datetime | None = None) -> int:
    """Forget sockets not seen for 90 s (their server died without saying so);
    publishes ``presence.updated`` for users left without one. The number removed."""
    now = now or timezone.now()
    stale = AgentConnection.objects.filter(last_seen__lt=now - selectors.PRESENCE_FRESHNESS)
    user_ids = set(stale.values_list("user_id", flat=True))
    if not user_ids:
        return 0
    with transaction.atomic():
        removed, _ = stale.delete()
        still_present = set(
            AgentConnection.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
        )
        for user_id in sorted(user_ids - still_present):
            realtime.publish(
                "presence.updated",
                {"user_id": user_id, "presence": AgentProfile.Presence.OFFLINE},
                groups=(realtime.PRESENCE_GROUP,),
            )
    return removed


# --- The timer tick ---------------------------------------------------------------


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
            jobs.enqueue_send(pk)
    return len(lost)


@dataclass(frozen=True)
class TimerRun:
    pruned: int
    woken: int
    escalated: int
    assigned: int
    interrupted: int = 0
    requeued: int = 0


def timers_run(*, now: dt.datetime | None = None) -> TimerRun:
    """One tick of the clock: forget dead sockets, wake snoozed chats, escalate
    customers who waited too long, assign queued chats to free operators, and
    settle sends that were interrupted or lost."""
    now = now or timezone.now()
    return TimerRun(
        pruned=agent_connections_prune(now=now),
        woken=snoozed_wake_due(now=now),
        escalated=conversations_escalate_due(now=now),
        assigned=team_queues_drain(now=now),
        interrupted=sends_interrupted_resolve(now=now),
        requeued=sends_lost_requeue(now=now),
    )


# --- Automatic replies -------------------------------------------------------------

# The language a customer most likely reads, by their phone number's country
# (ISO 3166-1 alpha-2 -> language tag); everyone else: the inbox's own language.
COUNTRY_LANGUAGES = {
    **dict.fromkeys(["RU", "BY", "KZ", "KG"], "ru"),
    **dict.fromkeys(["UA"], "uk"),
    **dict.fromkeys(["IT", "SM", "VA"], "it"),
    **dict.fromkeys(["DK", "FO", "GL"], "da"),
    **dict.fromkeys(["DE", "AT", "LI"], "de"),
    **dict.fromkeys(["FR", "MC", "SN", "CI"], "fr"),
    **dict.fromkeys(
        [
            "ES",
            "MX",
            "AR",
            "CO",
            "CL",
            "PE",
            "VE",
            "EC",
            "GT",
            "CU",
            "BO",
            "DO",
            "HN",
            "PY",
            "SV",
            "NI",
            "CR",
            "PA",
            "UY",
        ],
        "es",
    ),
    **dict.fromkeys(["PT", "BR", "AO", "MZ"], "pt"),
    **dict.fromkeys(["NL", "SR"], "nl"),
    **dict.fromkeys(["PL"], "pl"),
    **dict.fromkeys(["TR"], "tr"),
    **dict.fromkeys(["IL"], "he"),
    **dict.fromkeys(["SA", "AE", "EG", "MA", "DZ", "IQ", "JO", "KW", "QA", "OM", "BH", "LB"], "ar"),
    **dict.fromkeys(["ID"], "id"),
    **dict.fromkeys(["IN", "PK"], "en"),
    **dict.fromkeys(["GB", "US", "CA", "AU", "NZ", "IE", "ZA", "NG", "KE", "SG", "PH"], "en"),
    **dict.fromkeys(["SE"], "sv"),
    **dict.fromkeys(["NO"], "nb"),
    **dict.fromkeys(["FI"], "fi"),
    **dict.fromkeys(["GR", "CY"], "el"),
    **dict.fromkeys(["CZ"], "cs"),
    **dict.fromkeys(["RO", "MD"], "ro"),
    **dict.fromkeys(["HU"], "hu"),
    **dict.fromkeys(["JP"], "ja"),
    **dict.fromkeys(["CN", "TW", "HK"], "zh-hans"),
    **dict.fromkeys(["KR"], "ko"),
    **dict.fromkeys(["VN"], "vi"),
    **dict.fromkeys(["TH"], "th"),
}

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def contact_language(contact: Contact) -> str:
    """The language the customer most likely reads ("" when their country is unknown)."""
    return COUNTRY_LANGUAGES.get(contact.country.upper(), "")


def auto_reply_send_if_due(
    *, conversation: Conversation, now: dt.datetime | None = None
) -> Message | None:
    """Answer a customer nobody can answer now, at most once per period.

    Outside the calendar of the chat's team (or of its number's team) the
    team's ``closed`` reply is sent, once per closed period; within it, when
    none of the team's operators (nor the chat's assignee) is online, its
    ``busy`` reply, once per waiting period (``waiting_since``). The reply is in
    the customer's language when the team has one (by their phone's country,
    then the inbox's language, then the reply for any language), with its
    placeholders filled. Only inside the customer's window.

    The reply is an outbound text with ``automatic`` set, queued for the same
    send job as operators' messages. It is never an operator's answer: the
    customer's waiting time, escalation and unread count stay as they are.

    Call inside a transaction holding the conversation's row lock (the period
    is checked and recorded under it). Publishes ``message.created``; None when
    nothing was due."""
    now = now or timezone.now()
    team = conversation.team if conversation.team_id else conversation.number.team
    if team is None or conversation.window_expires_at(now) is None:
        return None
    replies = selectors.team_auto_replies(team)
    if not replies:
        return None
    schedule = selectors.team_schedule(team)
    if not calendars.is_open(schedule, now):
        kind = AutoReply.Kind.CLOSED
        period = calendars.current_period(schedule, now).key
    elif not _someone_online_for(team, conversation, now):
        kind = AutoReply.Kind.BUSY
        period = f"{kind}:{iso(conversation.waiting_since) or '-'}"
    else:
        return None
    if conversation.auto_reply_period == period:
        return None
    language = contact_language(conversation.contact)
    reply = _auto_reply_choose(replies, kind=kind, languages=[language, settings.LANGUAGE_CODE, ""])
    if reply is None:
        return None
    text = auto_reply_render(
        reply.text,
        conversation=conversation,
        opens_at=calendars.next_opening(schedule, now),
        time_zone=str(schedule.time_zone) if schedule is not None else "",
        language=reply.language or language or settings.LANGUAGE_CODE,
        now=now,
    ).strip()[:4096]
    if not text:
        return None
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUT,
        type="text",
        text=text,
        content={"body": text},
        status=Message.Status.QUEUED,
        timestamp=now,
        sent_by=None,
        automatic=True,
    )
    conversation.auto_reply_period = period
    fields = ["auto_reply_period"]
    if conversation.last_message_at is None or now >= conversation.last_message_at:
        conversation.last_message_at = now
        conversation.last_message_text = message_preview(message)
        fields += ["last_message_at", "last_message_text"]
    conversation.save(update_fields=fields)
    publish_message(message, conversation, "message.created")
    jobs.enqueue_send(message.id)
    return message


def _auto_reply_choose(
    replies: list[AutoReply], *, kind: str, languages: list[str]
) -> AutoReply | None:
    """The reply of ``kind`` in the first of ``languages`` there is one for;
    matched on the primary language too (``pt`` finds ``pt-BR``)."""
    of_kind = [reply for reply in replies if reply.kind == kind]
    for language in languages:
        wanted = language.lower()
        exact = [reply for reply in of_kind if reply.language.lower() == wanted]
        if exact:
            return exact[0]
        primary = wanted.split("-")[0]
        if primary:
            for reply in of_kind:
                if reply.language.lower().split("-")[0] == primary:
                    return reply
    return None


def _someone_online_for(team: Team, conversation: Conversation, now: dt.datetime) -> bool:
    """Whether an operator of ``team``, or the chat's assignee, is online now
    (a fresh socket and their switch on "online"; capacity does not matter)."""
    people = Q(teams=team)
    if conversation.assignee_id is not None:
        people |= Q(pk=conversation.assignee_id)
    return (
        selectors.users_in_roles()
        .filter(people)
        .filter(selectors.fresh_connection(now))
        .exclude(agent__presence__in=[AgentProfile.Presence.AWAY, AgentProfile.Presence.OFFLINE])
        .exists()
    )


def auto_reply_render(
    text: str,
    *,
    conversation: Conversation,
    opens_at: dt.datetime | None,
    time_zone: str,
    language: str,
    now: dt.datetime | None = None,
) -> str:
    """Fill ``{{opens_at}}`` (when the team is back, in the calendar's time zone
    and ``language``, e.g. "Monday 09:00 (Europe/Rome)"), ``{{name}}`` (the
    customer), ``{{email}}``, ``{{website}}`` (the number's business profile)
    and ``{{phone}}`` (the number's own). Unknown placeholders stay."""
    contact = conversation.contact
    number = conversation.number
    profile = BusinessProfile.objects.filter(number=number).first()
    websites = [site for site in (profile.websites if profile else None) or [] if site]
    values = {
        "opens_at": _opening_text(opens_at, time_zone, language, now or timezone.now()),
        "name": contact.profile_name.strip() or contact.phone or contact.wa_id,
        "email": profile.email if profile else "",
        "website": str(websites[0]) if websites else "",
        "phone": _display_phone(number.display_phone_number),
    }

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _PLACEHOLDER.sub(fill, text)


def _opening_text(
    opens_at: dt.datetime | None, time_zone: str, language: str, now: dt.datetime
) -> str:
    if opens_at is None:
        return ""
    local = timezone.localtime(opens_at, zoneinfo.ZoneInfo(time_zone or "UTC"))
    # Within a week the weekday says it; further away the date does too.
    pattern = "l H:i" if opens_at - now < dt.timedelta(days=6) else "l j E H:i"
    if not translation.check_for_language(language):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        when = formats.date_format(local, pattern)
    return f"{when} ({time_zone})" if time_zone else when


def _display_phone(display_phone_number: str) -> str:
    digits = re.sub(r"\D", "", display_phone_number)
    if not digits:
        return display_phone_number
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return "+" + digits
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
