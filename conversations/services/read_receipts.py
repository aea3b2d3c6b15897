"""The operator reads the chat: its unread count drops, WhatsApp marks the
customer's latest message read (once per message), and the typing indicator.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction

from conversations.enqueue import enqueue_read_receipt
from conversations.models import Conversation, Message
from conversations.services.common import graph_client, lock_conversation, publish_conversation
from whatsapp.client import GraphAPIError, GraphClient, GraphUnreachable, read_receipt

logger = logging.getLogger(__name__)


# A read receipt per customer message is sent once; WhatsApp keeps a message
# markable for 30 days.
READ_RECEIPT_MEMORY = 30 * 24 * 3600
TYPING_EVERY_SECONDS = 20


def conversation_mark_read(*, conversation: Conversation, user: Any) -> Conversation:
    """The operator has seen the thread: its unread count drops to zero.

    Publishes ``conversation.updated`` after commit when the count changed.
    """
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if conversation.unread_count:
            conversation.unread_count = 0
            conversation.save(update_fields=["unread_count"])
            publish_conversation(conversation)
        _read_receipt_enqueue(conversation)
    return conversation


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
        enqueue_read_receipt(conversation.pk, wamid)


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
    enqueue_read_receipt(conversation.pk, wamid, typing=True)
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
