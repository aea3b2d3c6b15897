"""Writes of the analytics app: reply facts refreshed with each message and status
change (inside the core's transaction, through its hooks), and hourly rollups
recomputed from raw rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone

from analytics import facts, periods, sla
from analytics.models import (
    DailyRollup,
    Episode,
    HourlyRollup,
    OnlineSpan,
    RollupCounts,
    RollupDay,
    RollupHour,
    SlaBreach,
    SlaPolicy,
    Wait,
)
from analytics.periods import DAY, HOUR
from conversations import selectors as core_selectors
from conversations.calendars import Schedule
from conversations.models import Conversation, ConversationEvent, Message, Notification, Team

logger = logging.getLogger(__name__)

# An hour is rolled up this long after it ends: a message stamped in its last
# instant may still be committing when it ends.
GRACE = dt.timedelta(minutes=2)
# Hours before the current one the clock makes sure are rolled up.
RECENT_HOURS = 3


def facts_record_messages(messages: list[Any]) -> None:
    """The core's message hook: refresh the facts of the messages' conversations,
    and mark dirty the rolled-up hours a late message falls in. An outbound
    message nobody wrote (a campaign's, an automatic reply) answers no one and
    starts nothing: only the rollups count it."""
    ids = {m.conversation_id for m in messages if m.direction == "in" or m.sent_by_id}
    # A wait only extended keeps its targets: those chats' clocks have not moved.
    recomputed = ids - waits_extend(messages)
    conversation_facts_refresh(conversation_ids=recomputed)
    sla_clocks_publish(recomputed)
    current = _hour(timezone.now())
    rollup_hours_mark(hours={_hour(m.timestamp) for m in messages if _hour(m.timestamp) < current})


def waits_extend(messages: list[Any]) -> set[int]:
    """The common case, without recomputing: a customer writes again while already
    waiting (an open wait, the clock not paused), no earlier than their latest
    message of it. Only the wait's latest message and window move, exactly as a
    recompute would move them. One query for any batch, and an update per second
    the batch's messages were written in; the conversations it
    brought up to date (the others need ``conversation_facts_refresh``)."""
    latest: dict[int, dt.datetime] = {}
    others: set[int] = set()
    for message in messages:
        if message.direction == "in" and message.type not in facts.NOT_ANSWERS:
            known = latest.get(message.conversation_id)
            latest[message.conversation_id] = (
                message.timestamp if known is None else max(known, message.timestamp)
            )
        else:
            others.add(message.conversation_id)
    for conversation_id in others:
        latest.pop(conversation_id, None)
    if not latest:
        return set()
    open_waits: dict[int, list[Wait]] = defaultdict(list)
    for wait in Wait.objects.filter(
        conversation_id__in=list(latest),
        answered_at__isnull=True,
        ended_at__isnull=True,
        episode__resolved_at__isnull=True,
        episode__pending_since__isnull=True,
    ).only("pk", "conversation_id", "last_customer_at"):
        open_waits[wait.conversation_id].append(wait)
    moved: dict[dt.datetime, list[Wait]] = defaultdict(list)
    for conversation_id, waits in open_waits.items():
        at = latest[conversation_id]
        if len(waits) != 1 or waits[0].last_customer_at > at:
            continue  # a late message, or anything unusual: recompute
        moved[at].append(waits[0])
    # WhatsApp's timestamps are whole seconds: a batch's messages share a few, and
    # each takes one UPDATE.
    for at, waits in moved.items():
        Wait.objects.filter(pk__in=[wait.pk for wait in waits]).update(
            last_customer_at=at, window_closes_at=facts.window_closes(at)
        )
    return {wait.conversation_id for waits in moved.values() for wait in waits}


def facts_record_event(event: ConversationEvent) -> None:
    """The core's conversation-event hook: a status change (resolution, reopening),
    a transfer to another team or new labels (another SLA policy may match)
    change the conversation's facts."""
    if event.kind in (
        ConversationEvent.Kind.STATUS,
        ConversationEvent.Kind.TEAM,
        ConversationEvent.Kind.LABELS,
    ):
        conversation_facts_refresh(conversation_ids={event.conversation_id})
        sla_clocks_publish({event.conversation_id})


def conversation_facts_refresh(*, conversation_ids: Iterable[int]) -> int:
    """Compute again the episodes and waits of these conversations from their
    messages and status changes; the number of waits stored. Call inside the
    transaction that changed them (the hooks do)."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0
    with transaction.atomic():
        conversations = list(
            Conversation.objects.filter(pk__in=ids).values_list(
                "pk", "team_id", "number_id", "contact__country"
            )
        )
        messages: dict[int, list[facts.MessageRow]] = defaultdict(list)
        for conversation_id, *values in (
            Message.objects.filter(conversation_id__in=ids)
            .order_by()
            .values_list(
                "conversation_id",
                "direction",
                "type",
                "automatic",
                "sent_by_id",
                "timestamp",
                "created_at",
            )
        ):
            messages[conversation_id].append(facts.MessageRow(*values))
        statuses: dict[int, list[facts.StatusRow]] = defaultdict(list)
        for conversation_id, data, created_at, actor_id in (
            ConversationEvent.objects.filter(
                conversation_id__in=ids, kind=ConversationEvent.Kind.STATUS
            )
            .order_by()
            .values_list("conversation_id", "data", "created_at", "actor_id")
        ):
            statuses[conversation_id].append(
                facts.StatusRow(str((data or {}).get("to", "")), created_at, actor_id)
            )
        team_ids = {team_id for _, team_id, _, _ in conversations if team_id}
        schedules = _schedules(team_ids)
        policies = list(SlaPolicy.objects.filter(team_id__in=team_ids)) if team_ids else []
        labels: dict[int, set[int]] = defaultdict(set)
        if any(p.label_id for p in policies):
            for conversation_id, label_id in Conversation.labels.through.objects.filter(
                conversation_id__in=ids
            ).values_list("conversation_id", "label_id"):
                labels[conversation_id].add(label_id)
        Wait.objects.filter(conversation_id__in=ids).delete()
        Episode.objects.filter(conversation_id__in=ids).delete()
        episode_rows: list[Episode] = []
        wait_facts: list[list[facts.WaitFact]] = []
        wait_targets: dict[int, tuple[dt.datetime | None, dt.datetime | None]] = {}
        for conversation_id, team_id, number_id, country in conversations:
            policy = sla.policy_for(
                policies, team_id=team_id, number_id=number_id, label_ids=labels[conversation_id]
            )
            schedule = schedules.get(team_id)
            common = {
                "conversation_id": conversation_id,
                "team_id": team_id,
                "number_id": number_id,
                "country": country or "",
            }
            for episode in facts.episodes_of(
                messages[conversation_id], statuses[conversation_id], schedule=schedule
            ):
                resolution_due, resolution_warn = (
                    sla.due(
                        policy,
                        policy.resolution_minutes if policy else None,
                        episode.started_at,
                        schedule,
                        extra_seconds=episode.pending_s,
                    )
                    if episode.pending_since is None
                    else (None, None)  # paused while pending on the customer
                )
                for wait in episode.waits:
                    minutes = None
                    if policy is not None:
                        minutes = (
                            policy.first_response_minutes
                            if wait.first
                            else policy.next_reply_minutes
                        )
                    wait_targets[id(wait)] = sla.due(policy, minutes, wait.started_at, schedule)
                episode_rows.append(
                    Episode(
                        **common,
                        started_at=episode.started_at,
                        reopened=episode.reopened,
                        operator_id=episode.operator_id,
                        first_response_at=episode.first_response_at,
                        resolved_at=episode.resolved_at,
                        resolution_s=episode.resolution_s,
                        resolution_business_s=episode.resolution_business_s,
                        pending_s=episode.pending_s,
                        pending_since=episode.pending_since,
                        policy=policy,
                        resolution_due_at=resolution_due,
                        resolution_warn_at=resolution_warn,
                    )
                )
                wait_facts.append(episode.waits)
        _insert(Episode, episode_rows)
        wait_rows = [
            Wait(
                conversation_id=row.conversation_id,
                episode_id=row.pk,
                team_id=row.team_id,
                number_id=row.number_id,
                country=row.country,
                first=wait.first,
                started_at=wait.started_at,
                last_customer_at=wait.last_customer_at,
                window_closes_at=facts.window_closes(wait.last_customer_at),
                answered_at=wait.answered_at,
                answered_by_id=wait.answered_by_id,
                ended_at=wait.ended_at,
                seconds=wait.seconds,
                business_seconds=wait.business_seconds,
                due_at=wait_targets[id(wait)][0],
                warn_at=wait_targets[id(wait)][1],
            )
            for row, waits in zip(episode_rows, wait_facts, strict=True)
            for wait in waits
        ]
        _insert(Wait, wait_rows)
    return len(wait_rows)


# Above this many rows PostgreSQL gets them by COPY (the rebuild): Django's
# bulk_create spends most of its time preparing every value in Python.
COPY_ABOVE = 500


def _insert(model: type[Episode] | type[Wait], rows: list[Any]) -> None:
    """Insert ``rows`` of ``model``, setting their primary keys."""
    if len(rows) <= COPY_ABOVE or connection.vendor != "postgresql":
        model.objects.bulk_create(rows)
        return
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = pk
        columns = ", ".join(f'"{f.column}"' for f in fields)
        # Table and column names come from the model, never from a request.
        with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([getattr(row, f.attname) for f in fields])


def _schedules(team_ids: set[int]) -> dict[int, Schedule | None]:
    if not team_ids:
        return {}
    return {
        team.pk: core_selectors.team_schedule(team)
        for team in Team.objects.filter(pk__in=team_ids, calendar__isnull=False)
    }


# --- Rollups ------------------------------------------------------------------------


def _hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _day(at: dt.datetime) -> dt.datetime:
    return _hour(at).replace(hour=0)


def rollup_hours_mark(*, hours: Iterable[dt.datetime]) -> int:
    """Mark the rollups of hours (a message stored late, a change of history) and
    of their days to be computed again; an hour never rolled up gets its marker,
    so the clock rolls it up. Until then the figures count those hours from the
    messages. The number of rolled-up hours marked."""
    hours = {_hour(hour) for hour in hours}
    if not hours:
        return 0
    marked = RollupHour.objects.filter(hour__in=hours, dirty=False).update(dirty=True)
    RollupHour.objects.bulk_create(
        [RollupHour(hour=hour, dirty=True) for hour in sorted(hours)], ignore_conflicts=True
    )
    RollupDay.objects.filter(day__in={_day(hour) for hour in hours}, dirty=False).update(dirty=True)
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
    hour = _hour(hour)
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
        RollupDay.objects.update_or_create(day=_day(hour), defaults={"dirty": True})
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
    day = _day(day)
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

    settled = _hour(now - GRACE) - HOUR
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
    days = RollupDay.objects.filter(dirty=True, day__lte=_day(now - GRACE) - DAY)
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
    current = _hour(now)
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
            hour = _hour(first)
            while hour <= current:
                dirty = hour + HOUR + GRACE > now
                hours.append(RollupHour(hour=hour, dirty=dirty, rolled_at=now))
                hour += HOUR
        RollupHour.objects.bulk_create(hours, batch_size=5000)
        # Every day that is over sums its hours (all rolled up just now).
        settled = _day(now - GRACE) - DAY
        DailyRollup.objects.all().delete()
        RollupDay.objects.all().delete()
        if first is not None and _day(first) <= settled:
            whole = HourlyRollup.objects.filter(hour__gte=_day(first), hour__lt=settled + DAY)
            DailyRollup.objects.bulk_create(_daily_rows(whole), batch_size=5000)
            days, day = [], _day(first)
            while day <= settled:
                days.append(RollupDay(day=day, dirty=False, rolled_at=now))
                day += DAY
            RollupDay.objects.bulk_create(days, batch_size=5000)
    return len(hours)


# --- SLA ----------------------------------------------------------------------------


def sla_policy_create(*, data: dict[str, Any]) -> SlaPolicy:
    """Store a policy and apply it at once to the open chats of its team (their
    facts are computed again with it)."""
    with transaction.atomic():
        policy = SlaPolicy.objects.create(**data)
        open_ids = Conversation.objects.filter(team_id=policy.team_id).exclude(
            status=Conversation.Status.RESOLVED
        )
        ids = list(open_ids.values_list("pk", flat=True))
        for start in range(0, len(ids), 500):
            conversation_facts_refresh(conversation_ids=ids[start : start + 500])
    return policy


# A span of an operator's time online goes on while the clock finds them online
# again within this long (the clock ticks every few seconds; a missed tick or two
# does not split it).
ONLINE_GAP = dt.timedelta(minutes=2)


def online_spans_record(now: dt.datetime) -> int:
    """The clock's tick: extend the time-online span of every operator online now
    (a fresh socket, their switch on ``online``), or start one. The number online."""
    online = set(
        core_selectors.users_in_roles()
        .filter(core_selectors.fresh_connection(now))
        .exclude(agent__presence__in=["away", "offline"])
        .values_list("pk", flat=True)
    )
    if not online:
        return 0
    with transaction.atomic():
        running = OnlineSpan.objects.filter(
            user_id__in=online, ended_at__gte=now - ONLINE_GAP, ended_at__lte=now
        )
        going_on = set(running.values_list("user_id", flat=True))
        running.update(ended_at=now)
        OnlineSpan.objects.bulk_create(
            OnlineSpan(user_id=pk, started_at=now, ended_at=now) for pk in online - going_on
        )
    return len(online)


# Customers whose window closes within this long with their message unanswered are
# announced (``window`` warnings): a reply after it needs a template.
WINDOW_ALERT = dt.timedelta(hours=1)


def _unrecorded(qs: QuerySet[Any], kind: Any, level: str) -> Any:
    """``qs`` (waits or episodes) without the breach of ``kind`` and ``level`` already
    recorded for them: the clock reads only what is new."""
    recorded = SlaBreach.objects.filter(
        conversation_id=OuterRef("conversation_id"),
        kind=kind,
        level=level,
        started_at=OuterRef("started_at"),
    )
    return qs.exclude(Exists(recorded))


def sla_breaches_record(now: dt.datetime) -> int:
    """The clock's tick: record each target reached (``breach``) or nearly reached
    (``warning``) by a chat still waiting, and each customer whose window is about
    to close unanswered (a ``window`` warning), once per wait; announce each live to
    the chat's assignee, its team and the supervisors (``sla.warning``,
    ``sla.breached``, and the chat's new clock as ``conversation.sla``) and notify
    the assignee and the supervisors. The number recorded."""
    found: list[SlaBreach] = []
    open_waits = Wait.objects.filter(answered_at__isnull=True, ended_at__isnull=True)
    wait_kind = Case(
        When(first=True, then=Value(SlaBreach.Kind.FIRST_RESPONSE.value)),
        default=Value(SlaBreach.Kind.NEXT_REPLY.value),
    )
    for field, level in (("warn_at", SlaBreach.Level.WARNING), ("due_at", SlaBreach.Level.BREACH)):
        waits = open_waits.filter(**{f"{field}__lte": now}).annotate(kind=wait_kind)
        for wait in _unrecorded(waits, OuterRef("kind"), level).select_related("episode"):
            found.append(
                SlaBreach(
                    conversation_id=wait.conversation_id,
                    policy_id=wait.episode.policy_id,
                    kind=wait.kind,
                    level=level,
                    started_at=wait.started_at,
                    due_at=wait.due_at,
                    created_at=now,
                )
            )
    closing = open_waits.filter(window_closes_at__gt=now, window_closes_at__lte=now + WINDOW_ALERT)
    for wait in _unrecorded(closing, SlaBreach.Kind.WINDOW, SlaBreach.Level.WARNING).select_related(
        "episode"
    ):
        found.append(
            SlaBreach(
                conversation_id=wait.conversation_id,
                policy_id=wait.episode.policy_id,
                kind=SlaBreach.Kind.WINDOW,
                level=SlaBreach.Level.WARNING,
                started_at=wait.started_at,
                due_at=wait.window_closes_at,
                created_at=now,
            )
        )
    open_episodes = Episode.objects.filter(resolved_at__isnull=True, pending_since__isnull=True)
    for field, level in (
        ("resolution_warn_at", SlaBreach.Level.WARNING),
        ("resolution_due_at", SlaBreach.Level.BREACH),
    ):
        episodes = open_episodes.filter(**{f"{field}__lte": now})
        for episode in _unrecorded(episodes, SlaBreach.Kind.RESOLUTION, level):
            found.append(
                SlaBreach(
                    conversation_id=episode.conversation_id,
                    policy_id=episode.policy_id,
                    kind=SlaBreach.Kind.RESOLUTION,
                    level=level,
                    started_at=episode.started_at,
                    due_at=episode.resolution_due_at,
                    created_at=now,
                )
            )
    if not found:
        return 0
    with transaction.atomic():
        created = SlaBreach.objects.bulk_create(found, ignore_conflicts=True)
        _breaches_announce(created, now)
    return len(created)


def _breaches_announce(breaches: list[SlaBreach], now: dt.datetime) -> None:
    """Tell who must know of ``breaches`` (just recorded): the chat's groups live,
    its new clock, and a notification to the assignee and the supervisors."""
    from conversations import realtime
    from conversations.serializers import iso
    from conversations.services.notifications import notify_all

    conversations = Conversation.objects.select_related("contact", "team", "assignee").in_bulk(
        {b.conversation_id for b in breaches}
    )
    watchers = list(core_selectors.supervisors())
    for breach in breaches:
        conversation = conversations[breach.conversation_id]
        realtime.publish(
            "sla.breached" if breach.level == SlaBreach.Level.BREACH else "sla.warning",
            {
                "conversation_id": breach.conversation_id,
                "kind": breach.kind,
                "level": breach.level,
                "due_at": iso(breach.due_at),
            },
            groups=realtime.groups_for_conversation(
                team_id=conversation.team_id, assignee_id=conversation.assignee_id
            ),
        )
        customer = conversation.contact.profile_name or conversation.contact.phone
        notification_kind, sentence = {
            SlaBreach.Level.BREACH: (
                Notification.Kind.SLA_BREACH,
                f"{customer}: the {breach.get_kind_display().lower()} target was missed.",
            ),
            SlaBreach.Level.WARNING: (
                Notification.Kind.SLA_WARNING,
                f"{customer}: the {breach.get_kind_display().lower()} target is near.",
            ),
        }[SlaBreach.Level(breach.level)]
        if breach.kind == SlaBreach.Kind.WINDOW:
            notification_kind = Notification.Kind.WINDOW_CLOSING
            sentence = f"{customer}'s window closes soon and their message is unanswered."
        told = [*watchers, *([conversation.assignee] if conversation.assignee_id else [])]
        notify_all(
            told,
            notification_kind,
            conversation,
            text=sentence,
            data={
                "customer": customer,
                "kind": breach.kind,
                "due_at": iso(breach.due_at),
                "team": conversation.team.name if conversation.team_id else "",
            },
            now=now,
        )
    sla_clocks_publish({b.conversation_id for b in breaches}, now=now)


def sla_clocks_publish(conversation_ids: Iterable[int], *, now: dt.datetime | None = None) -> int:
    """Publish the SLA clock (``conversation.sla``) of each of these chats that an
    SLA policy of its team governs, to whoever sees the chat; the number published.
    One query when no policy concerns them."""
    from analytics.selectors import conversations_sla
    from conversations import realtime

    rows = list(
        Conversation.objects.filter(
            pk__in=set(conversation_ids), team_id__in=SlaPolicy.objects.values("team_id")
        ).values_list("pk", "team_id", "assignee_id")
    )
    if not rows:
        return 0
    clocks = conversations_sla([pk for pk, _, _ in rows], now=now)
    for pk, team_id, assignee_id in rows:
        realtime.publish(
            "conversation.sla",
            {"conversation_id": pk, "sla": clocks[pk]},
            groups=realtime.groups_for_conversation(team_id=team_id, assignee_id=assignee_id),
        )
    return len(rows)
