"""Before a campaign starts: who will receive it, who will not and why (the core's
``send_verdict``, the same rules the send applies, never a copy of them), who
waits for their quiet hours to end, and what it will cost by country."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from campaigns.models import Campaign, Price, Recipient
from conversations import services as core
from conversations.models import Conversation, SendPath

EXCLUSIONS = ("no_consent", "opted_out", "frequency_cap", "country_not_allowed", "invalid_number")


def campaign_preview(*, campaign: Campaign, now: dt.datetime | None = None) -> dict[str, Any]:
    """``{"eligible", "excluded": {reason: n}, "deferred": {"quiet_hours": n},
    "cost_estimate": {"currency": "USD", "total", "by_country": {country: x}}}``
    for the recipients not sent to yet. The cost counts the eligible and the
    deferred (they will be sent), at the price table's rate for the campaign's
    template category; a country without a price costs nothing here. Reads only."""
    now = now or timezone.now()
    policy = core.compliance_policy()
    excluded = dict.fromkeys(EXCLUSIONS, 0)
    deferred = {"quiet_hours": 0}
    eligible = 0
    sending_to: dict[str, int] = {}
    rows = (
        Recipient.objects.filter(campaign=campaign, message__isnull=True)
        .select_related("contact")
        .order_by("pk")
    )
    windows = dict(
        Conversation.objects.filter(
            number_id=campaign.number_id,
            contact_id__in=rows.exclude(contact=None).values("contact_id"),
        ).values_list("contact_id", "last_inbound_at")
    )
    for row in rows.iterator(chunk_size=2000):
        if row.contact is None or row.reason == "invalid_number":
            excluded["invalid_number"] += 1
            continue
        if row.state == Recipient.State.EXCLUDED and row.reason:
            excluded[row.reason] = excluded.get(row.reason, 0) + 1
            continue
        inbound = windows.get(row.contact_id)
        refusal = core.send_verdict(
            contact=row.contact,
            waba_id=campaign.number.waba_id,
            template_category=campaign.category,
            path=SendPath.CAMPAIGN,
            window_open=Conversation(last_inbound_at=inbound).window_expires_at(now) is not None,
            now=now,
            policy=policy,
        )
        if refusal is None:
            eligible += 1
        elif refusal.code == "quiet_hours":
            deferred["quiet_hours"] += 1
        else:
            excluded[refusal.code] = excluded.get(refusal.code, 0) + 1
            continue
        country = row.country or "??"
        sending_to[country] = sending_to.get(country, 0) + 1
    prices = dict(
        Price.objects.filter(category=campaign.category, country__in=sending_to).values_list(
            "country", "price"
        )
    )
    by_country = {
        country: float((prices.get(country, Decimal(0)) * n).quantize(Decimal("0.0001")))
        for country, n in sorted(sending_to.items())
    }
    return {
        "eligible": eligible,
        "excluded": excluded,
        "deferred": deferred,
        "cost_estimate": {
            "currency": "USD",
            "total": round(sum(by_country.values()), 4),
            "by_country": by_country,
        },
    }
