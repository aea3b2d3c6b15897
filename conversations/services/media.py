"""Customers' files and reactions: a media message waiting for its file, the
download job's work (media id -> URL -> checked bytes in storage, with retries),
an operator's request to fetch a file again, and a customer's reaction shown on
the message it targets.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import mimetypes
import posixpath
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.db import transaction
from django.utils.text import get_valid_filename

from conversations.enqueue import enqueue_media_download
from conversations.models import Conversation, Message
from conversations.services.common import publish_message
from conversations.services.errors import MediaNotRetryable
from whatsapp import client as wa_client
from whatsapp import errors as wa_errors
from whatsapp.events import MEDIA_TYPES, InboundMessage

logger = logging.getLogger(__name__)

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


def media_expect(message: Message, event: InboundMessage) -> None:
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
        enqueue_media_download(message.id)
    return message


def reaction_apply_customer(conversation: Conversation, target_wamid: str) -> None:
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
