"""Before a campaign starts: who will receive it, who will not and why (the core's
``send_verdicts``, the same rules the send applies, never a copy of them, read
once for every ``CHUNK`` recipients), who waits for their quiet hours to end, and
what it will cost by country."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from campaigns.models import Campaign, Price, Recipient
from conversations import services as core
from conversations.models import CompliancePolicy, Conversation, SendPath

CHUNK = 2000
EXCLUSIONS = ("no_consent", "opted_out", "frequency_cap", "country_not_allowed", "invalid_number")


def campaign_preview(*, campaign: Campaign, now: dt.datetime | None = None) -> dict[str, Any]:
    """``{"eligible", "excluded": {reason: n}, "deferred": {"quiet_hours": n},
    "cost_estimate": {"currency": "USD", "total", "by_country": {country: x}}}``
    for the recipients not sent to yet. The cost counts the eligible and the
    deferred (they will be sent), at the price table's rate for the campaign's
    template category; a country without a price costs nothing here. Reads only."""
    now = now or timezone.now()
    rows = (
        Recipient.objects.filter(campaign=campaign, message__isnull=True)
        .select_related("contact")
        .order_by("pk")
    )
    # The customers whose window is open now (their chat on the campaign's number).
    open_windows = {
        chat.contact_id
        for chat in Conversation.objects.filter(
            number_id=campaign.number_id,
            contact_id__in=rows.exclude(contact=None).values("contact_id"),
        ).only("contact_id", "last_inbound_at", "free_entry_until")
        if chat.window_expires_at(now) is not None
    }
    tally = _Tally(campaign, now, core.compliance_policy(), open_windows)
    chunk: list[Recipient] = []
    for row in rows.iterator(chunk_size=CHUNK):
        if row.contact is None or row.reason == "invalid_number":
            tally.excluded["invalid_number"] += 1
        elif row.state == Recipient.State.EXCLUDED and row.reason:
            tally.excluded[row.reason] = tally.excluded.get(row.reason, 0) + 1
        else:
            chunk.append(row)
        if len(chunk) == CHUNK:
            tally.judge(chunk)
            chunk = []
    tally.judge(chunk)
    prices = dict(
        Price.objects.filter(category=campaign.category, country__in=tally.sending_to).values_list(
            "country", "price"
        )
    )
    by_country = {
        country: float((prices.get(country, Decimal(0)) * n).quantize(Decimal("0.0001")))
        for country, n in sorted(tally.sending_to.items())
    }
    return {
        "eligible": tally.eligible,
        "excluded": tally.excluded,
        "deferred": tally.deferred,
        "cost_estimate": {
            "currency": "USD",
            "total": round(sum(by_country.values()), 4),
            "by_country": by_country,
        },
    }


@dataclass
class _Tally:
    """The preview's counts, as the rules' verdicts come in."""

    campaign: Campaign
    now: dt.datetime
    policy: CompliancePolicy
    # The contacts whose window is open now.
    open_windows: set[int]
    eligible: int = 0
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXCLUSIONS, 0))
    deferred: dict[str, int] = field(default_factory=lambda: {"quiet_hours": 0})
    # Who will be sent to (the eligible and the deferred), by country.
    sending_to: dict[str, int] = field(default_factory=dict)

    def judge(self, rows: list[Recipient]) -> None:
        """Count ``rows`` (each with a contact) by the rules' verdicts, read once for
        them all."""
        if not rows:
            return
        contacts = [row.contact for row in rows if row.contact is not None]
        verdicts = core.send_verdicts(
            contacts=contacts,
            waba_id=self.campaign.number.waba_id,
            template_category=self.campaign.category,
            path=SendPath.CAMPAIGN,
            window_open={contact.pk: contact.pk in self.open_windows for contact in contacts},
            now=self.now,
            policy=self.policy,
        )
        for row in rows:
            refusal = verdicts[row.contact_id]
            if refusal is None:
                self.eligible += 1
            elif refusal.code == "quiet_hours":
                self.deferred["quiet_hours"] += 1
            else:
                self.excluded[refusal.code] = self.excluded.get(refusal.code, 0) + 1
                continue
            country = row.country or "??"
            self.sending_to[country] = self.sending_to.get(country, 0) + 1
