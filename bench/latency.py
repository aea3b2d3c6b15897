"""Live latency: from a customer's webhook POST to the frame on every operator's
WebSocket that may show it.

Starts its own database and Daphne processes like ``bench/sockets.py`` (whose
WebSocket client and scratch stack it uses); creates teams of operators, each
signed in and connected (round robin over the servers), and one business number
per team, so that a customer's chat belongs to the team of the number they
write to. Warm-up, not counted: each customer writes once, which opens their
chat. Then signed one-message webhooks are posted at a steady rate, spread over
the customers of every team, and each ``message.created`` frame is timed from
the start of its POST to its arrival. Every operator of the chat's team must
receive it once; a socket of another team must receive nothing about that chat
(counted as violations). Cleans up after itself.

Last line: ``latency p50_ms=<n> p99_ms=<n> events_per_s=<n> operators=<n>``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.sockets import (
    SECRET,
    Operator,
    Socket,
    Stack,
    make_operators,
    open_sockets,
    raise_open_files_limit,
    settle,
)
from simulator import wire

WABA_ID = "102290129340398"
MARK = "bench-"


@dataclass(frozen=True)
class Customer:
    wa_id: str
    team_id: int
    phone_number_id: str


@dataclass
class Tally:
    """What the operators' sockets received, as it arrives."""

    sent: dict[int, float] = field(default_factory=dict)
    team_of_event: dict[int, int] = field(default_factory=dict)
    team_of_conversation: dict[int, int] = field(default_factory=dict)
    received: set[tuple[int, int]] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    duplicates: int = 0
    violations: int = 0

    def on_frame(self, socket: Socket, event: dict[str, Any], arrived: float) -> None:
        operator: Operator = socket.tag
        conversation_id = event.get("conversation_id")
        team_id = self.team_of_conversation.get(conversation_id, operator.team_id)
        if team_id != operator.team_id:
            self.violations += 1
            return
        if event.get("type") != "message.created":
            return
        text = str((event.get("message") or {}).get("text") or "")
        if not text.startswith(MARK):
            return
        n = int(text[len(MARK) :])
        if self.team_of_event.get(n) != operator.team_id:
            self.violations += 1
            return
        key = (n, operator.user_id)
        if key in self.received:
            self.duplicates += 1
            return
        self.received.add(key)
        self.latencies.append(arrived - self.sent[n])


def _webhook(customer: Customer, n: int, text: str) -> bytes:
    """One signed single-message webhook, in the platform's exact format."""
    message = wire.inbound_message(
        wa_id=customer.wa_id,
        wamid=f"wamid.LATENCY{n:09d}",
        timestamp=int(time.time()),
        message_type="text",
        content={"body": text},
    )
    body = wire.encode(
        wire.webhook(
            waba_id=WABA_ID,
            display_phone_number=customer.phone_number_id[-11:],
            phone_number_id=customer.phone_number_id,
            value={
                "contacts": [
                    {"profile": {"name": f"Customer {customer.wa_id}"}, "wa_id": customer.wa_id}
                ],
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


class Poster:
    """Keep-alive HTTP connections to the servers; each POST takes a free one."""

    def __init__(self, ports: list[int], connections: int) -> None:
        self.ports, self.size = ports, connections
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.errors = 0
        self.answered_in: list[float] = []

    async def open(self) -> None:
        for n in range(self.size):
            self.free.put_nowait(
                await asyncio.open_connection("127.0.0.1", self.ports[n % len(self.ports)])
            )

    async def post(self, request: bytes, on_start: Any = None) -> bool:
        reader, writer = await self.free.get()
        try:
            if on_start is not None:
                on_start()
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            self.answered_in.append(time.perf_counter() - started)
        finally:
            self.free.put_nowait((reader, writer))
        if status != 200:
            self.errors += 1
        return status == 200

    def close(self) -> None:
        while not self.free.empty():
            self.free.get_nowait()[1].close()


def _setup(
    operators: int, teams: int, customers_per_team: int
) -> tuple[list[Operator], list[Customer]]:
    from conversations.models import Team, WhatsAppNumber

    people = make_operators(operators, teams)
    customers: list[Customer] = []
    for position, team in enumerate(Team.objects.order_by("pk")):
        phone_number_id = f"1065403522{position:05d}"
        WhatsAppNumber.objects.create(
            phone_number_id=phone_number_id,
            display_phone_number=phone_number_id[-11:],
            waba_id=WABA_ID,
            name=f"{team.name} line",
            team=team,
        )
        customers += [
            Customer(f"44790{position:03d}{n:04d}", team.pk, phone_number_id)
            for n in range(customers_per_team)
        ]
    return people, customers


def _conversation_teams() -> dict[int, int]:
    from conversations.models import Conversation

    return dict(Conversation.objects.values_list("pk", "team_id"))


async def _measure(
    stack: Stack,
    operators: list[Operator],
    customers: list[Customer],
    *,
    rate: float,
    seconds: float,
    connections: int,
) -> dict[str, Any]:
    tally = Tally()
    sockets, failures = await open_sockets(
        operators, stack.ports, stack.origin, on_frame=tally.on_frame
    )
    if failures:
        raise SystemExit(f"{len(failures)} sockets failed to open: {failures[:3]}")
    # Everyone coming online is announced to everyone; let that pass.
    await settle(sockets)
    poster = Poster(stack.ports, connections)
    await poster.open()

    # Warm-up, not counted: each customer's first message opens their chat.
    warm = [
        poster.post(_webhook(customer, -1 - n, f"Hello, I am customer {n}"))
        for n, customer in enumerate(customers)
    ]
    if not all(await asyncio.gather(*warm)):
        raise SystemExit("the warm-up webhooks were not all accepted")
    await settle(sockets)
    tally.team_of_conversation.update(await asyncio.to_thread(_conversation_teams))
    warm_violations, tally.violations = tally.violations, 0

    count = int(rate * seconds)
    # Consecutive events go to different teams, so every team is busy all the time.
    by_team: dict[int, list[Customer]] = defaultdict(list)
    for customer in customers:
        by_team[customer.team_id].append(customer)
    team_ids = sorted(by_team)
    plan: list[tuple[int, Customer, bytes]] = []
    for n in range(count):
        team_id = team_ids[n % len(team_ids)]
        team_customers = by_team[team_id]
        customer = team_customers[(n // len(team_ids)) % len(team_customers)]
        plan.append((n, customer, _webhook(customer, n, f"{MARK}{n}")))
        tally.team_of_event[n] = team_id
    accepted: list[int] = []

    async def post_at(due: float, n: int, request: bytes) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

        def started() -> None:
            tally.sent[n] = time.perf_counter()

        if await poster.post(request, started):
            accepted.append(n)

    poster.answered_in.clear()
    began = time.perf_counter() + 0.1
    await asyncio.gather(*(post_at(began + n / rate, n, request) for n, _, request in plan))
    took = time.perf_counter() - began
    operators_of = {team_id: 0 for team_id in team_ids}
    for operator in operators:
        operators_of[operator.team_id] += 1
    expected = sum(operators_of[tally.team_of_event[n]] for n in accepted)
    deadline = time.monotonic() + 5
    while len(tally.received) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await settle(sockets, quiet=0.5, limit=5)
    poster.close()
    closed = sum(1 for socket in sockets if socket.closed_with is not None)
    stack.stop_servers()
    for socket in sockets:
        socket.abort()
    return {
        "planned": count,
        "accepted": len(accepted),
        "took": took,
        "expected": expected,
        "received": len(tally.received),
        "duplicates": tally.duplicates,
        "violations": tally.violations,
        "warm_violations": warm_violations,
        "http_errors": poster.errors,
        "answered_in": sorted(poster.answered_in),
        "closed": closed,
        "latencies": sorted(tally.latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="webhooks posted per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--operators", type=int, default=100)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--customers-per-team", type=int, default=20)
    parser.add_argument("--servers", type=int, default=2, help="Daphne processes")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive webhook senders")
    parser.add_argument("--port", type=int, default=0, help="first port; default: free ones")
    args = parser.parse_args()

    raise_open_files_limit()
    with Stack("latency", servers=args.servers, port=args.port) as stack:
        operators, customers = _setup(args.operators, args.teams, args.customers_per_team)
        stack.start_servers()
        result = asyncio.run(
            _measure(
                stack,
                operators,
                customers,
                rate=args.rate,
                seconds=args.seconds,
                connections=args.connections,
            )
        )

    latencies = result["latencies"]
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0.0
    lost = result["expected"] - result["received"]
    answered = result["answered_in"]
    http_p99 = answered[max(0, int(len(answered) * 0.99) - 1)] * 1000 if answered else 0.0
    rate = result["accepted"] / result["took"] if result["took"] else 0.0
    print(
        f"events={result['planned']} accepted={result['accepted']} "
        f"http_errors={result['http_errors']} frames_expected={result['expected']} "
        f"frames_received={result['received']} lost={lost} duplicates={result['duplicates']} "
        f"violations={result['violations'] + result['warm_violations']} "
        f"sockets_closed={result['closed']} servers={args.servers} teams={args.teams} "
        f"max_ms={(latencies[-1] * 1000 if latencies else 0):.1f} "
        f"webhook_p50_ms={statistics.median(answered) * 1000 if answered else 0:.1f} "
        f"webhook_p99_ms={http_p99:.1f}"
    )
    print(
        f"latency p50_ms={p50:.1f} p99_ms={p99:.1f} events_per_s={rate:.0f} "
        f"operators={args.operators}"
    )
    clean = (
        lost == 0
        and result["duplicates"] == 0
        and result["violations"] + result["warm_violations"] == 0
        and result["accepted"] == result["planned"]
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
