"""Writes of the analytics app, one module per domain (``hooks``: the core's
message and event hooks; ``reply_facts``: episodes and waits from the raw rows;
``rollups``: hourly and daily rollups; ``sla_clock``: SLA policies, breaches and
warnings, time online, the chats' SLA clocks)."""

from analytics.services.hooks import facts_record_event, facts_record_messages
from analytics.services.reply_facts import conversation_facts_refresh, waits_extend
from analytics.services.rollups import (
    rollup_day_compute,
    rollup_hour_compute,
    rollup_hours_mark,
    rollups_due,
    rollups_rebuild,
)
from analytics.services.sla_clock import (
    online_spans_record,
    sla_breaches_record,
    sla_clocks_publish,
    sla_policy_create,
)

__all__ = [
    "conversation_facts_refresh",
    "facts_record_event",
    "facts_record_messages",
    "online_spans_record",
    "rollup_day_compute",
    "rollup_hour_compute",
    "rollup_hours_mark",
    "rollups_due",
    "rollups_rebuild",
    "sla_breaches_record",
    "sla_clocks_publish",
    "sla_policy_create",
    "waits_extend",
]
