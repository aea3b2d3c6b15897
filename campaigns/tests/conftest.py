"""Campaigns under test: an approved template, customers with consent, and the
Graph API faked at the ``requests`` level (it counts sends per customer, and
answers with WhatsApp's errors when told)."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import responses
from django.conf import settings

from campaigns.models import AccountTier, Tier
from conftest import FIXTURES_DIR
from conversations.models import Contact
from conversations.tests.conftest import post_webhook, published  # noqa: F401 (fixtures)
from conversations.tests.factories import NumberFactory, consent_to, no_quiet_hours
from templates_app.models import MessageTemplate
from templates_app.tests.factories import DISCOUNT, make_template

WABA_ID = "102290129340398"
ERRORS = {
    130429: "error_130429_rate_limit_response.RECONSTRUCTED.json",
    131056: "error_131056_pair_rate_limit_response.RECONSTRUCTED.json",
}


@dataclass
class Graph:
    """The faked send endpoint: every accepted send, and failures to answer next."""

    sends: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def per_customer(self) -> Counter[str]:
        return Counter(s["to"] for s in self.sends)

    def answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        if self.failures:
            code = self.failures.pop(0)
            self.refused.append(body)
            return 400, {}, (FIXTURES_DIR / ERRORS[code]).read_text()
        body["_at"] = time.monotonic()
        self.sends.append(body)
        wamid = f"wamid.CAMPAIGN{next(self.ids):08d}=="
        return (
            200,
            {},
            json.dumps(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": wamid}],
                }
            ),
        )


@pytest.fixture
def graph() -> Iterator[Graph]:
    fake = Graph()
    url = f"{settings.WHATSAPP_GRAPH_URL}/106540352242922/messages"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, url, callback=fake.answer)
        mock.add_passthru("http://127.0.0.1")
        yield fake


@pytest.fixture
def number() -> Any:
    number = NumberFactory()
    AccountTier.objects.update_or_create(waba_id=WABA_ID, defaults={"tier": Tier.TIER_10K})
    return number


@pytest.fixture
def offer(number: Any) -> MessageTemplate:
    return make_template(name="spring_offer", category="MARKETING", components=DISCOUNT)


@pytest.fixture
def update(number: Any) -> MessageTemplate:
    return make_template()


def customers(count: int, *, prefix: str = "3933", consent: bool = True) -> list[Contact]:
    """``count`` customers with Italian numbers, opted in to everything unless told."""
    made = []
    for i in range(count):
        contact = Contact.objects.create(wa_id=f"{prefix}{i:08d}", phone=f"+{prefix}{i:08d}")
        if consent:
            consent_to(contact)
        made.append(contact)
    return made


@pytest.fixture
def quiet_never() -> None:
    no_quiet_hours()
