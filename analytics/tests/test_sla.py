"""SLA policies: attached by rule, targets in working hours or around the clock,
the resolution clock paused while pending, warnings and breaches recorded once
and announced live, missed replies counted, and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import TestCase
from rest_framework.test import APIClient

from analytics import selectors, services, sla
from analytics.models import SlaBreach, SlaPolicy, Wait
from analytics.selectors import StatsFilter
from analytics.tests.helpers import at, customer_says, operator_replies, set_status
from conversations import realtime
from conversations.models import (
    BusinessCalendar,
    CalendarInterval,
    Conversation,
    Label,
    Notification,
)
from conversations.tests.factories import NumberFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support():
    team = TeamFactory(name="Support")
    NumberFactory(team=team)
    return team


@pytest.fixture
def olga(support):
    user = UserFactory(username="olga", role="operator")
    support.members.add(user)
    return user


def policy(team: Any, **fields: Any) -> SlaPolicy:
    return services.sla_policy_create(data={"name": "Policy", "team": team, **fields})


def test_the_most_specific_policy_applies(support):
    number = NumberFactory()
    refunds = Label.objects.create(name="Refund")
    team_wide = SlaPolicy.objects.create(name="All", team=support, first_response_minutes=30)
    on_number = SlaPolicy.objects.create(
        name="Line", team=support, number=number, first_response_minutes=20
    )
    on_label = SlaPolicy.objects.create(
        name="Refunds", team=support, label=refunds, first_response_minutes=10
    )
    both = SlaPolicy.objects.create(
        name="Both", team=support, label=refunds, number=number, first_response_minutes=5
    )
    other_team = SlaPolicy.objects.create(
        name="Sales", team=TeamFactory(name="Sales"), first_response_minutes=1
    )
    policies = [other_team, both, on_label, on_number, team_wide]

    def chosen(number_id: int, labels: set[int]) -> str:
        found = sla.policy_for(policies, team_id=support.pk, number_id=number_id, label_ids=labels)
        return found.name if found else ""

    assert chosen(number.pk, {refunds.pk}) == "Both"
    assert chosen(number.pk + 1, {refunds.pk}) == "Refunds"
    assert chosen(number.pk, set()) == "Line"
    assert chosen(number.pk + 1, set()) == "All"
    assert sla.policy_for(policies, team_id=None, number_id=number.pk, label_ids=set()) is None


def test_first_response_and_next_reply_targets(support, olga):
    policy(support, first_response_minutes=5, next_reply_minutes=10, business_hours=False)
    customer_says(0)
    operator_replies(7, olga)  # two minutes late
    customer_says(20)

    waits = list(Wait.objects.order_by("started_at").values_list("due_at", "warn_at"))
    assert waits == [(at(5), at(4)), (at(30), at(28))]
    summary = selectors.stats_summary(StatsFilter(since=at(-60), until=at(60)), now=at(25))
    assert summary["conversations"]["missed"] == 1
    later = selectors.stats_summary(StatsFilter(since=at(-60), until=at(60)), now=at(31))
    assert later["conversations"]["missed"] == 2


def test_targets_in_working_hours_wait_for_the_team_to_open(support, olga):
    calendar = BusinessCalendar.objects.create(name="Office")
    CalendarInterval.objects.create(
        calendar=calendar, weekday=1, opens=dt.time(9), closes=dt.time(17)
    )
    support.calendar = calendar
    support.save()
    policy(support, first_response_minutes=30)
    # Monday 23:00 UTC (T0 is Monday 09:00): due Tuesday 09:30, not Monday 23:30.
    customer_says(14 * 60)

    assert Wait.objects.get().due_at == at(24 * 60 + 30)


def test_a_new_policy_applies_to_chats_already_open(support):
    customer_says(0)
    assert Wait.objects.get().due_at is None
    with time_machine.travel(at(1), tick=False):
        policy(support, first_response_minutes=15, business_hours=False)
    assert Wait.objects.get().due_at == at(15)


def test_the_resolution_clock_pauses_while_pending(support, olga):
    policy(support, resolution_minutes=60, business_hours=False)
    customer_says(0)
    operator_replies(5, olga)
    set_status(10, olga, "pending")
    conversation = Conversation.objects.get()
    assert (
        selectors.conversations_sla([conversation.pk])[conversation.pk]["resolution_due_at"] is None
    ), "paused"
    customer_says(40)  # 30 minutes pending: the target moves by as much

    clock = selectors.conversations_sla([conversation.pk], now=at(41))[conversation.pk]
    assert clock == {
        "first_response_due_at": None,
        "next_reply_due_at": None,
        "resolution_due_at": "2026-12-07T10:30:00Z",
        "breached": [],
    }


def test_warnings_and_breaches_are_recorded_once_and_announced(support, olga, monkeypatch):
    sent: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    monkeypatch.setattr(
        realtime, "_send", lambda groups, message: sent.append((groups, realtime.event_of(message)))
    )
    UserFactory(username="boss", role="supervisor")
    policy(support, first_response_minutes=10, business_hours=False)
    customer_says(0)
    conversation = Conversation.objects.get()
    conversation.assignee = olga
    conversation.save()
    sent.clear()

    def tick(minute: float) -> int:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return services.sla_breaches_record(at(minute))

    assert tick(7) == 0
    assert tick(8) == 1  # 80 % of ten minutes
    assert tick(9) == 0
    assert tick(10) == 1
    assert tick(11) == 0
    assert list(SlaBreach.objects.order_by("level").values_list("kind", "level", "due_at")) == [
        ("first_response", "breach", at(10)),
        ("first_response", "warning", at(10)),
    ]
    chat = (f"team.{support.pk}", "supervisors", f"user.{olga.pk}")
    announced = [(event["type"], groups) for groups, event in sent]
    assert [a for a in announced if a[0].startswith("sla.")] == [
        ("sla.warning", chat),
        ("sla.breached", chat),
    ]
    # The chat's clock follows each, live: overdue after the breach.
    clocks = [event["sla"] for groups, event in sent if event["type"] == "conversation.sla"]
    assert [c["breached"] for c in clocks] == [[], ["first_response"]]
    assert clocks[-1]["first_response_due_at"] == "2026-12-07T09:10:00Z"
    # The assignee and the supervisors are notified of each, in their own inbox.
    notified = Notification.objects.order_by("created_at", "user__username")
    assert [(n.user.username, n.kind) for n in notified] == [
        ("boss", "sla_warning"),
        ("olga", "sla_warning"),
        ("boss", "sla_breach"),
        ("olga", "sla_breach"),
    ]
    assert notified.last().data["kind"] == "first_response"
    assert selectors.conversations_sla([conversation.pk])[conversation.pk]["breached"] == [
        "first_response"
    ]
    # Answered: nothing more is due.
    operator_replies(12, olga)
    assert tick(30) == 0
    assert (
        selectors.conversations_sla([conversation.pk])[conversation.pk]["first_response_due_at"]
        is None
    )


def test_a_window_about_to_close_unanswered_is_announced_once(support, olga):
    """With or without a policy: an hour before the customer's window closes on their
    unanswered message, the assignee and the supervisors hear of it."""
    boss = UserFactory(username="boss", role="supervisor")
    conversation = customer_says(0)
    conversation.assignee = olga
    conversation.save()

    assert services.sla_breaches_record(at(22 * 60 + 59)) == 0
    assert services.sla_breaches_record(at(23 * 60)) == 1
    assert services.sla_breaches_record(at(23 * 60 + 30)) == 0
    breach = SlaBreach.objects.get()
    assert (breach.kind, breach.level, breach.due_at) == ("window", "warning", at(24 * 60))
    assert sorted(
        Notification.objects.filter(kind="window_closing").values_list("user__username", flat=True)
    ) == [boss.username, "olga"]
    # Not a breach of a target: the chat's clock shows none.
    assert selectors.conversations_sla([conversation.pk])[conversation.pk]["breached"] == []

    # Answered in time: a later message's window warns again only when it, too, nears.
    operator_replies(23 * 60 + 40, olga)
    assert services.sla_breaches_record(at(23 * 60 + 50)) == 0


def test_the_clock_is_published_when_a_policy_governs_the_chat(support, olga, monkeypatch):
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(
        realtime, "_send", lambda groups, message: sent.append(realtime.event_of(message))
    )

    def clocks() -> list[dict[str, Any]]:
        return [e["sla"] for e in sent if e["type"] == "conversation.sla"]

    with TestCase.captureOnCommitCallbacks(execute=True):
        customer_says(0, wa_id="447700900009")
    assert clocks() == [], "no policy, no clock"

    policy(support, first_response_minutes=10, next_reply_minutes=5, business_hours=False)
    with TestCase.captureOnCommitCallbacks(execute=True):
        customer_says(1)
    assert clocks()[-1]["first_response_due_at"] == "2026-12-07T09:11:00Z"
    with TestCase.captureOnCommitCallbacks(execute=True):
        operator_replies(2, olga)
    assert clocks()[-1]["first_response_due_at"] is None
    with TestCase.captureOnCommitCallbacks(execute=True):
        customer_says(3)
    assert clocks()[-1]["next_reply_due_at"] == "2026-12-07T09:08:00Z"


def test_the_list_shows_each_chat_clock_and_sorts_by_the_soonest_due(support, olga):
    boss = UserFactory(username="boss", role="supervisor")
    policy(support, first_response_minutes=30, business_hours=False)
    ann = customer_says(0)
    ivan = customer_says(5, wa_id="447700900002")
    luca = customer_says(2, wa_id="447700900003")
    operator_replies(10, olga, wa_id="447700900003")  # answered: nothing due
    client = APIClient()
    client.force_authenticate(boss)

    with time_machine.travel(at(40), tick=False):
        listed = client.get("/api/v1/conversations/").json()["results"]
        by_due = client.get("/api/v1/conversations/", {"sort": "sla"}).json()["results"]
        one = client.get(f"/api/v1/conversations/{ann.pk}/").json()
    clocks = {row["id"]: row["sla"] for row in listed}
    assert clocks[ann.pk]["first_response_due_at"] == "2026-12-07T09:30:00Z"
    assert clocks[ivan.pk]["first_response_due_at"] == "2026-12-07T09:35:00Z"
    assert clocks[luca.pk] == {
        "first_response_due_at": None,
        "next_reply_due_at": None,
        "resolution_due_at": None,
        "breached": [],
    }
    assert one["sla"] == clocks[ann.pk]
    # Due soonest (the longest overdue) first; a chat with nothing due is not listed.
    assert [row["id"] for row in by_due] == [ann.pk, ivan.pk]
    assert client.get("/api/v1/conversations/", {"sort": "nonsense"}).status_code == 400


def test_the_api_adds_and_lists_policies(support):
    boss = UserFactory(username="boss", role="supervisor")
    client = APIClient()
    client.force_authenticate(boss)

    refused = client.post("/api/v1/sla-policies/", {"name": "None", "team": support.pk})
    assert refused.status_code == 400
    assert "first_response_minutes" in refused.json()["fields"]

    made = client.post(
        "/api/v1/sla-policies/",
        {"name": "Fast", "team": support.pk, "first_response_minutes": 5, "warn_percent": 50},
        format="json",
    )
    assert made.status_code == 201
    listed = client.get("/api/v1/sla-policies/").json()["results"]
    assert [(p["name"], p["first_response_minutes"], p["warn_percent"]) for p in listed] == [
        ("Fast", 5, 50)
    ]


def test_a_label_put_on_the_chat_brings_its_policy(support, olga):
    from conversations import services as core_services

    refunds = Label.objects.create(name="Refund")
    SlaPolicy.objects.create(
        name="All", team=support, first_response_minutes=30, business_hours=False
    )
    SlaPolicy.objects.create(
        name="Refunds", team=support, label=refunds, first_response_minutes=5, business_hours=False
    )
    conversation = customer_says(0)
    assert Wait.objects.get().due_at == at(30)

    with time_machine.travel(at(1), tick=False):
        core_services.conversation_set_labels(
            conversation=conversation, actor=olga, label_ids=[refunds.pk]
        )

    assert Wait.objects.get().due_at == at(5)


def test_the_demo_gets_sla_targets_once(capsys):
    from django.core.management import call_command

    call_command("demo_setup", "--password", "pw-demo-1")
    call_command("demo_sla")
    call_command("demo_sla")  # again: nothing more
    assert sorted(SlaPolicy.objects.values_list("team__name", "first_response_minutes")) == [
        ("Sales", 5),
        ("Support", 5),
    ]
