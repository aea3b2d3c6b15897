"""SLA policies applied to open chats, and what the clock's tick records: targets
warned of and missed, windows closing unanswered, operators' time online; each
chat's SLA clock published to whoever sees it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    Exists,
    OuterRef,
    QuerySet,
    Value,
    When,
)

from analytics.models import (
    Episode,
    OnlineSpan,
    SlaBreach,
    SlaPolicy,
    Wait,
)
from analytics.services.reply_facts import conversation_facts_refresh
from conversations import selectors as core_selectors
from conversations.models import Conversation, Notification


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
