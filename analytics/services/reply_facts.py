"""Reply facts (episodes and waits) computed again from a conversation's raw rows,
and the common case (a customer writing again while waiting) moved in place."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from analytics import facts, sla
from analytics.models import (
    Episode,
    SlaPolicy,
    Wait,
)
from conversations import selectors as core_selectors
from conversations.calendars import Schedule
from conversations.models import Conversation, ConversationEvent, Message, Team


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
