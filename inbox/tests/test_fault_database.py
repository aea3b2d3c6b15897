"""The database goes away while WhatsApp is delivering webhooks.

A real Daphne process reaches PostgreSQL through a proxy the test cuts: at the very
moment the webhook's transaction commits (the server never sees the COMMIT and rolls
back), or altogether. The webhook must answer 5xx and leave nothing half-done;
WhatsApp's redelivery once the database is back is applied exactly once.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import connection

from conversations import services
from conversations.models import Contact, Conversation, Message, StatusReport, WebhookDelivery
from conversations.tests.factories import body, status_webhook, text_webhook, wamid
from inbox.tests.conftest import (
    Service,
    answers_health,
    database_url,
    free_port,
    wait_until,
    web_command,
)
from inbox.tests.tcp_proxy import PG_COMMIT, TcpProxy
from whatsapp.signature import sign

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
pytestmark = pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL (DATABASE_URL)")

PHONE_NUMBER_ID = "106540352242922"


@dataclass
class Stack:
    proxy: TcpProxy
    daphne: Service
    url: str

    def post(self, raw: bytes) -> int:
        secret = os.environ["WHATSAPP_APP_SECRET"]
        response = requests.post(
            self.url + "/webhooks/whatsapp/",
            data=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)},
            timeout=30,
        )
        return response.status_code

    def redeliver(self, raw: bytes) -> list[int]:
        """Post as WhatsApp does after a failure, until it is answered 200."""
        answers: list[int] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answers.append(self.post(raw))
            if answers[-1] == 200:
                return answers
            time.sleep(0.2)
        pytest.fail(f"the redelivery was never accepted: {answers}\n{self.daphne.describe()}")


@pytest.fixture
def stack(transactional_db: None, tmp_path: Path) -> Iterator[Stack]:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    settings = connection.settings_dict
    proxy = TcpProxy(settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432))
    proxy.start()
    proxied = {**settings, "HOST": "127.0.0.1", "PORT": proxy.port}
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(proxied),
        "DATABASE_POOL_MIN": "1",
        "DATABASE_POOL_MAX": "4",
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "CHANNEL_LAYER_PREFIX": f"inbox-fault-{uuid.uuid4().hex[:12]}",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    daphne = Service.start(
        "daphne",
        web_command(port),
        env,
        tmp_path,
    )
    stack = Stack(proxy=proxy, daphne=daphne, url=f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: answers_health(stack.url + "/health/"), "/health/", [daphne])
        services.number_register(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number="15550783881",
            waba_id="102290129340398",
            name="Acme Shop",
        )
        yield stack
    finally:
        daphne.stop()
        proxy.stop()
    assert not daphne.running()


def stored_anything_of(message_id: str) -> bool:
    return (
        Message.objects.filter(wamid=message_id).exists()
        or WebhookDelivery.objects.filter(body__contains=message_id).exists()
        or StatusReport.objects.filter(wamid=message_id).exists()
    )


def test_commit_lost_on_a_new_chat_answers_5xx_and_the_redelivery_is_applied_once(
    stack: Stack,
) -> None:
    first = wamid()
    raw = body(text_webhook(wa_id="16505550111", text="Where is my parcel?", message_id=first))

    stack.proxy.kill_at(PG_COMMIT)
    status = stack.post(raw)
    assert stack.proxy.killed.is_set(), "the webhook never committed through the proxy"
    assert status >= 500
    # The transaction never committed: no contact, no chat, no message, no raw delivery.
    assert not stored_anything_of(first)
    assert not Contact.objects.filter(wa_id="16505550111").exists()

    stack.proxy.restore()
    answers = stack.redeliver(raw)
    assert answers[-1] == 200
    assert stack.post(raw) == 200  # WhatsApp delivers again: the first one stands
    message = Message.objects.get(wamid=first)
    assert message.text == "Where is my parcel?"
    conversation = Conversation.objects.get(contact__wa_id="16505550111")
    assert conversation.messages.count() == 1
    assert conversation.unread_count == 1
    assert stack.daphne.running()


def test_commit_lost_on_an_open_chat_the_batched_path_answers_5xx_and_applies_once(
    stack: Stack,
) -> None:
    # The chat exists, so a plain text takes the lean batched path of the webhook.
    assert stack.post(body(text_webhook(wa_id="16505550122", text="Hello"))) == 200
    second = wamid()
    raw = body(text_webhook(wa_id="16505550122", text="Any news?", message_id=second))

    stack.proxy.kill_at(PG_COMMIT)
    status = stack.post(raw)
    assert stack.proxy.killed.is_set()
    assert status >= 500
    assert not stored_anything_of(second)
    conversation = Conversation.objects.get(contact__wa_id="16505550122")
    assert conversation.unread_count == 1
    assert conversation.last_message_text == "Hello"

    stack.proxy.restore()
    stack.redeliver(raw)
    stack.redeliver(raw)
    conversation.refresh_from_db()
    assert list(conversation.messages.order_by("timestamp").values_list("text", flat=True)) == [
        "Hello",
        "Any news?",
    ]
    assert conversation.unread_count == 2
    assert conversation.last_message_text == "Any news?"


def test_database_down_answers_5xx_quickly_and_statuses_are_applied_after_it_is_back(
    stack: Stack,
) -> None:
    message_id = wamid()
    assert stack.post(body(text_webhook(wa_id="16505550133", message_id=message_id))) == 200
    reply = Message.objects.get(wamid=message_id)
    outbound = Message.objects.create(
        conversation=reply.conversation,
        direction=Message.Direction.OUT,
        wamid=wamid(),
        text="On its way",
        status=Message.Status.SENT,
        timestamp=reply.timestamp,
    )
    raw_status = body(
        status_webhook(message_id=outbound.wamid, status="delivered", recipient="16505550133")
    )
    raw_message = body(text_webhook(wa_id="16505550133", text="Thanks!", message_id=wamid()))

    stack.proxy.refuse()
    started = time.monotonic()
    assert stack.post(raw_status) >= 500
    assert stack.post(raw_message) >= 500
    # Answered while the pool still waits for a connection would mean minutes of
    # WhatsApp's retries piling up; the pool gives up within its timeout.
    assert time.monotonic() - started < 25

    stack.proxy.restore()
    stack.redeliver(raw_status)
    stack.redeliver(raw_message)
    stack.redeliver(raw_status)
    outbound.refresh_from_db()
    assert outbound.status == Message.Status.DELIVERED
    assert StatusReport.objects.filter(wamid=outbound.wamid).count() == 1
    assert reply.conversation.messages.filter(text="Thanks!").count() == 1
