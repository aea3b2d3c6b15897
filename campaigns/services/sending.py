"""The send jobs' side of a campaign: exactly once per recipient, at the number's
pace, within the account's tier.

A job claims a batch of due recipients (``SKIP LOCKED``: jobs on other workers take
other rows) with a lease, and for each one:

1. counts the customer against the tier (outside their window only) and takes the
   number's next send slot from the shared limiter (``campaigns.pacing``);
2. hands the message to the core's one send service (``message_send_template``,
   ``path="campaign"``, every send rule applies). The recipient's row moves to
   ``sending`` and points at the message **in the same transaction** that creates
   the message, and only if the row is still ours and still waiting: a second job
   can never create a second message. A ``quiet_hours`` refusal defers the row to
   the time the rule gives, any other refusal excludes it with the rule's code;
3. delivers it (``message_deliver``: the message moves queued -> sending under its
   lock before the Graph API call, carrying its id as ``biz_opaque_callback_data``).
   Accepted: ``sent``. Refused for good: ``failed`` with WhatsApp's code. A
   throughput refusal (130429) holds the whole number's pace and a pair-rate one
   (131056) the recipient, for 1, 2, 4... up to 60 seconds, then tries again:
   neither ever fails a recipient.

A worker killed anywhere leaves one of: a row still waiting (nothing was created:
another job takes it when the lease ends), a row ``sending`` with its message
still queued (the next job delivers it), or a message ``sending`` whose outcome is
unknown: it is never sent again; the status webhook carrying our id settles it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from campaigns import pacing
from campaigns.models import TIER_LIMITS, AccountTier, Campaign, NumberPace, Recipient, Tier
from campaigns.selectors import SENT_STATUSES
from campaigns.services.common import campaign_publish
from campaigns.services.errors import WrongState
from campaigns.services.lifecycle import campaign_pause
from conversations import services as core
from conversations.models import Message, SendPath, WhatsAppNumber
from templates_app.models import TemplateSend
from whatsapp.templates import TemplateParametersError, render_template, template_components

logger = logging.getLogger(__name__)

BATCH = 50
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
    """Send to due recipients of the campaign for about ``budget`` seconds (a job's
    share of the worker). While the campaign is paused or cancelled only sends
    already handed to the core are finished. Marks the campaign done when nothing
    is left to do; else says when to come back."""
    started = time.monotonic()
    limiter = limiter or pacing.limiter()
    token = uuid.uuid4().hex
    processed = 0
    last_publish = 0.0
    while True:
        campaign = Campaign.objects.select_related("number").filter(pk=campaign_id).first()
        if campaign is None or campaign.status not in (ST.RUNNING, ST.PAUSED, ST.CANCELLED):
            return WorkResult(processed, None)
        running = campaign.status == ST.RUNNING
        now = timezone.now()
        ids = _claim(campaign, token, now, in_flight_only=not running)
        if not ids:
            return WorkResult(processed, _finish_or_next(campaign, now) if running else None)
        rate = number_rate(campaign.number)
        checked = time.monotonic()
        for index, pk in enumerate(ids):
            if running and time.monotonic() - checked > 0.5:
                checked = time.monotonic()
                status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True)
                running = next(iter(status), None) == ST.RUNNING
            go_on = _step(pk, token, campaign, running, limiter, client, rate, sleep)
            processed += 1
            if not go_on:
                _release(ids[index + 1 :], token)
                return WorkResult(processed, None)
            if time.monotonic() - started > budget:
                # Within the job's timeout: the rest of the batch goes back at once.
                _release(ids[index + 1 :], token)
                break
        Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())
        if time.monotonic() - last_publish > 1.0:
            last_publish = time.monotonic()
            with transaction.atomic():
                campaign_publish(campaign, "campaign.progress")
        if time.monotonic() - started > budget:
            return WorkResult(processed, dt.timedelta(0))


def _claim(campaign: Campaign, token: str, now: dt.datetime, *, in_flight_only: bool) -> list[int]:
    """Lease up to ``BATCH`` due rows to this job; rows another job holds are skipped."""
    states = (R.SENDING,) if in_flight_only else (R.PENDING, R.DEFERRED, R.SENDING)
    with transaction.atomic():
        ids = list(
            Recipient.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, state__in=states, next_try_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_try_at", "pk")
            .values_list("pk", flat=True)[:BATCH]
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


def _step(
    pk: int,
    token: str,
    campaign: Campaign,
    running: bool,
    limiter: pacing.Limiter,
    client: Any,
    rate: int,
    sleep: Callable[[float], None],
) -> bool:
    """One recipient; False when the campaign must stop (the tier is full)."""
    row = (
        Recipient.objects.select_related("contact", "variant__template", "message")
        .filter(pk=pk, lease_token=token)
        .first()
    )
    if row is None or row.next_try_at is None:
        return True
    if row.state in (R.PENDING, R.DEFERRED):
        if not running:
            _release([pk], token)
            return True
        return _send_new(row, token, campaign, limiter, client, rate, sleep)
    if row.state == R.SENDING:
        _deliver(row, campaign, limiter, client)
    return True


def _parameters(campaign: Campaign, row: Recipient) -> dict[str, Any]:
    return {**(campaign.parameters or {}), **(row.parameters or {})}


def _send_new(
    row: Recipient,
    token: str,
    campaign: Campaign,
    limiter: pacing.Limiter,
    client: Any,
    rate: int,
    sleep: Callable[[float], None],
) -> bool:
    now = timezone.now()
    contact = row.contact
    if contact is None:
        _update(row, state=R.EXCLUDED, reason="invalid_number", next_try_at=None)
        return True
    number = campaign.number
    conversation = core.conversation_for_contact(number=number, contact=contact)
    reached = None
    if conversation.window_expires_at(now) is None:
        reached = limiter.reach(number.waba_id, contact.wa_id, tier_limit(number.waba_id))
        if reached == pacing.TIER_FULL:
            _release([row.pk], token)
            try:
                campaign_pause(campaign=campaign, reason="tier_limit")
            except WrongState:
                pass
            logger.info("campaign %s paused: the account's tier is full", campaign.pk)
            return False
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
        _unreach(limiter, number.waba_id, contact.wa_id, reached)
        _update(row, state=R.FAILED, reason="invalid_parameters", next_try_at=None)
        logger.info("campaign %s, %s: %s", campaign.pk, row.wa_id, exc)
        return True
    wait = limiter.reserve(number.pk, rate)
    if wait > 0:
        sleep(wait)

    def bind(message: Message) -> None:
        moved = Recipient.objects.filter(
            pk=row.pk, state__in=(R.PENDING, R.DEFERRED), lease_token=token
        ).update(
            state=R.SENDING,
            message=message,
            conversation=conversation,
            reason="",
            tries=1,
            next_try_at=message.timestamp,
            updated_at=message.timestamp,
        )
        if moved != 1:
            raise _Taken()
        TemplateSend.objects.create(template=template, message=message, parameters=parameters)

    try:
        message = core.message_send_template(
            conversation=conversation,
            user=None,
            name=template.name,
            language=template.language,
            components=components,
            text=text,
            category=template.category,
            path=SendPath.CAMPAIGN,
            campaign=str(campaign.pk),
            on_queued=bind,
            deliver=False,
        )
    except core.SendRefused as refusal:
        _unreach(limiter, number.waba_id, contact.wa_id, reached)
        if refusal.code == "quiet_hours" and refusal.retry_at is not None:
            _update(row, state=R.DEFERRED, reason="quiet_hours", next_try_at=refusal.retry_at)
        else:
            _update(row, state=R.EXCLUDED, reason=refusal.code, next_try_at=None)
        return True
    except _Taken:
        return True
    row.state = R.SENDING
    row.message = message
    row.tries = 1
    _deliver(row, campaign, limiter, client)
    return True


def _unreach(limiter: pacing.Limiter, waba_id: str, wa_id: str, reached: int | None) -> None:
    if reached == pacing.REACHED:
        limiter.unreach(waba_id, wa_id)


def _update(row: Recipient, **fields: Any) -> None:
    Recipient.objects.filter(pk=row.pk).update(
        lease_until=None, updated_at=timezone.now(), **fields
    )


def _deliver(row: Recipient, campaign: Campaign, limiter: pacing.Limiter, client: Any) -> None:
    """Deliver the row's queued message, or settle the row from its message."""
    message = Message.objects.filter(pk=row.message_id).first() if row.message_id else None
    if message is None:
        _update(row, state=R.FAILED, reason="message_deleted", next_try_at=None)
        return
    if message.status == Message.Status.QUEUED:
        attempt = core.message_deliver(message_id=message.pk, client=client, retry_throttled=True)
        if attempt.message is None:
            _update(row, state=R.FAILED, reason="message_deleted", next_try_at=None)
            return
        message = attempt.message
        if attempt.retry_in is not None:
            code = message.error_code
            pause = backoff(row.tries)
            if code == 130429:
                # The number's throughput: every job of every campaign on it waits.
                limiter.hold(campaign.number_id, pause)
            elif code != 131056:
                pause = min(MAX_BACKOFF, attempt.retry_in.total_seconds())
            _update(
                row,
                tries=row.tries + 1,
                reason=str(code or "retry"),
                next_try_at=timezone.now() + dt.timedelta(seconds=pause),
            )
            return
    if message.status in SENT_STATUSES:
        _update(row, state=R.SENT, reason="", next_try_at=None)
    elif message.status == Message.Status.FAILED:
        _update(row, state=R.FAILED, reason=str(message.error_code or "failed"), next_try_at=None)
    elif message.status == Message.Status.SENDING:
        # Its outcome is unknown: never sent again. The status webhook (our id is
        # its callback data) moves the message, and the counts with it.
        _update(row, next_try_at=None)
    else:
        _update(row, next_try_at=timezone.now() + dt.timedelta(seconds=1))
