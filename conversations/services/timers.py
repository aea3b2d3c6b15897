"""The workspace clock's tick: every timed step run once for the same instant."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from conversations import hooks, realtime
from conversations.services.deferrals import sends_deferred_due
from conversations.services.delivery import sends_interrupted_resolve, sends_lost_requeue
from conversations.services.escalation import conversations_escalate_due
from conversations.services.presence import agent_connections_prune
from conversations.services.routing import team_queues_drain
from conversations.services.statuses import snoozed_wake_due


@dataclass(frozen=True)
class TimerRun:
    pruned: int
    woken: int
    escalated: int
    assigned: int
    interrupted: int = 0
    requeued: int = 0
    deferred: int = 0
    presence: int = 0
    hooks: int = 0


def timers_run(*, now: dt.datetime | None = None) -> TimerRun:
    """One tick of the clock: forget dead sockets, wake snoozed chats, escalate
    customers who waited too long, assign queued chats to free operators, and
    settle sends that were interrupted or lost, send again what the platform
    deferred, send presence changes whose sender died; then what the apps built on the
    core asked the clock for (``hooks.on_tick``)."""
    now = now or timezone.now()
    run = TimerRun(
        pruned=agent_connections_prune(now=now),
        woken=snoozed_wake_due(now=now),
        escalated=conversations_escalate_due(now=now),
        assigned=team_queues_drain(now=now),
        interrupted=sends_interrupted_resolve(now=now),
        requeued=sends_lost_requeue(now=now),
        deferred=sends_deferred_due(now=now),
        presence=realtime.flush_orphaned_presence(),
    )
    return dataclasses.replace(run, hooks=hooks.tick(now))
