"""Hourly rollups: the clock's job rolls up hours that are over, a late message
makes its hour dirty until the job computes it again, and ``rebuild_stats`` gives
exactly the live figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import TestCase

from analytics import selectors, services
from analytics.models import DailyRollup, Episode, HourlyRollup, RollupDay, RollupHour, Wait
from analytics.selectors import StatsFilter
from analytics.tests.helpers import (
    at,
    campaign_sends,
    customer_says,
    operator_replies,
    set_status,
    template_by,
)
from conversations.tests.factories import NumberFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

IVAN = "79161234567"
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def olga():
    team = TeamFactory(name="Support")
    NumberFactory(team=team)
    user = UserFactory(username="olga", role="operator")
    team.members.add(user)
    return user


@pytest.fixture
def inline_jobs(settings: Any) -> None:
    settings.JOBS_INLINE = True


def play(olga: Any) -> None:
    """A day of two customers over several hours, with a reopening and a template."""
    customer_says(0)
    operator_replies(3, olga)
    customer_says(70)
    template_by(95, olga)
    set_status(130, olga, "resolved")
    customer_says(200)  # reopens
    customer_says(20, wa_id=IVAN)
    operator_replies(185, olga, wa_id=IVAN)
    customer_says(190, wa_id=IVAN)


def tick(now: dt.datetime) -> int:
    """The clock's tick at ``now``, its jobs run inline once it commits."""
    with time_machine.travel(now, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        return services.rollups_due(now)


def figures(now: dt.datetime) -> dict[str, Any]:
    f = StatsFilter(since=at(-120), until=at(600))
    utc = dt.UTC
    return {
        "summary": selectors.stats_summary(f, now=now),
        "by_hour": selectors.stats_breakdown(f, by="hour", tz=utc, now=now),
        "by_operator": selectors.stats_breakdown(f, by="operator", tz=utc, now=now),
        "heatmap": selectors.stats_heatmap(f, tz=utc),
        "olga": selectors.stats_summary(
            StatsFilter(since=at(-120), until=at(600), operator=olga_id()), now=now
        ),
    }


def in_and_out(hour: dt.datetime) -> tuple[int, int]:
    rows = HourlyRollup.objects.filter(hour=hour)
    return sum(r.messages_in for r in rows), sum(r.messages_out for r in rows)


def olga_id() -> int:
    from django.contrib.auth.models import User

    return User.objects.get(username="olga").pk


def facts_rows() -> list[Any]:
    return [
        sorted(
            Episode.objects.values_list(
                "conversation_id", "started_at", "reopened", "first_response_at", "resolved_at"
            )
        ),
        sorted(
            Wait.objects.values_list(
                "conversation_id", "first", "started_at", "answered_at", "ended_at", "seconds"
            )
        ),
    ]


def test_the_clock_rolls_up_hours_that_are_over(olga, inline_jobs):
    play(olga)
    now = at(240)
    live = figures(now)

    assert tick(now) == 2
    # 09:00, 10:00 and 11:00 are over (11:00 had no message: nothing to roll up);
    # 12:00 (minute 180 on) is not.
    assert sorted(RollupHour.objects.filter(dirty=False).values_list("hour", flat=True)) == [
        at(0),
        at(60),
    ]
    assert in_and_out(at(0)) == (2, 1)
    assert figures(now) == live
    assert tick(now) == 0, "nothing left to do"


def test_a_late_message_makes_its_hour_dirty_and_the_figures_stay_right(olga, inline_jobs):
    play(olga)
    tick(at(240))
    # Written at 09:30, delivered at 13:00.
    customer_says(30, wa_id="4915112345678", arrives=240)
    assert RollupHour.objects.get(hour=at(0)).dirty

    live = figures(at(241))
    assert live["summary"]["messages"]["in"] == 6
    assert tick(at(241)) == 1
    assert in_and_out(at(0)) == (3, 1)
    assert figures(at(241)) == live


@pytest.mark.parametrize("copy_above", [500, 0], ids=["inserts", "copy"])
def test_rebuild_gives_the_live_figures(olga, inline_jobs, copy_above, monkeypatch):
    monkeypatch.setattr("analytics.services.reply_facts.COPY_ABOVE", copy_above)
    play(olga)
    now = at(240)
    tick(now)
    live = figures(now)
    facts_before = facts_rows()
    rollups_before = sorted(
        HourlyRollup.objects.filter(hour__lt=at(180)).values_list(
            "hour", "team_id", "number_id", "operator_id", "country", "messages_in", "messages_out"
        )
    )
    # Facts and rollups lost or wrong: the command makes them again.
    Wait.objects.all().delete()
    Episode.objects.all().delete()
    HourlyRollup.objects.update(messages_in=99)

    with time_machine.travel(now, tick=False):
        call_command("rebuild_stats", stdout=open("/dev/null", "w"))

    assert facts_rows() == facts_before
    assert (
        sorted(
            HourlyRollup.objects.filter(hour__lt=at(180)).values_list(
                "hour",
                "team_id",
                "number_id",
                "operator_id",
                "country",
                "messages_in",
                "messages_out",
            )
        )
        == rollups_before
    )
    assert figures(now) == live
    # Every hour from the first message on has its marker; the current one stays dirty.
    markers = dict(RollupHour.objects.values_list("hour", "dirty"))
    assert markers[at(0)] is False and markers[at(240)] is True
    assert min(markers) == at(0)


def test_a_rollup_job_run_twice_changes_nothing(olga):
    play(olga)
    services.rollup_hour_compute(hour=at(60), now=at(240))
    first = sorted(
        HourlyRollup.objects.values_list(
            "hour", "operator_id", "messages_in", "messages_out", "templates_out"
        )
    )
    services.rollup_hour_compute(hour=at(60), now=at(240))
    again = sorted(
        HourlyRollup.objects.values_list(
            "hour", "operator_id", "messages_in", "messages_out", "templates_out"
        )
    )
    assert first == again
    assert first == [(at(60), 0, 1, 0, 0), (at(60), olga.pk, 0, 1, 1)]


def test_replies_to_a_campaign_are_counted_live_rolled_up_and_rebuilt(olga, inline_jobs):
    luca = "393331234567"
    customer_says(0, wa_id=luca)
    operator_replies(2, olga, wa_id=luca)
    customer_says(5, wa_id=luca)  # answers the operator, not a campaign
    campaign_sends(40, wa_id=luca)
    customer_says(45, wa_id=luca)  # the campaign's reply
    customer_says(46, wa_id=luca)  # the same customer again: one reply
    # The campaign's message half a second into 10:50:00 and the customer's answer
    # stamped 10:50:00 (WhatsApp's whole seconds), delivered a minute later.
    campaign_sends(110 + 0.5 / 60, wa_id=luca, campaign="8")
    customer_says(110, wa_id=luca, arrives=111)
    now = at(240)
    live = figures(now)
    assert live["summary"]["messages"]["campaign_replies"] == 2

    assert tick(now) == 2
    assert sum(HourlyRollup.objects.values_list("campaign_replies", flat=True)) == 2
    assert figures(now) == live

    HourlyRollup.objects.update(campaign_replies=0)
    with time_machine.travel(now, tick=False):
        call_command("rebuild_stats", stdout=open("/dev/null", "w"))
    assert figures(now) == live


def whole_day(now: dt.datetime) -> dict[str, Any]:
    """The summary of a period holding the whole of Monday 7 December."""
    return selectors.stats_summary(StatsFilter(since=at(-600), until=at(960)), now=now)


def test_a_day_that_is_over_is_summed_and_read_from_its_daily_rollup(olga, inline_jobs):
    play(olga)
    tick(at(240))
    tick(at(300))
    after_midnight = at(15 * 60 + 5)  # Tuesday 00:05
    live = whole_day(after_midnight)
    assert live["messages"] == {"in": 5, "out": 3, "templates": 1, "campaign_replies": 0}

    tick(after_midnight)  # the hours' changes marked the day: summed now
    assert RollupDay.objects.get(day=at(-540)).dirty is False
    assert sum(DailyRollup.objects.values_list("messages_in", flat=True)) == 5
    # The day's figures come from its daily rollup, not from its hours.
    HourlyRollup.objects.update(messages_in=99)
    assert whole_day(after_midnight) == live


def test_a_late_message_makes_its_day_dirty_until_it_is_summed_again(olga, inline_jobs):
    play(olga)
    tick(at(240))
    tick(at(300))
    tick(at(15 * 60 + 5))
    # Written on Monday at 09:30, delivered on Tuesday at 00:20.
    customer_says(30, wa_id="4915112345678", arrives=15 * 60 + 20)
    assert RollupDay.objects.get(day=at(-540)).dirty
    now = at(15 * 60 + 21)
    live = whole_day(now)
    assert live["messages"]["in"] == 6

    tick(now)  # the hour's job, then the day's
    assert RollupDay.objects.get(day=at(-540)).dirty is False
    assert sum(DailyRollup.objects.values_list("messages_in", flat=True)) == 6
    assert whole_day(now) == live


def test_a_day_with_an_hour_never_rolled_up_stays_with_its_hours(olga):
    play(olga)
    now = at(15 * 60 + 5)
    live = whole_day(now)
    # Only 09:00 was rolled up: the day cannot be summed, its hours and messages
    # serve the figures.
    services.rollup_hour_compute(hour=at(0), now=now)
    assert services.rollup_day_compute(day=at(0), now=now) is False
    assert RollupDay.objects.get(day=at(-540)).dirty
    assert not DailyRollup.objects.exists()
    assert whole_day(now) == live


def test_rebuild_sums_the_days_that_are_over(olga, inline_jobs):
    play(olga)
    now = at(15 * 60 + 5)
    live = whole_day(now)
    with time_machine.travel(now, tick=False):
        call_command("rebuild_stats", stdout=open("/dev/null", "w"))
    assert dict(RollupDay.objects.values_list("day", "dirty")) == {at(-540): False}
    assert sum(DailyRollup.objects.values_list("messages_out", flat=True)) == 3
    HourlyRollup.objects.update(messages_out=99)
    assert whole_day(now) == live
