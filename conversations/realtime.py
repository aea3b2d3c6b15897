"""The only module that talks to the channel layer.

Services call ``publish`` inside their transaction; the send is registered with
``transaction.on_commit``, so a browser never hears of a change that was rolled
back, and hears of a committed one only after the commit. Payloads are plain
JSON with a ``type``.

Groups are narrow: ``inbox`` carries list-level changes to everyone who may see
every conversation, ``conversation.<id>`` carries what only matters to those
viewing one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox"
# The consumer method that relays an event to the browser.
RELAY_HANDLER = "inbox.event"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


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
        async_to_sync(_send_all)(layer, groups, message)
    except Exception:
        # The data is committed; a browser that missed this re-syncs from the API.
        logger.exception("could not publish %s", message["event"]["type"])


async def _send_all(layer: Any, groups: tuple[str, ...], message: dict[str, Any]) -> None:
    for group in groups:
        await layer.group_send(group, message)
