"""The conversation list and a thread, timed at 100,000 conversations and 1,000,000 messages.

Creates its own database on the PostgreSQL server of DATABASE_URL, migrates it and
fills it with COPY: three teams, two business numbers, operators and a supervisor,
100,000 customers with one conversation each (statuses, assignees, teams and labels
mixed as in a busy inbox), 1,000,000 messages of customers' and operators' text, a
few long-running chats with thousands of messages. Then times the API views as the
operator's page calls them (DRF's request factory, authenticated as an operator of
one team and as a supervisor, JSON rendered) and the selectors they use: the list
with the page's default filters, with each filter, with search and with
``sort=window``; a long thread's first and newest pages. Prints p50/p99 and the SQL
statements of each, and drops the database.

Last line: ``queries list_p50_ms=<n> list_p99_ms=<n> thread_p50_ms=<n> thread_p99_ms=<n>
search_p50_ms=<n> conversations=<n> messages=<n>`` (the worst case of each group).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEAMS = ("Support", "Sales", "Billing")
LABELS = ("VIP", "Refund", "Delivery", "Complaint", "Wholesale", "Warranty", "Lead", "Urgent")
FIRST_NAMES = (
    "Anna Maria Olga Ivan Peter John Sofia Lucas Emma Noah Mia Liam Chloe Omar Fatima Ali "
    "Hannah Leon Elena Marco Giulia Pablo Lucia Yuki Kenji Aisha Daniel Sara David Nina Tomas "
    "Ines Hugo Clara Felix Laura Mateo Julia Adam Eva"
).split()
LAST_NAMES = (
    "Petrov Ivanova Smith Johnson Garcia Martinez Rossi Bianchi Muller Schmidt Dubois Martin "
    "Silva Santos Kowalski Nowak Tanaka Sato Khan Ahmed Novak Horvat Jensen Larsen Costa Ferreira "
    "Lopez Gonzalez Weber Fischer Moreau Laurent Popescu Ionescu Yilmaz Kaya Nielsen Berg"
).split()
CUSTOMER_LINES = (
    "Hi, where is my order {order}?",
    "Hello! I ordered the {item} last week and it still hasn't arrived.",
    "Can I change the delivery address for order {order}?",
    "The {item} arrived broken, I would like a refund please.",
    "Do you have the {item} in {color}?",
    "How much is shipping to {city}?",
    "Thanks, that was quick!",
    "Is the {item} still on sale?",
    "I was charged twice for order {order}, can you check?",
    "What time do you open on Saturday?",
    "ok",
    "Can I pay by bank transfer?",
    "My tracking number doesn't work: {tracking}",
    "I need an invoice for my company for order {order}.",
    "The courier left the parcel at the wrong door in {city}.",
    "Please cancel order {order}.",
)
OPERATOR_LINES = (
    "Hello {name}, thanks for writing! Let me check that for you.",
    "Your order {order} left our warehouse today, tracking: {tracking}.",
    "I'm sorry about the {item}. I've started a refund, you'll see it in 3-5 days.",
    "Yes, the {item} is available in {color}.",
    "Shipping to {city} is free above 50 EUR.",
    "We're open 9:00-18:00 on Saturdays.",
    "Done, the address on order {order} is updated.",
    "You're welcome, {name}! Anything else?",
    "I've sent the invoice for order {order} to your email.",
    "Order {order} is cancelled; the refund is on its way.",
)
ITEMS = "kettle,lamp,backpack,sneakers,jacket,headphones,blender,chair,phone case,watch".split(",")
COLORS = "black,white,red,navy,green,beige".split(",")
CITIES = "Berlin,Lisbon,Madrid,Milan,Warsaw,Prague,Vienna,Lyon,Porto,Riga,Oslo,Vilnius".split(",")
# Conversations with this many messages each: the long threads whose pages are timed.
LONG_THREADS = (20_000, 5_000, 5_000, 2_000, 2_000)


@dataclass
class Result:
    name: str
    group: str
    queries: int
    p50: float
    p99: float
    rows: int
    sql_p50: float
    selector_p50: float | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each request")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database; print its name")
    parser.add_argument(
        "--reuse", metavar="NAME", help="time an existing database filled by --keep (migrated)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of each request's SQL"
    )
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database = args.reuse or f"inbox_queries_{os.getpid()}"
    admin_url = _with_db(base_url, "postgres")
    bench_url = _with_db(base_url, database)
    if not args.reuse:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
    try:
        _django(bench_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if args.reuse:
            people = _people()
        else:
            started = time.perf_counter()
            people = _setup(random.Random(args.seed))
            _fill(bench_url, people, args.conversations, args.messages, random.Random(args.seed))
            print(f"filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        # As the web process does once it runs (inbox.serve): what exists after
        # starting is left out of later garbage collections.
        from inbox.serve import freeze_startup_objects

        freeze_startup_objects()
        results = _measure(people, args.runs, args.explain)
        runs = args.runs
        counts = _counts(bench_url)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep or args.reuse:
            print(f"database kept: {database}", file=sys.stderr)
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    print(
        f"{'request':<44} {'SQL':>4} {'rows':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'SQL p50':>8} {'selector':>9}"
    )
    for r in results:
        selector = f"{r.selector_p50:9.1f}" if r.selector_p50 is not None else ""
        print(
            f"{r.name:<44} {r.queries:>4} {r.rows:>6} {r.p50:8.1f} {r.p99:8.1f} "
            f"{r.sql_p50:8.1f} {selector}"
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"runs={runs} each; load average while measuring: {load}")

    def worst(group: str, attr: str) -> float:
        return max(getattr(r, attr) for r in results if r.group == group)

    print(
        f"queries list_p50_ms={worst('list', 'p50'):.1f} list_p99_ms={worst('list', 'p99'):.1f} "
        f"thread_p50_ms={worst('thread', 'p50'):.1f} thread_p99_ms={worst('thread', 'p99'):.1f} "
        f"search_p50_ms={worst('search', 'p50'):.1f} "
        f"conversations={counts[0]} messages={counts[1]}"
    )
    return 0


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
    # As in production: no debug cursor recording every query.
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + uuid.uuid4().hex * 2)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


@dataclass
class People:
    teams: list[Any]
    numbers: list[Any]
    labels: list[Any]
    operators: dict[int, list[Any]]  # team id -> its operators
    operator: Any  # the one whose page is timed: a member of the first team
    supervisor: Any


def _setup(rng: random.Random) -> People:
    from django.contrib.auth.models import Group, User

    from conversations.models import Label, Team, WhatsAppNumber

    operator_group = Group.objects.get(name="operator")
    supervisor_group = Group.objects.get(name="supervisor")
    teams = [Team.objects.create(name=name) for name in TEAMS]
    numbers = [
        WhatsAppNumber.objects.create(
            phone_number_id=f"10654035224292{i}",
            display_phone_number=f"1555078388{i}",
            waba_id="102290129340398",
            name=f"{team.name} line",
            team=team,
        )
        for i, team in enumerate(teams[:2])
    ]
    labels = [Label.objects.create(name=name) for name in LABELS]
    operators: dict[int, list[Any]] = {}
    for team in teams:
        for i in range(4):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            user = User(
                username=f"{team.name.lower()}{i}", first_name=first, last_name=last, is_active=True
            )
            user.set_unusable_password()
            user.save()
            user.groups.add(operator_group)
            team.members.add(user)
            operators.setdefault(team.id, []).append(user)
    supervisor = User(username="supervisor", first_name="Sam", last_name="Supervisor")
    supervisor.set_unusable_password()
    supervisor.save()
    supervisor.groups.add(supervisor_group)
    return People(teams, numbers, labels, operators, operators[teams[0].id][0], supervisor)


def _people() -> People:
    from django.contrib.auth.models import User

    from conversations.models import Label, Team, WhatsAppNumber

    teams = list(Team.objects.order_by("id"))
    operators = {team.id: list(team.members.order_by("id")) for team in teams}
    return People(
        teams,
        list(WhatsAppNumber.objects.order_by("id")),
        list(Label.objects.order_by("id")),
        operators,
        operators[teams[0].id][0],
        User.objects.get(username="supervisor"),
    )


def _fill(url: str, people: People, conversations: int, messages: int, rng: random.Random) -> None:
    """Contacts, conversations, labels and messages, with COPY."""
    now = dt.datetime.now(dt.UTC)
    team_ids = [team.id for team in people.teams]
    number_team = {number.id: number.team_id for number in people.numbers}
    label_ids = [label.id for label in people.labels]

    # Messages per conversation: a few long threads, the rest a few to a couple of dozen.
    counts = list(LONG_THREADS[: max(0, min(len(LONG_THREADS), conversations // 1000))])
    remaining = max(0, messages - sum(counts))
    rest = conversations - len(counts)
    average = remaining / rest if rest else 0
    for _ in range(rest):
        counts.append(max(1, int(rng.expovariate(1 / average)) if average else 1))
    scale = remaining / max(1, sum(counts[len(LONG_THREADS) :]))
    for i in range(len(LONG_THREADS), len(counts)):
        counts[i] = max(1, round(counts[i] * scale))
    counts[-1] += messages - sum(counts)

    contact_rows = io.StringIO()
    conversation_rows = io.StringIO()
    label_rows = io.StringIO()
    message_rows: list[tuple[int, int, dt.datetime, dt.datetime, str]] = []
    statuses = ["open"] * 30 + ["pending"] * 10 + ["snoozed"] * 5 + ["resolved"] * 55
    for index in range(conversations):
        conversation_id = index + 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        wa_id = f"{rng.choice(('44', '49', '34', '39', '48', '351'))}{rng.randrange(10**9, 10**10)}"
        name = f"{first} {last}" if rng.random() < 0.9 else ""
        contact_rows.write(f"{conversation_id}\t{wa_id}\t\t{name}\t+{wa_id}\t\t{_ts(now)}\n")
        number_id = people.numbers[index % len(people.numbers)].id
        # A chat's team is its number's, moved by operators now and then; some have none.
        roll = rng.random()
        if index < len(LONG_THREADS):
            team_id: int | None = team_ids[0]
        elif roll < 0.08:
            team_id = None
        elif roll < 0.25:
            team_id = rng.choice(team_ids)
        else:
            team_id = number_team[number_id]
        status = "open" if index < len(LONG_THREADS) else rng.choice(statuses)
        assignee = (
            rng.choice(people.operators[team_id]).id
            if team_id is not None and (status != "open" or rng.random() < 0.6)
            else None
        )
        # Recent chats are the open ones; resolved ones go back a year.
        age_days = rng.expovariate(1 / 3) if status != "resolved" else rng.uniform(0, 365)
        last_at = now - dt.timedelta(days=age_days, seconds=rng.randrange(86400))
        count = counts[index]
        span = dt.timedelta(days=min(400, 1 + count / 20), seconds=rng.randrange(86400))
        created = last_at - span
        waiting = status == "open" and rng.random() < 0.5
        last_inbound = last_at if waiting or rng.random() < 0.5 else last_at - dt.timedelta(hours=1)
        snoozed = _ts(now + dt.timedelta(hours=rng.randrange(1, 48))) if status == "snoozed" else ""
        text = _line(rng, OPERATOR_LINES if not waiting else CUSTOMER_LINES, first)[:200]
        conversation_rows.write(
            "\t".join(
                (
                    str(conversation_id),
                    str(number_id),
                    str(conversation_id),
                    status,
                    snoozed or "\\N",
                    str(team_id) if team_id is not None else "\\N",
                    str(assignee) if assignee is not None else "\\N",
                    _ts(last_inbound) if waiting else "\\N",
                    _ts(last_at),
                    text,
                    _ts(last_inbound),
                    str(rng.randrange(1, 4) if waiting else 0),
                    _ts(created),
                )
            )
            + "\n"
        )
        if rng.random() < 0.2:
            for label_id in rng.sample(label_ids, rng.choice((1, 1, 2))):
                label_rows.write(f"{conversation_id}\t{label_id}\n")
        message_rows.append((conversation_id, count, created, last_at, first))

    with psycopg.connect(url) as conn:
        with conn.cursor() as cursor:
            with cursor.copy(
                "COPY conversations_contact (id, wa_id, user_id, profile_name, phone, country, "
                "created_at) FROM STDIN"
            ) as copy:
                copy.write(contact_rows.getvalue())
            with cursor.copy(
                "COPY conversations_conversation (id, number_id, contact_id, status, snoozed_until,"
                " team_id, assignee_id, waiting_since, last_message_at, last_message_text, "
                "last_inbound_at, unread_count, created_at) FROM STDIN"
            ) as copy:
                copy.write(conversation_rows.getvalue())
            with cursor.copy(
                "COPY conversations_conversation_labels (conversation_id, label_id) FROM STDIN"
            ) as copy:
                copy.write(label_rows.getvalue())
            for table in ("contact", "conversation", "conversation_labels"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('conversations_{table}', 'id'), "
                    f"(SELECT max(id) FROM conversations_{table}))"
                )
            with cursor.copy(
                "COPY conversations_message (id, conversation_id, direction, wamid, type, text, "
                "content, context_wamid, status, error_title, error_details, timestamp, "
                "created_at, send_attempts) FROM STDIN"
            ) as copy:
                for chunk in _message_chunks(message_rows, rng, people):
                    copy.write(chunk)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def _message_chunks(
    conversations: list[tuple[int, int, dt.datetime, dt.datetime, str]],
    rng: random.Random,
    people: People,
) -> Iterator[str]:
    buffer: list[str] = []
    serial = 0
    for conversation_id, count, created, last_at, first in conversations:
        step = (last_at - created) / count
        inbound = True
        for n in range(count):
            serial += 1
            at = _ts(created + step * (n + 1))
            if inbound:
                text = _line(rng, CUSTOMER_LINES, first)
                row = (
                    f"{uuid.uuid4()}\t{conversation_id}\tin\twamid.HBgL{serial:012d}\ttext\t"
                    f"{text}\t{{}}\t\treceived\t\t\t{at}\t{at}\t0\n"
                )
            else:
                text = _line(rng, OPERATOR_LINES, first)
                status = rng.choice(("read", "read", "delivered", "sent"))
                row = (
                    f"{uuid.uuid4()}\t{conversation_id}\tout\twamid.HBgO{serial:012d}\ttext\t"
                    f"{text}\t{{}}\t\t{status}\t\t\t{at}\t{at}\t1\n"
                )
            buffer.append(row)
            # Customers often write twice before an answer.
            inbound = not inbound if rng.random() < 0.7 else inbound
        if len(buffer) > 20_000:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def _line(rng: random.Random, lines: tuple[str, ...], name: str) -> str:
    return rng.choice(lines).format(
        order=f"#{rng.randrange(100000, 999999)}",
        item=rng.choice(ITEMS),
        color=rng.choice(COLORS),
        city=rng.choice(CITIES),
        tracking=f"JD{rng.randrange(10**11, 10**12)}",
        name=name,
    )


def _ts(value: dt.datetime) -> str:
    return value.isoformat()


def _counts(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        conversations = conn.execute("SELECT count(*) FROM conversations_conversation").fetchone()
        messages = conn.execute("SELECT count(*) FROM conversations_message").fetchone()
    return conversations[0], messages[0]


def _measure(people: People, runs: int, explain: bool) -> list[Result]:
    from django.db import connection
    from rest_framework.test import APIRequestFactory, force_authenticate

    from conversations import api, selectors
    from conversations.models import Conversation, Message

    factory = APIRequestFactory()
    list_view = api.ConversationList.as_view()
    thread_view = api.ConversationMessages.as_view()
    operator, supervisor = people.operator, people.supervisor
    long_thread = 1  # the first conversation holds the longest thread (Support, open)
    thread_count = Message.objects.filter(conversation_id=long_thread).count()
    # Search terms an operator types: part of a name, of a phone number, an order number
    # quoted by the customer, and a word many messages hold.
    contact = Conversation.objects.select_related("contact").get(id=50_000 % _max_id() or 1).contact
    surname = contact.profile_name.split()[-1] if contact.profile_name else "Petrov"
    phone_part = contact.wa_id[-7:]
    order = (
        Message.objects.filter(
            conversation__in=Conversation.objects.filter(team=people.teams[0], status="open")
            .exclude(id__lte=len(LONG_THREADS))
            .order_by("id")[:1],
            text__contains="#",
        )
        .values_list("text", flat=True)
        .first()
    )
    order_number = order.split("#")[1][:6] if order else "123456"

    def listing(user: Any, group: str = "list", **params: Any) -> Callable[[], tuple[Any, int]]:
        query = {"status": "open", "assignee": "anyone", "limit": 200} | params

        def call() -> tuple[Any, int]:
            request = factory.get("/api/v1/conversations/", query)
            force_authenticate(request, user=user)
            response = list_view(request)
            response.render()
            assert response.status_code == 200, response.content
            return response, 0  # rows counted once, outside the timed runs

        return call

    def selector(user: Any, **params: Any) -> Callable[[], tuple[Any, int]]:
        limit = params.pop("limit", 200)
        query = {"status": "open", "assignee": "anyone"} | params
        for key in ("team", "label"):
            if key in query:
                query[key] = int(query[key])

        def call() -> tuple[Any, int]:
            conversations = selectors.conversation_list(user=user, **query)
            conversations.count()
            rows = list(conversations[:limit])
            return rows, len(rows)

        return call

    def thread(user: Any, offset: int) -> Callable[[], tuple[Any, int]]:
        def call() -> tuple[Any, int]:
            request = factory.get(
                f"/api/v1/conversations/{long_thread}/messages/", {"limit": 200, "offset": offset}
            )
            force_authenticate(request, user=user)
            response = thread_view(request, pk=long_thread)
            response.render()
            assert response.status_code == 200, response.content
            return response, len(response.data["results"])

        return call

    newest = max(0, thread_count - 200)
    cases: list[tuple[str, str, Callable[[], tuple[Any, int]], Callable[[], Any] | None]] = []

    def add(name: str, group: str, user: Any, **params: Any) -> None:
        cases.append((name, group, listing(user, **params), selector(user, **params)))

    add("list operator (open, anyone)", "list", operator)
    add("list supervisor (open, anyone)", "list", supervisor)
    add("list operator all statuses", "list", operator, status="")
    add("list operator status=pending", "list", operator, status="pending")
    add("list operator assignee=me", "list", operator, assignee="me")
    add("list operator assignee=unassigned", "list", operator, assignee="unassigned")
    add("list supervisor team=Sales", "list", supervisor, team=str(people.teams[1].id))
    add("list operator label=Refund", "list", operator, label=str(people.labels[1].id))
    add(
        "list supervisor label=Urgent, all",
        "list",
        supervisor,
        status="",
        label=str(people.labels[7].id),
    )
    add("list operator sort=window", "list", operator, sort="window")
    add("list supervisor sort=window", "list", supervisor, sort="window")
    add(f"search operator name {surname!r}", "search", operator, search=surname)
    add(f"search supervisor phone {phone_part!r}", "search", supervisor, search=phone_part)
    add(f"search operator order {order_number!r}", "search", operator, search=order_number)
    add(
        f"search supervisor order, all {order_number!r}",
        "search",
        supervisor,
        status="",
        search=order_number,
    )
    add("search operator word 'refund'", "search", operator, search="refund")
    cases.append(
        (f"thread operator first page ({thread_count})", "thread", thread(operator, 0), None)
    )
    cases.append(("thread operator newest page", "thread", thread(operator, newest), None))
    cases.append(("thread supervisor newest page", "thread", thread(supervisor, newest), None))

    from django.test.utils import CaptureQueriesContext

    results = []
    for name, group, call, select in cases:
        with CaptureQueriesContext(connection) as captured:
            response, _ = call()
            rows = len(orjson.loads(response.content)["results"])
        if explain:
            _explain(name, captured.captured_queries)
        for _ in range(3):
            call()
        timings = []
        sql_timings = []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as run:
                started = time.perf_counter()
                call()
                timings.append((time.perf_counter() - started) * 1000)
            sql_timings.append(sum(float(q["time"]) for q in run.captured_queries) * 1000)
        selector_p50 = None
        if select is not None:
            select()
            selector_p50 = statistics.median(_timed(select) for _ in range(max(5, runs // 5)))
        results.append(
            Result(
                name,
                group,
                len(captured.captured_queries),
                *_percentiles(timings),
                rows,
                statistics.median(sql_timings),
                selector_p50,
            )
        )
        print(f"  {name}: {results[-1].p50:.1f} ms", file=sys.stderr)
    return results


def _max_id() -> int:
    from conversations.models import Conversation

    return Conversation.objects.order_by("-id").values_list("id", flat=True).first() or 1


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    p99 = timings[min(len(timings) - 1, math.ceil(len(timings) * 0.99) - 1)]
    return statistics.median(timings), p99


def _explain(name: str, queries: list[dict[str, str]]) -> None:
    from django.db import connection

    print(f"\n=== {name}", file=sys.stderr)
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"--- {sql[:300]}\n{plan}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
