"""Claiming and transferring chats (services)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from conversations import services
from conversations.models import Conversation, ConversationEvent
from conversations.tests.factories import ConversationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


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
