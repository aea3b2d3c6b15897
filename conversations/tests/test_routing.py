"""Automatic assignment of chats: the number's team, round robin among online
operators, capacity, and the team queue (services)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conversations import services
from conversations.models import AgentProfile, Conversation, ConversationEvent
from conversations.tests.factories import (
    ConversationFactory,
    NumberFactory,
    UserFactory,
    online,
    text_webhook,
)

pytestmark = pytest.mark.django_db


def test_new_chat_goes_to_the_numbers_team(support, post_webhook):
    NumberFactory(team=support)
    post_webhook(text_webhook(text="Hi"))
    conversation = Conversation.objects.get()
    assert (conversation.team, conversation.assignee, conversation.queued_at) == (
        support,
        None,
        None,
    )


def test_auto_assignment_is_round_robin_among_online_operators(olga, oleg, support, post_webhook):
    support.auto_assign = True
    support.save()
    away = UserFactory(username="anna", role="operator")
    support.members.add(away)
    AgentProfile.objects.create(user=away, presence="away")
    offline = UserFactory(username="zoe", role="operator")  # no socket
    support.members.add(offline)
    for user in (olga, oleg, away):
        online(user)
    NumberFactory(team=support)
    for wa_id in ("111", "222", "333"):
        post_webhook(text_webhook(wa_id=wa_id, text="Hi"))
    assignees = list(
        Conversation.objects.order_by("id").values_list("assignee__username", flat=True)
    )
    first, second = sorted([olga, oleg], key=lambda u: u.pk)
    assert assignees == [first.username, second.username, first.username]
    support.refresh_from_db()
    assert support.last_assigned == first
    event = ConversationEvent.objects.filter(kind="assigned").first()
    assert (event.actor, event.data["reason"]) == (None, "auto")


def test_capacity_limits_assignment_and_the_queue_keeps_arrival_order(olga, support, post_webhook):
    support.members.set([olga])
    support.auto_assign = True
    support.save()
    AgentProfile.objects.create(user=olga, capacity=1)
    online(olga)
    NumberFactory(team=support)
    now = timezone.now()
    for minutes, wa_id in ((3, "111"), (2, "222"), (1, "333")):
        post_webhook(text_webhook(wa_id=wa_id, timestamp=now - dt.timedelta(minutes=minutes)))
    first, second, third = Conversation.objects.order_by("id")
    assert first.assignee == olga
    assert (second.assignee, third.assignee) == (None, None)
    assert second.queued_at < third.queued_at

    # Resolving frees her: the oldest queued chat comes next, the other still waits.
    services.conversation_set_status(conversation=first, actor=olga, status="resolved")
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.assignee, second.queued_at) == (olga, None)
    assert (third.assignee, third.queued_at is not None) == (None, True)
    assert ConversationEvent.objects.get(conversation=second).data["reason"] == "queue"


def test_waiting_chats_count_toward_capacity_when_the_team_says_so(olga, support, post_webhook):
    support.members.set([olga])
    support.auto_assign = True
    support.capacity_counts_waiting = True
    support.save()
    AgentProfile.objects.create(user=olga, capacity=1)
    online(olga)
    NumberFactory(team=support)
    ConversationFactory(team=support, assignee=olga, status="pending")
    post_webhook(text_webhook(wa_id="111"))
    queued = Conversation.objects.get(contact__wa_id="111")
    assert (queued.assignee, queued.queued_at is not None) == (None, True)

    support.capacity_counts_waiting = False
    support.save()
    assert services.team_queues_drain() == 1
    queued.refresh_from_db()
    assert queued.assignee == olga


def test_coming_online_drains_the_queue(olga, support):
    support.members.set([olga])
    support.auto_assign = True
    support.save()
    queued = ConversationFactory(team=support, queued_at=timezone.now())
    services.agent_connected(olga, "chan.1")
    queued.refresh_from_db()
    assert (queued.assignee, queued.queued_at) == (olga, None)


def test_unassigning_frees_capacity_for_the_queue(olga, support):
    support.members.set([olga])
    support.auto_assign = True
    support.save()
    AgentProfile.objects.create(user=olga, capacity=1)
    online(olga)
    held = ConversationFactory(team=support, assignee=olga)
    queued = ConversationFactory(team=support, queued_at=timezone.now())
    assert services.team_queues_drain() == 0
    services.conversation_assign(conversation=held, actor=olga, assignee=None)
    queued.refresh_from_db()
    assert queued.assignee == olga


def test_teams_without_auto_assignment_leave_new_chats_unassigned(olga, support, post_webhook):
    online(olga)
    NumberFactory(team=support)
    post_webhook(text_webhook())
    conversation = Conversation.objects.get()
    assert (conversation.assignee, conversation.queued_at) == (None, None)


def test_a_higher_capacity_takes_the_next_queued_chat(olga, support):
    support.members.set([olga])
    support.auto_assign = True
    support.save()
    AgentProfile.objects.create(user=olga, capacity=1)
    online(olga)
    ConversationFactory(team=support, assignee=olga)
    queued = ConversationFactory(team=support, queued_at=timezone.now())
    services.agent_profile_update(user=olga, notify_sound=False)
    queued.refresh_from_db()
    assert queued.assignee is None
    services.agent_profile_update(user=olga, capacity=2)
    queued.refresh_from_db()
    assert queued.assignee == olga
