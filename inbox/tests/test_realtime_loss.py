"""Live events lost on the way are never lost quietly.

Redis pub/sub keeps nothing for a subscriber that is not connected, and redis-py
reconnects and subscribes again without a word: a page would miss whatever was
published meanwhile and show stale data. The layer notices each reconnection and
tells its sockets to re-read; a publisher that could not publish tells the groups
concerned once Redis answers again. A TCP proxy between one side and the suite's
Redis cuts the connection on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import override_settings

from conversations import realtime
from conversations.realtime import RESYNC_HANDLER, PubSubChannelLayer
from inbox.tests.tcp_proxy import TcpProxy

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL)")


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    parts = urlsplit(REDIS_URL)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379) as running:
        yield running


def through(proxy: TcpProxy) -> str:
    """The suite's Redis URL, by way of ``proxy``."""
    parts = urlsplit(REDIS_URL)
    return parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()


@pytest.fixture
def prefix() -> str:
    return f"inbox-loss-{uuid.uuid4().hex[:12]}"


async def received(layer: PubSubChannelLayer, channel: str, timeout: float = 5.0) -> dict:
    return await asyncio.wait_for(layer.receive(channel), timeout)


@pytest.mark.asyncio
async def test_a_socket_is_told_to_resync_when_its_subscriptions_come_back_after_a_break(
    proxy: TcpProxy, prefix: str
) -> None:
    listening = PubSubChannelLayer(hosts=[through(proxy)], prefix=prefix)
    publishing = PubSubChannelLayer(hosts=[REDIS_URL], prefix=prefix)
    try:
        channel = await listening.new_channel()
        await realtime.join(listening, channel, ["team.1"])
        await publishing.group_send("team.1", {"type": "inbox.event", "n": 1})
        assert await received(listening, channel) == {"type": "inbox.event", "n": 1}

        proxy.refuse()  # the subscriber's connection breaks
        await asyncio.sleep(0.3)
        # Published while nobody of this process listens: Redis drops it.
        await publishing.group_send("team.1", {"type": "inbox.event", "n": 2})
        proxy.restore()

        assert await received(listening, channel, timeout=10) == {"type": RESYNC_HANDLER}
        await publishing.group_send("team.1", {"type": "inbox.event", "n": 3})
        assert await received(listening, channel) == {"type": "inbox.event", "n": 3}
    finally:
        await listening.flush()
        await publishing.flush()


@pytest.mark.asyncio
async def test_no_resync_without_a_break(prefix: str) -> None:
    layer = PubSubChannelLayer(hosts=[REDIS_URL], prefix=prefix)
    try:
        channel = await layer.new_channel()
        await realtime.join(layer, channel, ["team.1"])
        for n in range(3):
            await layer.group_send("team.1", {"type": "inbox.event", "n": n})
        got = [await received(layer, channel) for _ in range(3)]
        assert got == [{"type": "inbox.event", "n": n} for n in range(3)]
        with pytest.raises(TimeoutError):
            await received(layer, channel, timeout=1.0)
    finally:
        await layer.flush()


def send_one(proxy: TcpProxy) -> None:
    proxy.refuse()
    realtime._send(
        ("team.9",), realtime.relay_message({"type": "message.created"}, groups=("team.9",))
    )


def send_a_batch(proxy: TcpProxy) -> None:
    with realtime.batched():
        realtime._send(
            ("team.9",), realtime.relay_message({"type": "message.created"}, groups=("team.9",))
        )
        realtime._send(
            ("team.9",), realtime.relay_message({"type": "message.created"}, groups=("team.9",))
        )
        proxy.refuse()  # the batch leaves when the block ends; Redis is away by then


@pytest.mark.parametrize(
    ("send", "logged"),
    [(send_one, "could not publish message.created"), (send_a_batch, "could not publish 2 events")],
)
def test_groups_a_publisher_could_not_reach_are_told_to_resync_once_redis_answers(
    proxy: TcpProxy, prefix: str, caplog: pytest.LogCaptureFixture, send, logged: str
) -> None:  # type: ignore[no-untyped-def]
    layers = {
        "default": {
            "BACKEND": "conversations.realtime.PubSubChannelLayer",
            "CONFIG": {"hosts": [through(proxy)], "prefix": prefix},
        }
    }
    listening = PubSubChannelLayer(hosts=[REDIS_URL], prefix=prefix)
    loop = asyncio.new_event_loop()
    try:
        channel = loop.run_until_complete(listening.new_channel())
        loop.run_until_complete(realtime.join(listening, channel, ["team.9"]))
        with override_settings(CHANNEL_LAYERS=layers), caplog.at_level(logging.ERROR):
            send(proxy)  # what publish() does after commit
            assert logged in caplog.text
            time.sleep(1.0)
            proxy.restore()

            assert loop.run_until_complete(received(listening, channel, timeout=10)) == {
                "type": RESYNC_HANDLER
            }
    finally:
        loop.run_until_complete(listening.flush())
        loop.close()


@pytest.mark.asyncio
async def test_many_sends_at_once_reach_every_group_in_order(prefix: str) -> None:
    # Two shards on the suite's Redis: the groups' channels hash to either.
    publishing = PubSubChannelLayer(hosts=[REDIS_URL, REDIS_URL], prefix=prefix)
    listening = PubSubChannelLayer(hosts=[REDIS_URL, REDIS_URL], prefix=prefix)
    groups = [f"team.{n}" for n in range(6)]
    try:
        channels = {}
        for group in groups:
            channels[group] = await listening.new_channel()
            await realtime.join(listening, channels[group], [group])
        messages = [{"type": "inbox.event", "n": n} for n in range(5)]
        sends = [(group, message) for message in messages for group in groups]
        sends.append(("team.0", {"type": "inbox.event", "n": "only team.0"}))

        await publishing.group_send_many(sends)

        for group in groups:
            got = [await received(listening, channels[group]) for _ in messages]
            assert got == messages, group
        assert await received(listening, channels["team.0"]) == {
            "type": "inbox.event",
            "n": "only team.0",
        }
        with pytest.raises(TimeoutError):
            await received(listening, channels["team.1"], timeout=0.5)
    finally:
        await listening.flush()
        await publishing.flush()


@pytest.mark.asyncio
async def test_join_returns_once_redis_has_the_subscriptions(proxy: TcpProxy, prefix: str) -> None:
    """redis-py sends SUBSCRIBE without waiting for Redis to take it. Through a link
    that holds every SUBSCRIBE a while, a message published at once after ``join``
    would reach nobody unless ``join`` waits for Redis's answer."""
    listening = PubSubChannelLayer(hosts=[through(proxy)], prefix=prefix)
    publishing = PubSubChannelLayer(hosts=[REDIS_URL], prefix=prefix)
    try:
        channel = await listening.new_channel()
        proxy.hold(b"SUBSCRIBE", 0.3)
        await realtime.join(listening, channel, ["team.1", "team.2"])
        assert proxy.held >= 1
        await publishing.group_send("team.2", {"type": "inbox.event", "n": 1})
        assert await received(listening, channel) == {"type": "inbox.event", "n": 1}
    finally:
        await listening.flush()
        await publishing.flush()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_socket_says_hello_once_redis_has_its_subscriptions(
    proxy: TcpProxy, prefix: str, settings: Any
) -> None:
    """The page re-reads when its socket greets it: whatever is committed and
    published after the greeting must reach the socket, however slowly the
    socket's SUBSCRIBEs travel to Redis."""
    from channels.db import database_sync_to_async
    from channels.layers import get_channel_layer

    from conversations.tests.factories import TeamFactory, UserFactory
    from inbox.tests.test_consumer import connect, session_cookie

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "conversations.realtime.PubSubChannelLayer",
            "CONFIG": {"hosts": [through(proxy)], "prefix": prefix},
        }
    }
    olga = await database_sync_to_async(UserFactory)(username="olga", role="operator")
    support = await database_sync_to_async(TeamFactory)(name="Support", members=[olga])
    team = realtime.team_group(support.pk)
    publishing = PubSubChannelLayer(hosts=[REDIS_URL], prefix=prefix)
    socket = await connect(await database_sync_to_async(session_cookie)(olga))
    try:
        proxy.hold(b"SUBSCRIBE", 0.3)
        assert (await socket.connect(timeout=10))[0]
        assert await socket.receive_json_from(timeout=10) == {"type": "hello", "user_id": olga.pk}
        await publishing.group_send(team, realtime.relay_message({"type": "probe"}, groups=(team,)))
        while (frame := await socket.receive_json_from(timeout=5))["type"] != "probe":
            assert frame["type"] == "presence.updated"
        assert proxy.held >= 1
    finally:
        await socket.disconnect()
        await publishing.flush()
        await get_channel_layer().flush()
