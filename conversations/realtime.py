"""The only module that talks to the channel layer.

Services call ``publish`` inside their transaction; the send is registered with
``transaction.on_commit``, so a browser never hears of a change that was rolled
back, and hears of a committed one before the request that made it is
answered. Payloads are plain JSON with a ``type``.

Groups are narrow: ``team.<id>`` carries the changes of a team's conversations to
its members, ``team.none`` those of conversations without a team, ``supervisors``
everything to supervisors and admins, ``user.<id>`` what concerns one operator
(their notifications, and the chats assigned to them), ``presence`` who is online.
``groups_for_conversation`` is the one place that decides who hears of a
conversation; ``groups_for_user`` the matching groups a socket joins.

Sync code (request threads, RQ workers, management commands) publishes through
one long-lived event loop per process, so the layer's Redis connections are
made once, not per event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SUPERVISORS_GROUP = "supervisors"
PRESENCE_GROUP = "presence"
NO_TEAM_GROUP = "team.none"
# The consumer methods that relay an event, and a colleague's viewing/typing, to the browser.
RELAY_HANDLER = "inbox.event"
COLLISION_HANDLER = "inbox.collision"
PONG_HANDLER = "inbox.pong"
PUBLISH_TIMEOUT = 5.0


def team_group(team_id: int | None) -> str:
    """The group of a team's members; ``team.none`` for chats without a team."""
    return NO_TEAM_GROUP if team_id is None else f"team.{team_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def groups_for_conversation(*, team_id: int | None, assignee_id: int | None) -> tuple[str, ...]:
    """The groups told of changes to a conversation and its messages: everyone who
    may see it (its team, or everyone for a chat without a team; supervisors; its
    assignee, who may be outside the team)."""
    groups = [team_group(team_id), SUPERVISORS_GROUP]
    if assignee_id is not None:
        groups.append(user_group(assignee_id))
    return tuple(groups)


def groups_for_user(*, user_id: int, team_ids: Iterable[int], supervisor: bool) -> tuple[str, ...]:
    """The groups an inbox user's socket joins: what they may see, and their own events."""
    if supervisor:
        return (SUPERVISORS_GROUP, user_group(user_id), PRESENCE_GROUP)
    teams = [team_group(team_id) for team_id in sorted(set(team_ids))]
    return (*teams, NO_TEAM_GROUP, user_group(user_id), PRESENCE_GROUP)


def publish(event_type: str, payload: dict[str, Any], *, groups: Iterable[str]) -> None:
    """Send ``payload`` (plain JSON) as event ``event_type`` to ``groups`` after commit."""
    message = {"type": RELAY_HANDLER, "event": {"type": event_type, **payload}}
    targets = tuple(dict.fromkeys(groups))
    transaction.on_commit(lambda: _send(targets, message))


async def relay_collision(
    *, groups: Iterable[str], sender_id: int, event: dict[str, Any], layer: Any
) -> None:
    """Tell ``groups`` at once that a colleague views, types in or left a chat.

    Nothing is stored, so there is no transaction to wait for; receiving sockets
    of ``sender_id`` drop the frame."""
    message = {"type": COLLISION_HANDLER, "sender_id": sender_id, "event": event}
    await _send_all(layer, tuple(dict.fromkeys(groups)), message)


async def heartbeat(*, user_id: int, channel_name: str, layer: Any) -> None:
    """Answer a socket's ping through its user's group: the pong arrives only while
    the layer still holds the socket's memberships and delivers to it."""
    await layer.group_send(user_group(user_id), {"type": PONG_HANDLER, "channel": channel_name})


_local = threading.local()


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Within this block, sends from this thread do not wait for each other: they
    leave together, in order, and the block ends once every one has been sent.
    For code that commits many changes at once (the webhook's batches)."""
    _local.pending = pending = []
    try:
        yield
    finally:
        _local.pending = None
        for future, message in pending:
            _wait(future, message)


def _send(groups: tuple[str, ...], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # The embedded layer's queues belong to the server's own loop.
            async_to_sync(_send_all)(layer, groups, message)
            return
        future = asyncio.run_coroutine_threadsafe(
            _send_all(layer, groups, message), _publisher_loop()
        )
    except Exception:
        logger.exception("could not publish %s", message["event"]["type"])
        return
    pending = getattr(_local, "pending", None)
    if pending is None:
        _wait(future, message)
    else:
        pending.append((future, message))


def _wait(future: concurrent.futures.Future[None], message: dict[str, Any]) -> None:
    try:
        future.result(timeout=PUBLISH_TIMEOUT)
    except Exception:
        # The data is committed; a browser that missed this re-syncs from the API.
        logger.exception("could not publish %s", message["event"]["type"])


async def _send_all(layer: Any, groups: tuple[str, ...], message: dict[str, Any]) -> None:
    await asyncio.gather(*(layer.group_send(group, message) for group in groups))


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_loop_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop, started on first use (and again after a fork)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="realtime-publisher", daemon=True
            )
            thread.start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop
