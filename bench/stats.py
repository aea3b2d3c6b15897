"""The supervisors' dashboard, timed at 100,000 conversations and 1,000,000 messages
over 90 days.

Creates its own database on the PostgreSQL server of DATABASE_URL, migrates it and
fills it with COPY (the people of ``bench/queries.py``: three teams, two numbers,
twelve operators and a supervisor): 100,000 customers from six countries, one
conversation each, 1,000,000 messages over the last 90 days (customers' messages
answered by their chat's operators after a few seconds to a few hours; a share
of the chats resolved, some of them reopened), and SLA policies on two teams. Then
``rebuild_stats`` computes every reply fact and hourly rollup from those rows (timed),
and the answers are timed as the dashboard asks for them, through the whole Django
stack (middleware, session authentication as the supervisor, JSON rendered): the
summary, the breakdowns by operator, day and hour, the distribution of response
times and the heatmap (the dashboard page's own requests) for the last 7, 30 and
90 days, and the operator's conversation list
(first page, open chats of their team). Prints the median and p90 of each, and
drops the database.

Last line: ``stats list_ms=<n> dashboard_7d_ms=<n> dashboard_30d_ms=<n>
dashboard_90d_ms=<n>``: medians; a period's figure is the slowest of the dashboard's
answers for it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import queries  # noqa: E402  (bench/queries.py: the people and the texts)

COUNTRIES = (("44", "GB"), ("49", "DE"), ("34", "ES"), ("39", "IT"), ("48", "PL"), ("7", "RU"))
DAYS = 90


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each request")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database; print its name")
    parser.add_argument("--reuse", metavar="NAME", help="time a database kept by --keep")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database = args.reuse or f"inbox_stats_{os.getpid()}"
    admin_url = queries._with_db(base_url, "postgres")
    bench_url = queries._with_db(base_url, database)
    if not args.reuse:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
    try:
        queries._django(bench_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if args.reuse:
            people = queries._people()
        else:
            rng = random.Random(args.seed)
            started = time.perf_counter()
            people = queries._setup(rng)
            _fill(bench_url, people, args.conversations, args.messages, rng)
            filled = time.perf_counter() - started
            print(f"filled in {filled:.0f} s", file=sys.stderr)
            started = time.perf_counter()
            from analytics import services

            hours = services.rollups_rebuild()
            rebuilt = time.perf_counter() - started
            print(f"rebuild_stats: {hours} hours in {rebuilt:.0f} s", file=sys.stderr)
            with psycopg.connect(bench_url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        results = _measure(people, args.runs)
        counts = queries._counts(bench_url)
        facts = _fact_counts(bench_url)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep or args.reuse:
            print(f"database kept: {database}", file=sys.stderr)
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    print(f"{'request':<40} {'p50 ms':>8} {'p90 ms':>8}")
    for name, (p50, p90) in results.items():
        print(f"{name:<40} {p50:8.1f} {p90:8.1f}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"conversations={counts[0]} messages={counts[1]} episodes={facts[0]} waits={facts[1]} "
        f"rollup_rows={facts[2]}; runs={args.runs} each; load average: {load}"
    )

    def period(days: int) -> float:
        return max(p50 for name, (p50, _) in results.items() if name.endswith(f" {days}d"))

    print(
        f"stats list_ms={results['conversation list'][0]:.1f} "
        f"dashboard_7d_ms={period(7):.1f} dashboard_30d_ms={period(30):.1f} "
        f"dashboard_90d_ms={period(90):.1f}"
    )
    return 0


def _fill(
    url: str, people: queries.People, conversations: int, messages: int, rng: random.Random
) -> None:
    """Contacts, conversations, labels, messages and status changes, with COPY."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=DAYS)
    team_ids = [team.id for team in people.teams]
    number_team = {number.id: number.team_id for number in people.numbers}
    label_ids = [label.id for label in people.labels]
    per_conversation = messages / conversations

    contacts = io.StringIO()
    rows = io.StringIO()
    labels = io.StringIO()
    plans: list[tuple[int, int, dt.datetime, list[int], str, bool, int | None]] = []
    written = 0
    for index in range(conversations):
        pk = index + 1
        prefix, country = rng.choice(COUNTRIES)
        wa_id = f"{prefix}{rng.randrange(10**9, 10**10)}"
        first, last = rng.choice(queries.FIRST_NAMES), rng.choice(queries.LAST_NAMES)
        contacts.write(
            f"{pk}\t{wa_id}\t\t{first} {last}\t+{wa_id}\t{country}\t{start.isoformat()}\n"
        )
        number_id = people.numbers[index % len(people.numbers)].id
        team_id = number_team[number_id] if rng.random() < 0.85 else rng.choice(team_ids)
        operators = [u.id for u in people.operators[team_id]]
        count = (
            messages - written
            if index == conversations - 1
            else max(2, round(rng.expovariate(1 / per_conversation)))
        )
        count = max(1, min(count, messages - written - (conversations - index - 1)))
        written += count
        # More chats start in working hours and on weekdays, as in a real inbox.
        begins = start + dt.timedelta(seconds=rng.randrange(DAYS * 86400 - 3600))
        if begins.weekday() >= 5 and rng.random() < 0.5:
            begins -= dt.timedelta(days=2)
        if not 8 <= begins.hour < 19 and rng.random() < 0.6:
            begins = begins.replace(hour=rng.randrange(9, 18))
        begins = max(start, min(begins, now - dt.timedelta(minutes=10)))
        resolved = rng.random() < 0.7
        assignee = rng.choice(operators) if rng.random() < 0.9 else None
        plans.append((pk, count, begins, operators, first, resolved, assignee))
        if rng.random() < 0.2:
            for label_id in rng.sample(label_ids, rng.choice((1, 1, 2))):
                labels.write(f"{pk}\t{label_id}\n")
        rows.write(
            "\t".join(
                (
                    str(pk),
                    str(number_id),
                    str(pk),
                    "resolved" if resolved else "open",
                    str(team_id),
                    str(assignee) if assignee else "\\N",
                    begins.isoformat(),
                    "",
                    begins.isoformat(),
                    "0",
                    begins.isoformat(),
                )
            )
            + "\n"
        )

    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY conversations_contact (id, wa_id, user_id, profile_name, phone, country, "
            "created_at) FROM STDIN"
        ) as copy:
            copy.write(contacts.getvalue())
        with cursor.copy(
            "COPY conversations_conversation (id, number_id, contact_id, status, team_id, "
            "assignee_id, last_message_at, last_message_text, last_inbound_at, unread_count, "
            "created_at) FROM STDIN"
        ) as copy:
            copy.write(rows.getvalue())
        with cursor.copy(
            "COPY conversations_conversation_labels (conversation_id, label_id) FROM STDIN"
        ) as copy:
            copy.write(labels.getvalue())
        events = io.StringIO()
        with cursor.copy(
            "COPY conversations_message (id, conversation_id, direction, wamid, type, text, "
            "content, context_wamid, status, error_title, error_details, timestamp, "
            "created_at, send_attempts, sent_by_id) FROM STDIN"
        ) as copy:
            for chunk in _messages(plans, rng, now, events):
                copy.write(chunk)
        with cursor.copy(
            "COPY conversations_conversationevent (conversation_id, kind, actor_id, data, "
            "created_at) FROM STDIN"
        ) as copy:
            copy.write(events.getvalue())
        for table in ("contact", "conversation", "conversation_labels", "conversationevent"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('conversations_{table}', 'id'), "
                f"(SELECT max(id) FROM conversations_{table}))"
            )
        conn.commit()
    from analytics.models import SlaPolicy

    SlaPolicy.objects.create(
        name="Support", team=people.teams[0], first_response_minutes=15, next_reply_minutes=30
    )
    SlaPolicy.objects.create(
        name="Sales",
        team=people.teams[1],
        first_response_minutes=60,
        resolution_minutes=24 * 60,
        business_hours=False,
    )


def _messages(
    plans: list[tuple[int, int, dt.datetime, list[int], str, bool, int | None]],
    rng: random.Random,
    now: dt.datetime,
    events: io.StringIO,
) -> Iterator[str]:
    """Each chat's messages: the customer writes one to three messages, an operator
    answers after a few seconds to a few hours (sooner in the day), and so on; a
    resolved chat gets its status change after the last message, and one in ten
    of those is reopened by the customer and resolved again."""
    buffer: list[str] = []
    serial = 0
    for pk, count, at, operators, first, resolved, assignee in plans:
        inbound = True
        written = 0
        reopen_at = count - max(1, count // 3) if resolved and rng.random() < 0.1 else None
        while written < count:
            if reopen_at is not None and written == reopen_at:
                at += dt.timedelta(minutes=rng.randrange(5, 60))
                events.write(
                    f"{pk}\tstatus\t\\N\t"
                    + '{"from": "open", "to": "resolved"}'
                    + f"\t{at.isoformat()}\n"
                )
                at += dt.timedelta(hours=rng.randrange(1, 72))
                inbound = True
            serial += 1
            if inbound:
                text = queries._line(rng, queries.CUSTOMER_LINES, first)
                sender = "\\N"
                direction, status, wamid = "in", "received", f"wamid.HBgL{serial:012d}"
            else:
                text = queries._line(rng, queries.OPERATOR_LINES, first)
                sender = str(assignee or rng.choice(operators))
                direction, status, wamid = "out", "read", f"wamid.HBgO{serial:012d}"
            at = min(at, now - dt.timedelta(seconds=1))
            stamp = at.isoformat()
            buffer.append(
                f"{uuid.uuid4()}\t{pk}\t{direction}\t{wamid}\ttext\t{text}\t{{}}\t\t{status}"
                f"\t\t\t{stamp}\t{stamp}\t0\t{sender}\n"
            )
            written += 1
            if inbound and rng.random() < 0.6:
                inbound = False
                # Answered in seconds to hours: most within a few minutes.
                at += dt.timedelta(seconds=min(6 * 3600, int(rng.lognormvariate(5.5, 1.3))))
            else:
                inbound = True
                at += dt.timedelta(seconds=rng.randrange(20, 1800))
        if resolved:
            at = min(at + dt.timedelta(minutes=rng.randrange(1, 240)), now)
            actor = str(assignee or rng.choice(operators))
            events.write(
                f"{pk}\tstatus\t{actor}\t"
                + '{"from": "open", "to": "resolved"}'
                + f"\t{at.isoformat()}\n"
            )
        if len(buffer) > 20_000:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def _fact_counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(f"SELECT count(*) FROM analytics_{table}").fetchone()[0]
            for table in ("episode", "wait", "hourlyrollup")
        )


def _measure(people: queries.People, runs: int) -> dict[str, tuple[float, float]]:
    from django.test import Client
    from django.utils import timezone

    supervisor = Client()
    supervisor.force_login(people.supervisor)
    operator = Client()
    operator.force_login(people.operator)
    now = timezone.now()

    def timed(client: Client, path: str, params: dict[str, Any]) -> Callable[[], None]:
        def call() -> None:
            answer = client.get(path, params, secure=True)
            assert answer.status_code == 200, answer.content[:300]

        return call

    requests: dict[str, Callable[[], None]] = {
        "conversation list": timed(
            operator,
            "/api/v1/conversations/",
            {"status": "open", "assignee": "anyone", "team": people.teams[0].id, "limit": 50},
        )
    }
    for days in (7, 30, 90):
        period = {
            "since": (now - dt.timedelta(days=days)).isoformat(),
            "until": now.isoformat(),
        }
        requests[f"summary {days}d"] = timed(supervisor, "/api/v1/stats/summary/", period)
        for by in ("operator", "day", "hour"):
            requests[f"breakdown by {by} {days}d"] = timed(
                supervisor, "/api/v1/stats/breakdown/", {**period, "by": by}
            )
        requests[f"distribution {days}d"] = timed(supervisor, "/api/v1/stats/distribution/", period)
        requests[f"heatmap {days}d"] = timed(supervisor, "/api/v1/stats/heatmap/", period)
    results = {}
    for name, call in requests.items():
        call()  # warm: connection, caches
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        results[name] = (statistics.median(times), times[min(len(times) - 1, int(runs * 0.9))])
    return results


if __name__ == "__main__":
    raise SystemExit(main())
