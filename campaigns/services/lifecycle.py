"""A campaign's life: draft -> scheduled -> running <-> paused -> done, or
cancelled from any state before done. Each move locks the campaign's row, checks
the state it expects, and publishes the change to the supervisors' pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, Recipient
from campaigns.services.common import campaign_publish
from campaigns.services.errors import WrongState
from conversations.enqueue import enqueue

RUN_CAMPAIGN = "campaigns.jobs.run_campaign"
ST = Campaign.Status


def send_jobs() -> int:
    """How many send jobs work on one campaign at once (the limiter keeps their
    sum at the number's pace, however many there are)."""
    return max(1, int(getattr(settings, "CAMPAIGNS_SEND_JOBS", 4)))


def enqueue_runs(
    campaign_id: int, *, delay: dt.timedelta | None = None, jobs: int | None = None
) -> None:
    """Start ``jobs`` send jobs for the campaign after commit (``delay``: later)."""
    count = send_jobs() if jobs is None else jobs
    if settings.JOBS_INLINE and delay is None:
        # Inline jobs would run in the request's thread: on a timer thread instead.
        delay = dt.timedelta(milliseconds=10)
    for _ in range(count):
        transaction.on_commit(lambda: enqueue(RUN_CAMPAIGN, (campaign_id,), delay))


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def campaign_start(
    *, campaign: Campaign, user: Any = None, now: dt.datetime | None = None
) -> Campaign:
    """Start a draft: at once, or at its ``send_at`` (``scheduled``). Raises
    ``WrongState`` (409) unless it is a draft."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != ST.DRAFT:
            raise WrongState(f"Only a draft can be started; this campaign is {campaign.status}.")
        if campaign.send_at is not None and campaign.send_at > now:
            campaign.status = ST.SCHEDULED
            campaign.save(update_fields=["status"])
            enqueue_runs(campaign.pk, delay=campaign.send_at - now, jobs=1)
        else:
            _begin(campaign, now)
        campaign_publish(campaign, "campaign.updated")
    return campaign


def _begin(campaign: Campaign, now: dt.datetime) -> None:
    campaign.status = ST.RUNNING
    campaign.started_at = now
    campaign.heartbeat_at = now
    campaign.save(update_fields=["status", "started_at", "heartbeat_at"])
    Recipient.objects.filter(
        campaign=campaign, state=Recipient.State.PENDING, next_try_at__isnull=True
    ).update(next_try_at=now)
    enqueue_runs(campaign.pk)


def campaign_begin_due(*, campaign_id: int, now: dt.datetime | None = None) -> bool:
    """A scheduled campaign whose time came starts running (the delayed job or the
    clock, whichever comes first); False when it was not due or not scheduled."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != ST.SCHEDULED:
            return False
        if campaign.send_at is not None and campaign.send_at > now:
            return False
        _begin(campaign, now)
        campaign_publish(campaign, "campaign.updated")
    return True


def campaign_pause(*, campaign: Campaign, reason: str = "", user: Any = None) -> Campaign:
    """No new send starts (a send already in flight finishes). ``reason``: why the
    inbox paused it (``quality_red``, ``restricted``, ``tier_limit``...); empty when
    an admin did."""
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in (ST.RUNNING, ST.SCHEDULED):
            raise WrongState(
                "Only a running or scheduled campaign can be paused; "
                f"this one is {campaign.status}."
            )
        campaign.status = ST.PAUSED
        campaign.paused_reason = reason
        campaign.save(update_fields=["status", "paused_reason"])
        campaign_publish(campaign, "campaign.updated")
    return campaign


def campaign_resume(
    *, campaign: Campaign, user: Any = None, now: dt.datetime | None = None
) -> Campaign:
    """A paused campaign sends again from where it stopped."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != ST.PAUSED:
            raise WrongState(
                f"Only a paused campaign can be resumed; this one is {campaign.status}."
            )
        if campaign.started_at is None:
            _begin(campaign, now)
        else:
            campaign.status = ST.RUNNING
            campaign.heartbeat_at = now
            campaign.save(update_fields=["status", "heartbeat_at"])
            enqueue_runs(campaign.pk)
        campaign.paused_reason = ""
        campaign.save(update_fields=["paused_reason"])
        campaign_publish(campaign, "campaign.updated")
    return campaign


def campaign_cancel(
    *, campaign: Campaign, user: Any = None, now: dt.datetime | None = None
) -> Campaign:
    """Nobody not reached yet will be: the waiting recipients keep their state with
    the reason ``cancelled``. A send already in flight finishes."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status in (ST.DONE, ST.CANCELLED):
            raise WrongState(f"This campaign is {campaign.status} already.")
        campaign.status = ST.CANCELLED
        campaign.finished_at = now
        campaign.save(update_fields=["status", "finished_at"])
        Recipient.objects.filter(
            campaign=campaign, state__in=(Recipient.State.PENDING, Recipient.State.DEFERRED)
        ).update(next_try_at=None, reason="cancelled", updated_at=now)
        campaign_publish(campaign, "campaign.updated")
    return campaign


def campaigns_due(now: dt.datetime) -> None:
    """The clock's tick: scheduled campaigns whose time came start; a campaign with
    recipients due and no send job heard of for a while (its worker died, its job
    was lost with Redis) gets new jobs."""
    for campaign_id in Campaign.objects.filter(status=ST.SCHEDULED, send_at__lte=now).values_list(
        "pk", flat=True
    ):
        campaign_begin_due(campaign_id=campaign_id, now=now)
    stale = now - dt.timedelta(seconds=float(getattr(settings, "CAMPAIGNS_STALE_AFTER", 30)))
    for campaign_id in (
        Campaign.objects.filter(status=ST.RUNNING, heartbeat_at__lt=stale)
        .filter(recipients__next_try_at__lte=now)
        .values_list("pk", flat=True)
        .distinct()
    ):
        with transaction.atomic():
            Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=now)
            enqueue_runs(campaign_id)
