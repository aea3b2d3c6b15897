"""Escalation of customers who waited too long for an answer: the chat goes to
another operator of the team, or the supervisors are told.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from conversations import calendars, selectors
from conversations.models import Conversation, ConversationEvent, Notification, Team
from conversations.serializers import user_payload
from conversations.services.common import conversation_groups, publish_conversation, record_event
from conversations.services.notifications import notify
from conversations.services.routing import give_to, next_operator


def conversations_escalate_due(*, now: dt.datetime | None = None) -> int:
    """Act on open chats whose customer has waited longer than their team allows
    without an operator's reply, once per waiting period; the number escalated.

    ``reassign``: the chat goes to another eligible operator of the team (when
    there is none, the supervisors are told instead). ``supervisor``: the chat is
    flagged (``escalated_at``) and every supervisor and admin is notified."""
    now = now or timezone.now()
    escalated = 0
    for team in Team.objects.filter(escalate_after_minutes__isnull=False).order_by("id"):
        cutoff = now - dt.timedelta(minutes=team.escalate_after_minutes or 0)
        if not _escalation_clock_runs(team, now=now, cutoff=cutoff):
            continue
        due = Q(
            team=team,
            status=Conversation.Status.OPEN,
            waiting_since__lte=cutoff,
            escalated_at__isnull=True,
        )
        for pk in list(
            Conversation.objects.filter(due).order_by("waiting_since").values_list("pk", flat=True)
        ):
            with transaction.atomic():
                conversation = (
                    Conversation.objects.select_for_update(of=("self",), skip_locked=True)
                    .select_related("number", "contact", "assignee", "team")
                    .filter(due, pk=pk)
                    .first()
                )
                if conversation is None:
                    continue
                _escalate(conversation, now=now)
                escalated += 1
    return escalated


def _escalation_clock_runs(team: Team, *, now: dt.datetime, cutoff: dt.datetime) -> bool:
    """Whether the team's customers may be escalated now: never while the team
    is closed, and only once it has been open for its whole escalation time (a
    customer who wrote overnight is not escalated the minute the team opens)."""
    if team.calendar_id is None:
        return True
    period = calendars.current_period(selectors.team_schedule(team), now)
    return period.kind == calendars.OPEN and (period.start is None or period.start <= cutoff)


def _escalate(conversation: Conversation, *, now: dt.datetime) -> None:
    team = Team.objects.select_for_update().get(pk=conversation.team_id)
    waited = int((now - conversation.waiting_since).total_seconds() // 60)
    conversation.escalated_at = now
    if team.escalation == Team.Escalation.REASSIGN:
        operator = next_operator(team, now=now, exclude_ids=(conversation.assignee_id,))
        if operator is not None:
            previous = conversation.assignee if conversation.assignee_id else None
            old_groups = conversation_groups(conversation)
            conversation.save(update_fields=["escalated_at"])
            give_to(conversation, team, operator, now=now, reason="escalation")
            record_event(
                conversation,
                ConversationEvent.Kind.ESCALATED,
                actor=None,
                data={
                    "action": "reassigned",
                    "from": user_payload(previous),
                    "to": user_payload(operator),
                    "waited_minutes": waited,
                },
                now=now,
                also=old_groups,
            )
            publish_conversation(conversation, also=old_groups)
            return
    conversation.save(update_fields=["escalated_at"])
    record_event(
        conversation,
        ConversationEvent.Kind.ESCALATED,
        actor=None,
        data={"action": "supervisor", "waited_minutes": waited},
        now=now,
    )
    publish_conversation(conversation)
    text = f"{conversation.contact} has waited {waited} minutes for a reply ({team.name})."
    data = {"customer": str(conversation.contact), "waited_minutes": waited, "team": team.name}
    for supervisor in selectors.supervisors().order_by("pk"):
        notify(
            supervisor, Notification.Kind.ESCALATION, conversation, text=text, data=data, now=now
        )
