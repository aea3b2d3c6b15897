"""Business calendars: when a team is open, which period an instant is in, and
when the team next opens or closes; local time in the calendar's zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from conversations import calendars, jobs, selectors
from conversations.calendars import CLOSED, OPEN, Period, Schedule
from conversations.models import (
    BusinessCalendar,
    CalendarHoliday,
    CalendarInterval,
    Conversation,
    Notification,
)
from conversations.tests.factories import (
    ConversationFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
    online,
    text_webhook,
)

ROME = zoneinfo.ZoneInfo("Europe/Rome")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def rome(day: int, hour: int, minute: int = 0, *, month: int = 11, fold: int = 0) -> dt.datetime:
    """A local instant in Rome (23 November 2026 is a Monday)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=ROME, fold=fold)


def t(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


def schedule(*intervals: tuple[int, str, str], tz: str = "Europe/Rome", holidays=()) -> Schedule:
    return Schedule.build(
        time_zone=tz,
        intervals=[(day, t(opens), t(closes)) for day, opens, closes in intervals],
        holidays=holidays,
    )


def test_split_shift_is_closed_over_lunch_and_says_when_it_opens_again() -> None:
    cal = schedule((MON, "09:00", "13:00"), (MON, "14:00", "18:00"))

    assert calendars.is_open(cal, rome(23, 12, 59))
    assert not calendars.is_open(cal, rome(23, 13, 30))
    assert calendars.is_open(cal, rome(23, 14, 0))
    assert not calendars.is_open(cal, rome(23, 18, 0))
    assert calendars.current_period(cal, rome(23, 13, 30)) == Period(CLOSED, rome(23, 13))
    assert calendars.next_opening(cal, rome(23, 13, 30)) == rome(23, 14)
    assert calendars.next_closing(cal, rome(23, 13, 30)) == rome(23, 18)
    assert calendars.next_closing(cal, rome(23, 10)) == rome(23, 13)
    # Open at 10:00: the next opening is after lunch, not the current stretch's.
    assert calendars.next_opening(cal, rome(23, 10)) == rome(23, 14)
    # After Monday's last shift: a week later.
    assert calendars.next_opening(cal, rome(23, 18, 30)) == rome(30, 9)


def test_friday_night_shift_is_open_on_saturday_at_three() -> None:
    cal = schedule((FRI, "22:00", "06:00"))

    assert not calendars.is_open(cal, rome(27, 21, 59))
    assert calendars.is_open(cal, rome(27, 22, 0))
    assert calendars.is_open(cal, rome(28, 3, 0))
    assert not calendars.is_open(cal, rome(28, 6, 0))
    assert calendars.current_period(cal, rome(28, 3)) == Period(OPEN, rome(27, 22))
    assert calendars.next_closing(cal, rome(28, 3)) == rome(28, 6)
    assert calendars.current_period(cal, rome(28, 7)) == Period(CLOSED, rome(28, 6))
    assert calendars.next_opening(cal, rome(28, 7)) == rome(4, 22, month=12)


def test_touching_intervals_are_one_open_period() -> None:
    cal = schedule((FRI, "14:00", "22:00"), (FRI, "22:00", "06:00"), (SAT, "06:00", "10:00"))

    assert calendars.current_period(cal, rome(28, 8)) == Period(OPEN, rome(27, 14))
    assert calendars.next_closing(cal, rome(27, 15)) == rome(28, 10)


def test_a_closed_period_keeps_its_key_until_the_team_opens() -> None:
    cal = schedule(*[(day, "09:00", "18:00") for day in (MON, TUE)])

    evening = calendars.current_period(cal, rome(23, 19))
    morning = calendars.current_period(cal, rome(24, 8, 59))
    next_evening = calendars.current_period(cal, rome(24, 19))

    assert evening.key == morning.key == "closed:2026-11-23T17:00:00+00:00"
    assert next_evening.key == "closed:2026-11-24T17:00:00+00:00"
    assert calendars.current_period(cal, rome(24, 12)).key == "open:2026-11-24T08:00:00+00:00"


def test_a_holiday_closes_its_own_day_but_not_the_night_shift_begun_before() -> None:
    monday = dt.date(2026, 11, 23)
    cal = schedule(
        (SUN, "22:00", "06:00"),
        (MON, "09:00", "18:00"),
        (MON, "22:00", "06:00"),
        (TUE, "09:00", "18:00"),
        holidays=[monday],
    )

    assert calendars.is_open(cal, rome(23, 3))  # Sunday's night shift runs to its end
    assert not calendars.is_open(cal, rome(23, 10))
    assert not calendars.is_open(cal, rome(24, 3))  # the holiday's own night shift is off
    assert calendars.current_period(cal, rome(23, 10)) == Period(CLOSED, rome(23, 6))
    assert calendars.next_opening(cal, rome(23, 10)) == rome(24, 9)


def test_the_same_instant_is_open_in_rome_and_closed_in_new_york() -> None:
    instant = dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC)  # 09:30 Rome, 03:30 New York
    week = [(day, "09:00", "18:00") for day in (MON, TUE, WED, THU, FRI)]

    assert calendars.is_open(schedule(*week, tz="Europe/Rome"), instant)
    new_york = schedule(*week, tz="America/New_York")
    assert not calendars.is_open(new_york, instant)
    assert calendars.next_opening(new_york, instant) == dt.datetime(
        2026, 11, 23, 14, 0, tzinfo=dt.UTC
    )


def test_an_opening_time_the_clock_skips_opens_when_the_clock_jumps() -> None:
    # 29 March 2026, Rome: clocks jump from 02:00 to 03:00 (01:00 UTC).
    cal = schedule((SUN, "02:30", "04:00"), (SAT, "22:00", "06:00"))
    jump = dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)

    assert calendars.current_period(cal, jump).start == dt.datetime(
        2026, 3, 28, 21, 0, tzinfo=dt.UTC
    )
    sunday_only = schedule((SUN, "02:30", "04:00"))
    assert not calendars.is_open(sunday_only, jump - dt.timedelta(seconds=1))
    assert calendars.is_open(sunday_only, jump)
    assert calendars.next_opening(sunday_only, jump - dt.timedelta(hours=1)) == jump
    assert calendars.next_closing(sunday_only, jump) == dt.datetime(
        2026, 3, 29, 2, 0, tzinfo=dt.UTC
    )
    # The night shift is an hour shorter that night: 22:00 CET to 06:00 CEST.
    night = schedule((SAT, "22:00", "06:00"))
    assert calendars.next_closing(night, jump) - calendars.current_period(
        night, jump
    ).start == dt.timedelta(hours=7)


def test_a_time_the_clock_shows_twice_means_its_first_occurrence() -> None:
    # 25 October 2026, Rome: clocks go back from 03:00 to 02:00 (01:00 UTC).
    cal = schedule((SUN, "02:30", "05:00"))
    first = rome(25, 2, 30, month=10)  # 00:30 UTC, summer time

    assert first.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    assert not calendars.is_open(cal, first - dt.timedelta(minutes=1))
    assert calendars.is_open(cal, first)
    assert calendars.is_open(cal, rome(25, 2, 30, month=10, fold=1))
    assert calendars.next_closing(cal, first) == dt.datetime(2026, 10, 25, 4, 0, tzinfo=dt.UTC)


def test_a_calendar_without_intervals_is_never_open_and_no_calendar_always() -> None:
    empty = schedule()
    at = rome(23, 10)

    assert not calendars.is_open(empty, at)
    assert calendars.current_period(empty, at) == Period(CLOSED, None)
    assert calendars.current_period(empty, at).key == "closed:-"
    assert calendars.next_opening(empty, at) is None
    assert calendars.next_closing(empty, at) is None
    assert calendars.is_open(None, at)
    assert calendars.current_period(None, at) == Period(OPEN, None)
    assert calendars.next_opening(None, at) is None


def test_a_week_of_holidays_pushes_the_opening_past_it() -> None:
    cal = schedule(
        *[(day, "09:00", "18:00") for day in (MON, TUE, WED, THU, FRI)],
        holidays=[dt.date(2026, 12, d) for d in range(24, 32)],
    )

    assert calendars.next_opening(cal, rome(23, 19, month=12)) == dt.datetime(
        2027, 1, 1, 9, tzinfo=ROME
    )
    assert calendars.current_period(cal, rome(30, 12, month=12)) == Period(
        CLOSED, rome(23, 18, month=12)
    )


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        calendars.is_open(schedule((MON, "09:00", "18:00")), dt.datetime(2026, 11, 23, 10))


@pytest.mark.django_db
def test_a_stored_calendar_loads_in_three_queries_and_then_asks_none(
    django_assert_num_queries,
) -> None:
    stored = BusinessCalendar.objects.create(name="Rome office", time_zone="Europe/Rome")
    CalendarInterval.objects.create(
        calendar=stored, weekday=FRI, opens=t("22:00"), closes=t("06:00")
    )
    CalendarInterval.objects.create(
        calendar=stored, weekday=MON, opens=t("09:00"), closes=t("18:00")
    )
    CalendarHoliday.objects.create(calendar=stored, date=dt.date(2026, 11, 30), name="Closed")

    with django_assert_num_queries(3):
        calendar = selectors.calendar_load(stored.pk)
    with django_assert_num_queries(0):
        assert calendars.is_open(calendar, rome(28, 3))
        assert calendars.next_opening(calendar, rome(28, 7)) == rome(4, 22, month=12)


# --- Routing and escalation follow the team's calendar -------------------------------


@pytest.fixture
def office_team():
    """Support, assigning automatically, Monday to Friday 09:00-18:00 in Rome."""
    olga = UserFactory(username="olga", role="operator")
    calendar = BusinessCalendar.objects.create(name="Rome office", time_zone="Europe/Rome")
    for weekday in (MON, TUE, WED, THU, FRI):
        CalendarInterval.objects.create(
            calendar=calendar, weekday=weekday, opens=t("09:00"), closes=t("18:00")
        )
    team = TeamFactory(name="Support", members=[olga], auto_assign=True, calendar=calendar)
    NumberFactory(team=team)
    return team, olga


@pytest.mark.django_db
def test_a_chat_arriving_after_hours_waits_in_the_queue_until_the_team_opens(
    office_team, post_webhook
) -> None:
    _, olga = office_team
    with time_machine.travel(rome(23, 20), tick=False):
        online(olga)
        post_webhook(text_webhook(text="Anyone there?"))
    conversation = Conversation.objects.get()
    assert (conversation.assignee, conversation.queued_at) == (None, rome(23, 20))

    online(olga, at=rome(23, 20, 30))
    assert jobs.run_timers(now=rome(23, 20, 30))["assigned"] == 0
    online(olga, at=rome(24, 9))
    assert jobs.run_timers(now=rome(24, 9))["assigned"] == 1
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.queued_at) == (olga, None)


@pytest.mark.django_db
def test_escalation_waits_until_the_team_has_been_open_for_its_whole_time(office_team) -> None:
    team, olga = office_team
    team.escalate_after_minutes = 15
    team.save()
    UserFactory(username="sam", role="supervisor")
    conversation = ConversationFactory(team=team, assignee=olga, waiting_since=rome(23, 20))

    assert jobs.run_timers(now=rome(23, 23))["escalated"] == 0  # closed
    assert jobs.run_timers(now=rome(24, 9, 14))["escalated"] == 0  # open for 14 minutes
    assert jobs.run_timers(now=rome(24, 9, 15))["escalated"] == 1
    conversation.refresh_from_db()
    assert conversation.escalated_at == rome(24, 9, 15)
    assert Notification.objects.get().data["waited_minutes"] == 13 * 60 + 15


@pytest.mark.django_db
def test_the_teams_list_says_who_works_now_and_when_a_closed_team_opens(
    office_team, client, django_assert_max_num_queries
) -> None:
    team, olga = office_team
    TeamFactory(name="Night owls")  # no calendar: always open
    TeamFactory(name="Sales", calendar=team.calendar)
    client.force_login(olga)

    # Calendars come with the teams: no query per team.
    with time_machine.travel(rome(27, 19), tick=False), django_assert_max_num_queries(9):
        teams = client.get("/api/v1/teams/").json()["results"]

    assert [(t["name"], t["open_now"], t["opens_at"]) for t in teams] == [
        ("Night owls", True, None),
        ("Sales", False, "2026-11-30T08:00:00Z"),
        ("Support", False, "2026-11-30T08:00:00Z"),
    ]
    assert teams[2]["calendar"] == {
        "id": team.calendar_id,
        "name": "Rome office",
        "time_zone": "Europe/Rome",
    }
