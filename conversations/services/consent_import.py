"""Importing consents from a CSV an admin uploads: a job goes through it in chunks
(the progress readable meanwhile) and reports, row by row, what it used and why it
refused the rest. Opt-ins to a category covering MARKETING without proof (the
source and the date the customer agreed) are quarantined for review, never
recorded as consent.

Columns (a header row names them): ``wa_id`` (or ``phone``), ``category`` (a
slug of the account), ``state`` (``opted_in``, the default, or ``opted_out``),
``source`` (how the customer agreed: ``website_form``, ``checkout``, ``sms``...),
``date`` (ISO 8601 date or time), ``wording``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from conversations.enqueue import enqueue_on_commit
from conversations.models import (
    Consent,
    ConsentCategory,
    ConsentChange,
    ConsentImport,
    ConsentSource,
    ConsentState,
)
from conversations.services.consent import contacts_create, wa_id_normalize
from conversations.services.errors import InvalidConsent

RUN_CONSENT_IMPORT = "conversations.jobs.run_consent_import"
CHUNK = 1000
MAX_ROWS = 200_000
INVALID_NUMBER = "invalid number"
UNKNOWN_CATEGORY = "unknown category"
NO_PROOF = "no proof of consent"
INVALID_STATE = "invalid state"
PROOF_SOURCES = frozenset(ConsentSource.values) - {ConsentSource.PLATFORM}


def consent_import_create(*, waba_id: str, csv_text: str, user: Any = None) -> ConsentImport:
    """Keep the uploaded CSV and queue its import (``conversations.jobs``) after
    commit. Raises ``InvalidConsent`` for a file without the needed columns."""
    reader = csv.reader(io.StringIO(csv_text))
    header = [name.strip().lower() for name in next(reader, [])]
    if not ({"wa_id", "phone"} & set(header)) or "category" not in header:
        raise InvalidConsent("The CSV needs a header row with wa_id (or phone) and category.")
    rows = sum(1 for row in reader if any(cell.strip() for cell in row))
    if rows > MAX_ROWS:
        raise InvalidConsent(f"At most {MAX_ROWS} rows per import.")
    with transaction.atomic():
        job = ConsentImport.objects.create(
            waba_id=waba_id,
            csv=csv_text,
            rows=rows,
            created_by=user if getattr(user, "pk", None) else None,
        )
        enqueue_on_commit(RUN_CONSENT_IMPORT, job.pk)
    return job


def consent_import_run(*, import_id: int, chunk: int = CHUNK) -> ConsentImport | None:
    """Run a queued import: each chunk of rows in its own transaction, the counts
    saved after each (the progress bar reads them). Running it again does nothing
    once it started."""
    with transaction.atomic():
        job = ConsentImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or job.status != ConsentImport.Status.QUEUED:
            return job
        job.status = ConsentImport.Status.RUNNING
        job.save(update_fields=["status"])
    categories = {c.slug: c for c in ConsentCategory.objects.filter(waba_id=job.waba_id)}
    reader = csv.DictReader(io.StringIO(job.csv))
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    report: list[dict[str, Any]] = []
    batch: list[tuple[int, dict[str, str]]] = []
    number = 0
    try:
        for row in reader:
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue
            number += 1
            batch.append((number, row))
            if len(batch) >= chunk:
                _chunk(job, categories, batch, report)
                batch = []
        if batch:
            _chunk(job, categories, batch, report)
    except Exception as exc:
        ConsentImport.objects.filter(pk=job.pk).update(
            status=ConsentImport.Status.FAILED,
            error=str(exc)[:2000],
            report=report,
            finished_at=timezone.now(),
        )
        raise
    ConsentImport.objects.filter(pk=job.pk).update(
        status=ConsentImport.Status.DONE, report=report, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def _when(value: str) -> dt.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = dt.datetime.combine(day, dt.time(12, 0)) if day else None
    except ValueError:
        return None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _verdict(
    row: dict[str, str], categories: dict[str, ConsentCategory]
) -> tuple[str, str, dict[str, Any]]:
    """(outcome, reason, what to record) for one row."""
    wa_id = wa_id_normalize(row.get("wa_id") or row.get("phone") or "")
    slug = (row.get("category") or "").strip()
    if not wa_id:
        return "refused", INVALID_NUMBER, {}
    category = categories.get(slug)
    if category is None:
        return "refused", UNKNOWN_CATEGORY, {}
    state = (row.get("state") or "").strip().lower() or ConsentState.OPTED_IN
    if state not in ConsentState.values:
        return "refused", INVALID_STATE, {}
    source = (row.get("source") or "").strip().lower()
    at = _when(row.get("date") or "")
    wording = (row.get("wording") or "").strip()
    if state == ConsentState.OPTED_IN and (source not in PROOF_SOURCES or at is None):
        if category.covers_marketing:
            return "quarantined", NO_PROOF, {}
        return "refused", NO_PROOF, {}
    return (
        "imported",
        "",
        {
            "wa_id": wa_id,
            "category": category,
            "state": state,
            "source": source if source in PROOF_SOURCES else ConsentSource.IMPORT,
            "at": at or timezone.now(),
            "wording": wording,
        },
    )


def _chunk(
    job: ConsentImport,
    categories: dict[str, ConsentCategory],
    batch: list[tuple[int, dict[str, str]]],
    report: list[dict[str, Any]],
) -> None:
    used: list[dict[str, Any]] = []
    counts = {"imported": 0, "refused": 0, "quarantined": 0}
    for number, row in batch:
        outcome, reason, record = _verdict(row, categories)
        counts[outcome] += 1
        report.append(
            {
                "row": number,
                "wa_id": (row.get("wa_id") or row.get("phone") or "").strip()[:32],
                "category": (row.get("category") or "").strip()[:64],
                "outcome": outcome,
                "reason": reason,
            }
        )
        if record:
            used.append(record)
    with transaction.atomic():
        contacts = contacts_create(wa_ids=sorted({record["wa_id"] for record in used}))
        changes = ConsentChange.objects.bulk_create(
            [
                ConsentChange(
                    contact=contacts[record["wa_id"]],
                    waba_id=job.waba_id,
                    category=record["category"],
                    state=record["state"],
                    at=record["at"],
                    source=record["source"],
                    wording=record["wording"],
                    recorded_by_id=job.created_by_id,
                )
                for record in used
            ]
        )
        _current(changes)
        ConsentImport.objects.filter(pk=job.pk).update(
            processed=job.processed + len(batch),
            imported=job.imported + counts["imported"],
            refused=job.refused + counts["refused"],
            quarantined=job.quarantined + counts["quarantined"],
        )
    job.processed += len(batch)
    job.imported += counts["imported"]
    job.refused += counts["refused"]
    job.quarantined += counts["quarantined"]


def _current(changes: list[ConsentChange]) -> None:
    """Each contact's current state per category follows the newest change."""
    newest: dict[tuple[int, int], ConsentChange] = {}
    for change in changes:
        key = (change.contact_id, change.category_id)
        if key not in newest or change.at >= newest[key].at:
            newest[key] = change
    if not newest:
        return
    existing = {
        (c.contact_id, c.category_id): c
        for c in Consent.objects.select_for_update().filter(
            contact_id__in={k[0] for k in newest}, category_id__in={k[1] for k in newest}
        )
    }
    create, update = [], []
    for key, change in newest.items():
        row = existing.get(key)
        if row is None:
            create.append(
                Consent(
                    contact_id=change.contact_id,
                    category_id=change.category_id,
                    state=change.state,
                    changed_at=change.at,
                    source=change.source,
                    wording=change.wording,
                    change=change,
                )
            )
        elif change.at >= row.changed_at:
            row.state, row.changed_at, row.source = change.state, change.at, change.source
            row.wording, row.change = change.wording, change
            update.append(row)
    Consent.objects.bulk_create(create)
    Consent.objects.bulk_update(update, ["state", "changed_at", "source", "wording", "change"])
