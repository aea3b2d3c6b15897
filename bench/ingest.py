"""Sustained webhook ingest through the whole path, beside bare INSERT+COMMIT.

Starts its own database (a fresh one on the PostgreSQL server of DATABASE_URL)
and Daphne processes (production settings, their own channel-layer prefix on
REDIS_URL); opens each customer's conversation with a first message (warm-up,
not counted); then posts signed one-message webhooks from those customers over
keep-alive connections for a fixed time, and checks that every accepted webhook
is a committed row and a published event; then measures bare single-row
INSERT+COMMIT through psycopg on the same server. Cleans up after itself.

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

        accepted, latencies, published, warmed_up = asyncio.run(
            _load(ports, args.connections, args.customers, args.seconds, redis_url, prefix)
        )
        with psycopg.connect(bench_url) as conn:
            stored = (
                conn.execute(
                    "SELECT count(*) FROM conversations_message WHERE direction = 'in'"
                ).fetchone()[0]
                - warmed_up
            )
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
    if stored < accepted or published < accepted:
        print(f"LOST: accepted={accepted} stored={stored} published={published}", file=sys.stderr)
        return 1
    latencies.sort()
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    print(
        f"accepted={accepted} stored={stored} published={published} "
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


def _request(n: int, worker: int, customers: int) -> bytes:
    """One signed single-message webhook, in the platform's exact format."""
    wa_id = f"4479{worker:04d}{n % customers:04d}"
    message = wire.inbound_message(
        wa_id=wa_id,
        wamid=f"wamid.BENCH{worker:03d}{n:09d}",
        timestamp=int(time.time()),
        message_type="text",
        content={"body": f"Where is my order {n}?"},
    )
    body = wire.encode(
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
    head = (
        "POST /webhooks/whatsapp/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        f"X-Hub-Signature-256: {wire.sign(body, SECRET)}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


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
) -> tuple[int, list[float], int, int]:
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer = RedisPubSubChannelLayer(hosts=[redis_url], prefix=prefix)
    channel = await layer.new_channel()
    # Supervisors hear of every conversation's messages.
    await layer.group_add("supervisors", channel)
    published = 0
    stop_listening = asyncio.Event()

    async def listen() -> None:
        nonlocal published
        while not stop_listening.is_set():
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=0.5)
            except TimeoutError:
                continue
            published += 1

    # Signed bodies are made before the clock starts, so that the load generator
    # spends the machine's cores on sending, not on JSON and HMAC.
    per_connection = max(1, customers // connections)
    per_client = per_connection + int(seconds * REQUESTS_PER_SECOND_CEILING / connections) + 1
    prepared = [
        [_request(n, worker, per_connection) for n in range(per_client)]
        for worker in range(connections)
    ]
    listener = asyncio.create_task(listen())
    latencies: list[float] = []
    accepted = 0
    errors = 0
    streams = [
        await asyncio.open_connection("127.0.0.1", ports[worker % len(ports)])
        for worker in range(connections)
    ]

    async def send(worker: int, requests: list[bytes], deadline: float) -> None:
        nonlocal accepted, errors
        reader, writer = streams[worker]
        for request in requests:
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status == 200:
                accepted += 1
            else:
                errors += 1

    # Warm-up, not counted: each customer's first message opens their conversation.
    # What is measured is the day's common case, customers writing in open chats.
    await asyncio.gather(
        *(send(i, prepared[i][:per_connection], math.inf) for i in range(connections))
    )
    warmed_up = accepted
    settle = time.monotonic() + 5
    while published < warmed_up and time.monotonic() < settle:
        await asyncio.sleep(0.05)
    accepted = published = errors = 0
    latencies.clear()
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(send(i, prepared[i][per_connection:], deadline) for i in range(connections))
    )
    for _, writer in streams:
        writer.close()
    # Events are sent after commit and before the answer; allow the last ones to land.
    settle = time.monotonic() + 5
    while published < accepted and time.monotonic() < settle:
        await asyncio.sleep(0.1)
    stop_listening.set()
    await listener
    if errors:
        print(f"non-200 answers: {errors}", file=sys.stderr)
    return accepted, latencies, published, warmed_up


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
