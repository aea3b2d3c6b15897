"""The statistics API on a fixed clock: exact figures, breakdowns, the heatmap in
the supervisor's time zone, CSV, and who may ask."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from analytics import periods, selectors
from analytics.models import Wait
from analytics.tests.helpers import at, customer_says, operator_replies, set_status
from conversations.models import AgentProfile, Label
from conversations.tests.factories import NumberFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

IVAN = "79161234567"  # a Russian number
LUCA = "393331234567"  # an Italian number


@pytest.fixture
def people():
    support = TeamFactory(name="Support")
    NumberFactory(team=support)
    olga = UserFactory(username="olga", first_name="Olga", role="operator")
    petr = UserFactory(username="petr", role="operator")
    boss = UserFactory(username="boss", role="supervisor")
    support.members.add(olga, petr)
    return {"support": support, "olga": olga, "petr": petr, "boss": boss}


@pytest.fixture
def day(people):
    """Three customers on Monday morning: Ann answered by Olga in 2 and 6 minutes
    and resolved, Ivan answered by Petr in 10 minutes, Luca still waiting."""
    olga, petr = people["olga"], people["petr"]
    customer_says(0)
    operator_replies(2, olga)
    customer_says(20)
    operator_replies(26, olga)
    set_status(60, olga, "resolved")
    customer_says(5, wa_id=IVAN)
    operator_replies(15, petr, wa_id=IVAN)
    customer_says(30, wa_id=LUCA)
    return people


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def get(user: Any, path: str, **params: Any) -> Any:
    params = {"since": at(-60).isoformat(), "until": at(120).isoformat(), **params}
    with time_machine.travel(at(90), tick=False):
        return client_for(user).get(path, params)


def test_summary_figures(day):
    answer = get(day["boss"], "/api/v1/stats/summary/")

    assert answer.status_code == 200
    assert answer.json() == {
        "first_response": {"count": 2, "avg_s": 360.0, "p50_s": 360.0, "p90_s": 552.0},
        "reply": {"count": 1, "avg_s": 360.0, "p50_s": 360.0, "p90_s": 360.0},
        "resolution": {"count": 1, "avg_s": 3600.0, "p50_s": 3600.0, "p90_s": 3600.0},
        "conversations": {
            "new": 3,
            "reopened": 0,
            "resolved": 1,
            "reopen_rate": 0.0,
            "missed": 0,
            "unanswered_now": 1,
            "window_expired_unanswered": 0,
            "open": 2,
        },
        "messages": {"in": 4, "out": 3, "templates": 0, "campaign_replies": 0},
    }


def test_summary_narrowed_to_an_operator_and_a_country(day):
    olga = get(day["boss"], "/api/v1/stats/summary/", operator=day["olga"].pk).json()
    assert olga["first_response"]["count"] == 1
    assert olga["reply"]["count"] == 1
    assert olga["messages"]["out"] == 2

    russia = get(day["boss"], "/api/v1/stats/summary/", country="ru").json()
    assert russia["first_response"] == {"count": 1, "avg_s": 600.0, "p50_s": 600.0, "p90_s": 600.0}


def test_the_window_expired_without_reply_counts_as_missed(day):
    with time_machine.travel(at(30 + 24 * 60 + 1), tick=False):
        answer = client_for(day["boss"]).get(
            "/api/v1/stats/summary/",
            {"since": at(-60).isoformat(), "until": at(120).isoformat()},
        )
    conversations = answer.json()["conversations"]
    assert (conversations["missed"], conversations["window_expired_unanswered"]) == (1, 1)


def test_breakdown_by_operator(day):
    answer = get(day["boss"], "/api/v1/stats/breakdown/", by="operator")

    rows = {row["key"]: row for row in answer.json()["rows"]}
    assert set(rows) == {day["olga"].pk, day["petr"].pk, None}
    assert rows[day["olga"].pk]["label"] == "Olga"
    assert rows[day["olga"].pk]["first_response"]["avg_s"] == 120.0
    assert rows[day["petr"].pk]["first_response"]["avg_s"] == 600.0
    # Luca's wait, answered by nobody yet.
    assert rows[None]["conversations"]["unanswered_now"] == 1


def test_breakdown_by_country_and_label(day):
    label = Label.objects.create(name="Delivery")
    from conversations.models import Conversation

    Conversation.objects.get(contact__wa_id=IVAN).labels.add(label)
    by_country = get(day["boss"], "/api/v1/stats/breakdown/", by="country").json()["rows"]
    assert [row["key"] for row in by_country] == ["GB", "IT", "RU"]
    by_label = get(day["boss"], "/api/v1/stats/breakdown/", by="label").json()["rows"]
    assert [(row["key"], row["label"]) for row in by_label] == [(label.pk, "Delivery"), (None, "—")]


def test_breakdown_by_hour_in_the_supervisors_time_zone(day):
    AgentProfile.objects.create(user=day["boss"], time_zone="Europe/Moscow")
    rows = get(day["boss"], "/api/v1/stats/breakdown/", by="hour").json()["rows"]
    # 09:00 UTC is noon in Moscow; Ann's chat was resolved at 10:00 UTC.
    assert [(row["key"], row["label"]) for row in rows] == [(12, "12:00"), (13, "13:00")]
    assert rows[0]["first_response"]["count"] == 2
    assert (rows[0]["conversations"]["new"], rows[1]["conversations"]["resolved"]) == (3, 1)


def test_heatmap_counts_incoming_conversations_by_weekday_and_hour(day):
    AgentProfile.objects.create(user=day["boss"], time_zone="Europe/Moscow")
    body = get(day["boss"], "/api/v1/stats/heatmap/").json()

    assert body["timezone"] == "Europe/Moscow"
    assert len(body["rows"]) == 7 and all(len(row) == 24 for row in body["rows"])
    assert body["rows"][0][12] == 3  # Monday, noon in Moscow
    assert sum(map(sum, body["rows"])) == 3


def test_csv_on_each_endpoint(day):
    summary = get(day["boss"], "/api/v1/stats/summary/", format="csv")
    assert summary["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(summary.content.decode())))
    assert table[0] == ["figure", "value"]
    assert ["first_response.p90_s", "552.0"] in table

    breakdown = get(day["boss"], "/api/v1/stats/breakdown/", by="operator", format="csv")
    rows = list(csv.DictReader(io.StringIO(breakdown.content.decode())))
    assert {row["label"] for row in rows} == {"Olga", "petr", "—"}

    heatmap = get(day["boss"], "/api/v1/stats/heatmap/", format="csv")
    lines = heatmap.content.decode().splitlines()
    assert lines[0].startswith("weekday,0,1,2") and lines[1].startswith("Monday,")
    assert len(lines) == 8


def test_operators_may_not_see_the_statistics(day):
    for path in ("summary", "breakdown", "heatmap"):
        answer = get(day["olga"], f"/api/v1/stats/{path}/", by="team", format="csv")
        assert answer.status_code == 403
        assert answer["Content-Type"] == "application/json"
        assert answer.json()["code"] == "permission_denied"


def test_a_period_that_ends_before_it_starts_is_refused(day):
    answer = get(day["boss"], "/api/v1/stats/summary/", since=at(10).isoformat(), until=at(0))
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"


def test_business_hours_figures(day):
    from conversations.models import BusinessCalendar, CalendarInterval

    calendar = BusinessCalendar.objects.create(name="Office")
    # Monday from 09:04: Ann's first wait (09:00-09:02) is outside, Ivan's half inside.
    CalendarInterval.objects.create(calendar=calendar, weekday=0, opens="09:10", closes="18:00")
    day["support"].calendar = calendar
    day["support"].save()
    from analytics.services import conversation_facts_refresh

    conversation_facts_refresh(
        conversation_ids=Wait.objects.values_list("conversation_id", flat=True)
    )
    raw = get(day["boss"], "/api/v1/stats/summary/").json()["first_response"]
    business = get(day["boss"], "/api/v1/stats/summary/", hours="business").json()["first_response"]
    assert raw["avg_s"] == 360.0
    assert business == {"count": 2, "avg_s": 150.0, "p50_s": 150.0, "p90_s": 270.0}


@pytest.mark.parametrize(
    "values", [[1.0], [3.0, 1.0], [10.0, 20.0, 30.0, 45.5, 100.0], list(map(float, range(37)))]
)
def test_percentiles_match_postgresql(values):
    expected = selectors.measure(values)
    if connection.vendor != "postgresql":
        pytest.skip("compares with PostgreSQL's percentile_cont")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY v) FROM unnest(%s::float8[]) v",
            [values],
        )
        p50, p90 = cursor.fetchone()
    assert (expected["p50_s"], expected["p90_s"]) == (round(p50, 1), round(p90, 1))


def test_the_distribution_of_response_times(day):
    """Ann's first response took 2 minutes and her reply 6, Ivan's first response
    10 minutes, Ann's chat was resolved after an hour."""
    bars = get(day["boss"], "/api/v1/stats/distribution/").json()["bars"]

    assert [bar["up_to_s"] for bar in bars] == [60, 300, 900, 1800, 3600, 14400, 86400, None]
    counted = {
        bar["up_to_s"]: (bar["first_response"], bar["reply"], bar["resolution"])
        for bar in bars
        if bar["first_response"] or bar["reply"] or bar["resolution"]
    }
    assert counted == {300: (1, 0, 0), 900: (1, 1, 0), 3600: (0, 0, 1)}
    table = get(day["boss"], "/api/v1/stats/distribution/", format="csv")
    assert table["Content-Type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(table.content.decode())))[2] == ["300", "1", "0", "0"]
    assert get(day["olga"], "/api/v1/stats/distribution/").status_code == 403


def test_time_online_per_operator(day):
    """The clock finds Olga online from 09:00 to 09:30 (a gap), then 10:00 to 10:10;
    Petr never: the operator breakdown has her 40 minutes and his null."""
    from analytics import services
    from conversations.models import AgentConnection

    olga = day["olga"]

    def tick(minute: float, online: bool) -> None:
        AgentConnection.objects.filter(user=olga).delete()
        if online:
            AgentConnection.objects.create(user=olga, channel_name="c1", last_seen=at(minute))
        services.online_spans_record(at(minute))

    for minute in range(0, 31):
        tick(minute, online=True)
    tick(31, online=False)
    for minute in range(60, 71):
        tick(minute, online=True)

    rows = {
        row["key"]: row
        for row in get(day["boss"], "/api/v1/stats/breakdown/", by="operator").json()["rows"]
    }
    assert rows[olga.pk]["online_s"] == 40 * 60
    assert rows[day["petr"].pk]["online_s"] is None
    # Away is not online.
    AgentProfile.objects.update_or_create(user=olga, defaults={"presence": "away"})
    AgentConnection.objects.create(user=olga, channel_name="c2", last_seen=at(100))
    assert services.online_spans_record(at(100)) == 0


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize("by", ["day", "hour"])
def test_breakdowns_by_local_day_and_hour_match_grouping_by_key(day, monkeypatch, zone, by):
    """On PostgreSQL a breakdown by day or hour reads the period in windows cut at
    local days or hours (no sort by a computed key); its figures are those of
    grouping every row by its key, across a change of daylight saving time and in
    zones a half or a quarter of an hour off UTC."""
    import zoneinfo

    # Berlin leaves summer time on Sunday 25 October 2026 at 01:00 UTC.
    switch = -(43 * 24 * 60 + 9 * 60)
    customer_says(switch - 30, wa_id="4915112345678")
    operator_replies(switch - 20, day["olga"], wa_id="4915112345678")
    customer_says(switch + 30, wa_id="4915112345678")
    operator_replies(switch + 75, day["petr"], wa_id="4915112345678")
    f = selectors.StatsFilter(since=at(switch - 600), until=at(120))
    tz = zoneinfo.ZoneInfo(zone)
    now = at(90)
    windowed = selectors.stats_breakdown(f, by=by, tz=tz, now=now)
    monkeypatch.setattr(periods, "Windows", lambda spans, value: None)
    grouped = selectors.stats_breakdown(f, by=by, tz=tz, now=now)
    assert connection.vendor == "postgresql"
    assert windowed == grouped
    assert sum(row["first_response"]["count"] for row in windowed) == 3
    assert isinstance(windowed[0]["key"], str if by == "day" else int)
