"""Background jobs of the inbox.

Jobs take ids, load their row and call one service; running one twice does no
harm. Services enqueue them through ``conversations.enqueue`` (by dotted path,
so that this module and the services do not import each other); a job that
must be tried again later enqueues itself the same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import rq
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue

from conversations import enqueue, realtime, services

logger = logging.getLogger(__name__)


def send_message(message_id: str, requested_by_id: int | None = None) -> None:
    """Deliver one queued outbound message; re-enqueues itself when WhatsApp
    asks to try again later. ``requested_by_id``: who asked for a manual retry."""
    attempt = services.message_deliver(message_id=message_id, requested_by_id=requested_by_id)
    if attempt.retry_in is not None:
        logger.info("message %s: retrying in %s", message_id, attempt.retry_in)
        enqueue.enqueue(enqueue.SEND_MESSAGE, (message_id,), attempt.retry_in)


def send_read_receipt(conversation_id: int, wamid: str, typing: bool = False) -> None:
    """Mark the customer's message read on WhatsApp (with ``typing``, show the
    typing indicator too); once per message, see ``services.read_receipt_send``."""
    services.read_receipt_send(conversation_id=conversation_id, wamid=wamid, typing=typing)


def download_media(message_id: str) -> None:
    """Download a customer's file into storage; re-enqueues itself with backoff
    while the download keeps failing and attempts remain."""
    attempt = services.media_download(message_id=message_id)
    if attempt.retry_in is not None:
        logger.info("media of message %s: retrying in %s", message_id, attempt.retry_in)
        enqueue.enqueue(enqueue.DOWNLOAD_MEDIA, (message_id,), attempt.retry_in)


def push_business_profile(number_id: int, attempt: int = 1) -> None:
    """Send a number's edited business profile to WhatsApp; tries again with a
    growing pause while WhatsApp is unreachable or asks to wait."""
    push = services.business_profile_push(number_id=number_id, attempt=attempt)
    if push.retry_in is not None:
        logger.info("business profile of number %s: retrying in %s", number_id, push.retry_in)
        enqueue.enqueue(enqueue.PUSH_BUSINESS_PROFILE, (number_id, attempt + 1), push.retry_in)


def run_timers(now: dt.datetime | None = None) -> dict[str, int]:
    """One tick of the workspace's clock (``python manage.py run_timers`` calls it
    every few seconds): wakes snoozed chats, escalates customers who waited too
    long, assigns queued chats, forgets dead sockets. Running it twice in a row
    does nothing more: every step acts only on rows still due."""
    run = services.timers_run(now=now)
    return {
        "pruned": run.pruned,
        "woken": run.woken,
        "escalated": run.escalated,
        "assigned": run.assigned,
        "interrupted": run.interrupted,
        "requeued": run.requeued,
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


def run_consent_import(import_id: int) -> None:
    """Import an uploaded CSV of consents (``services.consent_import_run``); a
    second run finds it started and does nothing."""
    services.consent_import_run(import_id=import_id)


class Worker(rq.Worker):
    """RQ's worker, whose forked work horse sends the presence changes it holds
    before it exits (``os._exit`` runs no exit handlers; see
    ``realtime.publish_presence``). ``settings.RQ["WORKER_CLASS"]`` names it."""

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        try:
            return super().perform_job(job, queue, execution)
        finally:
            realtime.flush_presence()
