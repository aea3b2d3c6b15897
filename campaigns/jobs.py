"""Background jobs of campaigns: they take ids, call one service, and enqueue
themselves again when the service says so. Running one twice does no harm: a
recipient is taken by one job at a time and leaves ``pending`` once."""

from __future__ import annotations

from campaigns import services
from campaigns.services.lifecycle import RUN_CAMPAIGN
from conversations.enqueue import enqueue


def run_campaign(campaign_id: int) -> None:
    """Send to the campaign's due recipients for a while; a scheduled campaign
    whose time came starts first. Comes back when recipients are still due."""
    services.campaign_begin_due(campaign_id=campaign_id)
    result = services.campaign_work(campaign_id=campaign_id)
    if result.again_in is not None:
        enqueue(RUN_CAMPAIGN, (campaign_id,), result.again_in or None)
