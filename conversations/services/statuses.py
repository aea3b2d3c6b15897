"""A conversation's status (open, pending, snoozed, resolved), set by operators,
and snoozed chats woken when their time comes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation, ConversationEvent
from conversations.serializers import iso
from conversations.services.common import (
    lock_conversation,
    publish_conversation,
    record_event,
    status_fields,
)
from conversations.services.errors import InvalidSnooze, ServiceError
from conversations.services.routing import drain_teams_of

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
        conversation = lock_conversation(conversation.pk)
        previous = conversation.status
        if previous == status and (
            status != Conversation.Status.SNOOZED or conversation.snoozed_until == snoozed_until
        ):
            return conversation
        conversation.save(update_fields=status_fields(conversation, status, snoozed_until))
        data: dict[str, Any] = {"from": previous, "to": status}
        if status == Conversation.Status.SNOOZED:
            data["snoozed_until"] = iso(snoozed_until)
        record_event(conversation, ConversationEvent.Kind.STATUS, actor=actor, data=data, now=now)
        publish_conversation(conversation)
        if conversation.assignee_id and (previous, status) in _FREES_CAPACITY:
            drain_teams_of(conversation.assignee_id, now=now)
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
            conversation.save(update_fields=status_fields(conversation, Conversation.Status.OPEN))
            record_event(
                conversation,
                ConversationEvent.Kind.STATUS,
                actor=None,
                data={"from": "snoozed", "to": "open", "reason": "snooze_ended"},
                now=now,
            )
            publish_conversation(conversation)
            woken += 1
    return woken
