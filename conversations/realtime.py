"""The only module that talks to the channel layer.

Services call ``publish`` inside their transaction; the send is registered with
``transaction.on_commit``, so a browser never hears of a change that was rolled
back, and hears of a committed one before the request that made it is
answered. Payloads are plain JSON with a ``type``.

Groups are narrow: ``team.<id>`` carries the changes of a team's conversations to
its members, ``team.none`` those of conversations without a team, ``supervisors``
everything to supervisors and admins, ``user.<id>`` what concerns one operator
(their notifications, and the chats assigned to them), ``presence`` who is online.
``groups_for_conversation`` is the one place that decides who hears of a
conversation; ``groups_for_user`` the matching groups a socket joins.

Sync code (request threads, RQ workers, management commands) publishes through
one long-lived event loop per process, so the layer's Redis connections are
made once, not per event.

Redis pub/sub keeps nothing for a subscriber that is not connected. Whatever is
published while a process's subscriber connection is down (Redis restarted, the
connection cut) never reaches its sockets, and redis-py reconnects and subscribes
again without a word. ``PubSubChannelLayer`` notices each reconnection and tells
every socket of its process to re-read (``resync``); a publisher that could not
publish tells the groups concerned the same once Redis answers again. The page's
ping, answered through the layer, covers whatever else stops delivery.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts
from django.db import transaction
from redis.asyncio.client import PubSub

logger = logging.getLogger(__name__)

SUPERVISORS_GROUP = "supervisors"
PRESENCE_GROUP = "presence"
NO_TEAM_GROUP = "team.none"
# The consumer methods that relay an event, and a colleague's viewing/typing, to the browser.
RELAY_HANDLER = "inbox.event"
COLLISION_HANDLER = "inbox.collision"
PONG_HANDLER = "inbox.pong"
# Tells a socket that events may have been lost on the way: the page re-reads.
RESYNC_HANDLER = "inbox.resync"
# Tells a user's sockets that who they are or what they may see has changed (a new
# password, a team joined or left, another role, deactivated): each checks its
# session, leaves and joins groups to match, and has its page re-read. Never
# relayed to the browser.
ACCESS_CHECK = "access.check"
PUBLISH_TIMEOUT = 5.0
# Presence changes within this many seconds leave together (``publish_presence``).
PRESENCE_INTERVAL = 0.5
# How long a publisher keeps trying to tell groups of events it could not publish.
RESYNC_RETRY_SECONDS = 60.0


def team_group(team_id: int | None) -> str:
    """The group of a team's members; ``team.none`` for chats without a team."""
    return NO_TEAM_GROUP if team_id is None else f"team.{team_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def groups_for_conversation(*, team_id: int | None, assignee_id: int | None) -> tuple[str, ...]:
    """The groups told of changes to a conversation and its messages: everyone who
    may see it (its team, or everyone for a chat without a team; supervisors; its
    assignee, who may be outside the team)."""
    groups = [team_group(team_id), SUPERVISORS_GROUP]
    if assignee_id is not None:
        groups.append(user_group(assignee_id))
    return tuple(groups)


def groups_for_user(*, user_id: int, team_ids: Iterable[int], supervisor: bool) -> tuple[str, ...]:
    """The groups an inbox user's socket joins: what they may see, and their own events."""
    if supervisor:
        return (SUPERVISORS_GROUP, user_group(user_id), PRESENCE_GROUP)
    teams = [team_group(team_id) for team_id in sorted(set(team_ids))]
    return (*teams, NO_TEAM_GROUP, user_group(user_id), PRESENCE_GROUP)


def publish(event_type: str, payload: dict[str, Any], *, groups: Iterable[str]) -> None:
    """Send ``payload`` (plain JSON) as event ``event_type`` to ``groups`` after commit."""
    targets = tuple(dict.fromkeys(groups))
    message = relay_message({"type": event_type, **payload}, groups=targets)
    transaction.on_commit(lambda: _send(targets, message))


def publish_presence(user_id: int, presence: str) -> None:
    """Tell the presence group, after commit, that ``user_id`` is now ``presence``.

    Presence changes are coalesced (across processes, with Redis): whatever
    changes within ``PRESENCE_INTERVAL`` leaves as one frame (a whole shift signing
    in would otherwise send every socket a frame per colleague). A frame for one change is
    ``{"type": "presence.updated", "user_id", "presence"}``; for several, ``{"type":
    "presence.updated", "changes": [{"user_id", "presence"}, ...]}`` (a user's last
    change only). Code that ends its process without returning (RQ's forked work
    horses) calls ``flush_presence`` first."""
    transaction.on_commit(lambda: _presence.add(user_id, presence))


def flush_presence() -> None:
    """Send now the presence changes this process is to send (before it exits)."""
    _presence.flush()


def flush_orphaned_presence() -> int:
    """Send the presence changes whose flusher died before sending them (the
    workspace clock's tick); the number sent."""
    return _presence.flush_orphaned()


def relay_message(event: dict[str, Any], *, groups: Iterable[str]) -> dict[str, Any]:
    """The layer message that carries ``event`` to the sockets of ``groups``. The
    frame is encoded once here, not once for every socket that relays it; the
    groups travel with it so that a socket relays it only while it still belongs
    to one of them (``reaches``)."""
    return {
        "type": RELAY_HANDLER,
        "event_type": event["type"],
        "groups": list(groups),
        "frame": orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS).decode(),
    }


def reaches(message: dict[str, Any], groups: frozenset[str]) -> bool:
    """Whether a socket that belongs to ``groups`` now may relay ``message``.

    Leaving a group stops what is published to it from then on, but not what is
    already waiting in the socket's queue: a socket whose user just left a team
    could still relay a frame of the team's chats published a moment before it
    left. Each socket therefore holds every frame to the groups it was meant for."""
    return not groups.isdisjoint(message["groups"])


async def join(layer: Any, channel: str, groups: Iterable[str]) -> None:
    """Add ``channel`` to ``groups``, and return once the layer delivers what is
    published to them: redis-py sends SUBSCRIBE without waiting for Redis to
    confirm it, and whatever is published before Redis has it reaches nobody. A
    page that re-reads after this can miss nothing."""
    for group in groups:
        await layer.group_add(group, channel)
    if isinstance(layer, PubSubChannelLayer):
        await layer.subscriptions_confirmed()


async def leave(layer: Any, channel: str, groups: Iterable[str]) -> None:
    for group in groups:
        await layer.group_discard(group, channel)


def event_of(message: dict[str, Any]) -> dict[str, Any]:
    """The event a relay message carries, decoded."""
    return orjson.loads(message["frame"])


async def relay_collision(
    *, groups: Iterable[str], sender_id: int, event: dict[str, Any], layer: Any
) -> None:
    """Tell ``groups`` at once that a colleague views, types in or left a chat.

    Nothing is stored, so there is no transaction to wait for; receiving sockets
    of ``sender_id`` drop the frame."""
    targets = tuple(dict.fromkeys(groups))
    message = {"type": COLLISION_HANDLER, "sender_id": sender_id, "groups": targets, "event": event}
    await _send_all(layer, targets, message)


async def heartbeat(*, user_id: int, channel_name: str, layer: Any) -> None:
    """Answer a socket's ping through its user's group: the pong arrives only while
    the layer still holds the socket's memberships and delivers to it."""
    await layer.group_send(user_group(user_id), {"type": PONG_HANDLER, "channel": channel_name})


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis's pub/sub layer, which tells its sockets when its subscriber
    connection to Redis came back: whatever was published meanwhile is lost."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        """``group_send`` for each (group, message), in order: one round trip per
        shard, and each message serialized once, however many groups it goes to."""
        await self._get_layer().group_send_many(sends)

    async def subscriptions_confirmed(self, timeout: float = PUBLISH_TIMEOUT) -> None:
        """Return once Redis has taken every SUBSCRIBE this process sent so far (or
        after ``timeout``: the page's ping then finds out whether it delivers)."""
        await self._get_layer().subscriptions_confirmed(timeout)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, hosts: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, hosts=hosts, **kwargs)
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        serialized: dict[int, bytes] = {}
        by_shard: dict[_Shard, list[tuple[str, bytes]]] = {}
        for group, message in sends:
            data = serialized.get(id(message))
            if data is None:
                data = serialized[id(message)] = self.channel_layer.serialize(message)
            channel = self._get_group_channel_name(group)
            by_shard.setdefault(self._get_shard(channel), []).append((channel, data))
        await asyncio.gather(*(shard.publish_many(items) for shard, items in by_shard.items()))

    async def subscriptions_confirmed(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(
                asyncio.gather(*(shard.confirmed() for shard in self._shards)), timeout
            )
        except TimeoutError:
            logger.warning("Redis did not confirm the subscriptions within %.0f s", timeout)

    def tell_everyone_to_resync(self) -> None:
        message = self.channel_layer.serialize({"type": RESYNC_HANDLER})
        for queue in self.channels.values():
            queue.put_nowait(message)


class _Shard(RedisSingleShardConnection):
    def _ensure_redis(self) -> None:
        if self._redis is None:
            super()._ensure_redis()
            self._pubsub = _PubSub(self._redis.connection_pool, self.channel_layer)

    async def confirmed(self) -> None:
        """Return once Redis has handled every command sent so far on the
        subscriptions' connection: it answers a PING there in order, after the
        SUBSCRIBEs before it."""
        async with self._lock:
            if self._pubsub is None or not self._subscribed_to:
                return
            pubsub = self._pubsub
            token, answered = pubsub.expect_pong()
            try:
                await pubsub.ping(token)
            except BaseException:
                pubsub.forget_pong(token)
                raise
        try:
            await answered
        finally:
            pubsub.forget_pong(token)

    async def publish_many(self, items: list[tuple[str, bytes]]) -> None:
        """PUBLISH each (channel, data), in order, in one pipeline."""
        async with self._lock:
            self._ensure_redis()
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, data in items:
                    pipe.publish(channel, data)
                await pipe.execute()


class _PubSub(PubSub):
    """redis-py calls ``on_connect`` each time the subscriptions' connection is made
    again (not for its first connection) and sends them again there. Redis confirms
    them in order, so the first confirmation after that means they are all back:
    from then on, whatever is published arrives, and the sockets may re-read."""

    def __init__(self, connection_pool: Any, layer: _LoopLayer) -> None:
        super().__init__(connection_pool)
        self._layer = layer
        self._resubscribing = False
        self._pongs: dict[str, asyncio.Future[None]] = {}

    def expect_pong(self) -> tuple[str, asyncio.Future[None]]:
        """A token for a PING, and the future its answer resolves."""
        token = f"confirm-{uuid.uuid4().hex}"
        answered = self._pongs[token] = asyncio.get_running_loop().create_future()
        return token, answered

    def forget_pong(self, token: str) -> None:
        self._pongs.pop(token, None)

    async def on_connect(self, connection: Any) -> None:
        self._resubscribing = True
        await super().on_connect(connection)

    async def handle_message(self, response: Any, ignore_subscribe_messages: bool = False) -> Any:
        message = await super().handle_message(response, ignore_subscribe_messages=False)
        if message is not None and message["type"] == "pong":
            token = message["data"].decode() if isinstance(message["data"], bytes) else ""
            pong = self._pongs.pop(token, None)
            if pong is not None and not pong.done():
                pong.set_result(None)
            return None
        if message is not None and message["type"] == "subscribe" and self._resubscribing:
            self._resubscribing = False
            logger.warning("the channel layer's subscriptions are back after a break")
            self._layer.tell_everyone_to_resync()
        subscription = message is not None and message["type"] not in self.PUBLISH_MESSAGE_TYPES
        return None if subscription and ignore_subscribe_messages else message


_local = threading.local()


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Within this block, sends from this thread wait for the block's end: then they
    leave together, in order (on Redis, in one round trip per shard), and the block
    ends once every one has been sent. For code that commits many changes at once
    (the webhook's batches)."""
    _local.pending = pending = []
    try:
        yield
    finally:
        _local.pending = None
        if pending:
            _send_together(pending)


def _send(groups: tuple[str, ...], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # The embedded layer's queues belong to the server's own loop.
        try:
            async_to_sync(_send_all)(layer, groups, message)
        except Exception:
            logger.exception("could not publish %s", message["event_type"])
        return
    pending = getattr(_local, "pending", None)
    if pending is not None:
        pending.append((groups, message))
        return
    try:
        future = asyncio.run_coroutine_threadsafe(
            _send_all(layer, groups, message), _publisher_loop()
        )
    except Exception:
        logger.exception("could not publish %s", message["event_type"])
        return
    _wait(future, groups, message["event_type"])


def _send_together(pending: list[tuple[tuple[str, ...], dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    sends = [(group, message) for groups, message in pending for group in groups]
    groups = tuple(dict.fromkeys(group for group, _ in sends))
    what = f"{len(pending)} events"
    try:
        future = asyncio.run_coroutine_threadsafe(_send_many(layer, sends), _publisher_loop())
    except Exception:
        logger.exception("could not publish %s", what)
        return
    _wait(future, groups, what)


def _wait(future: concurrent.futures.Future[None], groups: tuple[str, ...], what: str) -> None:
    try:
        future.result(timeout=PUBLISH_TIMEOUT)
    except Exception:
        # The data is committed: the pages of these groups re-read it once Redis
        # takes messages again.
        logger.exception("could not publish %s", what)
        asyncio.run_coroutine_threadsafe(
            _resync_when_possible(get_channel_layer(), groups), _publisher_loop()
        )


async def _resync_when_possible(layer: Any, groups: tuple[str, ...]) -> None:
    """Tell ``groups`` to re-read, trying every second for a while."""
    waiting = set(groups)
    deadline = asyncio.get_running_loop().time() + RESYNC_RETRY_SECONDS
    while waiting:
        for group in sorted(waiting):
            with contextlib.suppress(Exception):  # Redis still away: try again shortly
                await layer.group_send(group, {"type": RESYNC_HANDLER})
                waiting.discard(group)
        if not waiting or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(1.0)
    if waiting:
        logger.error("could not tell %s to re-read what they missed", ", ".join(sorted(waiting)))


async def _send_all(layer: Any, groups: tuple[str, ...], message: dict[str, Any]) -> None:
    await asyncio.gather(*(layer.group_send(group, message) for group in groups))


async def _send_many(layer: Any, sends: list[tuple[str, dict[str, Any]]]) -> None:
    if isinstance(layer, PubSubChannelLayer):
        await layer.group_send_many(sends)
        return
    for group, message in sends:
        await layer.group_send(group, message)


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_loop_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop, started on first use (and again after a fork)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="realtime-publisher", daemon=True
            )
            thread.start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


class _PresenceChanges:
    """The presence changes held until the interval ends.

    With Redis (``REDIS_URL``) they are held there, shared by every process (web
    and workers): a change is stored in one hash, and the process that stores the
    first change of an interval takes the flusher's key for ``PRESENCE_INTERVAL``
    and sends, when it ends, every change the hash holds, whoever made it. So a
    socket gets at most one presence frame an interval however many processes
    there are. Without Redis (the embedded default, one process) they are held in
    the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, str] = {}
        self._timer: threading.Timer | None = None
        self._pid = os.getpid()
        self._redis: Any = None
        atexit.register(self.flush)

    def _shared(self) -> Any:
        """This process's Redis client, or None without Redis."""
        from django.conf import settings

        url = getattr(settings, "REDIS_URL", "")
        if not url:
            return None
        if self._redis is None or self._redis[0] != os.getpid():
            import redis

            self._redis = (os.getpid(), redis.Redis.from_url(url))
        return self._redis[1]

    @staticmethod
    def _keys() -> tuple[str, str]:
        from django.conf import settings

        config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
        prefix = config.get("prefix", "inbox")
        return f"{prefix}:presence:pending", f"{prefix}:presence:flusher"

    def _forked(self) -> None:
        if self._pid != os.getpid():
            # A forked child: the parent's changes and timer are not its own.
            self._pending, self._timer, self._pid = {}, None, os.getpid()

    def _schedule(self) -> None:
        if self._timer is None:
            self._timer = threading.Timer(PRESENCE_INTERVAL, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def add(self, user_id: int, presence: str) -> None:
        shared = self._shared()
        if shared is None:
            with self._lock:
                self._forked()
                self._pending.pop(user_id, None)
                self._pending[user_id] = presence
                self._schedule()
            return
        pending, flusher = self._keys()
        pipe = shared.pipeline(transaction=True)
        # Deleted first, so a user's last change comes last, as in one process.
        pipe.hdel(pending, user_id)
        pipe.hset(pending, user_id, presence)
        pipe.set(flusher, os.getpid(), nx=True, px=int(PRESENCE_INTERVAL * 1000))
        *_, flushes_here = pipe.execute()
        if flushes_here:
            with self._lock:
                self._forked()
                self._schedule()

    def flush(self) -> None:
        """Send the changes held, if this process is the one to send them."""
        with self._lock:
            if self._pid != os.getpid():
                return
            pending, self._pending = self._pending, {}
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if self._redis is not None and self._redis[0] == os.getpid():
            if timer is None:
                return  # another process sends them when its interval ends
            pending = self._take_shared()
        self._send(pending)

    def flush_orphaned(self) -> int:
        """Send changes nobody is to send (their flusher's process died before its
        interval ended); the number sent. Called by the workspace clock."""
        shared = self._shared()
        if shared is None:
            return 0
        held, flusher = self._keys()
        if not shared.exists(held) or not shared.set(
            flusher, os.getpid(), nx=True, px=int(PRESENCE_INTERVAL * 1000)
        ):
            return 0
        pending = self._take_shared()
        self._send(pending)
        return len(pending)

    def _take_shared(self) -> dict[int, str]:
        held, flusher = self._keys()
        pipe = self._redis[1].pipeline(transaction=True)
        pipe.hgetall(held)
        pipe.delete(held)
        # The next change after this takes the flusher's key again.
        pipe.delete(flusher)
        raw, *_ = pipe.execute()
        return {int(user_id): presence.decode() for user_id, presence in raw.items()}

    @staticmethod
    def _send(pending: dict[int, str]) -> None:
        if not pending:
            return
        event: dict[str, Any] = {"type": "presence.updated"}
        if len(pending) == 1:
            [(user_id, presence)] = pending.items()
            event.update(user_id=user_id, presence=presence)
        else:
            event["changes"] = [{"user_id": u, "presence": p} for u, p in pending.items()]
        groups = (PRESENCE_GROUP,)
        _send(groups, relay_message(event, groups=groups))


_presence = _PresenceChanges()
