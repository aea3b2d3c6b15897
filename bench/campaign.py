"""A campaign to 10,000 customers through the simulator, paced at 200 messages a
second, on PostgreSQL and Redis with real RQ workers.

Creates its own database on the PostgreSQL server of DATABASE_URL (default: the
local server) and uses the Redis database of REDIS_URL (default 13, emptied
first); registers the simulator's number at ``--rate`` messages per second with an
unlimited tier, opts ``--recipients`` customers in to order updates, builds the
campaign through the service the API calls, starts ``--workers`` workers as the
Procfile does (``rqworker default --with-scheduler``) and starts the campaign. The
simulator runs in this process and counts every send per customer; its status
webhooks are off (this measures the send path, not the webhook's).

Prints the achieved rate (between the first and the last send the simulator
took), the workers' CPU time per message, and the duplicates (sends beyond the
first to a customer). Last line:
``campaign target_per_s=<n> achieved_per_s=<n> recipients=<n> duplicates=<n>``.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret"
BODY = [
    {
        "type": "BODY",
        "text": "Hello {{1}}, your order is late: it arrives on {{2}}.",
        "example": {"body_text": [["Anna", "Friday"]]},
    }
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    database = f"inbox_bench_campaign_{os.getpid()}"
    admin_url = _with_db(base_url, "postgres")
    bench_url = _with_db(base_url, database)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    workers: list[subprocess.Popen[bytes]] = []
    sim = None
    try:
        from simulator import Simulator

        sim = Simulator("http://127.0.0.1:9/webhooks/whatsapp/", SECRET, "bench").start()
        sim._start_statuses = lambda outbound: None  # type: ignore[method-assign]
        env = os.environ.copy()
        env.update(
            DATABASE_URL=bench_url,
            REDIS_URL=redis_url,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_LOG_LEVEL="WARNING",
            CHANNEL_LAYER_PREFIX=f"inbox-bench-{os.getpid()}",
            WHATSAPP_APP_SECRET=SECRET,
            WHATSAPP_ACCESS_TOKEN="bench",
            WHATSAPP_GRAPH_URL=sim.graph_url,
            INBOX_CAMPAIGN_SEND_JOBS=str(args.workers),
        )
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
        import django

        django.setup()
        import redis
        from django.core.management import call_command

        redis.Redis.from_url(redis_url).flushdb()
        call_command("migrate", verbosity=0)
        campaign_id = _setup(sim, args.recipients, args.rate)

        for _ in range(args.workers):
            workers.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "rqworker", "default", "--with-scheduler"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(3)  # the workers import Django and connect
        from campaigns import services
        from campaigns.models import Campaign

        started = time.monotonic()
        services.campaign_start(campaign=Campaign.objects.get(pk=campaign_id))
        while Campaign.objects.get(pk=campaign_id).status != "done":
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"not done after {args.timeout} s")
            time.sleep(0.5)
        wall = time.monotonic() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()
        if sim is not None:
            sim.stop()
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    sent = sim.sent_messages()
    per_customer = Counter(record["to"] for record in sent)
    duplicates = sum(n - 1 for n in per_customer.values())
    times = sorted(record["received_at"] for record in sent)
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(f"sent {len(sent)} messages to {len(per_customer)} customers in {wall:.1f} s")
    print(
        f"workers' CPU per message {cpu / max(1, len(sent)) * 1000:.2f} ms "
        f"({args.workers} workers); load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"campaign target_per_s={args.rate} achieved_per_s={achieved:.1f} "
        f"recipients={len(per_customer)} duplicates={duplicates}"
    )
    return 0 if duplicates == 0 and len(per_customer) == args.recipients else 1


def _setup(sim, recipients: int, rate: int) -> int:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from campaigns import services
    from campaigns.models import AccountTier, NumberPace
    from conversations import services as core
    from conversations.models import Consent, ConsentCategory, ConsentChange, Contact
    from templates_app.models import MessageTemplate

    number = core.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Bench",
    )
    NumberPace.objects.create(number=number, messages_per_second=rate)
    AccountTier.objects.create(waba_id=sim.waba_id, tier="TIER_UNLIMITED")
    core.compliance_policy_update(quiet_hours=None, frequency_cap=None, allowed_countries=None)
    sim.add_template(
        {"name": "order_late", "language": "en", "category": "UTILITY", "components": BODY}
    )
    template = MessageTemplate.objects.create(
        waba_id=sim.waba_id,
        name="order_late",
        language="en",
        category="UTILITY",
        components=BODY,
        status="APPROVED",
    )
    category = ConsentCategory.objects.create(
        waba_id=sim.waba_id, slug="orders", name="Orders", template_categories=["UTILITY"]
    )
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        [Contact(wa_id=f"39333{i:07d}", phone=f"+39333{i:07d}") for i in range(recipients)]
    )
    changes = ConsentChange.objects.bulk_create(
        [
            ConsentChange(
                contact=c, waba_id=sim.waba_id, category=category, state="opted_in", source="import"
            )
            for c in contacts
        ]
    )
    Consent.objects.bulk_create(
        [
            Consent(
                contact=c,
                category=category,
                state="opted_in",
                changed_at=now,
                source="import",
                change=change,
            )
            for c, change in zip(contacts, changes, strict=True)
        ]
    )
    campaign = services.campaign_create(
        name="Bench",
        number_id=number.pk,
        consent_category="orders",
        variants=[{"template": template.pk, "share": 100}],
        audience={"wa_ids": [c.wa_id for c in contacts]},
        parameters={"body": ["there", "Friday"]},
    )
    return campaign.pk


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


if __name__ == "__main__":
    raise SystemExit(main())
