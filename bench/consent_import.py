"""The consent import on a CSV of 10,000 rows with a few hundred bad ones.

Creates its own database on the PostgreSQL server of DATABASE_URL (default: the
local server), migrates it, makes two consent categories (order updates: UTILITY;
offers: MARKETING), writes a CSV of ``--rows`` rows of which about 3% have an
invalid number, 1% an unknown category and 2% an opt-in to offers without its
source and date (quarantined), imports it with the service the import job runs,
checks the report adds up, and drops the database.

Last line: ``consent_import rows=<n> imported=<n> refused=<n> quarantined=<n> seconds=<n>``.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WABA = "102290129340398"
SOURCES = ("website_form", "checkout", "sms", "email")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database = f"inbox_consent_import_{os.getpid()}"
    admin_url = _with_db(base_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        _django(_with_db(base_url, database))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from conversations import services
        from conversations.models import Consent, ConsentImport

        for slug, categories in (("order-updates", ["UTILITY"]), ("offers", ["MARKETING"])):
            services.consent_category_create(
                waba_id=WABA, slug=slug, name=slug, template_categories=categories
            )
        text, expected = _csv(args.rows, random.Random(args.seed))
        started = time.perf_counter()
        job = services.consent_import_create(waba_id=WABA, csv_text=text)
        done = services.consent_import_run(import_id=job.pk)
        seconds = time.perf_counter() - started
        assert done is not None and done.status == ConsentImport.Status.DONE, done
        got = {"imported": done.imported, "refused": done.refused, "quarantined": done.quarantined}
        assert got == expected, (got, expected)
        assert len(done.report) == args.rows
        reasons: dict[str, int] = {}
        for row in done.report:
            if row["reason"]:
                reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
        consents = Consent.objects.count()
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(
        "refusals and quarantine by reason: " + ", ".join(f"{k}: {v}" for k, v in reasons.items())
    )
    print(f"current consents after the import: {consents}; load average {os.getloadavg()[0]:.1f}")
    print(
        f"consent_import rows={args.rows} imported={done.imported} refused={done.refused} "
        f"quarantined={done.quarantined} seconds={seconds:.2f}"
    )
    return 0


def _csv(rows: int, rng: random.Random) -> tuple[str, dict[str, int]]:
    """The CSV and the counts its report must show."""
    out = io.StringIO()
    out.write("wa_id,category,state,source,date,wording\n")
    expected = {"imported": 0, "refused": 0, "quarantined": 0}
    for i in range(rows):
        wa_id = f"39333{i:07d}"
        category = rng.choice(("order-updates", "offers"))
        source, date = (
            rng.choice(SOURCES),
            f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
        )
        roll = rng.random()
        if roll < 0.03:
            wa_id, outcome = "12", "refused"  # invalid number
        elif roll < 0.04:
            category, outcome = "newsletter", "refused"  # unknown category
        elif roll < 0.06:
            category, source, date, outcome = "offers", "", "", "quarantined"
        else:
            outcome = "imported"
        expected[outcome] += 1
        out.write(f"{wa_id},{category},opted_in,{source},{date},I agree to {category}\n")
    return out.getvalue(), expected


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + uuid.uuid4().hex * 2)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


if __name__ == "__main__":
    raise SystemExit(main())
