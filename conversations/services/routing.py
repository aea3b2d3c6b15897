"""Routing, automatic assignment and the team queue: the next free operator of a
team by round robin, a chat queued while nobody is free or the team is closed by
its calendar, and the queues drained when an operator frees up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations import calendars, selectors
from conversations.models import AgentProfile, Conversation, ConversationEvent, Team
from conversations.serializers import user_payload
from conversations.services.common import conversation_groups, publish_conversation, record_event

DEFAULT_CAPACITY: int = AgentProfile._meta.get_field("capacity").default


def _eligible_operators(
    team: Team, *, now: dt.datetime, exclude_ids: tuple[int, ...] = ()
) -> list[Any]:
    """Members of ``team`` who are online and below their capacity, by id."""
    statuses = list(selectors.ACTIVE_STATUSES)
    if team.capacity_counts_waiting:
        statuses += list(selectors.WAITING_STATUSES)
    active = (
        Conversation.objects.filter(assignee=OuterRef("pk"), status__in=statuses)
        .order_by()
        .values("assignee")
        .annotate(n=Count("id"))
        .values("n")
    )
    return list(
        team.members.filter(pk__in=selectors.users_in_roles().values("pk"))
        .filter(selectors.fresh_connection(now))
        .exclude(agent__presence__in=[AgentProfile.Presence.AWAY, AgentProfile.Presence.OFFLINE])
        .exclude(pk__in=[pk for pk in exclude_ids if pk is not None])
        .annotate(
            active_chats=Coalesce(Subquery(active), 0),
            chat_capacity=Coalesce(F("agent__capacity"), DEFAULT_CAPACITY),
        )
        .filter(active_chats__lt=F("chat_capacity"))
        .order_by("pk")
    )


def next_operator(team: Team, *, now: dt.datetime, exclude_ids: tuple[int, ...] = ()) -> Any | None:
    """Round robin: the first eligible operator after the one who got the team's
    previous chat (by user id, wrapping around). Lock the team row first."""
    candidates = _eligible_operators(team, now=now, exclude_ids=exclude_ids)
    if not candidates:
        return None
    last = team.last_assigned_id
    after = [user for user in candidates if last is None or user.pk > last]
    return (after or candidates)[0]


def give_to(
    conversation: Conversation,
    team: Team,
    operator: Any,
    *,
    now: dt.datetime,
    reason: str,
    also: tuple[str, ...] = (),
) -> None:
    """Assign by the system and move the team's round robin pointer."""
    previous = conversation.assignee if conversation.assignee_id else None
    old_groups = (*conversation_groups(conversation), *also)
    conversation.assignee = operator
    conversation.queued_at = None
    conversation.save(update_fields=["assignee", "queued_at"])
    team.last_assigned = operator
    team.save(update_fields=["last_assigned"])
    record_event(
        conversation,
        ConversationEvent.Kind.ASSIGNED,
        actor=None,
        data={"assignee": user_payload(operator), "from": user_payload(previous), "reason": reason},
        now=now,
        also=old_groups,
    )


def conversation_route(conversation: Conversation, *, now: dt.datetime) -> None:
    """Send an unassigned chat to the next free operator of its team, or queue it.

    Only for teams with automatic assignment; the conversation row is locked.
    Outside the team's calendar the chat is queued (the timer tick assigns it
    once the team opens)."""
    if conversation.team_id is None or conversation.assignee_id is not None:
        return
    team = Team.objects.select_for_update().filter(pk=conversation.team_id).first()
    if team is None or not team.auto_assign:
        return
    # Outside the team's calendar the chat waits in the queue until it opens.
    operator = next_operator(team, now=now) if team_is_open(team, now=now) else None
    if operator is not None:
        give_to(conversation, team, operator, now=now, reason="auto")
        publish_conversation(conversation)
    elif conversation.queued_at is None:
        conversation.queued_at = now
        conversation.save(update_fields=["queued_at"])
        publish_conversation(conversation)


def team_is_open(team: Team, *, now: dt.datetime | None = None) -> bool:
    """Whether ``team`` works now by its calendar (no calendar: always)."""
    if team.calendar_id is None:
        return True
    return calendars.is_open(selectors.team_schedule(team), now or timezone.now())


def team_queue_drain(*, team_id: int, now: dt.datetime | None = None) -> int:
    """Assign the team's queued chats in arrival order while an operator is free;
    the number assigned.

    Locks the team row; queued chats another transaction holds are skipped (the
    next drain takes them). Nothing moves while the team is closed by its calendar."""
    now = now or timezone.now()
    assigned = 0
    with transaction.atomic():
        team = Team.objects.select_for_update().filter(pk=team_id, auto_assign=True).first()
        if team is None or not team_is_open(team, now=now):
            return 0
        while True:
            conversation = (
                Conversation.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("number", "contact", "assignee", "team")
                .filter(team=team, queued_at__isnull=False, assignee__isnull=True)
                .order_by("queued_at", "id")
                .first()
            )
            if conversation is None:
                break
            operator = next_operator(team, now=now)
            if operator is None:
                break
            give_to(conversation, team, operator, now=now, reason="queue")
            publish_conversation(conversation)
            assigned += 1
    return assigned


def drain_teams_of(user_id: int, *, now: dt.datetime) -> int:
    """An operator freed up or came online: their teams' queues move."""
    team_ids = Team.objects.filter(members=user_id, auto_assign=True).order_by("id")
    return sum(
        team_queue_drain(team_id=team_id, now=now)
        for team_id in team_ids.values_list("id", flat=True)
    )


def team_queues_drain(*, now: dt.datetime | None = None) -> int:
    """Drain every automatic team's queue (the timer tick); the number assigned."""
    now = now or timezone.now()
    team_ids = (
        Conversation.objects.filter(
            queued_at__isnull=False, assignee__isnull=True, team__auto_assign=True
        )
        .order_by("team_id")
        .values_list("team_id", flat=True)
        .distinct()
    )
    return sum(team_queue_drain(team_id=team_id, now=now) for team_id in list(team_ids))
