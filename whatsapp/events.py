"""Webhook payloads turned into typed events.

``parse_webhook`` takes the decoded JSON body of one delivery and returns every
event in it, in order, across all entries and changes. It never raises for a
message type it does not know (that becomes an ``unsupported`` message); it
raises ``PayloadError`` only when the body is not a WhatsApp Business Account
delivery at all, so the caller can keep it as a dead letter with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Message types the platform documents. Anything else is stored as unsupported.
MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "button",
        "reaction",
        "order",
        "system",
        "unsupported",
        "request_welcome",
    }
)
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
STATUS_VALUES = frozenset({"sent", "delivered", "read", "failed", "deleted", "warning"})
TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "message_template_components_update",
    }
)


class PayloadError(ValueError):
    """The body is JSON, but not a delivery this code understands."""


@dataclass(frozen=True, slots=True)
class PlatformError:
    code: int | None
    title: str
    message: str = ""
    details: str = ""
    href: str = ""

    @classmethod
    def from_payload(cls, data: Any) -> PlatformError:
        if not isinstance(data, dict):
            return cls(code=None, title=str(data))
        error_data = data.get("error_data")
        details = error_data.get("details", "") if isinstance(error_data, dict) else ""
        code = data.get("code")
        try:
            code = int(code) if code is not None else None
        except (TypeError, ValueError):
            code = None
        return cls(
            code=code,
            title=str(data.get("title") or data.get("message") or ""),
            message=str(data.get("message") or ""),
            details=str(details or ""),
            href=str(data.get("href") or ""),
        )


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote: ``wa_id`` may be empty where the platform sends only ``user_id``."""

    wa_id: str
    user_id: str = ""
    profile_name: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    wamid: str
    sender: Sender
    timestamp: dt.datetime
    type: str
    text: str
    content: dict[str, Any]
    context: dict[str, Any] | None = None
    referral: dict[str, Any] | None = None
    errors: tuple[PlatformError, ...] = ()

    @property
    def media_id(self) -> str:
        return str(self.content.get("id", "")) if self.type in MEDIA_TYPES else ""

    @property
    def reacted_wamid(self) -> str:
        return str(self.content.get("message_id", "")) if self.type == "reaction" else ""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    phone_number_id: str
    wamid: str
    status: str
    timestamp: dt.datetime
    recipient_id: str
    biz_opaque_callback_data: str = ""
    errors: tuple[PlatformError, ...] = ()
    conversation: dict[str, Any] | None = None
    pricing: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TemplateUpdate:
    """A template's review status, quality or category changed (or is about to), for
    the templates module.

    ``event`` is what the change is, in one word: for ``message_template_status_update``
    the platform's event (APPROVED, REJECTED, PENDING, PAUSED, DISABLED, FLAGGED,
    REINSTATED, IN_APPEAL, LOCKED, ARCHIVED, UNARCHIVED, PENDING_DELETION, DELETED,
    LIMIT_EXCEEDED...); for ``message_template_quality_update`` the new quality score;
    for ``template_category_update`` the category the template has now, or, when
    ``impending``, the one it will be given at ``category_update_at``. ``reason`` is
    the platform's reason followed by its explanation of a rejection, for people to
    read; the typed fields below hold each part as the platform sent it ("" when
    absent).

    ``language`` is written as the webhook writes it (``en-US``), ``language_code`` as
    the Graph API and sends write it (``en_US``).
    """

    field: str
    waba_id: str
    template_id: str
    name: str
    language: str
    event: str
    reason: str
    data: dict[str, Any]
    # message_template_status_update
    category: str = ""
    reason_code: str = ""  # NONE, PROMOTIONAL, INVALID_FORMAT...; "" when null (deletion)
    rejection_reason: str = ""
    rejection_recommendation: str = ""
    other_info_title: str = ""  # FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE, UNPAUSE...
    other_info_description: str = ""
    disable_date: dt.datetime | None = None  # when disabled, or (FLAGGED) when it will be
    # message_template_quality_update
    previous_quality_score: str = ""
    new_quality_score: str = ""
    # template_category_update: when impending, new_category is the category it has now
    # (the platform's spelling) and correct_category the one it will be given.
    previous_category: str = ""
    new_category: str = ""
    correct_category: str = ""
    impending: bool = False
    category_update_at: dt.datetime | None = None

    @property
    def language_code(self) -> str:
        return self.language.replace("-", "_")


@dataclass(frozen=True, slots=True)
class UserPreference:
    """A customer stopped (``value`` "stop") or resumed ("resume") a kind of
    message from the business on WhatsApp itself; ``category`` as the platform
    names it (``marketing_messages``)."""

    wa_id: str
    category: str
    value: str
    detail: str
    timestamp: dt.datetime | None

    @property
    def marketing(self) -> bool:
        return self.category == "marketing_messages"


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """Anything else the platform reports for an account or a number: account
    updates, quality and throughput changes, user preferences (parsed into
    ``preferences``), value-level errors."""

    field: str
    waba_id: str
    phone_number_id: str
    data: dict[str, Any]
    errors: tuple[PlatformError, ...] = field(default=())
    preferences: tuple[UserPreference, ...] = field(default=())


Event = InboundMessage | StatusUpdate | TemplateUpdate | AccountEvent


def parse_timestamp(value: Any) -> dt.datetime:
    try:
        seconds = int(value)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"timestamp {value!r} is not a number of seconds") from exc
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"timestamp {value!r} is out of range") from exc


def parse_webhook(payload: Any) -> list[Event]:
    """Every event of one delivery, in the order the platform listed them."""
    if not isinstance(payload, dict):
        raise PayloadError("body is not a JSON object")
    if payload.get("object") != "whatsapp_business_account":
        raise PayloadError(f"object is {payload.get('object')!r}, not 'whatsapp_business_account'")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("entry is missing or not a list")
    events: list[Event] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise PayloadError("an entry is not an object")
        waba_id = str(entry.get("id", ""))
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise PayloadError("entry.changes is missing or not a list")
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise PayloadError("a change has no value object")
            events.extend(_parse_change(waba_id, str(change.get("field", "")), change["value"]))
    return events


def _parse_change(waba_id: str, field_name: str, value: dict[str, Any]) -> list[Event]:
    if field_name in TEMPLATE_FIELDS:
        return [_template_update(waba_id, field_name, value)]
    if field_name != "messages":
        metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
        return [
            AccountEvent(
                field=field_name or "unknown",
                waba_id=waba_id,
                phone_number_id=str(metadata.get("phone_number_id", "")),
                data=value,
                preferences=_preferences(value) if field_name == "user_preferences" else (),
            )
        ]

    metadata = value.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("phone_number_id"):
        raise PayloadError("messages change without metadata.phone_number_id")
    phone_number_id = str(metadata["phone_number_id"])
    display = str(metadata.get("display_phone_number", ""))

    profiles: dict[str, Sender] = {}
    for contact in _list(value, "contacts"):
        if not isinstance(contact, dict):
            raise PayloadError("a contact is not an object")
        profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
        sender = Sender(
            wa_id=str(contact.get("wa_id") or ""),
            user_id=str(contact.get("user_id") or ""),
            profile_name=str(profile.get("name") or ""),
        )
        for key in (sender.wa_id, sender.user_id):
            if key:
                profiles[key] = sender

    events: list[Event] = []
    for message in _list(value, "messages"):
        events.append(_inbound_message(message, phone_number_id, display, waba_id, profiles))
    for status in _list(value, "statuses"):
        events.append(_status_update(status, phone_number_id))
    if "errors" in value:
        events.append(
            AccountEvent(
                field="errors",
                waba_id=waba_id,
                phone_number_id=phone_number_id,
                data=value,
                errors=tuple(PlatformError.from_payload(e) for e in _list(value, "errors")),
            )
        )
    if value.get("user_preferences"):
        # Sent under the messages field too: the same preferences as their own field.
        events.append(
            AccountEvent(
                field="user_preferences",
                waba_id=waba_id,
                phone_number_id=phone_number_id,
                data=value,
                preferences=_preferences(value),
            )
        )
    if not events:
        # A messages change with nothing we apply is still kept, not lost.
        events.append(
            AccountEvent(
                field="messages", waba_id=waba_id, phone_number_id=phone_number_id, data=value
            )
        )
    return events


def _preferences(value: dict[str, Any]) -> tuple[UserPreference, ...]:
    preferences = []
    for item in _list(value, "user_preferences"):
        if not isinstance(item, dict) or not item.get("wa_id"):
            continue  # nobody to apply it to; the raw change is kept with the event
        preferences.append(
            UserPreference(
                wa_id=str(item["wa_id"]),
                category=_text(item, "category"),
                value=_text(item, "value"),
                detail=_text(item, "detail"),
                timestamp=_optional_time(item.get("timestamp")),
            )
        )
    return tuple(preferences)


def _list(value: dict[str, Any], key: str) -> list[Any]:
    items = value.get(key, [])
    if items is None:
        return []
    if not isinstance(items, list):
        raise PayloadError(f"{key} is not a list")
    return items


def _inbound_message(
    message: Any,
    phone_number_id: str,
    display: str,
    waba_id: str,
    profiles: dict[str, Sender],
) -> InboundMessage:
    if not isinstance(message, dict):
        raise PayloadError("a message is not an object")
    wamid = message.get("id")
    if not wamid or not isinstance(wamid, str):
        raise PayloadError("a message has no id")
    from_id = str(message.get("from") or "")
    from_user_id = str(message.get("from_user_id") or "")
    sender = profiles.get(from_id) or profiles.get(from_user_id)
    if sender is None:
        sender = Sender(wa_id=from_id, user_id=from_user_id)
    elif from_id and not sender.wa_id:
        sender = Sender(wa_id=from_id, user_id=sender.user_id, profile_name=sender.profile_name)
    if not sender.wa_id and not sender.user_id:
        raise PayloadError(f"message {wamid} has neither 'from' nor a user id")

    declared = str(message.get("type") or "")
    errors = tuple(PlatformError.from_payload(e) for e in _list(message, "errors"))
    if declared in MESSAGE_TYPES:
        msg_type = declared
        content = message.get(declared)
        content = content if isinstance(content, dict) else {}
        if declared == "contacts":
            content = {"contacts": message.get("contacts") or []}
    else:
        msg_type = "unsupported"
        raw = message.get(declared)
        content = {"type": declared, **(raw if isinstance(raw, dict) else {})}

    context = message.get("context") if isinstance(message.get("context"), dict) else None
    referral = message.get("referral") if isinstance(message.get("referral"), dict) else None
    return InboundMessage(
        phone_number_id=phone_number_id,
        display_phone_number=display,
        waba_id=waba_id,
        wamid=wamid,
        sender=sender,
        timestamp=parse_timestamp(message.get("timestamp")),
        type=msg_type,
        text=summary_text(msg_type, content),
        content=content,
        context=context,
        referral=referral,
        errors=errors,
    )


def summary_text(msg_type: str, content: dict[str, Any]) -> str:
    """The words a person reads for a message of this type (body, caption, choice...)."""
    if msg_type == "text":
        return str(content.get("body", ""))
    if msg_type in MEDIA_TYPES:
        return str(
            content.get("caption")
            or (content.get("filename") if msg_type == "document" else "")
            or ""
        )
    if msg_type == "location":
        parts = [content.get("name"), content.get("address")]
        return ", ".join(str(p) for p in parts if p)
    if msg_type == "contacts":
        names = []
        cards = content.get("contacts")
        for card in cards if isinstance(cards, list) else []:
            name = card.get("name") if isinstance(card, dict) else None
            if isinstance(name, dict):
                names.append(str(name.get("formatted_name") or name.get("first_name") or ""))
        return ", ".join(n for n in names if n)
    if msg_type == "interactive":
        reply = content.get(str(content.get("type", ""))) or {}
        return str(reply.get("title") or reply.get("body") or "") if isinstance(reply, dict) else ""
    if msg_type == "button":
        return str(content.get("text", ""))
    if msg_type == "reaction":
        return str(content.get("emoji", ""))
    if msg_type == "order":
        return str(content.get("text", ""))
    if msg_type == "system":
        return str(content.get("body", ""))
    return ""


def _status_update(status: Any, phone_number_id: str) -> StatusUpdate:
    if not isinstance(status, dict):
        raise PayloadError("a status is not an object")
    wamid = status.get("id")
    value = status.get("status")
    if not wamid or not isinstance(wamid, str):
        raise PayloadError("a status has no message id")
    if not isinstance(value, str) or value not in STATUS_VALUES:
        raise PayloadError(f"status {value!r} is not one WhatsApp sends")
    conversation = status.get("conversation")
    pricing = status.get("pricing")
    return StatusUpdate(
        phone_number_id=phone_number_id,
        wamid=wamid,
        status=value,
        timestamp=parse_timestamp(status.get("timestamp")),
        recipient_id=str(status.get("recipient_id") or status.get("recipient_user_id") or ""),
        biz_opaque_callback_data=str(status.get("biz_opaque_callback_data") or ""),
        errors=tuple(PlatformError.from_payload(e) for e in _list(status, "errors")),
        conversation=conversation if isinstance(conversation, dict) else None,
        pricing=pricing if isinstance(pricing, dict) else None,
    )


def _template_update(waba_id: str, field_name: str, value: dict[str, Any]) -> TemplateUpdate:
    rejection = _object(value, "rejection_info")
    other = _object(value, "other_info")
    disable = _object(value, "disable_info")
    reason_code = reason = _text(value, "reason")
    if rejection.get("reason"):
        reason = (
            f"{reason}: {rejection['reason']}"
            if reason and reason != "NONE"
            else str(rejection["reason"])
        )
    correct_category = _text(value, "correct_category")
    new_category = _text(value, "new_category")
    impending = field_name == "template_category_update" and bool(correct_category)
    if field_name == "message_template_status_update":
        event = _text(value, "event")
    elif field_name == "message_template_quality_update":
        event = _text(value, "new_quality_score")
    elif field_name == "template_category_update":
        event = correct_category if impending else new_category
    else:
        event = _text(value, "event")
    return TemplateUpdate(
        field=field_name,
        waba_id=waba_id,
        template_id=_text(value, "message_template_id"),
        name=_text(value, "message_template_name"),
        language=_text(value, "message_template_language"),
        event=event,
        reason=reason,
        data=value,
        category=_text(value, "message_template_category"),
        reason_code=reason_code,
        rejection_reason=_text(rejection, "reason"),
        rejection_recommendation=_text(rejection, "recommendation"),
        other_info_title=_text(other, "title"),
        other_info_description=_text(other, "description"),
        disable_date=_optional_time(disable.get("disable_date")),
        previous_quality_score=_text(value, "previous_quality_score"),
        new_quality_score=_text(value, "new_quality_score"),
        previous_category=_text(value, "previous_category"),
        new_category=new_category,
        correct_category=correct_category,
        impending=impending,
        category_update_at=_optional_time(value.get("category_update_timestamp")),
    )


def _object(value: dict[str, Any], key: str) -> dict[str, Any]:
    found = value.get(key)
    return found if isinstance(found, dict) else {}


def _text(value: dict[str, Any], key: str) -> str:
    """A string field as sent (numbers written out); "" when absent or null."""
    found = value.get(key)
    return "" if found is None or isinstance(found, dict | list) else str(found)


def _optional_time(value: Any) -> dt.datetime | None:
    """A timestamp of extra information: None when absent or not one, never an error."""
    if value in (None, ""):
        return None
    try:
        return parse_timestamp(value)
    except PayloadError:
        return None
