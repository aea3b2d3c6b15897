"""What operators send, queued for the send job: text and files (checked against
WhatsApp's types and sizes), replies quoting a message, reactions, messages made
from templates, and a manual retry of a failed message. Every send but a
template's checks the 24-hour window.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from conversations import hooks, selectors
from conversations.enqueue import enqueue_send
from conversations.models import ComplianceLogEntry, Contact, Conversation, Message, SendPath
from conversations.services.common import lock_conversation, message_preview, publish_message
from conversations.services.consent import compliance_log_entry, compliance_log_record
from conversations.services.errors import (
    InvalidMedia,
    InvalidReaction,
    InvalidReplyTo,
    NotRetryable,
    SendRefused,
    ServiceError,
    WindowClosed,
)
from conversations.services.send_rules import (
    Refusal,
    compliance_policy,
    send_verdict,
    send_verdicts,
)
from whatsapp import errors as wa_errors
from whatsapp.client import MIME_ALIASES, SEND_MEDIA_RULES, send_media_kind

WINDOW_CLOSED_TEXT = (
    "The 24-hour customer service window is closed: the customer last wrote "
    "more than 24 hours ago, so only an approved template can be sent."
)
CAPTION_MAX = 1024
# File signatures of the image types WhatsApp accepts: a file that only claims
# to be one would be refused by the platform after the upload.
_IMAGE_SIGNATURES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}


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
        conversation = lock_conversation(conversation.pk)
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


def message_send_template(
    *,
    conversation: Conversation,
    user: Any,
    name: str,
    language: str,
    components: list[dict[str, Any]],
    text: str,
    category: str,
    path: str = SendPath.COMPOSER,
    campaign: str = "",
    on_queued: Callable[[Message], None] | None = None,
    deliver: bool = True,
) -> Message:
    """Queue a message made from a message template; the send job delivers it after
    commit. The one kind of message allowed whether or not the customer's window is
    open: WhatsApp reviewed the template (the caller, ``templates_app``, checked that
    it is approved and that ``user`` may use it, and built ``components``, the send's
    parameters in the platform's shape). ``text`` is what the customer reads, shown
    in the thread. It opens no window: that takes the customer's answer.

    The send rules (``send_rules.send_verdict``: consent for the template's
    ``category``, the platform's stop, quiet hours, the frequency cap, countries)
    are checked under the conversation's and the contact's locks. A refusal raises
    ``SendRefused`` (409, its code and ``retry_at``): nothing is queued and the
    refusal is written to the compliance log after this function's transaction, so
    it stays even though the caller's request fails (a caller must not wrap this
    call in its own transaction: ``on_queued(message)`` runs inside this one for
    the caller's own rows). ``path`` is how the message leaves (``SendPath``).
    ``deliver=False`` enqueues no send job: the caller (a campaign, which paces
    its sends) calls ``message_deliver`` itself."""
    refusal: Refusal | None = None
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        # The contact's row serialises sends to one customer from several numbers:
        # the frequency cap counts across them.
        contact = Contact.objects.select_for_update().get(pk=conversation.contact_id)
        now = timezone.now()
        refusal = send_verdict(
            contact=contact,
            waba_id=conversation.number.waba_id,
            template_category=category,
            path=path,
            window_open=conversation.window_expires_at(now) is not None,
            now=now,
        )
        if refusal is None:
            message = _template_message(
                conversation,
                TemplateMessage(conversation, name, language, components, text, category, campaign),
                path=path,
                user=user,
                now=now,
            )
            message.save(force_insert=True)
            _queued_in_conversation(conversation, message, deliver=deliver)
            if on_queued is not None:
                on_queued(message)
    if refusal is not None:
        compliance_log_record(
            contact=conversation.contact,
            path=path,
            reason=refusal.code,
            template=name,
            detail=refusal.detail,
            campaign=campaign,
            retry_at=refusal.retry_at,
        )
        raise SendRefused(refusal.code, refusal.detail, refusal.retry_at)
    return message


@dataclass(frozen=True)
class TemplateMessage:
    """One message of ``message_send_template_batch``: what ``message_send_template``
    takes for one send."""

    conversation: Conversation
    name: str
    language: str
    components: list[dict[str, Any]]
    text: str
    category: str
    campaign: str = ""


def message_send_template_batch(
    *, sends: Sequence[TemplateMessage], path: str, user: Any = None
) -> list[Message | Refusal]:
    """``message_send_template`` for many customers at once (a campaign's batch):
    the same send rules (``send_rules.send_verdicts``, the same rule function)
    checked under the conversations' and the contacts' locks, read with a few set
    queries for the whole batch; the messages stored with one ``bulk_create``.
    Returns, in the order of ``sends``, the queued message or the ``Refusal``
    (written to the compliance log in this transaction: nothing is raised).

    One message per customer: ``ValueError`` when two sends share a contact.
    Enqueues no send job (the caller paces its sends and calls
    ``message_deliver``) and publishes no live event per message: a caller that
    sends in batches shows counts and publishes its own progress. The analytics
    and other message hooks get the batch's messages in one call. It may run
    inside the caller's transaction (a savepoint then): the caller's own rows
    commit or roll back with the messages and the log entries."""
    if not sends:
        return []
    contact_ids = [send.conversation.contact_id for send in sends]
    if len(set(contact_ids)) != len(contact_ids):
        raise ValueError("A batch sends one message per customer.")
    results: list[Message | Refusal] = []
    with transaction.atomic():
        # In primary-key order, conversations before contacts, as every send locks them.
        conversations = {
            c.pk: c
            for c in Conversation.objects.select_for_update(of=("self",))
            .select_related("number")
            .filter(pk__in=[send.conversation.pk for send in sends])
            .order_by("pk")
        }
        contacts = {
            c.pk: c
            for c in Contact.objects.select_for_update().filter(pk__in=contact_ids).order_by("pk")
        }
        now = timezone.now()
        policy = compliance_policy()
        groups: dict[tuple[str, str], list[Contact]] = {}
        window_open: dict[int, bool] = {}
        for send in sends:
            conversation = conversations[send.conversation.pk]
            conversation.contact = contacts[conversation.contact_id]
            window_open[conversation.contact_id] = conversation.window_expires_at(now) is not None
            groups.setdefault((conversation.number.waba_id, send.category), []).append(
                conversation.contact
            )
        verdicts: dict[int, Refusal | None] = {}
        for (waba_id, category), members in groups.items():
            verdicts.update(
                send_verdicts(
                    contacts=members,
                    waba_id=waba_id,
                    template_category=category,
                    path=path,
                    window_open=window_open,
                    now=now,
                    policy=policy,
                )
            )
        messages: list[Message] = []
        refused: list[ComplianceLogEntry] = []
        # The chats' previews, one update for each distinct text (a batch's
        # messages mostly read alike): the same fields ``_queued_fields`` sets.
        previews: dict[str, list[int]] = {}
        for send in sends:
            conversation = conversations[send.conversation.pk]
            refusal = verdicts[conversation.contact_id]
            if refusal is not None:
                results.append(refusal)
                refused.append(
                    compliance_log_entry(
                        contact=conversation.contact,
                        path=path,
                        reason=refusal.code,
                        template=send.name,
                        detail=refusal.detail,
                        campaign=send.campaign,
                        retry_at=refusal.retry_at,
                        at=now,
                    )
                )
                continue
            message = _template_message(conversation, send, path=path, user=user, now=now)
            results.append(message)
            messages.append(message)
            _queued_fields(conversation, message)
            previews.setdefault(conversation.last_message_text, []).append(conversation.pk)
        if messages:
            Message.objects.bulk_create(messages)
            for preview, pks in previews.items():
                Conversation.objects.filter(pk__in=pks).update(
                    last_message_at=now,
                    last_message_text=preview,
                    unread_count=0,
                    waiting_since=None,
                    escalated_at=None,
                )
            hooks.messages_stored(messages)
        if refused:
            ComplianceLogEntry.objects.bulk_create(refused)
    return results


def _template_message(
    conversation: Conversation, send: TemplateMessage, *, path: str, user: Any, now: dt.datetime
) -> Message:
    """A queued template message, not saved yet (the single send and the batch)."""
    return Message(
        conversation=conversation,
        direction=Message.Direction.OUT,
        type="template",
        text=send.text[:4096],
        content={
            "name": send.name,
            "language": send.language,
            "components": send.components,
            "category": send.category,
            "path": path,
            **({"campaign": send.campaign} if send.campaign else {}),
        },
        status=Message.Status.QUEUED,
        timestamp=now,
        sent_by=user if getattr(user, "pk", None) else None,
    )


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


def _queued_in_conversation(
    conversation: Conversation, message: Message, *, deliver: bool = True
) -> None:
    """An operator's message is queued: the chat's preview moves, the customer is
    no longer waiting, and the send job runs after commit. Conversation row locked."""
    conversation.save(update_fields=_queued_fields(conversation, message))
    publish_message(message, conversation, "message.created")
    hooks.messages_stored([message])
    if deliver:
        enqueue_send(message.id)


def _queued_fields(conversation: Conversation, message: Message) -> list[str]:
    """What an operator's queued message changes on its chat (in memory): the
    preview moves, the customer is no longer waiting. The fields to save."""
    conversation.last_message_at = message.timestamp
    conversation.last_message_text = message_preview(message)
    conversation.unread_count = 0
    conversation.waiting_since = None
    conversation.escalated_at = None
    return ["last_message_at", "last_message_text", "unread_count", "waiting_since", "escalated_at"]


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
        conversation = lock_conversation(conversation.pk)
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
        conversation = lock_conversation(message.conversation_id)
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
        enqueue_send(reaction.id)
    return reaction


def message_retry(*, message: Message, user: Any) -> Message:
    """Send a failed message again: back to ``queued`` with its error and wamid
    cleared (late reports of the earlier try are kept, not applied), and the send
    job records a new attempt requested by ``user``. A file WhatsApp could not
    take is uploaded again.

    Raises ``NotRetryable`` when the message has not failed, or trying again
    cannot help (see ``selectors.message_retryable``). Publishes
    ``message.updated``. A template passes the send rules again (``SendRefused``,
    logged, when they refuse it now)."""
    refused: tuple[Any, str, Refusal] | None = None
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("conversation__number")
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
        if message.type == "template" and (message.content or {}).get("category"):
            # Sent again by hand: the send rules as for a new template.
            conversation = message.conversation
            now = timezone.now()
            refusal = send_verdict(
                contact=Contact.objects.select_for_update().get(pk=conversation.contact_id),
                waba_id=conversation.number.waba_id,
                template_category=str(message.content["category"]),
                path=SendPath.COMPOSER,
                window_open=conversation.window_expires_at(now) is not None,
                now=now,
            )
            if refusal is not None:
                refused = (conversation.contact, str(message.content.get("name") or ""), refusal)
        if refused is None:
            _requeue_for_retry(message, user)
    if refused is not None:
        contact, name, refusal = refused
        compliance_log_record(
            contact=contact,
            path=SendPath.COMPOSER,
            reason=refusal.code,
            template=name,
            detail=refusal.detail,
            message=message,
            retry_at=refusal.retry_at,
        )
        raise SendRefused(refusal.code, refusal.detail, refusal.retry_at)
    return message


def _requeue_for_retry(message: Message, user: Any) -> None:
    """Back to ``queued`` for the send job (message row locked by the caller)."""
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
    enqueue_send(message.id, requested_by=user)
