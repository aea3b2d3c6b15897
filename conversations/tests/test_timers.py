"""The timer tick with a fixed clock: snooze wake-ups, escalation, queues, dead sockets."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations import jobs
from conversations.models import (
    AgentConnection,
    AgentProfile,
    Conversation,
    ConversationEvent,
    Notification,
)
from conversations.tests.factories import (
    ConversationFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
    online,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def olga():
    return UserFactory(username="olga", role="operator")


@pytest.fixture
def oleg():
    return UserFactory(username="oleg", role="operator")


@pytest.fixture
def support(olga, oleg):
    team = TeamFactory(name="Support", members=[olga, oleg])
    NumberFactory(team=team)
    return team


def tick(at: dt.datetime = NOW) -> dict[str, int]:
    return jobs.run_timers(now=at)


def test_a_snoozed_chat_wakes_when_its_time_comes(olga):
    conversation = ConversationFactory(
        status="snoozed", snoozed_until=NOW + dt.timedelta(minutes=5)
    )
    assert tick(NOW + dt.timedelta(minutes=4))["woken"] == 0
    conversation.refresh_from_db()
    assert conversation.status == "snoozed"
    assert tick(NOW + dt.timedelta(minutes=5))["woken"] == 1
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == ("open", None)
    event = ConversationEvent.objects.get()
    assert (event.actor, event.data, event.created_at) == (
        None,
        {"from": "snoozed", "to": "open", "reason": "snooze_ended"},
        NOW + dt.timedelta(minutes=5),
    )
    assert tick(NOW + dt.timedelta(minutes=6))["woken"] == 0


def test_waiting_too_long_alerts_the_supervisors_once_per_waiting_period(support, olga):
    support.escalate_after_minutes = 10
    support.escalation = "supervisor"
    support.save()
    sam = UserFactory(username="sam", role="supervisor")
    ada = UserFactory(username="ada", role="admin")
    conversation = ConversationFactory(
        team=support, assignee=olga, waiting_since=NOW - dt.timedelta(minutes=9)
    )
    ConversationFactory(team=support, status="pending", waiting_since=NOW - dt.timedelta(hours=1))
    assert tick()["escalated"] == 0
    assert tick(NOW + dt.timedelta(minutes=1))["escalated"] == 1
    conversation.refresh_from_db()
    assert (conversation.escalated_at, conversation.assignee) == (
        NOW + dt.timedelta(minutes=1),
        olga,
    )
    notified = Notification.objects.filter(kind="escalation").order_by("user__username")
    assert [n.user for n in notified] == [ada, sam]
    assert "waited 10 minutes" in notified[0].text
    assert notified[0].data == {
        "customer": str(conversation.contact),
        "waited_minutes": 10,
        "team": "Support",
    }
    event = ConversationEvent.objects.get(kind="escalated")
    assert event.data == {"action": "supervisor", "waited_minutes": 10}

    assert tick(NOW + dt.timedelta(minutes=30))["escalated"] == 0
    assert Notification.objects.count() == 2


def test_waiting_too_long_reassigns_to_another_online_operator(support, olga, oleg):
    support.escalate_after_minutes = 5
    support.escalation = "reassign"
    support.save()
    online(olga, at=NOW)
    online(oleg, at=NOW)
    conversation = ConversationFactory(
        team=support, assignee=olga, waiting_since=NOW - dt.timedelta(minutes=6)
    )
    assert tick()["escalated"] == 1
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.escalated_at) == (oleg, NOW)
    escalated = ConversationEvent.objects.get(kind="escalated")
    assert escalated.data["action"] == "reassigned"
    assert (escalated.data["from"]["id"], escalated.data["to"]["id"]) == (olga.pk, oleg.pk)
    assert not Notification.objects.exists()


def test_reassignment_with_nobody_free_falls_back_to_the_supervisors(support, olga):
    support.escalate_after_minutes = 5
    support.escalation = "reassign"
    support.save()
    sam = UserFactory(username="sam", role="supervisor")
    online(olga, at=NOW)  # the only one online is the one already holding it
    conversation = ConversationFactory(
        team=support, assignee=olga, waiting_since=NOW - dt.timedelta(minutes=6)
    )
    tick()
    conversation.refresh_from_db()
    assert conversation.assignee == olga
    assert Notification.objects.get().user == sam


def test_the_tick_drains_team_queues_in_arrival_order(support, olga):
    support.auto_assign = True
    support.save()
    later = ConversationFactory(team=support, queued_at=NOW - dt.timedelta(minutes=1))
    earlier = ConversationFactory(team=support, queued_at=NOW - dt.timedelta(minutes=2))
    assert tick()["assigned"] == 0  # nobody online
    AgentProfile.objects.create(user=olga, capacity=1)
    online(olga, at=NOW)
    assert tick()["assigned"] == 1
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.assignee, later.assignee) == (olga, None)


def test_sockets_not_seen_for_90_seconds_are_forgotten(olga, django_capture_on_commit_callbacks):
    online(olga, at=NOW - dt.timedelta(seconds=91), channel="dead")
    online(olga, at=NOW - dt.timedelta(seconds=30), channel="alive")
    with django_capture_on_commit_callbacks() as callbacks:
        assert tick()["pruned"] == 1
    assert list(AgentConnection.objects.values_list("channel_name", flat=True)) == ["alive"]
    assert callbacks == []  # olga is still present through her other socket
    with django_capture_on_commit_callbacks() as callbacks:
        assert tick(NOW + dt.timedelta(seconds=61))["pruned"] == 1
    assert len(callbacks) == 1  # presence.updated: offline


def test_run_timers_command_runs_one_tick(capsys):
    conversation = ConversationFactory(
        status="snoozed", snoozed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    call_command("run_timers", "--once")
    assert (
        capsys.readouterr().out.strip()
        == "pruned=0 woken=1 escalated=0 assigned=0 interrupted=0 requeued=0"
    )
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_run_timers_command_uses_the_clock_it_is_given():
    conversation = ConversationFactory(status="snoozed", snoozed_until=NOW)
    with mock.patch("django.utils.timezone.now", return_value=NOW - dt.timedelta(seconds=1)):
        call_command("run_timers", "--once")
    conversation.refresh_from_db()
    assert conversation.status == "snoozed"
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        call_command("run_timers", "--once")
    conversation.refresh_from_db()
    assert Conversation.objects.get().status == "open"
