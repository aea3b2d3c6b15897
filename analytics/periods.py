"""A statistics period cut into spans, and the rollups read for it.

* By the supervisor's local day or hour of the day (``local_windows``): each
  key's windows are read in index order through a lateral join on PostgreSQL
  (``rows_by_windows``), so a quarter's rows are never sorted by a computed key.
* Into the whole days and hours whose rollups are current (``message_counts``):
  the daily and hourly rollups are summed for those, the messages themselves
  counted for the rest.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DateTimeField,
    Expression,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Trunc
from django.db.models.lookups import GreaterThan

from analytics.models import DailyRollup, HourlyRollup, RollupDay, RollupHour
from conversations.models import Message

if TYPE_CHECKING:
    from analytics.selectors import StatsFilter

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
QUARTER_HOUR = dt.timedelta(minutes=15)
# A part of the period: [start, end).
Span = tuple[dt.datetime, dt.datetime]

# The one group of a figure not split by anything.
ONE = Value(1, output_field=IntegerField())


# A span of the period and the key of the group it belongs to (a local day's
# ordinal, or a local hour of the day).
Window = tuple[dt.datetime, dt.datetime, int]


def local_windows(f: StatsFilter, by: str, tz: zoneinfo.ZoneInfo) -> list[Window]:
    """The period cut where the supervisor's local day (``by="day"``) or hour of
    the day (``"hour"``) changes. Every time zone's offset is a whole number of
    quarter hours: a UTC hour whose local time is not a whole hour is cut in
    quarters."""
    windows: list[Window] = []
    at = f.since.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    while at < f.until:
        local = at.astimezone(tz)
        offset = local.utcoffset() or dt.timedelta(0)
        steps = [(at, HOUR)]
        if offset % HOUR:
            steps = [(at + QUARTER_HOUR * i, QUARTER_HOUR) for i in range(4)]
        for start, length in steps:
            when = start.astimezone(tz)
            k = when.date().toordinal() if by == "day" else when.hour
            first, last = max(start, f.since), min(start + length, f.until)
            if first >= last:
                continue
            if windows and windows[-1][2] == k and windows[-1][1] == first:
                windows[-1] = (windows[-1][0], last, k)
            else:
                windows.append((first, last, k))
        at += HOUR
    return windows


@dataclass(frozen=True)
class Windows:
    """A period cut by local day or hour (``local_windows``), and how a window's key
    turns back into the key's value (a date, an hour)."""

    spans: list[Window]
    value: Callable[[int], Any]


def aggregate_rows(
    qs: QuerySet[Any],
    key: Expression | None,
    aggregates: dict[str, Any],
    *,
    windows: Windows | None = None,
    moment: str = "started_at",
) -> list[dict[str, Any]]:
    """``aggregates`` of ``qs`` per value of ``key`` as rows ``{"k", ...}``, groups
    without rows left out; with ``windows`` (PostgreSQL), per window group of the
    ``moment`` field instead of grouping by ``key``."""
    aggregates = {"grouped_rows": Count(moment), **aggregates}
    if windows is not None:
        rows = [
            {**row, "k": windows.value(row["k"])}
            for row in rows_by_windows(qs, aggregates, windows.spans, moment)
        ]
    else:
        group = key if key is not None else ONE
        rows = list(qs.order_by().annotate(k=group).values("k").annotate(**aggregates))
    return [row for row in rows if row["grouped_rows"]]


def rows_by_windows(
    qs: QuerySet[Any], aggregates: dict[str, Any], windows: list[Window], moment: str
) -> list[dict[str, Any]]:
    """``aggregates`` of ``qs`` per key of ``windows``, on PostgreSQL: for each
    key, the rows whose ``moment`` falls in its windows, read in index order (a
    lateral join), so the period's rows are never sorted by a computed key (the
    cost of grouping a quarter by day or hour of day)."""
    inner = (
        qs.filter(
            RawSQL('"stats_window"."k" = "stats_key"."k"', (), output_field=BooleanField()),
            **{
                f"{moment}__gte": RawSQL('"stats_window"."a"', (), output_field=DateTimeField()),
                f"{moment}__lt": RawSQL('"stats_window"."b"', (), output_field=DateTimeField()),
            },
        )
        .order_by()
        .annotate(one=ONE)
        .values("one")
        .annotate(**aggregates)
    )
    sql, params = inner.query.sql_with_params()
    table = f" FROM {connection.ops.quote_name(qs.model._meta.db_table)}"
    at = sql.index(table)
    before = sql[:at].count("%s")
    sql = (
        f"{sql[:at]} FROM unnest(%s::timestamptz[], %s::timestamptz[], %s::int[])"
        f' AS "stats_window"("a", "b", "k") INNER JOIN'
        f"{table[len(' FROM') :]} ON TRUE{sql[at + len(table) :]}"
    )
    spans = ([w[0] for w in windows], [w[1] for w in windows], [w[2] for w in windows])
    keys = sorted({w[2] for w in windows})
    with connection.cursor() as cursor:
        # The SQL is the ORM's own; every value is a parameter.
        cursor.execute(
            f'SELECT "stats_key"."k", "stats_by".* FROM unnest(%s::int[]) AS "stats_key"("k")'  # noqa: S608
            f' CROSS JOIN LATERAL ({sql}) AS "stats_by"',
            (keys, *params[:before], *spans, *params[before:]),
        )
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def narrowed(
    qs: QuerySet[Any],
    f: StatsFilter,
    operator: Q,
    *,
    team: str = "team_id",
    number: str = "number_id",
    country: str = "country",
    label: str = "conversation__labels",
) -> QuerySet[Any]:
    """``qs`` narrowed by the filter's team, number, country and label (each through
    the field named), and by ``operator`` when the filter names an operator."""
    if f.team:
        qs = qs.filter(**{team: f.team})
    if f.number:
        qs = qs.filter(**{number: f.number})
    if f.country:
        qs = qs.filter(**{country: f.country.upper()})
    if f.label:
        qs = qs.filter(**{label: f.label})
    if f.operator:
        qs = qs.filter(operator)
    return qs


def _ceil(at: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """``at`` rounded up to a whole hour or day (UTC)."""
    floor = at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if step == DAY:
        floor = floor.replace(hour=0)
    return floor if floor == at else floor + step


def _clean(marker: Any, field: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Starts of the hours (or days) in [start, end) whose rollup is current."""
    if start >= end:
        return []
    current = marker.objects.filter(
        dirty=False, **{f"{field}__gte": start, f"{field}__lt": end}
    ).values_list(field, flat=True)
    return sorted(current)


def _runs(starts: list[dt.datetime], step: dt.timedelta) -> list[Span]:
    """Consecutive hours (or days) joined into spans."""
    spans: list[Span] = []
    for start in starts:
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], start + step)
        else:
            spans.append((start, start + step))
    return spans


def _ranges_between(since: dt.datetime, until: dt.datetime, covered: list[Span]) -> list[Span]:
    """The parts of [since, until) outside the covered spans (sorted, disjoint)."""
    ranges = []
    at = since
    for start, end in covered:
        if start > at:
            ranges.append((at, start))
        at = max(at, end)
    if at < until:
        ranges.append((at, until))
    return ranges


def _within(field: str, spans: list[Span]) -> Q:
    when = Q()
    for start, end in spans:
        when |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return when


def campaign_reply() -> Q:
    """A customer's message that answers a campaign: the message before it in the
    chat is one a campaign sent (the core records the campaign in a template
    message's ``content``). WhatsApp's timestamps are whole seconds, ours are
    not: a campaign message stored earlier within the reply's second comes before it."""
    second = Trunc("timestamp", "second", output_field=DateTimeField(), tzinfo=dt.UTC)
    before = (
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"),
            # The thread index's range: nothing after the reply's second.
            timestamp__lt=ExpressionWrapper(
                OuterRef("timestamp") + Value(dt.timedelta(seconds=1)),
                output_field=DateTimeField(),
            ),
        )
        .annotate(second=second)
        .filter(
            Q(second__lt=OuterRef("timestamp"))
            | Q(second=OuterRef("timestamp"), created_at__lt=OuterRef("created_at"))
        )
        .order_by("-second", "-created_at")
        .annotate(campaign=KT("content__campaign"))
        .values("campaign")[:1]
    )
    return Q(direction=Message.Direction.IN) & Q(
        GreaterThan(Subquery(before, output_field=CharField()), Value(""))
    )


def message_counts(f: StatsFilter, *, now: dt.datetime) -> dict[str, int]:
    """Messages in and out of the period: the daily rollups for the whole days
    whose rollup is current, the hourly ones for the other whole hours whose
    rollup is, the messages themselves for the rest (the current hour, a period's
    ragged ends, an hour a late message made dirty). A label filter reads the
    messages (rollups are not kept per label)."""
    end = min(f.until, now)
    days: list[Span] = []
    hours: list[Span] = []
    if not f.label:
        clean_days = _clean(RollupDay, "day", _ceil(f.since, DAY), end)
        days = _runs([day for day in clean_days if day + DAY <= f.until], DAY)
        in_days = {start + HOUR * i for start, stop in days for i in range((stop - start) // HOUR)}
        clean_hours = _clean(RollupHour, "hour", _ceil(f.since, HOUR), end)
        hours = _runs(
            [hour for hour in clean_hours if hour + HOUR <= f.until and hour not in in_days], HOUR
        )
    totals = {"in": 0, "out": 0, "templates": 0, "campaign_replies": 0}
    for model, field, spans in ((DailyRollup, "day", days), (HourlyRollup, "hour", hours)):
        if not spans:
            continue
        # Rollups are not kept per label: with a label only the messages are read.
        rollups = narrowed(
            model.objects.filter(_within(field, spans)), f, Q(operator_id=f.operator)
        )
        summed = rollups.aggregate(
            i=Sum("messages_in"),
            o=Sum("messages_out"),
            t=Sum("templates_out"),
            c=Sum("campaign_replies"),
        )
        totals["in"] += summed["i"] or 0
        totals["out"] += summed["o"] or 0
        totals["templates"] += summed["t"] or 0
        totals["campaign_replies"] += summed["c"] or 0
    ranges = _ranges_between(f.since, f.until, sorted(days + hours))
    if ranges:
        messages = narrowed(
            Message.objects.filter(_within("timestamp", ranges)),
            f,
            Q(direction=Message.Direction.OUT, sent_by_id=f.operator)
            | Q(direction=Message.Direction.IN, conversation__assignee_id=f.operator),
            team="conversation__team_id",
            number="conversation__number_id",
            country="conversation__contact__country",
        )
        live = messages.aggregate(
            i=Count("pk", filter=Q(direction=Message.Direction.IN)),
            o=Count("pk", filter=Q(direction=Message.Direction.OUT)),
            t=Count("pk", filter=Q(direction=Message.Direction.OUT, type="template")),
            c=Count("pk", filter=campaign_reply()),
        )
        totals["in"] += live["i"]
        totals["out"] += live["o"]
        totals["templates"] += live["t"]
        totals["campaign_replies"] += live["c"]
    return totals
