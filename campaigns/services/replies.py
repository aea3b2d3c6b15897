"""A customer answers a campaign: their message lands in the inbox as any other
(the core stores it); the recipient's row records when (the campaign's count of
replies) and the conversation gets the campaign's label ("Campaign: <name>"), so
the inbox shows which campaign it answers."""

from __future__ import annotations

from typing import Any

from campaigns.models import Recipient
from conversations import services as core
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
    if not first:
        return 0
    marked = 0
    # One query for the whole write (a webhook batch holds many chats), nearly
    # always empty: only a chat a campaign wrote to has recipients waiting. The
    # rows and their relations are read only when there are some.
    waiting = Recipient.objects.filter(
        conversation_id__in=list(first), replied_at__isnull=True, message__isnull=False
    )
    if not waiting.exists():
        return 0
    waiting = waiting.select_related("campaign", "conversation", "message")
    for recipient in waiting:
        at = first[recipient.conversation_id]
        # The platform's timestamps are whole seconds; ours are not: a reply in
        # the same second as our message answers it.
        if recipient.message.timestamp.replace(microsecond=0) > at:
            continue
        Recipient.objects.filter(pk=recipient.pk).update(replied_at=at)
        # The conversation shows which campaign it answers, as a label the
        # list, the filters and the search already know, put on through the
        # core (recorded in the thread, published live, SLA policies re-matched).
        label, _ = Label.objects.get_or_create(
            name=campaign_label(recipient.campaign.name), defaults={"color": LABEL_COLOR}
        )
        conversation = recipient.conversation
        core.conversation_set_labels(
            conversation=conversation,
            actor=None,
            label_ids=[*conversation.labels.values_list("pk", flat=True), label.pk],
        )
        marked += 1
    return marked


def campaign_label(name: str) -> str:
    """The label a conversation answering campaign ``name`` gets."""
    return f"Campaign: {name}"[:64]
