"""Hourly and daily rollups of the messages, recomputed from the raw rows: marked
dirty by late messages, rolled up by the clock's jobs, rebuilt by a command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone

from analytics import periods
from analytics.models import (
    DailyRollup,
    HourlyRollup,
    RollupCounts,
    RollupDay,
    RollupHour,
)
from analytics.periods import DAY, HOUR
from analytics.services.reply_facts import conversation_facts_refresh
from conversations.models import Conversation, Message

# An hour is rolled up this long after it ends: a message stamped in its last
# instant may still be committing when it ends.
GRACE = dt.timedelta(minutes=2)
# Hours before the current one the clock makes sure are rolled up.
RECENT_HOURS = 3


def hour_floor(at: dt.datetime) -> dt.datetime:
    """The start of ``at``'s hour (UTC)."""
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def day_floor(at: dt.datetime) -> dt.datetime:
    """The start of ``at``'s day (UTC)."""
    return hour_floor(at).replace(hour=0)


def rollup_hours_mark(*, hours: Iterable[dt.datetime]) -> int:
    """Mark the rollups of hours (a message stored late, a change of history) and
    of their days to be computed again; an hour never rolled up gets its marker,
    so the clock rolls it up. Until then the figures count those hours from the
    messages. The number of rolled-up hours marked."""
    hours = {hour_floor(hour) for hour in hours}
    if not hours:
        return 0
    marked = RollupHour.objects.filter(hour__in=hours, dirty=False).update(dirty=True)
    RollupHour.objects.bulk_create(
        [RollupHour(hour=hour, dirty=True) for hour in sorted(hours)], ignore_conflicts=True
    )
    RollupDay.objects.filter(day__in={day_floor(hour) for hour in hours}, dirty=False).update(
        dirty=True
    )
    return marked


def _rollup_rows(messages: QuerySet[Message]) -> list[HourlyRollup]:
    """Rollup rows of ``messages`` per hour (UTC), team, number, operator and country.
    A message counts for its conversation's team; an outbound one for the person
    who sent it, an inbound one for the chat's assignee."""
    counts = (
        messages.order_by()
        .annotate(hour=TruncHour("timestamp", tzinfo=dt.UTC))
        .values("hour", "conversation__team_id", "conversation__number_id")
        .annotate(
            country=F("conversation__contact__country"),
            operator=Case(
                When(direction=Message.Direction.OUT, then=Coalesce("sent_by_id", 0)),
                default=Coalesce("conversation__assignee_id", 0),
                output_field=IntegerField(),
            ),
        )
        .values("hour", "conversation__team_id", "conversation__number_id", "country", "operator")
        .annotate(
            messages_in=Count("pk", filter=Q(direction=Message.Direction.IN)),
            messages_out=Count("pk", filter=Q(direction=Message.Direction.OUT)),
            templates_out=Count("pk", filter=Q(direction=Message.Direction.OUT, type="template")),
            automatic_out=Count("pk", filter=Q(direction=Message.Direction.OUT, automatic=True)),
            campaign_replies=Count("pk", filter=periods.campaign_reply()),
        )
    )
    return [
        HourlyRollup(
            hour=row["hour"],
            team_id=row["conversation__team_id"] or 0,
            number_id=row["conversation__number_id"] or 0,
            operator_id=row["operator"] or 0,
            country=row["country"] or "",
            messages_in=row["messages_in"],
            messages_out=row["messages_out"],
            templates_out=row["templates_out"],
            automatic_out=row["automatic_out"],
            campaign_replies=row["campaign_replies"],
        )
        for row in counts
    ]


def rollup_hour_compute(*, hour: dt.datetime, now: dt.datetime | None = None) -> int:
    """Recompute the rollup rows of one hour (UTC) from the messages; the rows
    stored. Idempotent: the hour's rows are replaced as a whole, under the lock of
    the hour's marker. An hour not over yet stays dirty (the next tick computes
    it again); dashboards count it from the messages meanwhile."""
    hour = hour_floor(hour)
    now = now or timezone.now()
    with transaction.atomic():
        RollupHour.objects.get_or_create(hour=hour)
        marker = RollupHour.objects.select_for_update().get(hour=hour)
        rows = _rollup_rows(Message.objects.filter(timestamp__gte=hour, timestamp__lt=hour + HOUR))
        HourlyRollup.objects.filter(hour=hour).delete()
        HourlyRollup.objects.bulk_create(rows)
        marker.dirty = hour + HOUR + GRACE > now
        marker.rolled_at = now
        marker.save(update_fields=["dirty", "rolled_at"])
        # The day's sums come from its hours: summed again by the clock.
        RollupDay.objects.update_or_create(day=day_floor(hour), defaults={"dirty": True})
    return len(rows)


def _daily_rows(days: QuerySet[HourlyRollup]) -> list[DailyRollup]:
    """Daily rollup rows summing ``days``' hourly rows per day and key."""
    sums = (
        days.order_by()
        .annotate(day=TruncDay("hour", tzinfo=dt.UTC))
        .values("day", *RollupCounts.KEY)
        .annotate(**{f"sum_{name}": Sum(name) for name in RollupCounts.COUNTS})
    )
    return [
        DailyRollup(
            day=row["day"],
            **{key: row[key] for key in RollupCounts.KEY},
            **{name: row[f"sum_{name}"] for name in RollupCounts.COUNTS},
        )
        for row in sums
    ]


def rollup_day_compute(*, day: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Sum one day's (UTC) hourly rollups into its daily rollup, once the day is
    over and every hour of it that holds messages is rolled up; else the day stays
    dirty (its hours serve the figures) and the clock tries again. Idempotent,
    under the lock of the day's marker. True when the day's rollup is current."""
    day = day_floor(day)
    now = now or timezone.now()
    with transaction.atomic():
        RollupDay.objects.get_or_create(day=day)
        marker = RollupDay.objects.select_for_update().get(day=day)
        within = {"hour__gte": day, "hour__lt": day + DAY}
        clean = set(RollupHour.objects.filter(dirty=False, **within).values_list("hour", flat=True))
        busy = set(
            Message.objects.filter(timestamp__gte=day, timestamp__lt=day + DAY)
            .annotate(at=TruncHour("timestamp", tzinfo=dt.UTC))
            .values_list("at", flat=True)
            .distinct()
        )
        DailyRollup.objects.filter(day=day).delete()
        current = day + DAY + GRACE <= now and busy <= clean
        if current:
            DailyRollup.objects.bulk_create(_daily_rows(HourlyRollup.objects.filter(**within)))
        marker.dirty = not current
        marker.rolled_at = now
        marker.save(update_fields=["dirty", "rolled_at"])
    return current


def rollups_due(now: dt.datetime) -> int:
    """The clock's tick: enqueue the rollup of every recent hour that is over (by
    ``GRACE``) and not rolled up yet, and of every hour marked dirty; the number
    enqueued. Cheap when nothing is due: a few indexed queries."""
    from conversations.enqueue import enqueue_on_commit

    settled = hour_floor(now - GRACE) - HOUR
    recent = {settled - HOUR * i for i in range(RECENT_HOURS)}
    clean = set(
        RollupHour.objects.filter(hour__in=recent, dirty=False).values_list("hour", flat=True)
    )
    dirty = set(
        RollupHour.objects.filter(dirty=True, hour__lte=settled).values_list("hour", flat=True)
    )
    # An hour without messages has nothing to roll up (the statistics count it,
    # as zero, from the messages); most ticks enqueue nothing.
    unrolled = {
        hour
        for hour in recent - clean
        if Message.objects.filter(timestamp__gte=hour, timestamp__lt=hour + HOUR).exists()
    }
    due = sorted(unrolled | dirty)
    for hour in due:
        enqueue_on_commit(ROLLUP_JOB, hour.isoformat())
    # Days that are over and whose hours changed: summed after their hours (a day
    # whose hour is still dirty stays dirty, and the next tick tries again).
    days = RollupDay.objects.filter(dirty=True, day__lte=day_floor(now - GRACE) - DAY)
    for day in days.values_list("day", flat=True):
        enqueue_on_commit(ROLLUP_DAY_JOB, day.isoformat())
    return len(due)


ROLLUP_JOB = "analytics.jobs.rollup_hour"
ROLLUP_DAY_JOB = "analytics.jobs.rollup_day"


# How far back the rollups go (the statistics API's longest period).
ROLLUP_HORIZON = dt.timedelta(days=400)


def rollups_rebuild(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Recompute every reply fact and the hourly rollups of the last
    ``ROLLUP_HORIZON`` from the raw rows; the hours rolled up. Every hour from the
    first message of the horizon to the current one gets its marker, so dashboards
    read rollups for all of them (the ones not over yet stay dirty)."""
    now = now or timezone.now()
    ids = list(Conversation.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        conversation_facts_refresh(conversation_ids=ids[start : start + batch])
    current = hour_floor(now)
    horizon = current - ROLLUP_HORIZON
    with transaction.atomic():
        messages = Message.objects.filter(timestamp__gte=horizon, timestamp__lt=current + HOUR)
        rows = _rollup_rows(messages)
        HourlyRollup.objects.all().delete()
        HourlyRollup.objects.bulk_create(rows, batch_size=5000)
        first = messages.order_by("timestamp").values_list("timestamp", flat=True).first()
        RollupHour.objects.all().delete()
        hours = []
        if first is not None:
            hour = hour_floor(first)
            while hour <= current:
                dirty = hour + HOUR + GRACE > now
                hours.append(RollupHour(hour=hour, dirty=dirty, rolled_at=now))
                hour += HOUR
        RollupHour.objects.bulk_create(hours, batch_size=5000)
        # Every day that is over sums its hours (all rolled up just now).
        settled = day_floor(now - GRACE) - DAY
        DailyRollup.objects.all().delete()
        RollupDay.objects.all().delete()
        if first is not None and day_floor(first) <= settled:
            whole = HourlyRollup.objects.filter(hour__gte=day_floor(first), hour__lt=settled + DAY)
            DailyRollup.objects.bulk_create(_daily_rows(whole), batch_size=5000)
            days, day = [], day_floor(first)
            while day <= settled:
                days.append(RollupDay(day=day, dirty=False, rolled_at=now))
                day += DAY
            RollupDay.objects.bulk_create(days, batch_size=5000)
    return len(hours)
