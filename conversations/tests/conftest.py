from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from conversations import realtime
from conversations.tests.factories import NumberFactory, TeamFactory, UserFactory, body
from whatsapp.signature import sign


class WebhookPoster:
    """Posts bodies to the webhook as WhatsApp does: raw bytes, signed."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, payload: bytes | dict[str, Any], *, signature: str | None = "auto") -> Any:
        raw = payload if isinstance(payload, bytes) else body(payload)
        headers = {}
        if signature == "auto":
            headers["HTTP_X_HUB_SIGNATURE_256"] = sign(raw, settings.WHATSAPP_APP_SECRET)
        elif signature is not None:
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature
        return self.client.post(
            "/webhooks/whatsapp/", data=raw, content_type="application/json", **headers
        )


@pytest.fixture
def post_webhook(client: Client) -> WebhookPoster:
    return WebhookPoster(client)


@pytest.fixture
def numbers(db: None) -> list:
    """The business numbers the shared fixture payloads are addressed to."""
    return [
        NumberFactory(phone_number_id="106540352242922", display_phone_number="15550783881"),
        NumberFactory(
            phone_number_id="1122334455667", display_phone_number="972123456789", name="Israel"
        ),
        NumberFactory(
            phone_number_id="103007756220088", display_phone_number="155501000755", name="Old line"
        ),
    ]


@dataclass(frozen=True)
class Published:
    """A live event handed to the channel layer after commit, and who it went to."""

    groups: tuple[str, ...]
    event: dict[str, Any]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Published]:
    """Every live event handed to the channel layer after commit, with its groups."""
    events: list[Published] = []
    monkeypatch.setattr(
        realtime,
        "_send",
        lambda groups, message: events.append(Published(tuple(groups), realtime.event_of(message))),
    )
    return events


# Support, a team of two operators: routing and assignment tests share them.
@pytest.fixture
def olga() -> Any:
    return UserFactory(username="olga", role="operator", first_name="Olga", last_name="Ivanova")


@pytest.fixture
def oleg() -> Any:
    return UserFactory(username="oleg", role="operator")


@pytest.fixture
def support(olga: Any, oleg: Any) -> Any:
    return TeamFactory(name="Support", members=[olga, oleg])
