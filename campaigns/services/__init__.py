"""Every write of the campaigns app, one module per domain (``authoring``: set
up and audience; ``lifecycle``: start, pause, resume, cancel, the clock;
``sending``: the send jobs' work; ``health``: number quality, tier, restrictions;
``replies``: customers' answers; ``preview``: what a start would do, reads only).
Each owns its transaction and publishes through ``conversations.realtime``."""

from campaigns.services.authoring import campaign_create
from campaigns.services.errors import InvalidCampaign, WrongState
from campaigns.services.health import health_event_apply
from campaigns.services.lifecycle import (
    campaign_begin_due,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaigns_due,
    enqueue_runs,
)
from campaigns.services.preview import campaign_preview
from campaigns.services.replies import replies_record
from campaigns.services.sending import WorkResult, backoff, campaign_work, number_rate, tier_limit

__all__ = [
    "InvalidCampaign",
    "WorkResult",
    "WrongState",
    "backoff",
    "campaign_begin_due",
    "campaign_cancel",
    "campaign_create",
    "campaign_pause",
    "campaign_preview",
    "campaign_resume",
    "campaign_start",
    "campaign_work",
    "campaigns_due",
    "enqueue_runs",
    "health_event_apply",
    "number_rate",
    "replies_record",
    "tier_limit",
]
