"""Reply facts recorded with each message, on a fixed clock: first response,
reply waits, resolution and reopening; automatic replies excluded, templates by a
person counted, waits from the WhatsApp timestamp, late webhooks in their place."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import facts
from analytics.models import Episode, Wait
from analytics.services import conversation_facts_refresh
from analytics.tests.helpers import (
    at,
    customer_says,
    operator_replies,
    set_status,
    template_by,
)
from conversations.calendars import Schedule
from conversations.models import AutoReply, Message
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


def waits() -> list[tuple]:
    return list(
        Wait.objects.order_by("started_at").values_list(
            "first", "started_at", "answered_at", "answered_by__username", "seconds", "ended_at"
        )
    )


def test_first_response_runs_from_the_customers_first_message_to_a_persons_reply(olga):
    customer_says(0)
    customer_says(2)
    operator_replies(5, olga)

    assert waits() == [(True, at(0), at(5), "olga", 300.0, None)]
    episode = Episode.objects.get()
    assert (episode.started_at, episode.first_response_at, episode.operator_id) == (
        at(0),
        at(5),
        olga.pk,
    )
    assert episode.country == "GB"


def test_each_customer_message_after_a_reply_starts_a_reply_wait(olga):
    customer_says(0)
    operator_replies(1, olga)
    customer_says(10)
    customer_says(11)
    operator_replies(13, olga)
    operator_replies(14, olga)  # nobody was waiting: no wait
    customer_says(20)

    assert waits() == [
        (True, at(0), at(1), "olga", 60.0, None),
        (False, at(10), at(13), "olga", 180.0, None),
        (False, at(20), None, None, None, None),
    ]


def test_facts_are_written_in_the_messages_transaction(olga):
    customer_says(0)
    assert Wait.objects.filter(answered_at__isnull=True).count() == 1
    operator_replies(3, olga)
    assert Wait.objects.get().answered_at == at(3)


def test_an_automatic_reply_does_not_answer(support, olga):
    AutoReply.objects.create(team=support, kind=AutoReply.Kind.BUSY, text="We are all away")
    customer_says(0, arrives=1)  # the busy reply goes out a minute after the message
    assert Message.objects.filter(automatic=True).get().timestamp == at(1)

    assert waits() == [(True, at(0), None, None, None, None)]
    operator_replies(30, olga)
    assert waits() == [(True, at(0), at(30), "olga", 1800.0, None)]


def test_a_template_sent_by_a_person_answers(olga):
    customer_says(0)
    template_by(7, olga)

    assert waits() == [(True, at(0), at(7), "olga", 420.0, None)]


def test_the_wait_starts_at_the_whatsapp_timestamp_not_the_arrival(olga):
    customer_says(0, arrives=4)
    operator_replies(5, olga)

    assert waits() == [(True, at(0), at(5), "olga", 300.0, None)]


def test_a_late_webhook_lands_where_it_belongs(olga):
    customer_says(0)
    operator_replies(5, olga)
    customer_says(10)
    # Written at minute 3, before our reply, delivered only at minute 12: it was
    # answered at 5 (it changes nothing) and the wait from 10 stays as it is.
    customer_says(3, arrives=12)
    operator_replies(15, olga)

    assert waits() == [
        (True, at(0), at(5), "olga", 300.0, None),
        (False, at(10), at(15), "olga", 300.0, None),
    ]


def test_a_late_message_older_than_the_wait_moves_its_start(olga):
    customer_says(0)
    operator_replies(2, olga)
    customer_says(10)
    customer_says(8, arrives=11)  # written before the 10 o'clock one, after our reply
    operator_replies(12, olga)

    assert waits()[1] == (False, at(8), at(12), "olga", 240.0, None)


def test_a_reply_in_the_same_second_did_not_answer(olga):
    customer_says(0)
    operator_replies(0.5 / 60, olga)  # half a second after the customer's whole second

    assert waits() == [(True, at(0), None, None, None, None)]


def test_resolution_and_reopening(olga):
    customer_says(0)
    operator_replies(4, olga)
    set_status(60, olga, "resolved")
    customer_says(120)  # reopens the chat
    operator_replies(130, olga)
    set_status(150, olga, "resolved")

    episodes = list(
        Episode.objects.order_by("started_at").values_list(
            "started_at", "reopened", "first_response_at", "resolved_at", "resolution_s"
        )
    )
    assert episodes == [
        (at(0), False, at(4), at(60), 3600.0),
        (at(120), True, at(130), at(150), 1800.0),
    ]
    # The reopened chat's first answer is a first response again.
    assert [w[0] for w in waits()] == [True, True]


def test_a_chat_resolved_unanswered_ends_its_wait(olga):
    customer_says(0)
    set_status(30, olga, "resolved")

    assert waits() == [(True, at(0), None, None, None, at(30))]
    assert Episode.objects.get().operator_id == olga.pk


def test_a_message_written_before_the_resolution_but_delivered_after_reopens(olga):
    customer_says(0)
    operator_replies(1, olga)
    set_status(10, olga, "resolved")
    customer_says(9, arrives=20)  # the core reopened the chat when it arrived

    episodes = list(Episode.objects.order_by("started_at").values_list("reopened", "resolved_at"))
    assert episodes == [(False, at(10)), (True, None)]
    assert waits()[-1] == (True, at(9), None, None, None, None)


def test_refreshing_again_changes_nothing(olga):
    customer_says(0)
    operator_replies(3, olga)
    customer_says(10)
    before = waits()
    conversation_facts_refresh(conversation_ids=[Wait.objects.first().conversation_id])
    assert waits() == before


def test_business_seconds_count_only_working_time():
    nine_to_five = Schedule.build(
        time_zone="UTC",
        intervals=[(day, dt.time(9), dt.time(17)) for day in range(5)],
    )
    # Monday 23:00 to Tuesday 09:00 opening time: no working time passed.
    monday_night = dt.datetime(2026, 12, 7, 23, 0, tzinfo=dt.UTC)
    assert (
        facts.business_seconds(nine_to_five, monday_night, monday_night.replace(day=8, hour=9)) == 0
    )
    # Monday 16:30 to Tuesday 09:15: half an hour and a quarter.
    assert (
        facts.business_seconds(
            nine_to_five,
            dt.datetime(2026, 12, 7, 16, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 8, 9, 15, tzinfo=dt.UTC),
        )
        == 45 * 60
    )
    # No calendar: every second.
    assert (
        facts.business_seconds(None, monday_night, monday_night + dt.timedelta(hours=10)) == 36000
    )


def test_a_team_calendar_gives_waits_their_working_seconds(support, olga):
    from conversations.models import BusinessCalendar, CalendarInterval

    calendar = BusinessCalendar.objects.create(name="Office")
    CalendarInterval.objects.bulk_create(
        CalendarInterval(calendar=calendar, weekday=d, opens=dt.time(9), closes=dt.time(17))
        for d in range(5)
    )
    support.calendar = calendar
    support.save()
    # Monday 23:00 to Tuesday 09:10 (T0 is Monday 09:00 UTC).
    customer_says(14 * 60)
    operator_replies(24 * 60 + 10, olga)

    wait = Wait.objects.get()
    assert (wait.seconds, wait.business_seconds) == (36600.0, 600.0)


def _waits() -> list[tuple]:
    return list(
        Wait.objects.order_by("conversation_id", "started_at").values_list(
            "conversation_id",
            "first",
            "started_at",
            "last_customer_at",
            "window_closes_at",
            "answered_at",
            "ended_at",
            "seconds",
            "due_at",
        )
    )


def test_a_customer_writing_again_while_waiting_moves_the_wait_without_a_recompute(
    olga, monkeypatch
):
    """The common case (another message in an open wait) only moves the wait's
    latest message and window; whatever else happens is recomputed. Either way the
    facts are what a recompute from scratch gives."""
    from analytics.services import hooks

    recomputed: list[set[int]] = []
    refresh = hooks.conversation_facts_refresh

    def spy(*, conversation_ids):
        recomputed.append(set(conversation_ids))
        return refresh(conversation_ids=conversation_ids)

    monkeypatch.setattr(hooks, "conversation_facts_refresh", spy)
    chat = customer_says(0)
    customer_says(3)
    customer_says(4)
    assert recomputed[-2:] == [set(), set()], "the open wait was moved, not recomputed"
    operator_replies(5, olga)
    customer_says(9)
    customer_says(7, arrives=10)  # late: written before the latest, recomputed
    assert recomputed[-1] == {chat.pk}
    set_status(11, olga, "pending")
    before = len(recomputed)
    customer_says(12)  # the clock was paused: the chat's facts are recomputed
    assert any(chat.pk in ids for ids in recomputed[before:])
    customer_says(13)
    assert recomputed[-1] == set()
    set_status(20, olga, "resolved")
    before = len(recomputed)
    customer_says(30)  # a new episode: the chat's facts are recomputed
    assert any(chat.pk in ids for ids in recomputed[before:])

    live = _waits()
    assert Wait.objects.get(started_at=at(7)).last_customer_at == at(13)
    refresh(conversation_ids=[chat.pk])
    assert _waits() == live


def test_a_campaigns_batch_answers_no_wait_and_counts_in_its_hour(olga):
    import time_machine

    from analytics.models import HourlyRollup
    from analytics.services import rollup_hour_compute
    from conversations import services
    from conversations.tests.factories import consent_to, no_quiet_hours

    conversation = customer_says(0)
    consent_to(conversation.contact, waba_id=conversation.number.waba_id)
    no_quiet_hours()
    with time_machine.travel(at(5), tick=False):
        # The messages reach the analytics hook in one call, inside the batch's
        # transaction; nobody wrote them, so they answer nobody.
        [message] = services.message_send_template_batch(
            sends=[
                services.TemplateMessage(conversation, "offer", "en", [], "Offer", "UTILITY", "1")
            ],
            path="campaign",
        )
    assert message.status == "queued"
    assert waits() == [(True, at(0), None, None, None, None)]
    operator_replies(9, olga)
    assert waits() == [(True, at(0), at(9), "olga", 540.0, None)]
    rollup_hour_compute(hour=at(0), now=at(60))
    rows = HourlyRollup.objects.filter(hour=at(0))
    assert sum(r.templates_out for r in rows) == 1
    assert sum(r.messages_out for r in rows) == 2
    assert sum(r.messages_in for r in rows) == 1
