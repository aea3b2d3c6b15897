"""The send jobs' side of a campaign: exactly once per recipient, at the number's
pace, within the account's tier.

A job works in batches of at most ``STORE`` rows and a second of the number's
pace, each claimed with a lease (``SKIP LOCKED``: jobs on other workers take
other rows); it stores its next batch while it delivers the current one (steps 1
and 2 beside step 3, in a thread of the job on PostgreSQL):

1. counts the batch's customers against the tier (outside their window only) in
   the shared limiter (``campaigns.pacing``, one round trip);
2. hands the batch's new rows to the core's batched send service
   (``message_send_template_batch``, ``path="campaign"``: every send rule applies,
   read once for the batch). The recipients' rows move to ``sending`` and point at
   their messages **in the same transaction** that creates the messages, and only
   if every row is still ours and still waiting: otherwise nothing is stored and
   the rows still ours are sent again, so a second job can never create a second
   message. A ``quiet_hours`` refusal defers the row to the time the rule gives,
   any other refusal excludes it with the rule's code, in that transaction too;
3. delivers each queued message at its own slot of the number's pace
   (``message_deliver``: the message moves queued -> sending before the Graph API
   call, carrying its id as ``biz_opaque_callback_data``). Accepted: ``sent``.
   Refused for good: ``failed`` with WhatsApp's code. A throughput refusal
   (130429) holds the whole number's pace and a pair-rate one (131056) the
   recipient, for 1, 2, 4... up to 60 seconds, then tries again: neither ever
   fails a recipient. The rows' outcomes are written once per batch.

A worker killed anywhere leaves one of: a row still waiting (nothing was created:
another job takes it when the lease ends), a row ``sending`` with its message
still queued (the next job delivers it), a row ``sending`` whose message went
(the next job settles the row from its message), or a message ``sending`` whose
outcome is unknown: it is never sent again; the status webhook carrying our id
settles it. Campaign messages are not published one by one: the campaign's page
reads counts, and ``campaign.progress`` tells it when.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Case, Min, OuterRef, Q, Subquery, UUIDField, Value, When
from django.utils import timezone

from campaigns import pacing
from campaigns.models import TIER_LIMITS, AccountTier, Campaign, NumberPace, Recipient, Tier
from campaigns.selectors import SENT_STATUSES
from campaigns.services.common import campaign_publish
from campaigns.services.errors import WrongState
from campaigns.services.lifecycle import campaign_pause
from conversations import services as core
from conversations.models import Conversation, Message, SendPath, WhatsAppNumber
from templates_app.models import TemplateSend
from whatsapp.templates import TemplateParametersError, render_template, template_components

logger = logging.getLogger(__name__)

STORE = 25
MAX_BACKOFF = 60.0
R = Recipient.State
ST = Campaign.Status


@dataclass(frozen=True)
class WorkResult:
    processed: int
    # When the job should run again (None: nothing left for it).
    again_in: dt.timedelta | None


class _Taken(Exception):
    """The row was no longer ours when its message was about to be stored."""


def lease_seconds() -> float:
    return float(getattr(settings, "CAMPAIGNS_LEASE_SECONDS", 30))


def number_rate(number: WhatsAppNumber) -> int:
    """Messages per second the number may send (its ``NumberPace``, else 80)."""
    pace = NumberPace.objects.filter(number=number).values_list("messages_per_second", flat=True)
    return next(iter(pace), int(getattr(settings, "CAMPAIGNS_DEFAULT_RATE", 80)))


def tier_limit(waba_id: str) -> int | None:
    """Unique customers the account may reach in 24 hours (None: unlimited)."""
    tier = AccountTier.objects.filter(waba_id=waba_id).values_list("tier", flat=True)
    return TIER_LIMITS.get(
        next(iter(tier), getattr(settings, "CAMPAIGNS_DEFAULT_TIER", Tier.TIER_2K))
    )


def backoff(tries: int) -> float:
    """1, 2, 4... seconds, never more than a minute."""
    return min(MAX_BACKOFF, float(2 ** max(0, min(tries - 1, 6))))


def campaign_work(
    *,
    campaign_id: int,
    limiter: pacing.Limiter | None = None,
    client: Any = None,
    budget: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> WorkResult:
    """Send to due recipients of the campaign for three quarters of ``budget``
    seconds to all of it, at random (a job's share of the worker). While the
    campaign is paused or cancelled only sends already handed to the core are
    finished. Marks the campaign done when nothing is left to do; else says when
    to come back.

    The job's next batch is claimed and stored while this one is delivered
    (``_StoreAhead``): a slot of the number's pace nobody takes in time is lost,
    and a job that stopped sending to store would leave its share of them to the
    other jobs."""
    started = time.monotonic()
    # Jobs started together would otherwise end together, and the number's pace
    # would go unused while their successors start.
    budget *= random.uniform(0.75, 1.0)
    limiter = limiter or pacing.limiter()
    # One client for the job: its HTTP session keeps the connection to WhatsApp alive.
    client = client or core.graph_client()
    token = uuid.uuid4().hex
    processed = 0
    with _StoreAhead() as ahead:
        upcoming = ahead.submit(_prepare, campaign_id, token, limiter, first=True)
        while True:
            batch = upcoming()
            campaign = batch.campaign
            if campaign is None or campaign.status not in (ST.RUNNING, ST.PAUSED, ST.CANCELLED):
                return WorkResult(processed, None)
            if not batch.claimed:
                again = _finish_or_next(campaign, timezone.now()) if batch.running else None
                return WorkResult(processed, again)
            processed += batch.claimed
            go_on = batch.go_on and time.monotonic() - started <= budget
            if go_on:
                upcoming = ahead.submit(_prepare, campaign_id, token, limiter, first=False)
            outcomes = [
                (row, _deliver(row, campaign, limiter, client, batch.rate, sleep))
                for row in batch.rows
            ]
            # The rows' outcomes in a few statements for the batch. A worker killed
            # before this leaves them ``sending``: the next job settles them from
            # their messages.
            _update_many(outcomes)
            if not go_on:
                # Out of time: come back at once. The tier is full: the campaign paused.
                return WorkResult(processed, dt.timedelta(0) if batch.go_on else None)


@dataclass
class _Batch:
    """A batch of a job's rows, ready to deliver: the campaign as it was read, the
    number's pace, the rows whose messages are stored (``message`` loaded), how many
    rows were claimed, and False in ``go_on`` when the campaign must stop (the tier
    is full)."""

    campaign: Campaign | None
    running: bool = False
    rate: int = 1
    rows: list[Recipient] = field(default_factory=list)
    claimed: int = 0
    go_on: bool = True


class _StoreAhead:
    """Prepares a job's next batch while the job delivers the current one: in a
    thread with a database connection of its own, on PostgreSQL outside a
    transaction. On SQLite (one writer at a time) or inside a transaction (another
    connection would not see its rows) the batch is prepared when it is asked for,
    in the caller's thread."""

    def __init__(self) -> None:
        connection = transaction.get_connection()
        self.pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="campaign-store")
            if connection.vendor == "postgresql" and not connection.in_atomic_block
            else None
        )

    def submit(
        self, fn: Callable[..., _Batch], /, *args: Any, **kwargs: Any
    ) -> Callable[[], _Batch]:
        """Start ``fn`` (in the thread); the returned callable gives its result (or
        raises its exception)."""
        if self.pool is None:
            return functools.partial(fn, *args, **kwargs)
        return self.pool.submit(fn, *args, **kwargs).result

    def __enter__(self) -> _StoreAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            # After the batch it may still be storing: the thread's connection closes.
            self.pool.submit(connections.close_all)
            self.pool.shutdown(wait=True)


def _prepare(campaign_id: int, token: str, limiter: pacing.Limiter, *, first: bool) -> _Batch:
    """Claim the job's next batch and store the messages of its new rows (while the
    campaign runs); load the messages of the rows already sending."""
    campaign = Campaign.objects.select_related("number").filter(pk=campaign_id).first()
    if campaign is None or campaign.status not in (ST.RUNNING, ST.PAUSED, ST.CANCELLED):
        return _Batch(campaign)
    running = campaign.status == ST.RUNNING
    rate = number_rate(campaign.number)
    # A batch holds at most a second of the number's pace (a pause takes effect
    # within a second or two, a lease never runs out while its rows wait their
    # turn), and at most ``STORE`` rows. The job's first batch is of a random
    # size: jobs started together would otherwise store their batches at the same
    # moments.
    size = max(1, min(STORE, rate))
    ids = _claim(
        campaign,
        token,
        timezone.now(),
        in_flight_only=not running,
        limit=random.randint(max(1, size // 4), size) if first else size,
    )
    if not ids:
        return _Batch(campaign, running, rate)
    rows = list(
        Recipient.objects.select_related("contact", "variant__template")
        .filter(pk__in=ids, lease_token=token, next_try_at__isnull=False)
        .order_by("next_try_at", "pk")
    )
    new = [row for row in rows if row.state in (R.PENDING, R.DEFERRED)]
    in_flight = [row for row in rows if row.state == R.SENDING]
    if in_flight:
        messages = Message.objects.select_related(
            "conversation__contact", "conversation__number"
        ).in_bulk([row.message_id for row in in_flight if row.message_id])
        for row in in_flight:
            row.message = messages.get(row.message_id) if row.message_id else None
    go_on = True
    if new and not running:
        _release([row.pk for row in new], token)
    elif new:
        limit = tier_limit(campaign.number.waba_id)
        stored, go_on = _store(new, token, campaign, limiter, limit)
        in_flight += stored
    Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())
    # Once a second per campaign, whatever the number of its jobs: the counts read
    # every recipient.
    if limiter.once(f"progress:{campaign_id}", 1.0):
        with transaction.atomic():
            campaign_publish(campaign, "campaign.progress")
    return _Batch(campaign, running, rate, in_flight, len(ids), go_on)


def _claim(
    campaign: Campaign, token: str, now: dt.datetime, *, in_flight_only: bool, limit: int
) -> list[int]:
    """Lease up to ``limit`` due rows to this job; rows another job holds are skipped."""
    states = (R.SENDING,) if in_flight_only else (R.PENDING, R.DEFERRED, R.SENDING)
    with transaction.atomic():
        ids = list(
            Recipient.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, state__in=states, next_try_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_try_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Recipient.objects.filter(pk__in=ids).update(
                lease_until=now + dt.timedelta(seconds=lease_seconds()), lease_token=token
            )
    return ids


def _release(ids: list[int], token: str) -> None:
    if ids:
        Recipient.objects.filter(pk__in=ids, lease_token=token).update(lease_until=None)


def _finish_or_next(campaign: Campaign, now: dt.datetime) -> dt.timedelta | None:
    """Done when no recipient has anything left to do; else when the earliest
    one (deferred, backing off, or held by another job's lease) is due."""
    waiting = Recipient.objects.filter(campaign=campaign, next_try_at__isnull=False)
    earliest = waiting.aggregate(due=Min("next_try_at"), lease=Min("lease_until"))
    if earliest["due"] is None:
        with transaction.atomic():
            locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if locked.status == ST.RUNNING and not waiting.exists():
                locked.status = ST.DONE
                locked.finished_at = now
                locked.save(update_fields=["status", "finished_at"])
                campaign_publish(locked, "campaign.updated")
        return None
    due = earliest["due"]
    if due <= now:
        # Held by another job: come back when its lease ends, in case it died.
        due = max(now, earliest["lease"] or now) + dt.timedelta(seconds=0.5)
    return max(dt.timedelta(seconds=0.2), due - now)


Ready = tuple[Recipient, Any, dict[str, Any], int | None]


def _store(
    rows: list[Recipient],
    token: str,
    campaign: Campaign,
    limiter: pacing.Limiter,
    limit: int | None,
) -> tuple[list[Recipient], bool]:
    """Count the batch's new rows against the tier, render their templates and hand
    them to the core's batched send. Returns the rows now sending (``message``
    set), and False when the tier is full (the rest were released and the
    campaign paused)."""
    number = campaign.number
    contacts = [row.contact for row in rows if row.contact is not None]
    conversations = core.conversations_for_contacts(number=number, contacts=contacts)
    now = timezone.now()
    # The customers outside their window count against the tier, in one round trip.
    closed = [
        row
        for row in rows
        if row.contact is not None and conversations[row.contact_id].window_expires_at(now) is None
    ]
    reaches = dict(
        zip(
            [row.pk for row in closed],
            limiter.reach_many(number.waba_id, [row.contact.wa_id for row in closed], limit),
            strict=True,
        )
    )
    go_on = True
    ready: list[Ready] = []
    updates: list[tuple[Recipient, dict[str, Any]]] = []
    for index, row in enumerate(rows):
        if row.contact is None:
            updates.append((row, _done(R.EXCLUDED, "invalid_number")))
            continue
        conversation = conversations[row.contact_id]
        reached = reaches.get(row.pk)
        if reached is not None:
            if reached == pacing.TIER_FULL:
                _release([r.pk for r in rows[index:]], token)
                for later in rows[index + 1 :]:
                    if later.pk in reaches:
                        # Counted after the tier was full (a place came free
                        # meanwhile): not sent now, so not reached.
                        _unreach(limiter, number.waba_id, later.contact.wa_id, reaches[later.pk])
                try:
                    campaign_pause(campaign=campaign, reason="tier_limit")
                except WrongState:
                    pass
                logger.info("campaign %s paused: the account's tier is full", campaign.pk)
                go_on = False
                break
        template = row.variant.template
        parameters = _parameters(campaign, row)
        try:
            components = template_components(
                template.components, parameters, parameter_format=template.parameter_format
            )
            text = render_template(
                template.components, parameters, parameter_format=template.parameter_format
            ).text
        except TemplateParametersError as exc:
            _unreach(limiter, number.waba_id, row.contact.wa_id, reached)
            updates.append((row, _done(R.FAILED, "invalid_parameters")))
            logger.info("campaign %s, %s: %s", campaign.pk, row.wa_id, exc)
            continue
        send = core.TemplateMessage(
            conversation=conversation,
            name=template.name,
            language=template.language,
            components=components,
            text=text,
            category=template.category,
            campaign=str(campaign.pk),
        )
        ready.append((row, send, parameters, reached))
    _update_many(updates)
    for _ in range(3):
        if not ready:
            break
        try:
            stored, unreached = _store_ready(ready, token, number.pk)
        except _Taken:
            # Another job took some rows (this job's lease ran out): nothing was
            # stored; send the rows still ours.
            ours = set(
                Recipient.objects.filter(
                    pk__in=[item[0].pk for item in ready],
                    lease_token=token,
                    state__in=(R.PENDING, R.DEFERRED),
                ).values_list("pk", flat=True)
            )
            ready = [item for item in ready if item[0].pk in ours]
            continue
        for wa_id, reached in unreached:
            _unreach(limiter, number.waba_id, wa_id, reached)
        return stored, go_on
    return [], go_on


def _store_ready(
    ready: list[Ready], token: str, number_id: int
) -> tuple[list[Recipient], list[tuple[str, Any]]]:
    """One transaction: the messages (``message_send_template_batch``), the rows'
    moves to ``sending``, the refused rows' outcomes and the template usage commit
    together, or nothing does (``_Taken``: a row was no longer ours and waiting).
    Returns the rows now sending and the tier reaches to take back (refused)."""
    unreached: list[tuple[str, Any]] = []
    with transaction.atomic():
        results = core.message_send_template_batch(
            sends=[send for _, send, _, _ in ready], path=SendPath.CAMPAIGN
        )
        now = timezone.now()
        moved: list[tuple[Recipient, Message]] = []
        refused: list[tuple[Recipient, dict[str, Any]]] = []
        usage: list[TemplateSend] = []
        for (row, _, parameters, reached), result in zip(ready, results, strict=True):
            if isinstance(result, Message):
                moved.append((row, result))
                usage.append(
                    TemplateSend(
                        template=row.variant.template, message=result, parameters=parameters
                    )
                )
            elif result.code == "quiet_hours" and result.retry_at is not None:
                unreached.append((row.contact.wa_id, reached))
                refused.append(
                    (
                        row,
                        {
                            "state": R.DEFERRED,
                            "reason": "quiet_hours",
                            "next_try_at": result.retry_at,
                        },
                    )
                )
            else:
                unreached.append((row.contact.wa_id, reached))
                refused.append((row, _done(R.EXCLUDED, result.code)))
        if moved:
            count = Recipient.objects.filter(
                pk__in=[row.pk for row, _ in moved],
                state__in=(R.PENDING, R.DEFERRED),
                lease_token=token,
            ).update(
                state=R.SENDING,
                message_id=Case(
                    *[When(pk=row.pk, then=Value(m.pk)) for row, m in moved],
                    output_field=UUIDField(),
                ),
                conversation_id=Subquery(
                    Conversation.objects.filter(
                        number_id=number_id, contact_id=OuterRef("contact_id")
                    ).values("pk")
                ),
                reason="",
                tries=1,
                next_try_at=now,
                updated_at=now,
            )
            if count != len(moved):
                raise _Taken()
            TemplateSend.objects.bulk_create(usage)
        _update_many(refused)
    for row, message in moved:
        row.state = R.SENDING
        row.message = message
        row.tries = 1
    return [row for row, _ in moved], unreached


def _done(state: str, reason: str) -> dict[str, Any]:
    """The fields of a row that has nothing left to do."""
    return {"state": state, "reason": reason, "next_try_at": None}


def _parameters(campaign: Campaign, row: Recipient) -> dict[str, Any]:
    return {**(campaign.parameters or {}), **(row.parameters or {})}


def _unreach(limiter: pacing.Limiter, waba_id: str, wa_id: str, reached: int | None) -> None:
    if reached == pacing.REACHED:
        limiter.unreach(waba_id, wa_id)


def _update_many(updates: list[tuple[Recipient, dict[str, Any]]]) -> None:
    """Write the rows' new fields (and end their lease): one statement for each
    distinct set of values (a batch's rows mostly share theirs)."""
    if not updates:
        return
    now = timezone.now()
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for row, fields in updates:
        groups.setdefault(tuple(sorted(fields.items())), []).append(row.pk)
    for fields, pks in groups.items():
        Recipient.objects.filter(pk__in=pks).update(
            lease_until=None, updated_at=now, **dict(fields)
        )


def _deliver(
    row: Recipient,
    campaign: Campaign,
    limiter: pacing.Limiter,
    client: Any,
    rate: int,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Deliver the row's queued message at its slot of the number's pace, or settle
    the row from its message; the row's new fields."""
    message = row.message
    if message is None:
        return _done(R.FAILED, "message_deleted")
    if message.status == Message.Status.QUEUED:
        wait = limiter.reserve(campaign.number_id, rate)
        if wait > 0:
            sleep(wait)
        attempt = core.message_deliver(
            message=message, client=client, retry_throttled=True, publish=False
        )
        if attempt.message is None:
            return _done(R.FAILED, "message_deleted")
        message = attempt.message
        if attempt.retry_in is not None:
            code = message.error_code
            pause = backoff(row.tries)
            if code == 130429:
                # The number's throughput: every job of every campaign on it waits.
                limiter.hold(campaign.number_id, pause)
            elif code != 131056:
                pause = min(MAX_BACKOFF, attempt.retry_in.total_seconds())
            return {
                "tries": row.tries + 1,
                "reason": str(code or "retry"),
                "next_try_at": timezone.now() + dt.timedelta(seconds=pause),
            }
    if message.status in SENT_STATUSES:
        return _done(R.SENT, "")
    if message.status == Message.Status.FAILED:
        return _done(R.FAILED, str(message.error_code or "failed"))
    if message.status == Message.Status.SENDING:
        # Its outcome is unknown: never sent again. The status webhook (our id is
        # its callback data) moves the message, and the counts with it.
        return {"next_try_at": None}
    return {"next_try_at": timezone.now() + dt.timedelta(seconds=1)}
