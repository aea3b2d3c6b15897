"""The operator WebSocket: who may connect, and that committed changes arrive live."""

from __future__ import annotations

import uuid

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


async def connected_as(user) -> WebsocketCommunicator:
    """A connected socket of ``user``, past its greeting and its own presence event."""
    communicator = await connect(await sync_to_async(session_cookie)(user))
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_json_from() == {"type": "hello", "user_id": user.pk}
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "presence.updated",
        "user_id": user.pk,
        "presence": "online",
    }
    return communicator


async def heard_before_marker(*sockets: WebsocketCommunicator) -> list[list[dict]]:
    """Publish a marker every socket hears, and return what each socket got before it.

    Whatever was published earlier reaches a socket earlier, so an absence asserted
    on these frames is proven, not guessed from a quiet moment."""
    from conversations import realtime

    marker = {"type": "test.marker", "token": uuid.uuid4().hex}
    await sync_to_async(realtime.publish)(
        marker["type"], {"token": marker["token"]}, groups=(realtime.PRESENCE_GROUP,)
    )
    heard = []
    for socket in sockets:
        frames = []
        while (frame := await socket.receive_json_from(timeout=10)) != marker:
            frames.append(frame)
        heard.append(frames)
    return heard


async def handled(socket: WebsocketCommunicator) -> None:
    """Return once the server has handled every frame this socket sent so far: it
    answers a ping after them, through the layer."""
    await socket.send_json_to({"type": "ping"})
    while (await socket.receive_json_from(timeout=10))["type"] != "pong":
        pass


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
    communicator = await connected_as(user)

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
    communicator = await connected_as(user)
    # No number is registered: the delivery is a dead letter and nobody is told.
    assert await sync_to_async(post_signed)(text_webhook(text="lost?")) == 200
    assert await heard_before_marker(communicator) == [[]]
    await communicator.disconnect()


async def test_marking_read_is_pushed_to_other_operators() -> None:
    from conversations import services
    from conversations.tests.factories import ConversationFactory

    user = await sync_to_async(UserFactory)(username="olga", role="operator")
    conversation = await sync_to_async(ConversationFactory)(unread_count=2)
    communicator = await connected_as(user)
    await sync_to_async(services.conversation_mark_read)(conversation=conversation, user=user)
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "conversation.updated"
    assert (event["conversation_id"], event["conversation"]["unread_count"]) == (conversation.id, 0)
    await communicator.disconnect()


async def test_operator_outside_the_team_hears_nothing_of_its_chats() -> None:
    from conversations import services
    from conversations.tests.factories import ConversationFactory, TeamFactory

    olga = await sync_to_async(UserFactory)(username="olga", role="operator")
    boris = await sync_to_async(UserFactory)(username="boris", role="operator")
    sam = await sync_to_async(UserFactory)(username="sam", role="supervisor")
    support = await sync_to_async(TeamFactory)(name="Support", members=[olga])
    await sync_to_async(TeamFactory)(name="Sales", members=[boris])
    number = await sync_to_async(NumberFactory)(team=support)
    conversation = await sync_to_async(ConversationFactory)(
        number=number, team=support, unread_count=1
    )
    sockets = {user.username: await connected_as(user) for user in (olga, boris, sam)}
    # Each socket hears the presence of the ones that connected after it.
    assert (await sockets["olga"].receive_json_from(timeout=5))["user_id"] == boris.pk
    assert (await sockets["olga"].receive_json_from(timeout=5))["user_id"] == sam.pk
    assert (await sockets["boris"].receive_json_from(timeout=5))["user_id"] == sam.pk

    await sync_to_async(services.conversation_mark_read)(conversation=conversation, user=olga)
    assert await sync_to_async(post_signed)(text_webhook(text="Hello Support")) == 200

    for name in ("olga", "sam"):
        first = await sockets[name].receive_json_from(timeout=5)
        second = await sockets[name].receive_json_from(timeout=5)
        assert (first["type"], first["conversation_id"]) == (
            "conversation.updated",
            conversation.id,
        )
        assert (second["type"], second["message"]["text"]) == ("message.created", "Hello Support")
        assert second["conversation"]["team"] == {"id": support.id, "name": "Support"}
    assert await heard_before_marker(sockets["boris"]) == [[]]
    for communicator in sockets.values():
        await communicator.disconnect()


async def test_the_assignee_hears_of_their_chat_after_leaving_its_team() -> None:
    from conversations import services
    from conversations.tests.factories import ConversationFactory, TeamFactory

    boris = await sync_to_async(UserFactory)(username="boris", role="operator")
    support = await sync_to_async(TeamFactory)(name="Support", members=[boris])
    conversation = await sync_to_async(ConversationFactory)(team=support, assignee=boris)
    await sync_to_async(support.members.remove)(boris)
    socket = await connected_as(boris)
    await sync_to_async(services.conversation_set_status)(
        conversation=conversation, actor=boris, status="pending"
    )
    event = await socket.receive_json_from(timeout=5)
    update = await socket.receive_json_from(timeout=5)
    assert (event["type"], event["event"]["kind"], event["event"]["data"]["to"]) == (
        "conversation.event",
        "status",
        "pending",
    )
    assert (update["type"], update["conversation"]["status"]) == ("conversation.updated", "pending")
    await socket.disconnect()


async def test_viewing_and_typing_reach_colleagues_who_may_see_the_chat_only() -> None:
    from conversations.tests.factories import ConversationFactory, TeamFactory

    olga = await sync_to_async(UserFactory)(username="olga", role="operator")
    oleg = await sync_to_async(UserFactory)(username="oleg", role="operator")
    boris = await sync_to_async(UserFactory)(username="boris", role="operator")
    support = await sync_to_async(TeamFactory)(name="Support", members=[olga, oleg])
    await sync_to_async(TeamFactory)(name="Sales", members=[boris])
    conversation = await sync_to_async(ConversationFactory)(team=support)
    sales_chat = await sync_to_async(ConversationFactory)(
        team=await sync_to_async(TeamFactory)(name="Sales")
    )
    olga_socket = await connected_as(olga)
    oleg_socket = await connected_as(oleg)
    boris_socket = await connected_as(boris)
    await olga_socket.receive_json_from(timeout=5)  # oleg's presence
    await olga_socket.receive_json_from(timeout=5)  # boris's presence
    await oleg_socket.receive_json_from(timeout=5)  # boris's presence

    await olga_socket.send_json_to({"type": "viewing", "conversation_id": conversation.id})
    await olga_socket.send_json_to({"type": "typing", "conversation_id": conversation.id})
    # A chat of another team: olga may not see it, so nobody hears of her there.
    await olga_socket.send_json_to({"type": "viewing", "conversation_id": sales_chat.id})
    olga_summary = {"id": olga.pk, "username": "olga", "name": "olga"}
    assert await oleg_socket.receive_json_from(timeout=5) == {
        "type": "collision",
        "conversation_id": conversation.id,
        "user": olga_summary,
        "state": "viewing",
    }
    assert (await oleg_socket.receive_json_from(timeout=5))["state"] == "typing"
    await handled(olga_socket)
    assert await heard_before_marker(oleg_socket, olga_socket, boris_socket) == [[], [], []]

    # Closing the page while viewing tells the colleagues she left.
    await olga_socket.disconnect()
    left = await oleg_socket.receive_json_from(timeout=5)
    assert (left["type"], left["state"], left["user"]["id"]) == ("collision", "left", olga.pk)
    await oleg_socket.disconnect()
    await boris_socket.disconnect()


async def test_sockets_make_presence_and_ping_keeps_it() -> None:
    import datetime as dt

    from django.utils import timezone

    from conversations.models import AgentConnection

    olga = await sync_to_async(UserFactory)(username="olga", role="operator")
    sam = await sync_to_async(UserFactory)(username="sam", role="supervisor")
    supervisor_socket = await connected_as(sam)
    socket = await connected_as(olga)
    assert await supervisor_socket.receive_json_from(timeout=5) == {
        "type": "presence.updated",
        "user_id": olga.pk,
        "presence": "online",
    }
    rows = AgentConnection.objects.filter(user=olga)
    assert await sync_to_async(rows.count)() == 1
    await sync_to_async(rows.update)(last_seen=timezone.now() - dt.timedelta(seconds=60))
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=5) == {"type": "pong"}
    row = await sync_to_async(rows.get)()
    assert timezone.now() - row.last_seen < dt.timedelta(seconds=5)

    await socket.disconnect()
    assert await supervisor_socket.receive_json_from(timeout=5) == {
        "type": "presence.updated",
        "user_id": olga.pk,
        "presence": "offline",
    }
    assert await sync_to_async(rows.count)() == 0
    await supervisor_socket.disconnect()


async def test_a_new_password_ends_the_users_other_sockets() -> None:
    from django.contrib.auth import HASH_SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    user = await sync_to_async(UserFactory)(username="olga", role="operator")
    here_cookie = await sync_to_async(session_cookie)(user)
    here = await connect(here_cookie)
    assert (await here.connect())[0]
    assert await here.receive_json_from(timeout=5) == {"type": "hello", "user_id": user.pk}
    # Wait until this first socket has made the user present, then open the other.
    assert (await here.receive_json_from(timeout=5))["type"] == "presence.updated"
    elsewhere = await connect(await sync_to_async(session_cookie)(user))
    assert (await elsewhere.connect())[0]
    assert await elsewhere.receive_json_from(timeout=5) == {"type": "hello", "user_id": user.pk}

    def change_password_from_here() -> None:
        # What Django's password view does: new hash, and this session keeps up with it.
        user.set_password("a-new-password-2026")
        user.save()
        store = SessionStore(here_cookie.decode().split("=", 1)[1])
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()

    await sync_to_async(change_password_from_here)()

    while True:
        output = await elsewhere.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == 4401
    # The session that changed the password keeps its socket.
    await here.send_json_to({"type": "ping"})
    while (frame := await here.receive_json_from(timeout=10))["type"] != "pong":
        assert frame["type"] != "access.check"
    await here.disconnect()


async def test_the_pong_travels_through_the_layer_so_lost_groups_go_unanswered() -> None:
    """What a Redis restart does to the layer: the socket stays open but belongs to
    no group any more. Its ping then goes unanswered, which makes the page reconnect."""
    from channels.layers import get_channel_layer

    from conversations import realtime

    user = await sync_to_async(UserFactory)(username="olga", role="operator")
    socket = await connected_as(user)
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=5) == {"type": "pong"}

    layer = get_channel_layer()
    channel = (await sync_to_async(user.connections.get)()).channel_name
    for group in realtime.groups_for_user(user_id=user.pk, team_ids=(), supervisor=False):
        await layer.group_discard(group, channel)
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_nothing(timeout=1.5)
    await socket.disconnect()
