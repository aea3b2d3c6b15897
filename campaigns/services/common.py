"""Helpers the campaign services share: the live progress event, the audience's
contact for a phone number."""

from __future__ import annotations

from typing import Any

from campaigns.models import Campaign
from campaigns.selectors import campaign_counts
from conversations import realtime


def campaign_publish(
    campaign: Campaign, event_type: str, extra: dict[str, Any] | None = None
) -> None:
    """Tell the supervisors' and admins' pages (after commit) that ``campaign``
    changed: its status, and its counts."""
    payload: dict[str, Any] = {
        "campaign": campaign.pk,
        "status": campaign.status,
        "paused_reason": campaign.paused_reason,
        "counts": campaign_counts(campaign),
        **(extra or {}),
    }
    realtime.publish(event_type, payload, groups=[realtime.SUPERVISORS_GROUP])
