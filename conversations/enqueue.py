"""The one place that enqueues background jobs: a small function per job.

Services enqueue through it and jobs (``conversations.jobs``) call services, so
this module imports neither: a job is named by its dotted path, which RQ takes
as it is and the inline mode resolves when the job runs. With ``REDIS_URL`` set
jobs go to django-rq (delays through RQ's scheduler); without it
(``settings.JOBS_INLINE``) they run inline right after the transaction commits,
a delayed one on a timer thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

SEND_MESSAGE = "conversations.jobs.send_message"
SEND_READ_RECEIPT = "conversations.jobs.send_read_receipt"
DOWNLOAD_MEDIA = "conversations.jobs.download_media"
PUSH_BUSINESS_PROFILE = "conversations.jobs.push_business_profile"


def enqueue_on_commit(job: str, *args: Any, delay: dt.timedelta | None = None) -> None:
    """Run the job ``job`` (a dotted path) with ``args`` once the current
    transaction commits."""
    transaction.on_commit(lambda: enqueue(job, args, delay))


def enqueue(job: str, args: tuple[Any, ...], delay: dt.timedelta | None = None) -> None:
    """Run the job ``job`` (a dotted path) with ``args`` now, or after ``delay``
    (a job that asks to be tried again later)."""
    if settings.JOBS_INLINE:
        if delay:
            timer = threading.Timer(delay.total_seconds(), _run_inline, (job, args))
            timer.daemon = True
            timer.start()
        else:
            _run_inline(job, args)
        return
    import django_rq

    queue = django_rq.get_queue("default")
    if delay:
        queue.enqueue_in(delay, job, *args)
    else:
        queue.enqueue(job, *args)


def _run_inline(job: str, args: tuple[Any, ...]) -> None:
    try:
        import_string(job)(*args)
    except Exception:
        logger.exception("inline job %s failed", job.rsplit(".", 1)[-1])


def enqueue_send(message_id: Any, *, requested_by: Any = None) -> None:
    """Deliver a queued outbound message after commit (``requested_by``: who asked
    for a manual retry)."""
    requested_by_id = getattr(requested_by, "pk", None)
    args = (str(message_id),) if requested_by_id is None else (str(message_id), requested_by_id)
    enqueue_on_commit(SEND_MESSAGE, *args)


def enqueue_read_receipt(conversation_id: int, wamid: str, *, typing: bool = False) -> None:
    """Mark the customer's message ``wamid`` read (with ``typing``, show the typing
    indicator too) after commit."""
    enqueue_on_commit(SEND_READ_RECEIPT, conversation_id, wamid, typing)


def enqueue_media_download(message_id: Any) -> None:
    """Download a customer's file after commit."""
    enqueue_on_commit(DOWNLOAD_MEDIA, str(message_id))


def enqueue_profile_push(number_id: int) -> None:
    """Send a number's edited business profile to WhatsApp after commit."""
    enqueue_on_commit(PUSH_BUSINESS_PROFILE, number_id)
