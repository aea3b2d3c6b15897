"""Sustained webhook ingest through the whole path, beside bare INSERT+COMMIT.

Starts its own database (a fresh one on the PostgreSQL server of DATABASE_URL)
and Daphne processes (production settings, their own channel-layer prefix on
REDIS_URL); opens each customer's conversation with a first message (warm-up,
not counted); then posts signed one-message webhooks from those customers over
keep-alive connections for a fixed time, and checks that every accepted webhook
is a committed row and a published event; then measures bare single-row
INSERT+COMMIT through psycopg on the same server. Cleans up after itself.

With ``--mix real`` the traffic is a busy number's: each customer message is
followed by the three status webhooks (sent, delivered, read) of an earlier
message of ours to that customer, one event per POST as the platform sends
them; a quarter of the messages have their ``read`` arrive before ``delivered``,
a quarter their ``sent`` after ``delivered``, a quarter one report twice. The
messages of ours are stored before the clock starts (as the send job leaves
them: accepted, WhatsApp's id saved, our id travelling as callback data). The
check then also holds every accepted report stored once, every message of ours
at the highest status reported, and one published event per status change.

Last line: ``ingest events_per_s=<n> bare_insert_per_s=<n> ratio=<r> p50_ms=<n> p99_ms=<n>``
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulator import wire

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"
# More requests are prepared than any run on one machine can send in its time.
REQUESTS_PER_SECOND_CEILING = 5000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--connections", type=int, default=64, help="keep-alive connections posting at once"
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=500,
        help="customers writing; the first message of each opens their conversation",
    )
    parser.add_argument(
        "--servers", type=int, default=2, help="Daphne processes (one per core is the deployment)"
    )
    parser.add_argument(
        "--mix",
        choices=("messages", "real"),
        default="messages",
        help="customer messages only, or each followed by three statuses of ours",
    )
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument(
        "--profile", metavar="DIR", help="record each server with py-spy into DIR (speedscope)"
    )
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    database = f"inbox_bench_{os.getpid()}"
    prefix = f"inbox-bench-{os.getpid()}"
    admin_url = _with_db(base_url, "postgres")
    bench_url = _with_db(base_url, database)

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    servers: list[subprocess.Popen[bytes]] = []
    try:
        env = os.environ.copy()
        env.update(
            DATABASE_URL=bench_url,
            REDIS_URL=redis_url,
            # As in production: no debug cursor recording every query.
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            # TLS ends at the proxy in front of the servers; here there is none.
            DJANGO_SECURE_SSL_REDIRECT="0",
            # This run's own live events: nothing else on the Redis server is counted.
            CHANNEL_LAYER_PREFIX=prefix,
            DJANGO_LOG_LEVEL="WARNING",
            WHATSAPP_APP_SECRET=SECRET,
            WHATSAPP_ACCESS_TOKEN="bench",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        )
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        subprocess.run(
            [*manage, "demo_setup", "--no-auto-replies", "--phone-number-id", PHONE_NUMBER_ID],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        ports = [args.port + i for i in range(args.servers)]
        for port in ports:
            command = [sys.executable, "-m", "inbox.serve", "-v", "0", "-b", "127.0.0.1"]
            command += ["-p", str(port), "inbox.asgi:application"]
            if args.profile:
                output = Path(args.profile) / f"ingest-{port}.speedscope.json"
                command = [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-f",
                    os.environ.get("BENCH_PROFILE_FORMAT", "speedscope"),
                    "-o",
                    str(output),
                    "--",
                    *command,
                ]
            servers.append(
                subprocess.Popen(
                    command,
                    env=env,
                    cwd=ROOT,
                )
            )
        for port in ports:
            _wait_for(f"http://127.0.0.1:{port}/health/")

        load = asyncio.run(
            _load(
                ports,
                args.connections,
                args.customers,
                args.seconds,
                redis_url,
                prefix,
                real=args.mix == "real",
                bench_url=bench_url,
            )
        )
        accepted, latencies, published = load.accepted, load.latencies, load.published
        with psycopg.connect(bench_url) as conn:
            stored = (
                conn.execute(
                    "SELECT count(*) FROM conversations_message WHERE direction = 'in'"
                ).fetchone()[0]
                - load.warmed_up
            )
            wrong = _check_statuses(conn, load) if args.mix == "real" else []
        bare = _bare_insert_rate(bench_url, seconds=min(args.seconds, 5.0))
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    rate = accepted / args.seconds
    messages = load.messages_accepted
    expected_published = messages + load.status_changes
    if stored != messages or published != expected_published or wrong:
        print(
            f"LOST OR DOUBLED: messages accepted={messages} stored={stored} "
            f"published={published} expected={expected_published}",
            file=sys.stderr,
        )
        for line in wrong[:20]:
            print(line, file=sys.stderr)
        return 1
    latencies.sort()
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    print(
        f"mix={args.mix} accepted={accepted} (messages={messages} "
        f"statuses={accepted - messages}) stored={stored} published={published} "
        f"connections={args.connections} servers={args.servers} seconds={args.seconds}"
    )
    print(
        f"ingest events_per_s={rate:.0f} bare_insert_per_s={bare:.0f} "
        f"ratio={rate / bare:.2f} p50_ms={p50:.1f} p99_ms={p99:.1f}"
    )
    return 0


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (local server)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def _customer(n: int, worker: int, customers: int) -> str:
    return f"4479{worker:04d}{n % customers:04d}"


def _message_body(n: int, worker: int, customers: int) -> bytes:
    """One single-message webhook, in the platform's exact format."""
    wa_id = _customer(n, worker, customers)
    message = wire.inbound_message(
        wa_id=wa_id,
        wamid=f"wamid.BENCH{worker:03d}{n:09d}",
        timestamp=int(time.time()),
        message_type="text",
        content={"body": f"Where is my order {n}?"},
    )
    return wire.encode(
        wire.webhook(
            waba_id="102290129340398",
            display_phone_number="15550783881",
            phone_number_id=PHONE_NUMBER_ID,
            value={
                "contacts": [{"profile": {"name": f"Customer {wa_id}"}, "wa_id": wa_id}],
                "messages": [message],
            },
        )
    )


def _status_body(ours: Ours, status: str, timestamp: int) -> bytes:
    """One status webhook about a message of ours, as the platform posts it."""
    report: dict[str, object] = {
        "id": ours.wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": ours.wa_id,
        "biz_opaque_callback_data": str(ours.id),
    }
    if status != "read":
        report["conversation"] = {"id": "6ceb9d929c9bdc4f90e967a32f8639b4"}
        report["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
        if status == "sent":
            report["conversation"]["origin"] = {"type": "service"}  # type: ignore[index]
    return wire.encode(
        wire.webhook(
            waba_id="102290129340398",
            display_phone_number="15550783881",
            phone_number_id=PHONE_NUMBER_ID,
            value={"statuses": [report]},
        )
    )


def _signed(body: bytes) -> bytes:
    head = (
        "POST /webhooks/whatsapp/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        f"X-Hub-Signature-256: {wire.sign(body, SECRET)}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


RANK = {"accepted": 2, "sent": 3, "delivered": 5, "read": 6}
# How the platform's reports of one message arrive: in order, read before
# delivered, sent after delivered, one of them twice.
ORDERS = (
    ("sent", "delivered", "read"),
    ("sent", "read", "delivered"),
    ("delivered", "sent", "read"),
    ("sent", "delivered", "delivered", "read"),
)


@dataclass(slots=True)
class Ours:
    """A message of ours, sent earlier, whose reports the run posts."""

    id: uuid.UUID
    wamid: str
    wa_id: str
    status: str = "accepted"
    reported: set[tuple[str, int]] = field(default_factory=set)


@dataclass(slots=True)
class Post:
    request: bytes
    ours: Ours | None = None
    status: str = ""
    timestamp: int = 0


def _group(n: int, worker: int, customers: int, real: bool) -> list[Post]:
    """Customer message ``n`` of connection ``worker``, and (``real``) the reports
    of the message of ours sent to the same customer before it."""
    posts = [Post(_signed(_message_body(n, worker, customers)))]
    if not real:
        return posts
    wa_id = _customer(n, worker, customers)
    ours = Ours(uuid.uuid4(), f"wamid.OURS{worker:03d}{n:09d}", wa_id)
    sent_at = int(time.time()) - 60
    times = {"sent": sent_at, "delivered": sent_at + 1, "read": sent_at + 5}
    for status in ORDERS[n % len(ORDERS)]:
        body = _status_body(ours, status, times[status])
        posts.append(Post(_signed(body), ours, status, times[status]))
    return posts


@dataclass(slots=True)
class Load:
    accepted: int = 0
    messages_accepted: int = 0
    status_changes: int = 0
    published: int = 0
    warmed_up: int = 0
    latencies: list[float] = field(default_factory=list)
    ours: list[Ours] = field(default_factory=list)


def _store_ours(url: str, ours: list[Ours]) -> None:
    """Our messages, as the send job leaves them: accepted, with WhatsApp's id."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO conversations_message (
              id, conversation_id, direction, wamid, type, text, content, context_wamid,
              status, error_title, error_details, timestamp, created_at, send_attempts,
              automatic, media_file, media_state, media_attempts, media_error, deferred_reason)
            SELECT o.id, c.id, 'out', o.wamid, 'text', 'Your order is on its way', '{}', '',
                   'accepted', '', '', now() - interval '1 minute', now(), 1,
                   false, '', '', 0, '', ''
            FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS o(id, wamid, wa_id)
            JOIN conversations_contact ct ON ct.wa_id = o.wa_id
            JOIN conversations_conversation c ON c.contact_id = ct.id
            """,
            [[o.id for o in ours], [o.wamid for o in ours], [o.wa_id for o in ours]],
        )


def _check_statuses(conn: psycopg.Connection, load: Load) -> list[str]:
    """Every accepted report stored once; every message of ours at the highest
    status reported."""
    wrong = []
    reported = {o.wamid: o for o in load.ours if o.reported}
    rows = conn.execute(
        "SELECT wamid, status, extract(epoch FROM timestamp)::bigint, applied "
        "FROM conversations_statusreport"
    ).fetchall()
    stored: dict[str, set[tuple[str, int]]] = {}
    for wamid, status, timestamp, applied in rows:
        keys = stored.setdefault(wamid, set())
        if (status, timestamp) in keys:
            wrong.append(f"{wamid}: {status} stored twice")
        keys.add((status, timestamp))
        if not applied:
            wrong.append(f"{wamid}: {status} not applied")
    for wamid, ours in reported.items():
        if stored.get(wamid, set()) != ours.reported:
            wrong.append(
                f"{wamid}: reports {sorted(stored.get(wamid, ()))} != {sorted(ours.reported)}"
            )
    statuses = dict(
        conn.execute(
            "SELECT wamid, status FROM conversations_message WHERE wamid = ANY(%s)",
            [list(reported)],
        ).fetchall()
    )
    for wamid, ours in reported.items():
        if statuses.get(wamid) != ours.status:
            wrong.append(f"{wamid}: {statuses.get(wamid)} where {ours.status} was reported")
    return wrong


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


async def _load(
    ports: list[int],
    connections: int,
    customers: int,
    seconds: float,
    redis_url: str,
    prefix: str,
    *,
    real: bool,
    bench_url: str,
) -> Load:
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer = RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix)
    channel = await layer.new_channel()
    # Supervisors hear of every conversation's messages.
    await layer.group_add("supervisors", channel)
    load = Load()
    stop_listening = asyncio.Event()

    async def listen() -> None:
        while not stop_listening.is_set():
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=0.5)
            except TimeoutError:
                continue
            load.published += 1

    # Signed bodies are made before the clock starts, so that the load generator
    # spends the machine's cores on sending, not on JSON and HMAC.
    per_connection = max(1, customers // connections)
    posts_per_group = 4.25 if real else 1
    groups = int(seconds * REQUESTS_PER_SECOND_CEILING / connections / posts_per_group) + 1
    warm_up = [
        [Post(_signed(_message_body(n, worker, per_connection))) for n in range(per_connection)]
        for worker in range(connections)
    ]
    prepared = [
        [
            post
            for n in range(per_connection, per_connection + groups)
            for post in _group(n, worker, per_connection, real)
        ]
        for worker in range(connections)
    ]
    listener = asyncio.create_task(listen())
    errors = 0
    streams = [
        await asyncio.open_connection("127.0.0.1", ports[worker % len(ports)])
        for worker in range(connections)
    ]

    async def send(worker: int, posts: list[Post], deadline: float) -> None:
        nonlocal errors
        reader, writer = streams[worker]
        for post in posts:
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            writer.write(post.request)
            status = await _read_response(reader)
            load.latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1
                continue
            load.accepted += 1
            ours = post.ours
            if ours is None:
                load.messages_accepted += 1
                continue
            key = (post.status, post.timestamp)
            if key in ours.reported:
                continue  # a repeated report changes nothing
            ours.reported.add(key)
            if RANK[post.status] > RANK[ours.status]:
                ours.status = post.status
                load.status_changes += 1

    # Warm-up, not counted: each customer's first message opens their conversation.
    # What is measured is the day's common case, customers writing in open chats.
    await asyncio.gather(*(send(i, warm_up[i], math.inf) for i in range(connections)))
    warmed_up = load.accepted
    # A new conversation publishes several events: wait until they have all landed.
    settle = time.monotonic() + 10
    heard = -1
    while (load.published < warmed_up or heard != load.published) and time.monotonic() < settle:
        heard = load.published
        await asyncio.sleep(0.5)
    load.warmed_up = warmed_up
    load.ours = list(
        {id(post.ours): post.ours for posts in prepared for post in posts if post.ours}.values()
    )
    if real:
        await asyncio.to_thread(_store_ours, bench_url, load.ours)
    load.accepted = load.messages_accepted = load.published = errors = 0
    load.latencies.clear()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(send(i, prepared[i], deadline) for i in range(connections)))
    for _, writer in streams:
        writer.close()
    # Events are sent after commit and before the answer; allow the last ones to land.
    expected = load.messages_accepted + load.status_changes
    settle = time.monotonic() + 5
    while load.published < expected and time.monotonic() < settle:
        await asyncio.sleep(0.1)
    stop_listening.set()
    await listener
    if errors:
        print(f"non-200 answers: {errors}", file=sys.stderr)
    return load


def _bare_insert_rate(url: str, seconds: float) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_bare (id bigserial PRIMARY KEY, body text NOT NULL)")
        conn.commit()
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            conn.execute("INSERT INTO bench_bare (body) VALUES (%s)", ("Where is my order?",))
            conn.commit()
            count += 1
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_bare")
        conn.commit()
    return count / elapsed


if __name__ == "__main__":
    sys.exit(main())
