"""SLA policies applied to reply facts: which policy a chat gets, when its targets
fall due, and the breaches and warnings the clock records and announces."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Q

from analytics import facts
from analytics.models import SlaPolicy
from conversations.calendars import Schedule


def policy_for(
    policies: Iterable[SlaPolicy], *, team_id: int | None, number_id: int, label_ids: set[int]
) -> SlaPolicy | None:
    """The most specific of the team's policies that matches the chat: label and
    number, then label, then number, then the team's own; the oldest on a tie."""
    matching = [
        p
        for p in policies
        if p.team_id == team_id
        and (p.label_id is None or p.label_id in label_ids)
        and (p.number_id is None or p.number_id == number_id)
    ]
    return min(
        matching, key=lambda p: (p.label_id is None, p.number_id is None, p.pk), default=None
    )


def due(
    policy: SlaPolicy | None,
    minutes: int | None,
    start: dt.datetime,
    schedule: Schedule | None,
    *,
    extra_seconds: float = 0.0,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(due, warn): when a target of ``minutes`` from ``start`` falls due, and when
    the policy's share of it is reached; (None, None) without a target."""
    if policy is None or minutes is None:
        return None, None
    calendar = schedule if policy.business_hours else None
    seconds = minutes * 60
    return (
        facts.business_add(calendar, start, seconds + extra_seconds),
        facts.business_add(calendar, start, seconds * policy.warn_percent / 100 + extra_seconds),
    )


def beyond_target(now: dt.datetime) -> Q:
    """Waits answered after their SLA target, or still unanswered past it."""
    return Q(due_at__isnull=False) & (
        Q(answered_at__gt=F("due_at")) | Q(answered_at__isnull=True, due_at__lte=now)
    )


def payload(
    *,
    first_response_due_at: dt.datetime | None,
    next_reply_due_at: dt.datetime | None,
    resolution_due_at: dt.datetime | None,
    breached: list[str],
) -> dict[str, Any]:
    from conversations.serializers import iso

    return {
        "first_response_due_at": iso(first_response_due_at),
        "next_reply_due_at": iso(next_reply_due_at),
        "resolution_due_at": iso(resolution_due_at),
        "breached": breached,
    }
