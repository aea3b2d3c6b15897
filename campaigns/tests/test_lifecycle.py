"""A campaign's life: scheduled, running, paused, resumed, cancelled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from campaigns import pacing, services
from campaigns.models import Campaign, Recipient
from campaigns.tests.conftest import Graph, customers
from campaigns.tests.test_sending import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def work(campaign: Campaign) -> None:
    services.campaign_work(
        campaign_id=campaign.pk, limiter=pacing.MemoryLimiter(), sleep=lambda s: None
    )


def test_a_scheduled_campaign_starts_at_its_time(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    at = timezone.now() + dt.timedelta(hours=2)
    campaign = make_campaign(offer, customers(2), send_at=at)
    services.campaign_start(campaign=campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == "scheduled"
    services.campaigns_due(at - dt.timedelta(minutes=1))
    work(campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == "scheduled"
    assert graph.sends == []
    with time_machine.travel(at + dt.timedelta(seconds=1), tick=True):
        services.campaigns_due(timezone.now())
        assert Campaign.objects.get(pk=campaign.pk).status == "running"
        work(campaign)
    assert len(graph.sends) == 2
    assert Campaign.objects.get(pk=campaign.pk).status == "done"


def test_paused_sends_nothing_new_and_resumed_goes_on(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    campaign = make_campaign(offer, customers(3))
    services.campaign_start(campaign=campaign)
    services.campaign_pause(campaign=campaign)
    work(campaign)
    assert graph.sends == []
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"
    with pytest.raises(services.WrongState):
        services.campaign_pause(campaign=campaign)
    services.campaign_resume(campaign=campaign)
    work(campaign)
    assert len(graph.sends) == 3
    assert Campaign.objects.get(pk=campaign.pk).status == "done"


def test_cancelled_reaches_nobody_else(graph: Graph, offer: Any, quiet_never: None) -> None:
    campaign = make_campaign(offer, customers(3))
    services.campaign_start(campaign=campaign)
    services.campaign_cancel(campaign=campaign)
    work(campaign)
    assert graph.sends == []
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"
    assert set(Recipient.objects.values_list("reason", flat=True)) == {"cancelled"}
    assert not Recipient.objects.filter(next_try_at__isnull=False).exists()
    with pytest.raises(services.WrongState):
        services.campaign_resume(campaign=campaign)


def test_the_clock_gives_a_silent_running_campaign_new_jobs(
    offer: Any, quiet_never: None, settings: Any
) -> None:
    import redis

    settings.CAMPAIGNS_SEND_JOBS = 2
    campaign = make_campaign(offer, customers(2))
    services.campaign_start(campaign=campaign)
    queue = redis.Redis.from_url(settings.REDIS_URL)
    queue.flushdb()
    Campaign.objects.filter(pk=campaign.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )
    services.campaigns_due(timezone.now())
    assert queue.llen("rq:queue:default") == 2
    # Heard of just now: nothing more.
    services.campaigns_due(timezone.now())
    assert queue.llen("rq:queue:default") == 2
