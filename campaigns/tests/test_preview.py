"""Before a campaign starts: who will get it, who will not and why, who waits for
quiet hours in their own time zone, and the cost by country."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from campaigns import pacing, services
from campaigns.models import Campaign, Price, Recipient
from campaigns.selectors import campaign_counts
from campaigns.tests.conftest import Graph, customers
from campaigns.tests.test_sending import make_campaign
from conversations import services as core
from conversations.models import Contact, Message
from conversations.tests.factories import ConversationFactory, consent_to

pytestmark = pytest.mark.django_db(transaction=True)

# A Tuesday, 19:30 UTC: 20:30 in Rome (allowed), 22:30 in Moscow, 04:30 in Tokyo (quiet).
TUESDAY_EVENING = dt.datetime(2026, 3, 10, 19, 30, tzinfo=dt.UTC)


def seed_prices() -> None:
    importlib.import_module("campaigns.migrations.0002_prices").seed(apps, None)


@pytest.fixture
def policy() -> None:
    core.compliance_policy_update(
        quiet_hours={"start": "21:00", "end": "09:00", "weekend_days": []},
        frequency_cap={"messages": 1, "days": 7},
        allowed_countries=["IT", "RU", "JP"],
    )


def contact(wa_id: str, *, consent: bool = True) -> Contact:
    made = Contact.objects.create(wa_id=wa_id, phone=f"+{wa_id}")
    if consent:
        consent_to(made)
    return made


def test_the_price_table_starts_with_the_given_and_the_published_rates() -> None:
    seed_prices()
    marketing = dict(Price.objects.filter(category="MARKETING").values_list("country", "price"))
    assert {k: str(marketing[k]) for k in ("RU", "ID", "AT")} == {
        "RU": "0.0477",
        "ID": "0.0042",
        "AT": "0.0932",
    }
    for country in ("IT", "DE", "ES", "GB", "BR", "IN", "JP", "US"):
        assert Price.objects.filter(country=country, category="MARKETING").exists()
        assert Price.objects.filter(country=country, category="UTILITY").exists()
    assert all(p.copied_on for p in Price.objects.all())


@pytest.mark.parametrize("chunk", [2000, 4], ids=["one chunk", "chunks of four"])
def test_preview_counts_each_exclusion_the_deferred_and_the_cost(
    offer: Any, policy: None, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rules are read once per chunk of recipients: the counts are the same
    # whatever the chunks' boundaries.
    monkeypatch.setattr("campaigns.services.preview.CHUNK", chunk)
    seed_prices()
    italians = customers(3)
    no_consent = contact("393300000100", consent=False)
    opted_out = contact("393300000101")
    core.consent_record(
        contact=opted_out,
        category=consent_to(opted_out),
        state="opted_out",
        source="website_form",
    )
    capped = contact("393300000102")
    Message.objects.create(
        conversation=ConversationFactory(contact=capped),
        direction="out",
        type="template",
        status="delivered",
        content={"category": "MARKETING"},
        timestamp=TUESDAY_EVENING - dt.timedelta(days=2),
    )
    american = contact("12125550123")
    russians = [contact("79161234567"), contact("79161234568")]
    campaign = make_campaign(
        offer,
        [],
        audience={
            "wa_ids": [c.wa_id for c in italians]
            + [no_consent.wa_id, opted_out.wa_id, capped.wa_id, american.wa_id, "12"]
            + [c.wa_id for c in russians]
        },
    )
    preview = services.campaign_preview(campaign=campaign, now=TUESDAY_EVENING)
    assert preview == {
        "eligible": 3,
        "excluded": {
            "no_consent": 1,
            "opted_out": 1,
            "frequency_cap": 1,
            "country_not_allowed": 1,
            "invalid_number": 1,
        },
        "deferred": {"quiet_hours": 2},
        "cost_estimate": {
            "currency": "USD",
            "total": 0.3027,
            "by_country": {"IT": 0.2073, "RU": 0.0954},
        },
    }


def test_the_preview_reads_the_rules_once_for_many_recipients(
    offer: Any, policy: None, django_assert_max_num_queries: Any
) -> None:
    contacts = customers(120)
    campaign = make_campaign(offer, contacts)
    # The rows, the windows, the policy, the consents, the frequency cap's messages
    # and the prices: a handful whatever the audience's size.
    with django_assert_max_num_queries(12):
        preview = services.campaign_preview(campaign=campaign, now=TUESDAY_EVENING)
    assert preview["eligible"] == 120


def test_quiet_hours_defer_each_recipient_to_their_own_morning(
    graph: Graph, offer: Any, policy: None
) -> None:
    rome, moscow, tokyo = contact("393300000001"), contact("79161234567"), contact("819012345678")
    campaign = make_campaign(offer, [rome, moscow, tokyo])
    limiter = pacing.MemoryLimiter()
    with time_machine.travel(TUESDAY_EVENING, tick=True):
        services.campaign_start(campaign=campaign)
        result = services.campaign_work(
            campaign_id=campaign.pk, limiter=limiter, sleep=lambda s: None
        )
        assert [s["to"] for s in graph.sends] == [rome.wa_id]
        deferred = dict(
            Recipient.objects.filter(state="deferred").values_list("wa_id", "next_try_at")
        )
        # 09:00 in Moscow (UTC+3) and in Tokyo (UTC+9) the next morning.
        assert deferred == {
            moscow.wa_id: dt.datetime(2026, 3, 11, 6, 0, tzinfo=dt.UTC),
            tokyo.wa_id: dt.datetime(2026, 3, 11, 0, 0, tzinfo=dt.UTC),
        }
        assert result.again_in is not None
        counts = campaign_counts(campaign)
        assert (counts["eligible"], counts["deferred"], counts["sent"]) == (1, 2, 1)
        assert Campaign.objects.get(pk=campaign.pk).status == "running"
    with time_machine.travel(dt.datetime(2026, 3, 11, 0, 1, tzinfo=dt.UTC), tick=True):
        services.campaign_work(campaign_id=campaign.pk, limiter=limiter, sleep=lambda s: None)
        assert [s["to"] for s in graph.sends] == [rome.wa_id, tokyo.wa_id]
        assert Campaign.objects.get(pk=campaign.pk).status == "running"
    with time_machine.travel(dt.datetime(2026, 3, 11, 6, 1, tzinfo=dt.UTC), tick=True):
        services.campaign_work(campaign_id=campaign.pk, limiter=limiter, sleep=lambda s: None)
        assert [s["to"] for s in graph.sends] == [rome.wa_id, tokyo.wa_id, moscow.wa_id]
        assert Campaign.objects.get(pk=campaign.pk).status == "done"
    assert timezone.now() > TUESDAY_EVENING
