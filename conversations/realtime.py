"""The only module that talks to the channel layer.

Services call ``publish`` inside their transaction; the send is registered with
``transaction.on_commit``, so a browser never hears of a change that was rolled
back, and hears of a committed one before the request that made it is
answered. Payloads are plain JSON with a ``type``.

Groups are narrow: ``inbox`` carries conversation and message changes to everyone
who may see every conversation, ``user.<id>`` what concerns one operator.
``groups_for_conversation`` is the one place that decides who hears of a
conversation, so narrowing it to teams touches only that function.

Sync code (request threads, RQ workers, management commands) publishes through
one long-lived event loop per process, so the layer's Redis connections are
made once, not per event.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox"
# The consumer method that relays an event to the browser.
RELAY_HANDLER = "inbox.event"
PUBLISH_TIMEOUT = 5.0


def groups_for_conversation(conversation_id: int) -> tuple[str, ...]:
    """The groups told of changes to a conversation and its messages."""
    return (INBOX_GROUP,)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish(event_type: str, payload: dict[str, Any], *, groups: Iterable[str]) -> None:
    """Send ``payload`` (plain JSON) as event ``event_type`` to ``groups`` after commit."""
    message = {"type": RELAY_HANDLER, "event": {"type": event_type, **payload}}
    targets = tuple(groups)
    transaction.on_commit(lambda: _send(targets, message))


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
        future.result(timeout=PUBLISH_TIMEOUT)
    except Exception:
        # The data is committed; a browser that missed this re-syncs from the API.
        logger.exception("could not publish %s", message["event"]["type"])


async def _send_all(layer: Any, groups: tuple[str, ...], message: dict[str, Any]) -> None:
    for group in groups:
        await layer.group_send(group, message)


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
