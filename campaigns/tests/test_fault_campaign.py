"""A campaign to 2,000 customers while its RQ worker is SIGKILLed twice in the
middle of a send and started again: every eligible recipient receives exactly one
message, counted at the simulated WhatsApp.

The worker runs as the Procfile starts it, against PostgreSQL and Redis; it
reaches the simulator through a proxy that holds one send on its way, and the
worker is killed while it waits for WhatsApp's answer (the held send then reaches
WhatsApp: its outcome is unknown to the inbox, which must settle it from the
status webhooks rather than send it again). The killed job's recipients are taken
over when their lease ends.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import AccountTier, Campaign, NumberPace, Recipient
from campaigns.selectors import campaign_counts
from conversations import services as core
from conversations.models import Consent, ConsentCategory, ConsentChange, Contact, Message
from conversations.tests.factories import no_quiet_hours
from inbox.tests import test_fault_worker as fault
from inbox.tests.test_fault_worker import POSTGRES, REDIS, Stack, wait_for
from templates_app.models import MessageTemplate

pytestmark = pytest.mark.skipif(
    not (POSTGRES and REDIS), reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
)

RECIPIENTS = 2000
# The worker-kill test's stack: simulator, proxy, Daphne, workers as the Procfile runs them.
stack = fault.stack
BODY = [
    {
        "type": "BODY",
        "text": "Hello {{1}}, your order is late: it arrives on {{2}}.",
        "example": {"body_text": [["Anna", "Friday"]]},
    }
]


def audience(waba_id: str) -> list[str]:
    """``RECIPIENTS`` customers opted in to order updates (written in bulk: the
    ledger's service is tested elsewhere)."""
    category = ConsentCategory.objects.create(
        waba_id=waba_id, slug="orders", name="Orders", template_categories=["UTILITY"]
    )
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        [Contact(wa_id=f"39333{i:07d}", phone=f"+39333{i:07d}") for i in range(RECIPIENTS)]
    )
    changes = ConsentChange.objects.bulk_create(
        [
            ConsentChange(
                contact=c, waba_id=waba_id, category=category, state="opted_in", source="checkout"
            )
            for c in contacts
        ]
    )
    Consent.objects.bulk_create(
        [
            Consent(
                contact=c,
                category=category,
                state="opted_in",
                changed_at=now,
                source="checkout",
                change=change,
            )
            for c, change in zip(contacts, changes, strict=True)
        ]
    )
    return [c.wa_id for c in contacts]


def kill_mid_send(stack: Stack, worker: Any, *, after: int) -> None:
    """Hold the send after the next ``after`` ones, SIGKILL the worker while it waits
    for WhatsApp's answer, then let the held request reach WhatsApp."""
    stack.proxy.stall(b"/messages", after=after)
    wait_for(stack.proxy.stalled.is_set, "a send in flight", timeout=300)
    stack.kill(worker)
    stack.proxy.release(deliver=True)


def test_a_campaign_survives_two_worker_kills_with_exactly_one_message_each(
    stack: Stack, settings: Any
) -> None:
    sim = stack.sim
    stack.env.update({"INBOX_CAMPAIGN_LEASE": "5", "INBOX_CAMPAIGN_SEND_JOBS": "2"})
    settings.CAMPAIGNS_STALE_AFTER = 3
    number = core.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Acme Shop",
    )
    NumberPace.objects.create(number=number, messages_per_second=200)
    AccountTier.objects.create(waba_id=sim.waba_id, tier="TIER_10K")
    no_quiet_hours()
    sim.add_template(
        {"name": "order_late", "language": "en", "category": "UTILITY", "components": BODY}
    )
    template = MessageTemplate.objects.create(
        waba_id=sim.waba_id,
        name="order_late",
        language="en",
        category="UTILITY",
        components=BODY,
        status="APPROVED",
    )
    wa_ids = audience(sim.waba_id)
    campaign = services.campaign_create(
        name="Late orders",
        number_id=number.pk,
        consent_category="orders",
        variants=[{"template": template.pk, "share": 100}],
        audience={"wa_ids": wa_ids},
        parameters={"body": ["there", "Friday"]},
    )
    services.campaign_start(campaign=campaign)

    first = stack.start_worker("worker1")
    kill_mid_send(stack, first, after=400)
    killed_at = len(sim.sent_messages())
    second = stack.start_worker("worker2")
    kill_mid_send(stack, second, after=500)
    assert len(sim.sent_messages()) > killed_at
    stack.start_worker("worker3")

    def finished() -> bool:
        # The clock gives a campaign whose jobs died with their worker new ones.
        core.timers_run()
        return Campaign.objects.get(pk=campaign.pk).status == "done"

    wait_for(finished, "the campaign to be done", timeout=600)
    # The sends the killed workers had in flight are settled by WhatsApp's status
    # webhooks (our id is their callback data), not sent again.
    wait_for(
        lambda: (
            not Message.objects.filter(direction="out", status__in=["queued", "sending"]).exists()
        ),
        "every send to be settled",
        timeout=60,
    )
    time.sleep(0)  # nothing more is awaited: the simulator's count is final
    per_customer = Counter(record["to"] for record in sim.sent_messages())
    assert len(per_customer) == RECIPIENTS
    assert set(per_customer.values()) == {1}, per_customer.most_common(3)
    assert set(per_customer) == set(wa_ids)
    assert Message.objects.filter(direction="out").count() == RECIPIENTS
    counts = campaign_counts(campaign)
    assert (counts["eligible"], counts["failed"], counts["queued"]) == (RECIPIENTS, 0, 0)
    assert counts["sent"] == RECIPIENTS
    assert not Recipient.objects.filter(campaign=campaign, next_try_at__isnull=False).exists()
    assert os.environ.get("REDIS_URL")
