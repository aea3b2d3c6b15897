"""Claiming, transferring and the automatic assignment of chats (services)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from conversations import services
from conversations.models import AgentProfile, Conversation, ConversationEvent
from conversations.tests.factories import (
    ConversationFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
    online,
    text_webhook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga():
    return UserFactory(username="olga", role="operator", first_name="Olga", last_name="Ivanova")


@pytest.fixture
def oleg():
    return UserFactory(username="oleg", role="operator")


@pytest.fixture
def support(olga, oleg):
    return TeamFactory(name="Support", members=[olga, oleg])


def test_claim_takes_an_unassigned_chat_and_records_who(
    olga, support, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(team=support, queued_at=timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        claimed = services.conversation_claim(conversation=conversation, user=olga)
    assert claimed.assignee == olga
    assert claimed.queued_at is None
    event = ConversationEvent.objects.get(conversation=conversation)
    assert (event.kind, event.actor, event.data["reason"]) == ("assigned", olga, "claim")
    assert len(callbacks) == 2  # conversation.event and conversation.updated


def test_a_second_claim_is_told_who_has_the_chat(olga, oleg, support):
    conversation = ConversationFactory(team=support)
    services.conversation_claim(conversation=conversation, user=olga)
    with pytest.raises(services.AlreadyAssigned, match=r"^Already taken by Olga Ivanova\.$"):
        services.conversation_claim(conversation=conversation, user=oleg)
    conversation.refresh_from_db()
    assert conversation.assignee == olga
    assert ConversationEvent.objects.filter(conversation=conversation).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_have_exactly_one_winner():
    olga = UserFactory(username="olga", role="operator")
    oleg = UserFactory(username="oleg", role="operator")
    conversation = ConversationFactory()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(user) -> None:
        try:
            barrier.wait(timeout=5)
            services.conversation_claim(conversation=conversation, user=user)
            outcomes[user.username] = "won"
        except services.AlreadyAssigned:
            outcomes[user.username] = "lost"
        finally:
            connection.close()

    for _ in range(5):  # the race goes either way; the rule must hold every time
        Conversation.objects.filter(pk=conversation.pk).update(assignee=None)
        ConversationEvent.objects.all().delete()
        outcomes.clear()
        threads = [threading.Thread(target=claim, args=(user,)) for user in (olga, oleg)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes.values()) == ["lost", "won"]
        winner = next(name for name, outcome in outcomes.items() if outcome == "won")
        conversation.refresh_from_db()
        assert conversation.assignee.username == winner
        assert ConversationEvent.objects.filter(kind="assigned").count() == 1


def test_operator_transfers_own_chat_to_a_teammate(olga, oleg, support):
    conversation = ConversationFactory(team=support, assignee=olga)
    moved = services.conversation_assign(conversation=conversation, actor=olga, assignee=oleg.pk)
    assert moved.assignee == oleg
    event = ConversationEvent.objects.get()
    assert (event.kind, event.data["from"]["username"], event.data["assignee"]["username"]) == (
        "assigned",
        "olga",
        "oleg",
    )


def test_operator_may_not_move_a_colleagues_chat_but_a_supervisor_may(olga, oleg, support):
    conversation = ConversationFactory(team=support, assignee=oleg)
    with pytest.raises(services.NotAllowed):
        services.conversation_assign(conversation=conversation, actor=olga, assignee=None)
    sam = UserFactory(username="sam", role="supervisor")
    services.conversation_assign(conversation=conversation, actor=sam, assignee=None)
    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert ConversationEvent.objects.get().kind == "unassigned"


def test_assignee_must_be_able_to_see_the_chat(olga, support):
    outsider = UserFactory(username="boris", role="operator")
    TeamFactory(name="Sales", members=[outsider])
    nobody = UserFactory(username="visitor")
    conversation = ConversationFactory(team=support, assignee=olga)
    for user in (outsider, nobody):
        with pytest.raises(services.InvalidAssignee):
            services.conversation_assign(conversation=conversation, actor=olga, assignee=user.pk)
    conversation.refresh_from_db()
    assert conversation.assignee == olga


def test_transfer_to_another_team_drops_an_assignee_outside_it(olga, support):
    sales = TeamFactory(name="Sales")
    conversation = ConversationFactory(team=support, assignee=olga)
    moved = services.conversation_assign(conversation=conversation, actor=olga, team=sales.pk)
    assert (moved.team, moved.assignee) == (sales, None)
    kinds = list(ConversationEvent.objects.order_by("id").values_list("kind", "data"))
    assert kinds == [
        (
            "team",
            {
                "from": {"id": support.id, "name": "Support"},
                "to": {"id": sales.id, "name": "Sales"},
            },
        ),
        ("unassigned", {"from": {"id": olga.id, "username": "olga", "name": "Olga Ivanova"}}),
    ]


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
