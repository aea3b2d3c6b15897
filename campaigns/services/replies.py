"""A customer answers a campaign: their message lands in the inbox as any other
(the core stores it); the recipient's row records when (the campaign's count of
replies) and the conversation gets the campaign's label ("Campaign: <name>"), so
the inbox shows which campaign it answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from campaigns.models import Recipient
from conversations.models import Label, Message

LABEL_COLOR = "#7c3aed"


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
        answered = list(
            Recipient.objects.filter(
                conversation_id=conversation_id,
                replied_at__isnull=True,
                message__isnull=False,
                # The platform's timestamps are whole seconds; ours are not.
                message__timestamp__lt=at + dt.timedelta(seconds=1),
            ).select_related("campaign", "conversation")
        )
        for recipient in answered:
            Recipient.objects.filter(pk=recipient.pk).update(replied_at=at)
            # The conversation shows which campaign it answers, as a label the
            # list, the filters and the search already know.
            label, _ = Label.objects.get_or_create(
                name=campaign_label(recipient.campaign.name), defaults={"color": LABEL_COLOR}
            )
            recipient.conversation.labels.add(label)
            marked += 1
    return marked


def campaign_label(name: str) -> str:
    """The label a conversation answering campaign ``name`` gets."""
    return f"Campaign: {name}"[:64]
