"""The operator WebSocket: who may connect, and that committed changes arrive live."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from conversations.tests.factories import NumberFactory, UserFactory, body, text_webhook
from inbox.asgi import application
from whatsapp.signature import sign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(
    cookie: bytes | None, origin: bytes = b"http://localhost"
) -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, "/ws/inbox/", headers=headers)


def post_signed(payload: dict) -> int:
    raw = body(payload)
    response = Client().post(
        "/webhooks/whatsapp/",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(raw, settings.WHATSAPP_APP_SECRET),
    )
    return response.status_code


async def test_anonymous_user_is_refused() -> None:
    communicator = await connect(None)
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4403


async def test_user_without_a_role_is_refused() -> None:
    user = await sync_to_async(UserFactory)(username="visitor")
    communicator = await connect(await sync_to_async(session_cookie)(user))
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4403


async def test_foreign_origin_is_refused() -> None:
    user = await sync_to_async(UserFactory)(username="olga", role="operator")
    cookie = await sync_to_async(session_cookie)(user)
    communicator = await connect(cookie, origin=b"https://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_operator_receives_a_customer_message_after_commit() -> None:
    user = await sync_to_async(UserFactory)(username="olga", role="operator")
    await sync_to_async(NumberFactory)()
    communicator = await connect(await sync_to_async(session_cookie)(user))
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"

    status = await sync_to_async(post_signed)(text_webhook(text="Is my order shipped?", name="Ana"))
    assert status == 200
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "message.created"
    assert event["message"]["text"] == "Is my order shipped?"
    assert event["conversation"]["contact"]["name"] == "Ana"
    assert event["conversation"]["unread_count"] == 1
    await communicator.disconnect()


async def test_rejected_delivery_publishes_nothing() -> None:
    user = await sync_to_async(UserFactory)(username="olga", role="operator")
    communicator = await connect(await sync_to_async(session_cookie)(user))
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()
    # No number is registered: the delivery is a dead letter and nobody is told.
    assert await sync_to_async(post_signed)(text_webhook(text="lost?")) == 200
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_marking_read_is_pushed_to_other_operators() -> None:
    from conversations import services
    from conversations.tests.factories import ConversationFactory

    user = await sync_to_async(UserFactory)(username="olga", role="operator")
    conversation = await sync_to_async(ConversationFactory)(unread_count=2)
    communicator = await connect(await sync_to_async(session_cookie)(user))
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()
    await sync_to_async(services.conversation_mark_read)(conversation=conversation, user=user)
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "conversation.updated"
    assert (event["conversation_id"], event["conversation"]["unread_count"]) == (conversation.id, 0)
    await communicator.disconnect()
