"""Number health from WhatsApp's webhooks: stored over time; a drop to RED or
FLAGGED, or a restriction, pauses running marketing campaigns and tells the admins."""

from __future__ import annotations

import json
from typing import Any

import pytest

from campaigns import services
from campaigns.models import AccountTier, Campaign, HealthEvent
from campaigns.tests.conftest import customers
from campaigns.tests.test_sending import make_campaign
from conftest import FIXTURES_DIR

pytestmark = pytest.mark.django_db(transaction=True)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES_DIR / name).read_bytes())


def quality_update(event: str, **value: Any) -> dict[str, Any]:
    payload = fixture("webhook_phone_number_quality_update_throughput.json")
    change = payload["entry"][0]["changes"][0]["value"]
    change["event"] = event
    change.update(value)
    return payload


@pytest.fixture
def running(offer: Any, update: Any, quiet_never: None) -> tuple[Campaign, Campaign]:
    marketing = make_campaign(offer, customers(2))
    utility = make_campaign(
        update,
        customers(2, prefix="3934"),
        variants=[{"template": update.pk, "share": 100}],
        parameters={"body": ["Anna", "A-1", "Friday"]},
    )
    for campaign in (marketing, utility):
        services.campaign_start(campaign=campaign)
    return marketing, utility


def test_a_flagged_number_pauses_running_marketing_campaigns_and_tells_admins(
    running: tuple[Campaign, Campaign], post_webhook: Any, published: list[Any]
) -> None:
    marketing, utility = running
    answer = post_webhook(quality_update("FLAGGED", current_limit="TIER_10K"))
    assert answer.status_code == 200
    marketing.refresh_from_db()
    utility.refresh_from_db()
    assert (marketing.status, marketing.paused_reason) == ("paused", "quality_flagged")
    assert utility.status == "running"
    stored = HealthEvent.objects.get()
    assert (stored.event, stored.quality, stored.tier, stored.paused) == (
        "FLAGGED",
        "FLAGGED",
        "TIER_10K",
        1,
    )
    health = [p for p in published if p.event["type"] == "number.health"]
    assert health and health[0].groups == ("supervisors",)
    assert health[0].event["paused"] == 1
    paused = [
        p.event
        for p in published
        if p.event["type"] == "campaign.updated" and p.event["campaign"] == marketing.pk
    ]
    assert paused[-1]["status"] == "paused"


def test_a_red_quality_rating_pauses_too(
    running: tuple[Campaign, Campaign], post_webhook: Any
) -> None:
    marketing, _ = running
    post_webhook(quality_update("DOWNGRADE", quality_rating="RED"))
    marketing.refresh_from_db()
    assert (marketing.status, marketing.paused_reason) == ("paused", "quality_red")


def test_a_tier_upgrade_is_stored_and_pauses_nothing(
    running: tuple[Campaign, Campaign], post_webhook: Any
) -> None:
    marketing, _ = running
    post_webhook(fixture("webhook_phone_number_quality_update_throughput.json"))
    assert AccountTier.objects.get(waba_id="102290129340398").tier == "TIER_UNLIMITED"
    assert Campaign.objects.get(pk=marketing.pk).status == "running"
    assert HealthEvent.objects.get().paused == 0


def test_an_account_restriction_pauses_the_accounts_marketing_campaigns(
    running: tuple[Campaign, Campaign], post_webhook: Any
) -> None:
    marketing, utility = running
    post_webhook(fixture("webhook_account_update_restriction.json"))
    marketing.refresh_from_db()
    assert (marketing.status, marketing.paused_reason) == ("paused", "restricted")
    assert Campaign.objects.get(pk=utility.pk).status == "running"
    stored = HealthEvent.objects.get()
    assert stored.restriction.startswith("RESTRICTED_BIZ_INITIATED_MESSAGING")
    assert AccountTier.objects.get(waba_id="102290129340398").restricted is True
    # A paused campaign sends again once an admin resumes it.
    services.campaign_resume(campaign=marketing)
    marketing.refresh_from_db()
    assert (marketing.status, marketing.paused_reason) == ("running", "")


@pytest.mark.parametrize("infos", [True, "RESTRICTED", [None, 3, {"restriction_type": ["x"]}]])
def test_a_restriction_of_an_unexpected_shape_still_pauses_and_is_kept(
    running: tuple[Campaign, Campaign], post_webhook: Any, infos: Any
) -> None:
    marketing, _ = running
    payload = fixture("webhook_account_update_restriction.json")
    payload["entry"][0]["changes"][0]["value"]["restriction_info"] = infos
    assert post_webhook(payload).status_code == 200
    marketing.refresh_from_db()
    assert (marketing.status, marketing.paused_reason) == ("paused", "restricted")
    stored = HealthEvent.objects.get()
    assert (stored.restriction, stored.data["restriction_info"]) == ("ACCOUNT_RESTRICTION", infos)
