"""Assignment by operators: claiming an unassigned chat, and transferring a chat to
an operator, a team, or both.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations import selectors
from conversations.models import Conversation, ConversationEvent, Team
from conversations.serializers import team_summary, user_payload
from conversations.services.common import (
    User,
    conversation_groups,
    lock_conversation,
    publish_conversation,
    record_event,
)
from conversations.services.errors import AlreadyAssigned, InvalidAssignee, InvalidTeam, NotAllowed
from conversations.services.routing import conversation_route, drain_teams_of

UNSET: Any = object()


def _may_work_on(user: Any, team: Team | None) -> bool:
    """Whether ``user`` may see a chat of ``team`` without being its assignee."""
    access = selectors.access_for(user)
    return access.member and (access.supervisor or team is None or team.pk in access.team_ids)


def conversation_claim(*, conversation: Conversation, user: Any) -> Conversation:
    """Take an unassigned chat. Of two operators claiming at once exactly one wins:
    the row is updated only while it has no assignee.

    Raises ``AlreadyAssigned`` naming the holder. Publishes ``conversation.event``
    and ``conversation.updated``."""
    with transaction.atomic():
        taken = Conversation.objects.filter(pk=conversation.pk, assignee__isnull=True).update(
            assignee=user, queued_at=None
        )
        if not taken:
            holder = (
                Conversation.objects.filter(pk=conversation.pk)
                .values_list("assignee__first_name", "assignee__last_name", "assignee__username")
                .first()
            )
            name = (" ".join(filter(None, holder[:2])) or holder[2] or "") if holder else ""
            raise AlreadyAssigned(f"Already taken by {name}." if name else "Already taken.")
        conversation = lock_conversation(conversation.pk)
        record_event(
            conversation,
            ConversationEvent.Kind.ASSIGNED,
            actor=user,
            data={"assignee": user_payload(user), "from": None, "reason": "claim"},
        )
        publish_conversation(conversation)
    return conversation


def conversation_assign(
    *, conversation: Conversation, actor: Any, assignee: Any = UNSET, team: Any = UNSET
) -> Conversation:
    """Transfer a chat to an operator (a user id), to a team (a team id), or both;
    ``assignee=None`` unassigns.

    Operators may move only chats assigned to them or to nobody; supervisors and
    admins any. The new assignee must be able to see the chat as a member of its
    team (``InvalidAssignee`` otherwise). A transfer to another team drops an
    assignee who is not in it, and routes the chat there when the team assigns
    automatically. An operator who lets a chat go frees capacity: their teams'
    queues move."""
    now = timezone.now()
    with transaction.atomic():
        conversation = lock_conversation(conversation.pk)
        if not selectors.user_is_supervisor(actor) and conversation.assignee_id not in (
            None,
            actor.pk,
        ):
            raise NotAllowed("Only a supervisor may move a chat assigned to someone else.")
        old_groups = conversation_groups(conversation)
        previous_user = conversation.assignee if conversation.assignee_id else None
        previous_team = conversation.team if conversation.team_id else None

        target_team = previous_team
        if team is not UNSET and team is not None:
            target_team = Team.objects.filter(pk=team).first()
            if target_team is None:
                raise InvalidTeam(f"There is no team {team}.")
        if assignee is UNSET:
            target_user = previous_user
            if target_user is not None and not _may_work_on(target_user, target_team):
                target_user = None
        elif assignee is None:
            target_user = None
        else:
            target_user = User.objects.filter(pk=assignee, is_active=True).first()
            if target_user is None or not _may_work_on(target_user, target_team):
                raise InvalidAssignee(
                    "That person cannot work on this chat: they are not in its team."
                )

        team_changed = (target_team.pk if target_team else None) != conversation.team_id
        user_changed = (target_user.pk if target_user else None) != conversation.assignee_id
        if not (team_changed or user_changed):
            return conversation
        fields = []
        if team_changed:
            conversation.team = target_team
            conversation.queued_at = None
            conversation.escalated_at = None
            fields += ["team", "queued_at", "escalated_at"]
        if user_changed:
            conversation.assignee = target_user
            conversation.queued_at = None
            fields += ["assignee", "queued_at"]
        conversation.save(update_fields=list(dict.fromkeys(fields)))
        if team_changed:
            record_event(
                conversation,
                ConversationEvent.Kind.TEAM,
                actor=actor,
                data={"from": team_summary(previous_team), "to": team_summary(target_team)},
                now=now,
                also=old_groups,
            )
        if user_changed and target_user is not None:
            record_event(
                conversation,
                ConversationEvent.Kind.ASSIGNED,
                actor=actor,
                data={
                    "assignee": user_payload(target_user),
                    "from": user_payload(previous_user),
                    "reason": "transfer",
                },
                now=now,
                also=old_groups,
            )
        elif user_changed:
            record_event(
                conversation,
                ConversationEvent.Kind.UNASSIGNED,
                actor=actor,
                data={"from": user_payload(previous_user)},
                now=now,
                also=old_groups,
            )
        publish_conversation(conversation, also=old_groups)
        if team_changed and target_user is None:
            conversation_route(conversation, now=now)
        if previous_user is not None and user_changed:
            drain_teams_of(previous_user.pk, now=now)
    return conversation
