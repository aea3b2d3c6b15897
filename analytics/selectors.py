"""The supervisors' statistics, read from the reply facts and the hourly rollups.

Every measure is computed the same way on PostgreSQL and SQLite: durations are
read per group and summarised in Python (``measure``), percentiles by linear
interpolation between the closest ranks, as PostgreSQL's ``percentile_cont``.
On PostgreSQL the summaries are computed by the database itself
(``percentile_cont``), which gives the same figures without moving the rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    Expression,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import (
    ExtractHour,
    ExtractIsoWeekDay,
    Least,
    TruncDate,
)
from django.utils import timezone

from analytics import periods
from analytics.models import (
    Episode,
    OnlineSpan,
    Wait,
)
from conversations.models import Conversation, Label, Team, WhatsAppNumber
from conversations.selectors import moment_ignoring_nulls

BREAKDOWNS = ("operator", "team", "number", "label", "country", "day", "hour")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class StatsFilter:
    """What a statistics request asks about: the period [since, until) and the
    optional narrowing by team, operator (a user id), number, label and country."""

    since: dt.datetime
    until: dt.datetime
    team: int | None = None
    operator: int | None = None
    number: int | None = None
    label: int | None = None
    country: str = ""
    business_hours: bool = False


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, *, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction))


def percentile_cont(sorted_values: list[float], fraction: float) -> float | None:
    """The value at ``fraction`` of sorted values by linear interpolation between
    the closest ranks (PostgreSQL's ``percentile_cont``); None for no values."""
    if not sorted_values:
        return None
    rank = fraction * (len(sorted_values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def measure(values: Iterable[float]) -> dict[str, Any]:
    """Count, average, median and 90th percentile of durations in seconds."""
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "avg_s": _rounded(sum(ordered) / len(ordered)) if ordered else None,
        "p50_s": _rounded(percentile_cont(ordered, 0.5)),
        "p90_s": _rounded(percentile_cont(ordered, 0.9)),
    }


EMPTY_MEASURE = measure([])


def _key(value: Any, key: Expression | None) -> Any:
    return None if key is None else value


def _measures(
    qs: QuerySet[Any],
    field: str,
    key: Expression | None,
    *,
    windows: periods.Windows | None = None,
    moment: str = "started_at",
) -> dict[Any, dict[str, Any]]:
    """``measure`` of ``field`` per value of ``key`` (None: one group, key None)."""
    qs = qs.filter(**{f"{field}__isnull": False}).order_by()
    group = key if key is not None else periods.ONE
    if connection.vendor == "postgresql":
        rows = periods.aggregate_rows(
            qs,
            key,
            {
                "count": Count(field),
                "avg_s": Avg(field),
                "p50_s": PercentileCont(F(field), fraction=0.5),
                "p90_s": PercentileCont(F(field), fraction=0.9),
            },
            windows=windows,
            moment=moment,
        )
        return {
            _key(row["k"], key): {
                "count": row["count"],
                "avg_s": _rounded(row["avg_s"]),
                "p50_s": _rounded(row["p50_s"]),
                "p90_s": _rounded(row["p90_s"]),
            }
            for row in rows
        }
    grouped: dict[Any, list[float]] = defaultdict(list)
    for k, value in qs.annotate(k=group).values_list("k", field):
        grouped[k].append(value)
    return {_key(k, key): measure(values) for k, values in grouped.items()}


class PercentilesCont(Aggregate):
    """``percentile_cont(ARRAY[...]) WITHIN GROUP (ORDER BY expression)``: several
    percentiles from one sort."""

    function = "percentile_cont"
    template = (
        "%(function)s(ARRAY[%(fractions)s]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"
    )

    def __init__(self, expression: Any, *, fractions: tuple[float, ...], **extra: Any) -> None:
        from django.contrib.postgres.fields import ArrayField

        super().__init__(
            expression,
            fractions=", ".join(str(float(x)) for x in fractions),
            output_field=ArrayField(FloatField()),
            **extra,
        )


def _wait_figures(
    waits: QuerySet[Wait],
    key: Expression | None,
    seconds: str,
    now: dt.datetime,
    *,
    windows: periods.Windows | None = None,
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]], dict[Any, dict[str, int]]]:
    """First response and reply measures and the missed counts per key. On
    PostgreSQL one pass over the waits (aggregates with FILTER, both percentiles
    from one sort each), per window group with ``windows``."""
    counts = {
        "missed": Count("started_at", filter=_missed(now)),
        "window_expired_unanswered": Count("started_at", filter=_window_expired(now)),
    }
    if connection.vendor != "postgresql":
        return (
            _measures(waits.filter(first=True), seconds, key),
            _measures(waits.filter(first=False), seconds, key),
            _counts(waits, key, **counts),
        )
    series = {"first": Q(first=True), "reply": Q(first=False)}
    aggregates: dict[str, Any] = dict(counts)
    for name, only in series.items():
        aggregates[f"{name}_n"] = Count(seconds, filter=only)
        aggregates[f"{name}_avg"] = Avg(seconds, filter=only)
        aggregates[f"{name}_p"] = PercentilesCont(F(seconds), fractions=(0.5, 0.9), filter=only)
    measures: dict[str, dict[Any, dict[str, Any]]] = {name: {} for name in series}
    totals: dict[Any, dict[str, int]] = {}
    for row in periods.aggregate_rows(waits, key, aggregates, windows=windows):
        k = _key(row["k"], key)
        totals[k] = {name: row[name] for name in counts}
        for name in series:
            if row[f"{name}_n"]:
                p50, p90 = row[f"{name}_p"]
                measures[name][k] = {
                    "count": row[f"{name}_n"],
                    "avg_s": _rounded(row[f"{name}_avg"]),
                    "p50_s": _rounded(p50),
                    "p90_s": _rounded(p90),
                }
    return measures["first"], measures["reply"], totals


def _counts(
    qs: QuerySet[Any],
    key: Expression | None,
    *,
    windows: periods.Windows | None = None,
    moment: str = "started_at",
    **aggregates: Any,
) -> dict[Any, dict]:
    rows = periods.aggregate_rows(qs, key, aggregates, windows=windows, moment=moment)
    return {_key(row["k"], key): {name: row[name] for name in aggregates} for row in rows}


def _tz(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def user_time_zone(user: Any) -> zoneinfo.ZoneInfo:
    """The time zone a user's figures are shown in: their own, else the inbox's."""
    profile = getattr(user, "agent", None) if getattr(user, "pk", None) else None
    try:
        name = profile.time_zone if profile is not None else ""
    except Exception:
        name = ""
    return _tz(name)


def _wait_scope(f: StatsFilter) -> QuerySet[Wait]:
    # A wait counts for whoever answered it, else for the chat's assignee.
    return periods.narrowed(
        Wait.objects.all(),
        f,
        Q(answered_by_id=f.operator)
        | Q(answered_by__isnull=True, conversation__assignee_id=f.operator),
    )


def _episode_scope(f: StatsFilter) -> QuerySet[Episode]:
    return periods.narrowed(Episode.objects.all(), f, Q(operator_id=f.operator))


def _missed(now: dt.datetime) -> Q:
    """A wait nobody answered in time: not before the chat was resolved or the
    customer's window closed, or later than the SLA target allows."""
    from analytics import sla

    unanswered = Q(answered_at__isnull=True) & (
        Q(ended_at__isnull=False) | Q(window_closes_at__lte=now)
    )
    late = Q(answered_at__gt=F("window_closes_at"))
    return unanswered | late | sla.beyond_target(now)


def _window_expired(now: dt.datetime) -> Q:
    return Q(window_closes_at__lte=now) & (
        Q(answered_at__isnull=True) | Q(answered_at__gt=F("window_closes_at"))
    )


def _wait_key(by: str | None, tz: zoneinfo.ZoneInfo) -> Expression | None:
    return {
        None: None,
        "operator": F("answered_by_id"),
        "team": F("team_id"),
        "number": F("number_id"),
        "label": F("conversation__labels"),
        "country": F("country"),
        "day": TruncDate("started_at", tzinfo=tz),
        "hour": ExtractHour("started_at", tzinfo=tz),
    }[by]


def _episode_key(by: str | None, tz: zoneinfo.ZoneInfo, moment: str) -> Expression | None:
    return {
        None: None,
        "operator": F("operator_id"),
        "team": F("team_id"),
        "number": F("number_id"),
        "label": F("conversation__labels"),
        "country": F("country"),
        "day": TruncDate(moment, tzinfo=tz),
        "hour": ExtractHour(moment, tzinfo=tz),
    }[by]


def _grouped(
    f: StatsFilter, *, by: str | None, tz: zoneinfo.ZoneInfo, now: dt.datetime
) -> dict[Any, dict[str, Any]]:
    """Every figure but the messages, per key of ``by`` (None: one group)."""
    seconds = "business_seconds" if f.business_hours else "seconds"
    resolution = "resolution_business_s" if f.business_hours else "resolution_s"
    waits = _wait_scope(f).filter(started_at__gte=f.since, started_at__lt=f.until)
    key = _wait_key(by, tz)
    windows = None
    if by in ("day", "hour") and connection.vendor == "postgresql":
        windows = periods.Windows(
            periods.local_windows(f, by, tz), dt.date.fromordinal if by == "day" else int
        )
    first, reply, wait_counts = _wait_figures(waits, key, seconds, now, windows=windows)
    open_now = _counts(
        _wait_scope(f).filter(answered_at__isnull=True, ended_at__isnull=True),
        key,
        unanswered_now=Count("started_at"),
    )
    episodes = _episode_scope(f)
    started = _counts(
        episodes.filter(started_at__gte=f.since, started_at__lt=f.until),
        _episode_key(by, tz, "started_at"),
        windows=windows,
        new=Count("started_at", filter=Q(reopened=False)),
        reopened=Count("started_at", filter=Q(reopened=True)),
    )
    resolved_qs = episodes.filter(resolved_at__gte=f.since, resolved_at__lt=f.until)
    resolved_key = _episode_key(by, tz, "resolved_at")
    # A resolved episode always has its resolution time: the measure's count is
    # the number resolved.
    resolutions = _measures(
        resolved_qs, resolution, resolved_key, windows=windows, moment="resolved_at"
    )
    keys = set(first) | set(reply) | set(wait_counts) | set(started) | set(resolutions)
    if by not in ("day", "hour"):
        keys |= set(open_now)
    if by is None:
        keys = {None}
    result = {}
    for k in keys:
        new = started.get(k, {}).get("new", 0)
        reopened = started.get(k, {}).get("reopened", 0)
        resolved_count = resolutions.get(k, EMPTY_MEASURE)["count"]
        result[k] = {
            "first_response": first.get(k, EMPTY_MEASURE),
            "reply": reply.get(k, EMPTY_MEASURE),
            "resolution": resolutions.get(k, EMPTY_MEASURE),
            "conversations": {
                "new": new,
                "reopened": reopened,
                "resolved": resolved_count,
                "reopen_rate": round(reopened / resolved_count, 3) if resolved_count else None,
                "missed": wait_counts.get(k, {}).get("missed", 0),
                "unanswered_now": open_now.get(k, {}).get("unanswered_now", 0),
                "window_expired_unanswered": wait_counts.get(k, {}).get(
                    "window_expired_unanswered", 0
                ),
            },
        }
    return result


_P = ParamSpec("_P")
_R = TypeVar("_R")

# Memory for the sorts behind a period's percentiles: a quarter's waits sort in
# memory instead of spilling to disk (PostgreSQL's default is 4 MB).
SORT_MEMORY = "32MB"


def _one_snapshot(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a statistics answer's queries in one transaction: its figures agree with
    each other, and on PostgreSQL its sorts get ``SORT_MEMORY`` (and no JIT
    compilation, which costs more than it saves on these short queries)."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                        [SORT_MEMORY],
                    )
            return function(*args, **kwargs)

    return wrapper


@_one_snapshot
def stats_summary(f: StatsFilter, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The headline figures of the period (``GET /api/v1/stats/summary/``)."""
    now = now or timezone.now()
    figures = _grouped(f, by=None, tz=_tz("UTC"), now=now)[None]
    figures["conversations"]["open"] = conversations_open_count(f)
    figures["messages"] = periods.message_counts(f, now=now)
    return figures


def _labels(by: str, keys: Iterable[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if by == "operator":
        return {
            u.pk: (u.get_full_name() or u.username)
            for u in get_user_model().objects.filter(pk__in=ids)
        }
    if by == "team":
        return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
    if by == "number":
        return dict(WhatsAppNumber.objects.filter(pk__in=ids).values_list("pk", "name"))
    if by == "label":
        return dict(Label.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {}


def _key_value(by: str, key: Any) -> Any:
    if by == "day" and isinstance(key, dt.date):
        return key.isoformat()
    return key


@_one_snapshot
def stats_breakdown(
    f: StatsFilter, *, by: str, tz: zoneinfo.ZoneInfo, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The figures per operator, team, number, label, country, day or hour of day
    (``GET /api/v1/stats/breakdown/``), ordered by key; a None key is the rest
    (unanswered, no label, no team)."""
    now = now or timezone.now()
    grouped = _grouped(f, by=by, tz=tz, now=now)
    names = _labels(by, grouped)
    rows = []
    for key in sorted(grouped, key=lambda k: (k is None, str(k) if by != "hour" else k)):
        value = _key_value(by, key)
        if by in names or by in ("operator", "team", "number", "label"):
            label = names.get(key, "") if key is not None else "—"
        elif by == "hour":
            label = f"{key:02d}:00" if key is not None else "—"
        else:
            label = str(value) if value else "—"
        rows.append({"key": value, "label": label, **grouped[key]})
    if by == "operator":
        online = online_seconds(f.since, f.until, [r["key"] for r in rows if r["key"] is not None])
        for row in rows:
            row["online_s"] = round(online[row["key"]]) if row["key"] in online else None
    return rows


def online_seconds(
    since: dt.datetime, until: dt.datetime, operators: Iterable[int] | None = None
) -> dict[int, float]:
    """Each operator's time online within [since, until), in seconds."""
    spans = OnlineSpan.objects.filter(ended_at__gt=since, started_at__lt=until)
    if operators is not None:
        spans = spans.filter(user_id__in=list(operators))
    total: dict[int, float] = defaultdict(float)
    for user_id, started, ended in spans.values_list("user_id", "started_at", "ended_at"):
        total[user_id] += (min(ended, until) - max(started, since)).total_seconds()
    return dict(total)


# Upper bounds (seconds) of the response-time distribution's bars; the last bar
# holds the longer ones.
DISTRIBUTION_BOUNDS = (60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600)


def _bucket(field: str) -> Case:
    return Case(
        *(
            When(**{f"{field}__lte": bound}, then=Value(i))
            for i, bound in enumerate(DISTRIBUTION_BOUNDS)
        ),
        default=Value(len(DISTRIBUTION_BOUNDS)),
        output_field=IntegerField(),
    )


@_one_snapshot
def stats_distribution(f: StatsFilter) -> list[dict[str, Any]]:
    """How many first responses, replies and resolutions of the period took up to
    each bound (``up_to_s``; null: longer than the last): the dashboard's histogram."""
    seconds = "business_seconds" if f.business_hours else "seconds"
    resolution = "resolution_business_s" if f.business_hours else "resolution_s"
    bars = [
        {"up_to_s": bound, "first_response": 0, "reply": 0, "resolution": 0}
        for bound in (*DISTRIBUTION_BOUNDS, None)
    ]
    waits = (
        _wait_scope(f)
        .filter(started_at__gte=f.since, started_at__lt=f.until, **{f"{seconds}__isnull": False})
        .order_by()
        .annotate(bar=_bucket(seconds))
        .values("first", "bar")
        .annotate(n=Count("started_at"))
    )
    for row in waits:
        bars[row["bar"]]["first_response" if row["first"] else "reply"] += row["n"]
    resolved = (
        _episode_scope(f)
        .filter(
            resolved_at__gte=f.since, resolved_at__lt=f.until, **{f"{resolution}__isnull": False}
        )
        .order_by()
        .annotate(bar=_bucket(resolution))
        .values("bar")
        .annotate(n=Count("started_at"))
    )
    for row in resolved:
        bars[row["bar"]]["resolution"] += row["n"]
    return bars


def stats_heatmap(f: StatsFilter, *, tz: zoneinfo.ZoneInfo) -> list[list[int]]:
    """Incoming conversations (new and reopened) by weekday (Monday first) and
    hour of day in ``tz``: seven rows of 24 counts."""
    grid = [[0] * 24 for _ in range(7)]
    rows = (
        _episode_scope(f)
        .filter(started_at__gte=f.since, started_at__lt=f.until)
        .order_by()
        .annotate(
            weekday=ExtractIsoWeekDay("started_at", tzinfo=tz),
            hour=ExtractHour("started_at", tzinfo=tz),
        )
        .values("weekday", "hour")
        .annotate(n=Count("started_at"))
    )
    for row in rows:
        grid[row["weekday"] - 1][row["hour"]] += row["n"]
    return grid


def conversations_open_count(f: StatsFilter) -> int:
    """Open chats now (the backlog), narrowed like the figures."""
    # Every status but resolved, named: the status index counts them.
    open_statuses = [s for s in Conversation.Status.values if s != Conversation.Status.RESOLVED]
    qs = Conversation.objects.filter(status__in=open_statuses)
    if f.team:
        qs = qs.filter(team_id=f.team)
    if f.number:
        qs = qs.filter(number_id=f.number)
    if f.operator:
        qs = qs.filter(assignee_id=f.operator)
    return qs.count()


def conversation_sla_fields(ids: list[int], now: dt.datetime) -> dict[int, dict[str, Any]]:
    """The core's conversation-fields hook: ``sla`` in each conversation's payload."""
    return {pk: {"sla": clock} for pk, clock in conversations_sla(ids, now=now).items()}


def sla_due_soonest() -> Expression:
    """SQL for when a chat's soonest running SLA target falls due (an open wait's
    reply or the open episode's resolution); null without one."""
    wait_due = Subquery(
        Wait.objects.filter(
            conversation_id=OuterRef("pk"),
            answered_at__isnull=True,
            ended_at__isnull=True,
            due_at__isnull=False,
        )
        .order_by("due_at")
        .values("due_at")[:1]
    )
    resolution_due = Subquery(
        Episode.objects.filter(
            conversation_id=OuterRef("pk"),
            resolved_at__isnull=True,
            resolution_due_at__isnull=False,
        )
        .order_by("resolution_due_at")
        .values("resolution_due_at")[:1]
    )
    return moment_ignoring_nulls(Least, wait_due, resolution_due)


def conversations_by_sla_due(
    conversations: QuerySet[Conversation], now: dt.datetime
) -> QuerySet[Conversation]:
    """The core's ``sort=sla``: chats with an SLA target running, the soonest due
    (the longest overdue) first."""
    return (
        conversations.annotate(sla_due=sla_due_soonest())
        .filter(sla_due__isnull=False)
        .order_by("sla_due", "id")
    )


def conversations_sla(
    conversation_ids: Iterable[int], *, now: dt.datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Each conversation's SLA clock, as its payload's ``sla`` shows it: when the
    open targets fall due, and the targets breached in its current episode. Two
    queries, whatever the number of conversations."""
    from analytics import sla
    from analytics.models import SlaBreach

    now = now or timezone.now()
    ids = list(conversation_ids)
    clocks: dict[int, dict[str, Any]] = {
        pk: {"first": None, "next": None, "resolution": None, "since": None, "breached": []}
        for pk in ids
    }
    for episode in Episode.objects.filter(conversation_id__in=ids, resolved_at__isnull=True):
        clock = clocks[episode.conversation_id]
        clock["resolution"] = episode.resolution_due_at
        clock["since"] = episode.started_at
    for wait in Wait.objects.filter(
        conversation_id__in=ids, answered_at__isnull=True, ended_at__isnull=True
    ):
        clocks[wait.conversation_id]["first" if wait.first else "next"] = wait.due_at
    for conversation_id, kind, started_at in SlaBreach.objects.filter(
        conversation_id__in=ids, level=SlaBreach.Level.BREACH
    ).values_list("conversation_id", "kind", "started_at"):
        since = clocks[conversation_id]["since"]
        if (
            since is not None
            and started_at >= since
            and kind not in clocks[conversation_id]["breached"]
        ):
            clocks[conversation_id]["breached"].append(kind)
    return {
        pk: sla.payload(
            first_response_due_at=clock["first"],
            next_reply_due_at=clock["next"],
            resolution_due_at=clock["resolution"],
            breached=sorted(clock["breached"]),
        )
        for pk, clock in clocks.items()
    }
