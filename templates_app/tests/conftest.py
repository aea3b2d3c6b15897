from __future__ import annotations

from collections.abc import Iterator

import pytest

from conversations.tests.conftest import post_webhook, published  # noqa: F401 (fixtures)
from conversations.tests.factories import NumberFactory
from simulator import Simulator


@pytest.fixture
def sim(live_server, settings) -> Iterator[Simulator]:  # type: ignore[no-untyped-def]
    """The simulated Cloud API: the inbox's template calls and sends reach it, its
    webhooks (reviews, statuses) reach the inbox; its number is registered."""
    NumberFactory()
    with Simulator(
        f"{live_server.url}/webhooks/whatsapp/",
        settings.WHATSAPP_APP_SECRET,
        settings.WHATSAPP_ACCESS_TOKEN,
        status_delay=0.05,
        webhook_backoff=0.05,
        template_review_delay=0.1,
    ) as simulator:
        settings.WHATSAPP_GRAPH_URL = simulator.graph_url
        yield simulator
