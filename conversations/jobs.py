"""Background jobs of the inbox and the one place that enqueues them.

Jobs take ids, load their row and call one service; running one twice does no
harm. With ``REDIS_URL`` set they go to django-rq (delays through RQ's
scheduler); without it they run inline right after the transaction commits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(
    func: Callable[..., Any], *args: Any, delay: dt.timedelta | None = None
) -> None:
    """Run ``func(*args)`` as a job once the current transaction commits."""
    transaction.on_commit(lambda: _enqueue(func, args, delay))


def _enqueue(func: Callable[..., Any], args: tuple[Any, ...], delay: dt.timedelta | None) -> None:
    if settings.JOBS_INLINE:
        if delay:
            timer = threading.Timer(delay.total_seconds(), _run_inline, (func, args))
            timer.daemon = True
            timer.start()
        else:
            _run_inline(func, args)
        return
    import django_rq

    queue = django_rq.get_queue("default")
    if delay:
        queue.enqueue_in(delay, func, *args)
    else:
        queue.enqueue(func, *args)


def _run_inline(func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        func(*args)
    except Exception:
        logger.exception("inline job %s failed", func.__name__)


def send_message(message_id: str, requested_by_id: int | None = None) -> None:
    """Deliver one queued outbound message; re-enqueues itself when WhatsApp
    asks to try again later. ``requested_by_id``: who asked for a manual retry."""
    from conversations import services

    attempt = services.message_deliver(message_id=message_id, requested_by_id=requested_by_id)
    if attempt.retry_in is not None:
        logger.info("message %s: retrying in %s", message_id, attempt.retry_in)
        _enqueue(send_message, (message_id,), attempt.retry_in)


def enqueue_send(message_id: Any, *, requested_by: Any = None) -> None:
    requested_by_id = getattr(requested_by, "pk", None)
    args = (str(message_id),) if requested_by_id is None else (str(message_id), requested_by_id)
    enqueue_on_commit(send_message, *args)


def send_read_receipt(conversation_id: int, wamid: str, typing: bool = False) -> None:
    """Mark the customer's message read on WhatsApp (with ``typing``, show the
    typing indicator too); once per message, see ``services.read_receipt_send``."""
    from conversations import services

    services.read_receipt_send(conversation_id=conversation_id, wamid=wamid, typing=typing)


def enqueue_read_receipt(conversation_id: int, wamid: str, *, typing: bool = False) -> None:
    enqueue_on_commit(send_read_receipt, conversation_id, wamid, typing)


def download_media(message_id: str) -> None:
    """Download a customer's file into storage; re-enqueues itself with backoff
    while the download keeps failing and attempts remain."""
    from conversations import services

    attempt = services.media_download(message_id=message_id)
    if attempt.retry_in is not None:
        logger.info("media of message %s: retrying in %s", message_id, attempt.retry_in)
        _enqueue(download_media, (message_id,), attempt.retry_in)


def enqueue_media_download(message_id: Any) -> None:
    enqueue_on_commit(download_media, str(message_id))


def run_timers(now: dt.datetime | None = None) -> dict[str, int]:
    """One tick of the workspace's clock (``python manage.py run_timers`` calls it
    every few seconds): wakes snoozed chats, escalates customers who waited too
    long, assigns queued chats, forgets dead sockets. Running it twice in a row
    does nothing more: every step acts only on rows still due."""
    from conversations import services

    run = services.timers_run(now=now)
    return {
        "pruned": run.pruned,
        "woken": run.woken,
        "escalated": run.escalated,
        "assigned": run.assigned,
    }


async def embedded_clock(every: float) -> None:
    """The embedded mode's ``run_timers``: a task on the server's own event loop,
    so that what a tick changes reaches the in-memory channel layer the pages
    listen on (a separate process would have a layer of its own)."""
    from channels.db import database_sync_to_async

    tick = database_sync_to_async(run_timers)
    while True:
        await asyncio.sleep(every)
        try:
            await tick()
        except Exception:
            logger.exception("workspace timers failed; trying again at the next tick")
