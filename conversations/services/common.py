"""Helpers that several service modules share: the conversation row locked for a
write, the groups that hear of a conversation, publishing a conversation or a
message, recording a ``ConversationEvent``, a status change in memory, a
message's preview, and the Graph API client.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from conversations import hooks, realtime
from conversations.models import Conversation, ConversationEvent, Message
from conversations.serializers import conversation_payload, event_payload, message_payload
from whatsapp.client import GraphClient

User = get_user_model()


def lock_conversation(pk: int) -> Conversation:
    """The conversation, its row locked, with what its payload needs joined."""
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("number", "contact", "assignee", "team")
        .get(pk=pk)
    )


def conversation_groups(conversation: Conversation) -> tuple[str, ...]:
    """The groups told of changes to ``conversation`` (``realtime.groups_for_conversation``)."""
    return realtime.groups_for_conversation(
        team_id=conversation.team_id, assignee_id=conversation.assignee_id
    )


def publish_conversation(conversation: Conversation, *, also: tuple[str, ...] = ()) -> None:
    """``conversation.updated`` to whoever may see it now, and to ``also`` (who saw it
    before a transfer, so their lists drop it)."""
    realtime.publish(
        "conversation.updated",
        {"conversation_id": conversation.pk, "conversation": conversation_payload(conversation)},
        groups=(*conversation_groups(conversation), *also),
    )


def record_event(
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
    hooks.conversation_event(event)
    realtime.publish(
        "conversation.event",
        {"conversation_id": conversation.pk, "event": event_payload(event)},
        groups=(*conversation_groups(conversation), *also),
    )
    return event


def status_fields(
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


def publish_message(message: Message, conversation: Conversation | None, event_type: str) -> None:
    """``event_type`` (``message.created`` or ``message.updated``) for ``message``, after
    commit, with the conversation's payload when ``conversation`` is given."""
    conversation_id = message.conversation_id
    payload: dict[str, Any] = {
        "conversation_id": conversation_id,
        "message": message_payload(message),
    }
    if conversation is not None:
        payload["conversation"] = conversation_payload(conversation)
        groups = conversation_groups(conversation)
    else:
        team_id, assignee_id = (
            Conversation.objects.filter(pk=conversation_id)
            .values_list("team_id", "assignee_id")
            .get()
        )
        groups = realtime.groups_for_conversation(team_id=team_id, assignee_id=assignee_id)
    realtime.publish(event_type, payload, groups=groups)


def message_preview(message: Message) -> str:
    """What a conversation shows of its last message."""
    text = message.text or f"[{message.type}]"
    return text[:200]


def graph_client() -> GraphClient:
    """The Graph API client the settings describe."""
    return GraphClient(
        base_url=settings.WHATSAPP_GRAPH_URL,
        access_token=settings.WHATSAPP_ACCESS_TOKEN,
        timeout=settings.WHATSAPP_HTTP_TIMEOUT,
    )
