"""Operators' presence and settings: sockets connecting, pinging and closing,
the operator's own switch, their agent profile, and dead sockets forgotten.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations import realtime, selectors
from conversations.models import AgentConnection, AgentProfile
from conversations.services.errors import ServiceError
from conversations.services.routing import drain_teams_of


def agent_profile(user: Any) -> AgentProfile:
    """The user's agent profile, created with the defaults on first use."""
    profile = getattr(user, "agent", None)
    if profile is None:
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        user.agent = profile
    return profile


def agent_presence(user: Any, now: dt.datetime | None = None) -> str:
    """Effective presence: offline without a socket seen in the last 90 s,
    otherwise the operator's own switch (online, away, offline)."""
    now = now or timezone.now()
    connected = AgentConnection.objects.filter(
        user=user, last_seen__gte=now - selectors.PRESENCE_FRESHNESS
    ).exists()
    return selectors.effective_presence(
        connected=connected, profile=AgentProfile.objects.filter(user=user).first()
    )


def _presence_moved(user: Any, before: str, after: str, now: dt.datetime) -> None:
    if before == after:
        return
    realtime.publish_presence(user.pk, after)
    if after == AgentProfile.Presence.ONLINE:
        drain_teams_of(user.pk, now=now)


def agent_connected(user: Any, channel_name: str, now: dt.datetime | None = None) -> None:
    """An inbox socket opened. Publishes ``presence.updated`` when the user's
    presence changes; coming online moves the queues of their teams."""
    now = now or timezone.now()
    with transaction.atomic():
        agent_profile(user)
        before = agent_presence(user, now)
        AgentConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"user": user, "last_seen": now}
        )
        _presence_moved(user, before, agent_presence(user, now), now)


def agent_seen(channel_name: str, user: Any = None, now: dt.datetime | None = None) -> None:
    """A socket pinged: it keeps its user present. A socket whose row was pruned
    meanwhile is connected again when ``user`` is given."""
    now = now or timezone.now()
    with transaction.atomic():
        connection = (
            AgentConnection.objects.select_for_update()
            .select_related("user")
            .filter(channel_name=channel_name)
            .first()
        )
        if connection is None:
            if user is not None:
                agent_connected(user, channel_name, now)
            return
        before = agent_presence(connection.user, now)
        connection.last_seen = now
        connection.save(update_fields=["last_seen"])
        _presence_moved(connection.user, before, agent_presence(connection.user, now), now)


def agent_disconnected(channel_name: str, now: dt.datetime | None = None) -> None:
    """An inbox socket closed. Publishes ``presence.updated`` when that was the
    user's last one."""
    now = now or timezone.now()
    with transaction.atomic():
        connection = (
            AgentConnection.objects.select_related("user").filter(channel_name=channel_name).first()
        )
        if connection is None:
            return
        user = connection.user
        before = agent_presence(user, now)
        connection.delete()
        _presence_moved(user, before, agent_presence(user, now), now)


def agent_set_presence(user: Any, presence: str, now: dt.datetime | None = None) -> None:
    """The operator's own switch: online, away or offline. Publishes
    ``presence.updated`` when the effective presence changes."""
    if presence not in AgentProfile.Presence.values:
        raise ServiceError(f"Unknown presence {presence!r}.")
    now = now or timezone.now()
    with transaction.atomic():
        profile = agent_profile(user)
        before = agent_presence(user, now)
        profile.presence = presence
        profile.save(update_fields=["presence"])
        _presence_moved(user, before, agent_presence(user, now), now)


def agent_profile_update(*, user: Any, **fields: Any) -> AgentProfile:
    """Change the operator's language, time zone, notification switches or capacity;
    a higher capacity moves the queues of their teams."""
    allowed = {"language", "time_zone", "notify_desktop", "notify_sound", "capacity"}
    unknown = set(fields) - allowed
    if unknown:
        raise ServiceError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        profile = agent_profile(user)
        if not fields:
            return profile
        capacity_before = profile.capacity
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.save(update_fields=list(fields))
        if profile.capacity > capacity_before:
            drain_teams_of(user.pk, now=timezone.now())
    return profile


def agent_connections_prune(*, now: dt.datetime | None = None) -> int:
    """Forget sockets not seen for 90 s (their server died without saying so);
    publishes ``presence.updated`` for users left without one. The number removed."""
    now = now or timezone.now()
    stale = AgentConnection.objects.filter(last_seen__lt=now - selectors.PRESENCE_FRESHNESS)
    user_ids = set(stale.values_list("user_id", flat=True))
    if not user_ids:
        return 0
    with transaction.atomic():
        removed, _ = stale.delete()
        still_present = set(
            AgentConnection.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
        )
        for user_id in sorted(user_ids - still_present):
            realtime.publish_presence(user_id, AgentProfile.Presence.OFFLINE)
    return removed
