"""Labels on a conversation and private notes in its thread, whose ``@username``
mentions notify colleagues.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from conversations import realtime, selectors
from conversations.models import Conversation, ConversationEvent, Label, Note, Notification
from conversations.serializers import note_payload
from conversations.services.common import (
    User,
    conversation_groups,
    lock_conversation,
    publish_conversation,
    record_event,
)
from conversations.services.errors import InvalidLabel, ServiceError
from conversations.services.notifications import notify


def _display_name(user: Any) -> str:
    return user.get_full_name() or user.username


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
        conversation = lock_conversation(conversation.pk)
        current = {label.pk: label for label in conversation.labels.all()}
        if set(current) == wanted:
            return conversation
        conversation.labels.set(labels)
        record_event(
            conversation,
            ConversationEvent.Kind.LABELS,
            actor=actor,
            data={
                "added": [label.name for label in labels if label.pk not in current],
                "removed": sorted(label.name for pk, label in current.items() if pk not in wanted),
            },
        )
        publish_conversation(conversation)
    return conversation


# A username after "@" (Django allows letters, digits and @.+-_); a sentence's
# full stop after it is not part of it.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")


def note_create(*, conversation: Conversation, author: Any, text: str) -> Note:
    """Add a private note to the thread (never sent to the customer).

    Every ``@username`` of someone who may see the chat (other than the author)
    is a mention: a ``mention`` notification, published to that user as
    ``notification.created``. Publishes ``note.created`` to the chat's groups as
    they are now (the row is read again, locked: the chat may have moved to another
    team since the caller read it)."""
    text = text.strip()
    if not text:
        raise ServiceError("The note is empty.")
    usernames = {name.rstrip(".") for name in MENTION.findall(text)}
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
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
            groups=conversation_groups(conversation),
        )
        summary = f"{_display_name(author)} mentioned you: {text}"
        data = {"author": _display_name(author), "note": text[:200]}
        for user in mentioned:
            notify(
                user, Notification.Kind.MENTION, conversation, text=summary, data=data, note=note
            )
    return note
