"""Operators' WebSockets held by one Daphne process, and the memory each costs.

Starts its own database (a fresh one on the PostgreSQL server of DATABASE_URL)
and one Daphne process (production settings, its own channel-layer prefix on
REDIS_URL); creates operators in one team, each with a signed-in session made
directly in the database; opens one socket per operator with the session cookie
and an allowed Origin, each completing the handshake and receiving ``hello``.
Reads the server's resident memory (VmRSS) before and after, checks that every
socket still answers a ``ping`` with ``pong``, then that one event published to
the team reaches every socket. Cleans up after itself.

With ``--cold`` the operators start offline and a whole shift signs in: the
sockets open spread evenly over ``--open-over`` seconds (60) and stay, each
operator's coming online announced to every socket (presence). The run counts
the presence frames every socket received, the largest number any socket
received within one second, and the time from each change (its operator's
``hello``, after which the server records the change) to its frame at each
socket.

Last line: ``sockets held=<n> rss_per_socket_kb=<n> frames_per_socket=<n> presence_p99_ms=<n>``

The WebSocket client and the scratch stack are shared with ``bench/latency.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import os
import resource
import secrets
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
SECRET = "bench-app-secret"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPEN_FILES_WANTED = 65536


# --- The scratch stack: a database, Daphne processes, an in-process ORM -----------


def raise_open_files_limit() -> int:
    """Raise this process's open-files limit as far as allowed; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (local server)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kb(pid: int) -> int:
    """Resident memory of a process, from /proc (VmRSS, in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Stack:
    """A scratch database migrated for the inbox, Daphne processes in production
    mode on their own channel-layer prefix, and Django set up in this process on
    the same database and secret key (sessions made here are valid there)."""

    def __init__(self, name: str, *, servers: int, port: int) -> None:
        base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        self.redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
        self.database = f"inbox_{name}_{os.getpid()}"
        self.prefix = f"inbox-{name}-{os.getpid()}"
        self.admin_url = with_db(base_url, "postgres")
        self.database_url = with_db(base_url, self.database)
        self.ports = [port + i if port else free_port() for i in range(servers)]
        self.servers: list[subprocess.Popen[bytes]] = []
        self.env = os.environ.copy()
        self.env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            DJANGO_SETTINGS_MODULE="inbox.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            # TLS ends at the proxy in front of the servers; here there is none.
            DJANGO_SECURE_SSL_REDIRECT="0",
            # This run's own live events: nothing else on the Redis server is heard.
            CHANNEL_LAYER_PREFIX=self.prefix,
            DJANGO_LOG_LEVEL="WARNING",
            WHATSAPP_APP_SECRET=SECRET,
            WHATSAPP_ACCESS_TOKEN="bench",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        )
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def __enter__(self) -> Stack:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        try:
            manage = [sys.executable, str(ROOT / "manage.py")]
            subprocess.run([*manage, "migrate", "-v0"], env=self.env, cwd=ROOT, check=True)
            os.environ.update(self.env)
            sys.path.insert(0, str(ROOT))
            import django

            django.setup()
        except BaseException:
            self._drop_database()
            raise
        return self

    def start_servers(self) -> None:
        for port in self.ports:
            command = [sys.executable, "-m", "inbox.serve", "-v", "0", "-b", "127.0.0.1"]
            command += ["-p", str(port), "inbox.asgi:application"]
            self.servers.append(subprocess.Popen(command, env=self.env, cwd=ROOT))
        for port in self.ports:
            wait_for(f"http://127.0.0.1:{port}/health/")
        if any(server.poll() is not None for server in self.servers):
            raise SystemExit("a server exited at start (is its port taken?)")

    def stop_servers(self) -> None:
        for server in self.servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
        for server in self.servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop_servers()
        from django.db import connections

        connections.close_all()
        self._drop_database()

    def _drop_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@dataclass(frozen=True)
class Operator:
    user_id: int
    team_id: int
    session_key: str


def make_operators(count: int, teams: int, *, online: bool = False) -> list[Operator]:
    """``count`` operators spread evenly over ``teams`` new teams, each signed in:
    a session row as the login view would leave it (user, backend, password hash).
    ``online``: each is already present through another socket seen just now, so
    opening one more changes nobody's presence."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from conversations.models import AgentConnection, AgentProfile, Team

    role = Group.objects.get_or_create(name="operator")[0]
    team_rows = [Team.objects.create(name=f"Bench team {n + 1}") for n in range(teams)]
    # An unusable password is made in microseconds; hashing a real one would take minutes.
    users = User.objects.bulk_create(
        User(
            username=f"operator{n:05d}",
            first_name="Operator",
            last_name=f"{n:05d}",
            password=make_password(None),
        )
        for n in range(count)
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=role.pk) for user in users
    )
    team_of = {user.pk: team_rows[n % teams].pk for n, user in enumerate(users)}
    Team.members.through.objects.bulk_create(
        Team.members.through(team_id=team_of[user.pk], user_id=user.pk) for user in users
    )
    AgentProfile.objects.bulk_create(AgentProfile(user=user) for user in users)
    if online:
        AgentConnection.objects.bulk_create(
            AgentConnection(user=user, channel_name=f"elsewhere.{user.pk}") for user in users
        )
    store = SessionStore()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    operators: list[Operator] = []
    sessions: list[Session] = []
    for user in users:
        key = secrets.token_hex(16)
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expires)
        )
        operators.append(Operator(user_id=user.pk, team_id=team_of[user.pk], session_key=key))
    Session.objects.bulk_create(sessions, batch_size=1000)
    return operators


# --- A minimal WebSocket client (RFC 6455) over asyncio streams --------------------


def _mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return b""
    size = len(data)
    stream = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")


def _frame(payload: bytes, opcode: int) -> bytes:
    """A final, masked frame, as a client must send it."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    key = os.urandom(4)
    return head + key + _mask(payload, key)


class HandshakeRefused(Exception):
    pass


FrameHandler = Callable[["Socket", dict[str, Any], float], None]


class Socket:
    """One client WebSocket. A task reads its frames: answers the server's pings,
    decodes each text frame as JSON, resolves whoever waits for that ``type`` and
    hands every frame to ``on_frame`` with its arrival time (``perf_counter``)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tag: Any,
        on_frame: FrameHandler | None,
    ) -> None:
        self.reader, self.writer, self.tag = reader, writer, tag
        self.on_frame = on_frame
        self.frames = 0
        self.closed_with: int | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        port: int,
        *,
        path: str,
        cookie: str,
        origin: str,
        tag: Any = None,
        on_frame: FrameHandler | None = None,
    ) -> Socket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        key = base64.b64encode(os.urandom(16))
        writer.write(
            b"GET " + path.encode() + b" HTTP/1.1\r\n"
            b"Host: 127.0.0.1:" + str(port).encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n"
            b"Origin: " + origin.encode() + b"\r\n"
            b"Cookie: " + cookie.encode() + b"\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())  # noqa: S324 (the protocol's)
        if b" 101 " not in status or accept not in head:
            writer.close()
            raise HandshakeRefused(status.decode(errors="replace"))
        socket = cls(reader, writer, tag, on_frame)
        socket._task = asyncio.create_task(socket._read())
        return socket

    def expect(self, kind: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the next frame of this ``type``."""
        future = self._waiting.get(kind)
        if future is None or future.done():
            future = self._waiting[kind] = asyncio.get_running_loop().create_future()
        return future

    def send_json(self, content: dict[str, Any]) -> None:
        self.writer.write(_frame(orjson.dumps(content), 0x1))

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.writer.transport.abort()

    async def _read(self) -> None:
        reader = self.reader
        message = b""
        try:
            while True:
                first, second = await reader.readexactly(2)
                size = second & 0x7F
                if size == 126:
                    size = struct.unpack("!H", await reader.readexactly(2))[0]
                elif size == 127:
                    size = struct.unpack("!Q", await reader.readexactly(8))[0]
                key = await reader.readexactly(4) if second & 0x80 else b""
                payload = await reader.readexactly(size) if size else b""
                if key:
                    payload = _mask(payload, key)
                opcode = first & 0x0F
                if opcode == 0x9:  # the server's keepalive ping
                    self.writer.write(_frame(payload, 0xA))
                    continue
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    self.closed_with = code
                    return
                if opcode in (0x1, 0x2, 0x0):
                    message += payload
                    if not first & 0x80:
                        continue
                    self._deliver(message)
                    message = b""
        except (asyncio.IncompleteReadError, ConnectionError):
            if self.closed_with is None:
                self.closed_with = 1006
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.cancel()

    def _deliver(self, data: bytes) -> None:
        arrived = time.perf_counter()
        self.frames += 1
        event = orjson.loads(data)
        kind = event.get("type") if isinstance(event, dict) else None
        future = self._waiting.pop(kind, None) if isinstance(kind, str) else None
        if future is not None and not future.done():
            future.set_result(event)
        if self.on_frame is not None:
            self.on_frame(self, event, arrived)


async def open_sockets(
    operators: list[Operator],
    ports: list[int],
    origin: str,
    *,
    concurrency: int = 32,
    on_frame: FrameHandler | None = None,
    spread: float = 0.0,
) -> tuple[list[Socket], list[str]]:
    """One socket per operator (round robin over ``ports``), each through ``hello``;
    with ``spread``, the n-th starts n * spread / len(operators) seconds in."""
    gate = asyncio.Semaphore(concurrency)

    async def open_one(n: int, operator: Operator) -> Socket:
        if spread:
            await asyncio.sleep(n * spread / len(operators))
        async with gate:
            socket = await Socket.connect(
                ports[n % len(ports)],
                path="/ws/inbox/",
                cookie=f"sessionid={operator.session_key}",
                origin=origin,
                tag=operator,
                on_frame=on_frame,
            )
            hello = socket.expect("hello")
            try:
                await asyncio.wait_for(hello, timeout=30)
            except (TimeoutError, asyncio.CancelledError):
                socket.abort()
                raise HandshakeRefused(f"no hello (closed with {socket.closed_with})") from None
            return socket

    results = await asyncio.gather(
        *(open_one(n, operator) for n, operator in enumerate(operators)), return_exceptions=True
    )
    sockets = [result for result in results if isinstance(result, Socket)]
    failures = [repr(result) for result in results if not isinstance(result, Socket)]
    return sockets, failures


async def settle(sockets: list[Socket], quiet: float = 1.0, limit: float = 300.0) -> float:
    """Wait until no socket has received a frame for ``quiet`` seconds; the time waited."""
    started = time.monotonic()
    last_total = -1
    last_change = started
    while time.monotonic() - started < limit:
        total = sum(socket.frames for socket in sockets)
        now = time.monotonic()
        if total != last_total:
            last_total, last_change = total, now
        elif now - last_change >= quiet:
            break
        await asyncio.sleep(0.1)
    return time.monotonic() - started


# --- The connections bench -----------------------------------------------------------


class PresenceWatch:
    """Every presence frame the sockets receive: how many, when, and how long after
    the change it tells of."""

    def __init__(self) -> None:
        self.hello_at: dict[int, float] = {}
        self.arrivals: dict[int, list[float]] = {}
        # Delays in whole milliseconds: how many changes reached a socket after each.
        self.delays: dict[int, int] = {}
        self.frames = 0

    def on_frame(self, socket: Socket, event: dict[str, Any], arrived: float) -> None:
        kind = event.get("type")
        if kind == "hello":
            self.hello_at[event["user_id"]] = arrived
            return
        if kind != "presence.updated":
            return
        self.frames += 1
        self.arrivals.setdefault(id(socket), []).append(arrived)
        for change in event.get("changes") or [event]:
            since = self.hello_at.get(change["user_id"], arrived)
            ms = max(0, int((arrived - since) * 1000))
            self.delays[ms] = self.delays.get(ms, 0) + 1

    def largest_rate(self) -> int:
        """The most presence frames any socket received within one second."""
        best = 0
        for times in self.arrivals.values():
            start = 0
            for end, at in enumerate(times):
                while at - times[start] >= 1.0:
                    start += 1
                best = max(best, end - start + 1)
        return best

    def delay_ms(self, quantile: float) -> int:
        total = sum(self.delays.values())
        if not total:
            return 0
        wanted, seen = quantile * total, 0
        for ms in sorted(self.delays):
            seen += self.delays[ms]
            if seen >= wanted:
                return ms
        return max(self.delays)


async def _measure(
    stack: Stack,
    operators: list[Operator],
    concurrency: int,
    *,
    spread: float = 0.0,
    watch: PresenceWatch | None = None,
) -> dict[str, Any]:
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from conversations import realtime

    pid = stack.servers[0].pid
    # Warm-up, not counted: one socket opened and closed, so that the server's
    # lazily made parts (consumer code, Redis and database connections) are not
    # charged to the sockets.
    warm, _ = await open_sockets(operators[:1], stack.ports, stack.origin)
    for socket in warm:
        socket.abort()
    await asyncio.sleep(1.0)
    rss_before = rss_kb(pid)

    started = time.monotonic()
    sockets, failures = await open_sockets(
        operators[1:],
        stack.ports,
        stack.origin,
        concurrency=concurrency,
        on_frame=watch.on_frame if watch else None,
        spread=spread,
    )
    opened_in = time.monotonic() - started
    # With --cold, every operator coming online is announced to every socket open.
    settled_in = await settle(sockets)
    rss_after = rss_kb(pid)
    frames_while_opening = sum(socket.frames for socket in sockets)

    pongs = [socket.expect("pong") for socket in sockets]
    for socket in sockets:
        socket.send_json({"type": "ping"})
    done, _ = await asyncio.wait(pongs, timeout=60)
    answered = [s for s, p in zip(sockets, pongs, strict=True) if p in done and not p.cancelled()]

    layer = RedisPubSubChannelLayer(hosts=[stack.redis_url], prefix=stack.prefix)
    probes = [socket.expect("bench.probe") for socket in sockets]
    team_ids = sorted({operator.team_id for operator in operators})
    sent = time.perf_counter()
    for team_id in team_ids:
        await layer.group_send(
            f"team.{team_id}",
            realtime.relay_message(
                {"type": "bench.probe", "sent": sent}, groups=(f"team.{team_id}",)
            ),
        )
    done, _ = await asyncio.wait(probes, timeout=30)
    probe_ms = (time.perf_counter() - sent) * 1000
    reached = [s for s, p in zip(sockets, probes, strict=True) if p in done and not p.cancelled()]
    await layer.flush()

    held = len({id(s) for s in answered} & {id(s) for s in reached})
    closed = sum(1 for socket in sockets if socket.closed_with is not None)
    # The server goes first, so that closing the clients sets off no presence storm.
    stack.stop_servers()
    for socket in sockets:
        socket.abort()
    return {
        "opened": len(sockets),
        "failures": failures,
        "opened_in": opened_in,
        "settled_in": settled_in,
        "frames_while_opening": frames_while_opening,
        "pong": len(answered),
        "probe": len(reached),
        "probe_ms": probe_ms,
        "closed": closed,
        "held": held,
        "rss_before": rss_before,
        "rss_after": rss_after,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=2000, help="operators' sockets to hold")
    parser.add_argument("--teams", type=int, default=1, help="teams the operators are in")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="handshakes in flight (Daphne's backlog is 50)"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="operators start offline: each socket's coming online is announced to every "
        "socket already open (presence), N*(N-1)/2 frames in all",
    )
    parser.add_argument(
        "--open-over",
        type=float,
        default=60.0,
        help="with --cold: seconds over which the sockets open, evenly spread",
    )
    parser.add_argument("--port", type=int, default=0, help="first port; default: free ones")
    args = parser.parse_args()

    limit = raise_open_files_limit()
    if limit < args.sockets * 2 + 200:
        print(f"open-files limit {limit} is too low for {args.sockets} sockets", file=sys.stderr)
        return 1
    with Stack("sockets", servers=1, port=args.port) as stack:
        operators = make_operators(args.sockets + 1, args.teams, online=not args.cold)
        stack.start_servers()
        watch = PresenceWatch() if args.cold else None
        result = asyncio.run(
            _measure(
                stack,
                operators,
                args.concurrency,
                spread=args.open_over if args.cold else 0.0,
                watch=watch,
            )
        )

    for failure in sorted(set(result["failures"]))[:10]:
        print(f"failed: {failure}", file=sys.stderr)
    held = result["held"]
    grown = result["rss_after"] - result["rss_before"]
    per_socket = grown / result["opened"] if result["opened"] else 0.0
    print(
        f"asked={args.sockets} opened={result['opened']} failed={len(result['failures'])} "
        f"pong={result['pong']} probe={result['probe']} closed={result['closed']} "
        f"open_s={result['opened_in']:.1f} settle_s={result['settled_in']:.1f} "
        f"frames_while_opening={result['frames_while_opening']} probe_ms={result['probe_ms']:.0f} "
        f"rss_before_kb={result['rss_before']} rss_after_kb={result['rss_after']}"
    )
    if watch is None:
        print(f"sockets held={held} rss_per_socket_kb={per_socket:.0f}")
    else:
        opened = result["opened"] or 1
        print(
            f"presence frames={watch.frames} largest_frames_per_socket_second="
            f"{watch.largest_rate()} presence_p50_ms={watch.delay_ms(0.5)} "
            f"presence_max_ms={watch.delay_ms(1.0)}"
        )
        print(
            f"sockets held={held} rss_per_socket_kb={per_socket:.0f} "
            f"frames_per_socket={watch.frames / opened:.0f} "
            f"presence_p99_ms={watch.delay_ms(0.99)}"
        )
    return 0 if held == args.sockets else 1


if __name__ == "__main__":
    sys.exit(main())
