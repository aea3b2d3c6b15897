"""The analytics app's answers to the core's hooks: every stored message and
conversation event brings the chat's reply facts, its SLA clock and the rollups'
marks up to date, inside the write's transaction."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from analytics.services.reply_facts import conversation_facts_refresh, waits_extend
from analytics.services.rollups import hour_floor, rollup_hours_mark
from analytics.services.sla_clock import sla_clocks_publish
from conversations.models import ConversationEvent


def facts_record_messages(messages: list[Any]) -> None:
    """The core's message hook: refresh the facts of the messages' conversations,
    and mark dirty the rolled-up hours a late message falls in. An outbound
    message nobody wrote (a campaign's, an automatic reply) answers no one and
    starts nothing: only the rollups count it."""
    ids = {m.conversation_id for m in messages if m.direction == "in" or m.sent_by_id}
    # A wait only extended keeps its targets: those chats' clocks have not moved.
    recomputed = ids - waits_extend(messages)
    conversation_facts_refresh(conversation_ids=recomputed)
    sla_clocks_publish(recomputed)
    current = hour_floor(timezone.now())
    rollup_hours_mark(
        hours={hour_floor(m.timestamp) for m in messages if hour_floor(m.timestamp) < current}
    )


def facts_record_event(event: ConversationEvent) -> None:
    """The core's conversation-event hook: a status change (resolution, reopening),
    a transfer to another team or new labels (another SLA policy may match)
    change the conversation's facts."""
    if event.kind in (
        ConversationEvent.Kind.STATUS,
        ConversationEvent.Kind.TEAM,
        ConversationEvent.Kind.LABELS,
    ):
        conversation_facts_refresh(conversation_ids={event.conversation_id})
        sla_clocks_publish({event.conversation_id})
