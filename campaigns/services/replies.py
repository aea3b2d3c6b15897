"""A customer answers a campaign: their message lands in the inbox as any other
(the core stores it); the recipient's row records when, for the campaign's count
of replies and to show which campaign the conversation answers."""

from __future__ import annotations

from typing import Any

from campaigns.models import Recipient
from conversations.models import Message


def replies_record(messages: list[Any]) -> int:
    """The core's messages hook (inside the storing transaction): a customer's
    first message after a campaign's message in the same conversation is its
    reply. Returns how many recipients it marked."""
    first: dict[int, Any] = {}
    for message in messages:
        if message.direction != Message.Direction.IN:
            continue
        at = message.timestamp
        known = first.get(message.conversation_id)
        if known is None or at < known:
            first[message.conversation_id] = at
    marked = 0
    for conversation_id, at in first.items():
        marked += Recipient.objects.filter(
            conversation_id=conversation_id,
            replied_at__isnull=True,
            message__isnull=False,
            message__timestamp__lte=at,
        ).update(replied_at=at)
    return marked
