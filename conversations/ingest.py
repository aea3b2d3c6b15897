"""The webhook's path on PostgreSQL: deliveries applied in batches, one commit each.

Profiling showed where a webhook's time goes: the Django ORM spends about 4 ms of
CPU applying one customer message (eight queries built, compiled and read back),
and every delivery paid for its own commit. At the platform's top throughput
that is more than the machine has. So, on PostgreSQL:

* Each server process has one ``Ingestor``: a thread that takes every delivery
  waiting (up to ``MAX_BATCH``) and applies them together in one transaction
  (group commit). Each webhook is still answered only after its own data is
  committed and its events are published.
* The most common delivery, one customer message in a conversation that is open
  and already known, is applied by ``apply_batch`` with three SQL statements per
  batch, whatever its size: lock the conversations, store deliveries and
  messages and update the conversations, read them back for the live events.
* Status reports on outbound messages (most of a busy number's webhooks: about
  three for every message it sends) are applied by ``apply_batch`` too, with
  four statements per batch: check the numbers, lock the messages they name (by
  WhatsApp's id or by our id carried as callback data), store the deliveries
  and reports (a repeated report is skipped by the unique key), move the
  messages forward. Each changed message is published once per batch, in the
  state the batch leaves it.
* Everything else (a new customer, a chat that reopens or is routed, media and
  reactions, a chat whose team sends automatic replies, template and account
  events, a message that may change the customer's consent, a status that the
  send job's missing WhatsApp id or a marketing refusal makes special, anything
  malformed) goes through
  ``services.webhook_receive``, the one implementation of the rules; a test
  holds both paths to the same rows and events for what this one takes.

On SQLite (the embedded mode) every delivery goes through the services.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from conversations import hooks, realtime, services
from conversations.models import (
    STATUS_RANK,
    Contact,
    Conversation,
    Label,
    Message,
    Team,
    WebhookDelivery,
    WhatsAppNumber,
)
from conversations.serializers import message_payload
from whatsapp.events import (
    MEDIA_TYPES,
    InboundMessage,
    PayloadError,
    StatusUpdate,
    parse_webhook,
)

logger = logging.getLogger(__name__)

MAX_BATCH = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the webhook answers: 200 with the delivery's outcome, 400 or 503."""

    status: int
    code: str
    detail: str = ""


APPLIED = Outcome(200, WebhookDelivery.Outcome.APPLIED)
UNAVAILABLE = Outcome(503, "unavailable", "Try again later.")


@dataclass(slots=True)
class _Plain:
    """A delivery holding exactly one customer message the batch path may apply."""

    index: int
    text: str
    event: InboundMessage
    conversation_id: int | None = None
    message: Message | None = field(default=None)


def receive_one(body: bytes) -> Outcome:
    """Apply one delivery through the services (the path for everything else)."""
    try:
        delivery = services.webhook_receive(body=body)
    except services.InvalidWebhookBody as exc:
        return Outcome(400, exc.code, str(exc))
    except DatabaseError:
        logger.exception("webhook could not be stored")
        return UNAVAILABLE
    return Outcome(200, delivery.outcome)


def batches() -> bool:
    """Whether plain customer messages take the batched path: its SQL is PostgreSQL's.
    Elsewhere (the embedded mode's SQLite) every delivery goes through the services."""
    return connection.vendor == "postgresql"


def apply_batch(bodies: list[bytes]) -> list[Outcome]:
    """Apply signed deliveries; the outcome of each, in order.

    Plain customer messages and status reports are applied together in one
    transaction; the rest, and every one the batch finds it cannot take (a
    conversation not open and known, a status the services must judge), one by
    one through the services.
    """
    outcomes: list[Outcome | None] = [None] * len(bodies)
    plain: list[_Plain] = []
    statuses: list[_Statuses] = []
    opt_ins = None
    if batches():
        try:
            opt_ins = services.opt_in_texts()
        except DatabaseError:
            opt_ins = None  # the services answer for each delivery (503)
    if opt_ins is not None:
        for i, body in enumerate(bodies):
            item = _classify(i, body, opt_ins)
            if isinstance(item, _Plain):
                plain.append(item)
            elif isinstance(item, _Statuses):
                statuses.append(item)
    if plain or statuses:
        try:
            applied = _apply_together(plain, statuses)
        except (DatabaseError, psycopg.Error):
            # A value PostgreSQL refuses, or a race on a new row: let the services
            # sort it out delivery by delivery (dead letter, retry).
            logger.warning(
                "batch of %d rolled back; applying one by one", len(plain) + len(statuses)
            )
            applied = []
        for index in applied:
            outcomes[index] = APPLIED
    for i, body in enumerate(bodies):
        if outcomes[i] is None:
            outcomes[i] = receive_one(body)
    return [outcome for outcome in outcomes if outcome is not None]


@dataclass(slots=True)
class _Statuses:
    """A delivery holding only status reports (usually one)."""

    index: int
    text: str
    events: list[StatusUpdate]


def _classify(
    index: int, body: bytes, opt_ins: frozenset[str] = frozenset()
) -> _Plain | _Statuses | None:
    """What the batch may take of one delivery: a plain customer message, status
    reports, or nothing (the services apply it)."""
    if b"\\u0000" in body:
        return None
    try:
        events = parse_webhook(orjson.loads(body))
    except (orjson.JSONDecodeError, PayloadError):
        return None
    if events and all(isinstance(event, StatusUpdate) for event in events):
        return _Statuses(index, body.decode("utf-8"), events)  # type: ignore[arg-type]
    if len(events) != 1 or not isinstance(events[0], InboundMessage):
        return None
    event = events[0]
    # A system message, an ad's referral: rules the services apply.
    if event.type == "system" or event.referral or not event.sender.wa_id:
        return None
    # A file to download, a reaction to show on its target: the services do both.
    if event.type in MEDIA_TYPES or event.type == "reaction":
        return None
    # A STOP, an opt-out button, an opt-in link's message: the services record consent.
    if services.may_be_consent_message(event.type, event.text, opt_ins):
        return None
    return _Plain(index, body.decode("utf-8"), event)


@transaction.atomic
def _apply_together(plain: list[_Plain], statuses: list[_Statuses]) -> list[int]:
    """Apply what the batch takes in one transaction; the indexes of the deliveries
    applied (the others go to the services)."""
    connection.ensure_connection()
    # psycopg's own cursor binds on the server, and the arrays travel in binary
    # (%b): no SQL text built from them, no quoting of every element.
    with psycopg.Cursor(connection.connection) as cursor:
        applied = [item.index for item in _apply_plain(cursor, plain)] if plain else []
        if statuses:
            applied += _apply_statuses(cursor, statuses)
    return applied


_LOCK_SQL = """
SELECT c.id, n.phone_number_id, ct.wa_id, ct.user_id, ct.profile_name,
       EXISTS (SELECT 1 FROM conversations_autoreply a
               WHERE a.team_id = coalesce(c.team_id, n.team_id) AND a.enabled) AS auto_replies
FROM conversations_conversation c
JOIN conversations_whatsappnumber n ON n.id = c.number_id
JOIN conversations_contact ct ON ct.id = c.contact_id
JOIN unnest(%b::text[], %b::text[]) AS k(phone_number_id, wa_id)
  ON k.phone_number_id = n.phone_number_id AND k.wa_id = ct.wa_id
WHERE c.status = 'open'
ORDER BY c.id
FOR UPDATE OF c
"""

_APPLY_SQL = """
WITH deliveries AS (
  INSERT INTO conversations_webhookdelivery (body, received_at, outcome, reason, event_count)
  SELECT body, %(now)b, 'applied', '', 1 FROM unnest(%(bodies)b::text[]) AS d(body)
), incoming AS (
  SELECT * FROM unnest(
    %(ids)b::uuid[], %(conversations)b::bigint[], %(wamids)b::text[], %(types)b::text[],
    %(texts)b::text[], %(contents)b::jsonb[], %(contexts)b::text[], %(error_codes)b::int[],
    %(error_titles)b::text[], %(error_details)b::text[], %(timestamps)b::timestamptz[],
    %(previews)b::text[]
  ) WITH ORDINALITY AS t(id, conversation_id, wamid, type, text, content, context_wamid,
                         error_code, error_title, error_details, ts, preview, position)
), inserted AS (
  INSERT INTO conversations_message (
    id, conversation_id, direction, wamid, type, text, content, context_wamid, referral,
    status, error_code, error_title, error_details, timestamp, created_at, status_at,
    sent_by_id, send_attempts
  )
  SELECT id, conversation_id, 'in', wamid, type, text, content, context_wamid, NULL,
         'received', error_code, error_title, error_details, ts, %(now)b, NULL, NULL, 0
  FROM incoming
  ON CONFLICT (wamid) DO NOTHING
  RETURNING id
), fresh AS (
  SELECT incoming.* FROM incoming JOIN inserted USING (id)
), per_conversation AS (
  SELECT conversation_id, count(*) AS received, min(ts) AS first_ts, max(ts) AS last_ts
  FROM fresh GROUP BY conversation_id
), unanswered AS (
  -- The customer waits from their oldest message after the operators' last answer,
  -- whatever order the messages arrive in.
  SELECT f.conversation_id, min(f.ts) AS first_ts
  FROM fresh f
  -- (WhatsApp's timestamps are whole seconds: an answer in the same second does not count.)
  WHERE f.ts > coalesce(
    (SELECT max(m.timestamp) FROM conversations_message m
     WHERE m.conversation_id = f.conversation_id AND m.direction = 'out' AND NOT m.automatic)
    - interval '1 second',
    '-infinity')
  GROUP BY f.conversation_id
), latest AS (
  SELECT DISTINCT ON (conversation_id) conversation_id, ts, preview
  FROM fresh ORDER BY conversation_id, ts DESC, position DESC
), updated AS (
  UPDATE conversations_conversation c SET
    unread_count = c.unread_count + p.received,
    last_message_at = CASE WHEN c.last_message_at IS NULL OR l.ts >= c.last_message_at
                           THEN l.ts ELSE c.last_message_at END,
    last_message_text = CASE WHEN c.last_message_at IS NULL OR l.ts >= c.last_message_at
                             THEN l.preview ELSE c.last_message_text END,
    last_inbound_at = greatest(c.last_inbound_at, p.last_ts),
    waiting_since = least(c.waiting_since, u.first_ts)
  FROM per_conversation p JOIN latest l USING (conversation_id)
    LEFT JOIN unanswered u USING (conversation_id)
  WHERE c.id = p.conversation_id
  RETURNING c.id
)
SELECT inserted.id FROM inserted
"""


def _apply_plain(cursor: psycopg.Cursor[Any], plain: list[_Plain]) -> list[_Plain]:
    """Store the plain deliveries whose conversation is open and known (locked
    first), publish their messages after commit; the ones applied."""
    cursor.execute(
        _LOCK_SQL,
        [
            [p.event.phone_number_id for p in plain],
            [p.event.sender.wa_id for p in plain],
        ],
    )
    known = {
        (phone_number_id, wa_id): (conversation_id, user_id, profile_name)
        for conversation_id, phone_number_id, wa_id, user_id, profile_name, auto_replies in (
            cursor.fetchall()
        )
        # A team that answers automatically: the services decide whether to.
        if not auto_replies
    }
    applicable = []
    for item in plain:
        sender = item.event.sender
        found = known.get((item.event.phone_number_id, sender.wa_id))
        if found is None:
            continue
        conversation_id, user_id, profile_name = found
        # A changed name or a newly learned user id: the services update the contact.
        if sender.user_id and sender.user_id != user_id:
            continue
        if sender.profile_name and sender.profile_name != profile_name:
            continue
        item.conversation_id = conversation_id
        item.message = services.message_from_event(item.event, conversation_id=conversation_id)
        applicable.append(item)
    if not applicable:
        return []
    messages = [item.message for item in applicable if item.message is not None]
    now = timezone.now()
    cursor.execute(
        _APPLY_SQL,
        {
            "now": now,
            "bodies": [item.text for item in applicable],
            "ids": [m.id for m in messages],
            "conversations": [m.conversation_id for m in messages],
            "wamids": [m.wamid for m in messages],
            "types": [m.type for m in messages],
            "texts": [m.text for m in messages],
            "contents": [orjson.dumps(m.content).decode() for m in messages],
            "contexts": [m.context_wamid for m in messages],
            "error_codes": [m.error_code for m in messages],
            "error_titles": [m.error_title for m in messages],
            "error_details": [m.error_details for m in messages],
            "timestamps": [m.timestamp for m in messages],
            "previews": [services.message_preview(m) for m in messages],
        },
    )
    stored = {row[0] for row in cursor.fetchall()}
    for message in messages:
        message.created_at = now
    fresh = [m for m in messages if m.id in stored]
    _publish(cursor, fresh)
    hooks.messages_stored(fresh)
    return applicable


def _publish(cursor: psycopg.Cursor[Any], messages: list[Message]) -> None:
    """``message.created`` for each stored message, with its conversation as it is now."""
    if not messages:
        return
    conversations = _conversations(cursor, sorted({m.conversation_id for m in messages}))
    for message in messages:
        services.publish_message(message, conversations[message.conversation_id], "message.created")


# --- Status reports ----------------------------------------------------------

_NUMBERS_SQL = """
SELECT phone_number_id FROM conversations_whatsappnumber
WHERE phone_number_id = ANY(%b::text[])
"""


@functools.cache
def _lock_messages_sql() -> str:
    """Outbound messages named by WhatsApp's id or by our id (callback data), locked,
    with who hears of their conversation."""
    columns = _columns(Message, "m")
    # Table and column names come from the model, never from a request.
    return (
        f"SELECT {columns}, c.team_id, c.assignee_id "  # noqa: S608
        f'FROM "{Message._meta.db_table}" m '
        f'JOIN "{Conversation._meta.db_table}" c ON c.id = m.conversation_id '
        "WHERE m.direction = 'out' AND (m.wamid = ANY(%b::text[]) OR m.id = ANY(%b::uuid[])) "
        "ORDER BY m.id FOR UPDATE OF m"
    )


_REPORTS_SQL = """
WITH deliveries AS (
  INSERT INTO conversations_webhookdelivery (body, received_at, outcome, reason, event_count)
  SELECT body, %(now)b, 'applied', '', event_count
  FROM unnest(%(bodies)b::text[], %(event_counts)b::int[]) AS d(body, event_count)
)
INSERT INTO conversations_statusreport (
  wamid, status, timestamp, recipient_id, callback_data, errors, pricing, conversation_info,
  message_id, applied, received_at
)
SELECT wamid, status, ts, recipient_id, callback_data, errors, pricing, conversation_info,
       message_id, message_id IS NOT NULL, %(now)b
FROM unnest(
  %(wamids)b::text[], %(statuses)b::text[], %(timestamps)b::timestamptz[],
  %(recipients)b::text[], %(callbacks)b::text[], %(errors)b::jsonb[], %(pricings)b::jsonb[],
  %(infos)b::jsonb[], %(messages)b::uuid[]
) AS r(wamid, status, ts, recipient_id, callback_data, errors, pricing, conversation_info,
       message_id)
ON CONFLICT (wamid, status, timestamp) DO NOTHING
RETURNING wamid, status, timestamp
"""

_MESSAGES_SQL = """
UPDATE conversations_message m SET
  status = u.status, status_at = u.status_at, error_code = u.error_code,
  error_title = u.error_title, error_details = u.error_details
FROM unnest(
  %b::uuid[], %b::text[], %b::timestamptz[], %b::int[], %b::text[], %b::text[]
) AS u(id, status, status_at, error_code, error_title, error_details)
WHERE m.id = u.id
"""

# A failure for these reasons changes the customer's consent or defers the
# message: the services apply it (and every other report on the same message in
# the batch, so that they keep their order).
_REFUSALS = frozenset({services.MARKETING_STOPPED_CODE, services.MARKETING_LIMIT_CODE})


_STATE = ("status", "status_at", "error_code", "error_title", "error_details")


@dataclass(slots=True)
class _Locked:
    message: Message
    groups: tuple[str, ...]
    # The message after each report that moved it, in the order they arrived.
    states: list[tuple[Any, ...]] = field(default_factory=list)


def _apply_statuses(cursor: psycopg.Cursor[Any], deliveries: list[_Statuses]) -> list[int]:
    """Store status reports and move their messages forward, as
    ``services.message_status_apply`` does one report at a time: a repeated report
    changes nothing, one for a message not seen yet waits, one for an earlier try
    of a message sent again is kept, and a message never moves back. Publishes
    ``message.updated`` once for each message changed. The indexes applied."""
    events = [event for item in deliveries for event in item.events]
    cursor.execute(_NUMBERS_SQL, [sorted({e.phone_number_id for e in events})])
    registered = {row[0] for row in cursor.fetchall()}
    callbacks = {e.biz_opaque_callback_data: _uuid(e.biz_opaque_callback_data) for e in events}
    cursor.execute(
        _lock_messages_sql(),
        [
            sorted({e.wamid for e in events}),
            sorted({u for u in callbacks.values() if u is not None}),
        ],
    )
    width = len(Message._meta.concrete_fields)
    by_wamid: dict[str, _Locked] = {}
    by_id: dict[uuid.UUID, _Locked] = {}
    for row in cursor.fetchall():
        message = Message.from_db(connection.alias, None, _converted(Message, row[:width]))
        team_id, assignee_id = row[width:]
        locked = _Locked(
            message, realtime.groups_for_conversation(team_id=team_id, assignee_id=assignee_id)
        )
        by_id[message.id] = locked
        if message.wamid:
            by_wamid[message.wamid] = locked

    def target(event: StatusUpdate) -> tuple[_Locked | None, bool]:
        """The message a report applies to, and whether the services must judge it."""
        found = by_wamid.get(event.wamid)
        if found is not None:
            return found, False
        found = by_id.get(callbacks[event.biz_opaque_callback_data])  # type: ignore[arg-type]
        if found is None:
            return None, False  # not seen yet: the report waits
        if not found.message.wamid:
            return None, True  # the send job died before saving WhatsApp's id
        return None, False  # a report on an earlier try: kept, not applied

    def special(event: StatusUpdate) -> bool:
        if event.phone_number_id not in registered:
            return True  # a dead letter, kept by the services
        if event.status == Message.Status.FAILED and event.errors:
            if event.errors[0].code in _REFUSALS:
                return True
        return target(event)[1]

    judged = {
        e.wamid for item in deliveries if any(special(e) for e in item.events) for e in item.events
    }
    taken = [item for item in deliveries if not any(e.wamid in judged for e in item.events)]
    if not taken:
        return []
    # The first of reports repeated within the batch is the one stored.
    reports: dict[tuple[str, str, Any], tuple[StatusUpdate, _Locked | None]] = {}
    for item in taken:
        for event in item.events:
            key = (event.wamid, event.status, event.timestamp)
            if key not in reports:
                reports[key] = (event, target(event)[0])
    now = timezone.now()
    listed = list(reports.values())
    cursor.execute(
        _REPORTS_SQL,
        {
            "now": now,
            "bodies": [item.text for item in taken],
            "event_counts": [len(item.events) for item in taken],
            "wamids": [e.wamid for e, _ in listed],
            "statuses": [e.status for e, _ in listed],
            "timestamps": [e.timestamp for e, _ in listed],
            "recipients": [e.recipient_id for e, _ in listed],
            "callbacks": [e.biz_opaque_callback_data for e, _ in listed],
            "errors": [
                _json_or_none(
                    [{"code": x.code, "title": x.title, "details": x.details} for x in e.errors]
                )
                for e, _ in listed
            ],
            "pricings": [_json_or_none(e.pricing) for e, _ in listed],
            "infos": [_json_or_none(e.conversation) for e, _ in listed],
            "messages": [locked.message.id if locked else None for _, locked in listed],
        },
    )
    fresh = {(wamid, status, ts) for wamid, status, ts in cursor.fetchall()}
    changes: list[_Locked] = []
    for key, (event, locked) in reports.items():
        if locked is not None and key in fresh:
            if _move_forward(locked.message, event):
                locked.states.append(tuple(getattr(locked.message, f) for f in _STATE))
                changes.append(locked)
    changed = [locked for locked in by_id.values() if locked.states]
    if changed:
        messages = [locked.message for locked in changed]
        cursor.execute(
            _MESSAGES_SQL,
            [
                [m.id for m in messages],
                [m.status for m in messages],
                [m.status_at for m in messages],
                [m.error_code for m in messages],
                [m.error_title for m in messages],
                [m.error_details for m in messages],
            ],
        )
        _read_related(messages)
        for message in messages:
            if message.status == Message.Status.FAILED:
                services.platform_refusal_apply(message)
        _publish_updated(changes)
    return [item.index for item in taken]


@functools.cache
def _converters(model: type[Model]) -> tuple[Any, ...]:
    return tuple(getattr(f, "from_db_value", None) for f in model._meta.concrete_fields)


def _converted(model: type[Model], values: Any) -> list[Any]:
    """A row read with psycopg's own cursor as the ORM would read it (JSON decoded)."""
    return [
        value if convert is None or value is None else convert(value, None, connection)
        for convert, value in zip(_converters(model), values, strict=True)
    ]


def _uuid(value: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None  # callback data set by another sender, not one of our ids


def _json_or_none(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # A number beyond 64 bits: the JSON field's own encoder writes it.
        return json.dumps(value)


def _move_forward(message: Message, event: StatusUpdate) -> bool:
    """``services.apply_reports``'s rule for one report, in memory: whether it moved."""
    rank = STATUS_RANK.get(event.status)
    if rank is None or rank <= STATUS_RANK.get(message.status, -1):
        return False
    message.status = event.status
    message.status_at = event.timestamp
    if event.status == Message.Status.FAILED and event.errors:
        error = event.errors[0]
        message.error_code = error.code
        message.error_title = error.title or ""
        message.error_details = error.details or ""
    elif event.status != Message.Status.FAILED:
        # Past a failure only the clock presumed: it reached the customer after all.
        message.error_code = None
        message.error_title = message.error_details = ""
    return True


def _read_related(messages: list[Message]) -> None:
    """What a changed message's payload reads (its sender; its conversation, for a
    failure), in one query each rather than one per message."""
    senders = {m.sent_by_id for m in messages if m.sent_by_id}
    if senders:
        users = get_user_model().objects.in_bulk(senders)
        for m in messages:
            if m.sent_by_id:
                m.sent_by = users[m.sent_by_id]
    failed = {m.conversation_id for m in messages if m.status == Message.Status.FAILED}
    if failed:
        conversations = Conversation.objects.in_bulk(failed)
        for m in messages:
            if m.conversation_id in conversations:
                m.conversation = conversations[m.conversation_id]


def _publish_updated(changes: list[_Locked]) -> None:
    """``message.updated`` for each change, in order, to who hears of the message's
    conversation: each report that moved a message is told, as the services tell it
    one at a time; the last one shows the message as stored."""
    seen: dict[int, int] = {}
    for locked in changes:
        message = locked.message
        turn = seen[id(locked)] = seen.get(id(locked), -1) + 1
        if turn < len(locked.states) - 1:
            stored = tuple(getattr(message, f) for f in _STATE)
            for name, value in zip(_STATE, locked.states[turn], strict=True):
                setattr(message, name, value)
            payload = message_payload(message)
            for name, value in zip(_STATE, stored, strict=True):
                setattr(message, name, value)
        else:
            payload = message_payload(message)
        realtime.publish(
            "message.updated",
            {"conversation_id": message.conversation_id, "message": payload},
            groups=locked.groups,
        )


_RELATED: tuple[tuple[str, type[Model]], ...] = (
    ("number", WhatsAppNumber),
    ("contact", Contact),
    ("team", Team),
    ("assignee", get_user_model()),
)


@functools.cache
def _conversations_sql() -> str:
    """One statement reading conversations with everything their payload shows
    (what ``select_related`` and ``prefetch_related`` would take three queries,
    and far more Python, to build)."""
    labels = Conversation.labels.through._meta.db_table
    columns = [_columns(Conversation, "c")]
    joins = []
    for i, (name, model) in enumerate(_RELATED):
        alias = f"r{i}"
        columns.append(_columns(model, alias))
        fk = Conversation._meta.get_field(name).column
        table, pk = model._meta.db_table, model._meta.pk.column
        joins.append(f'LEFT JOIN "{table}" {alias} ON {alias}."{pk}" = c."{fk}"')
    # Table and column names come from the models, never from a request.
    return (
        f"SELECT {', '.join(columns)}, "  # noqa: S608
        f"(SELECT coalesce(json_agg(l ORDER BY l.name), '[]')::text "
        f'FROM "{labels}" cl JOIN "{Label._meta.db_table}" l ON l.id = cl.label_id '
        f"WHERE cl.conversation_id = c.id) "
        f'FROM "{Conversation._meta.db_table}" c {" ".join(joins)} '
        f"WHERE c.id = ANY(%b::bigint[])"
    )


def _columns(model: type[Model], alias: str) -> str:
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


def _conversations(cursor: psycopg.Cursor[Any], ids: list[int]) -> dict[int, Conversation]:
    cursor.execute(_conversations_sql(), [ids])
    label_fields = Label._meta.concrete_fields
    found = {}
    for row in cursor.fetchall():
        width = len(Conversation._meta.concrete_fields)
        conversation = Conversation.from_db(connection.alias, None, row[:width])
        start = width
        for name, model in _RELATED:
            width = len(model._meta.concrete_fields)
            values = row[start : start + width]
            start += width
            if values[0] is not None:
                setattr(conversation, name, model.from_db(connection.alias, None, values))
        # Where ``conversation_payload`` reads them, as the list's selector leaves
        # them: no related manager and queryset made per conversation.
        conversation.sorted_labels = [
            Label.from_db(connection.alias, None, [values[f.column] for f in label_fields])
            for values in orjson.loads(row[start])
        ]
        found[conversation.id] = conversation
    return found


# --- One ingestor per server process ----------------------------------------


@dataclass(slots=True)
class _Job:
    body: bytes
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome]


class Ingestor:
    """A thread applying the deliveries a server process receives, in batches."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="webhook-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Apply what is queued, then end the thread and close its connection."""
        self._queue.put(None)
        self._thread.join(timeout)

    async def receive(self, body: bytes) -> Outcome:
        """Apply ``body`` (signed already); returns once it is committed and published."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.put(_Job(body, loop, future))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            jobs: list[_Job] = []
            job = self._queue.get()
            while job is not None:
                jobs.append(job)
                if len(jobs) == self.max_batch:
                    break
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = job is None
            if jobs:
                self._apply(jobs)
        connection.close()

    def _apply(self, jobs: list[_Job]) -> None:
        try:
            with realtime.batched():
                outcomes = apply_batch([job.body for job in jobs])
        except Exception:
            logger.exception("webhook batch failed")
            outcomes = [UNAVAILABLE] * len(jobs)
        finally:
            # The thread keeps its connection from batch to batch; one that
            # failed goes back and the next batch takes a fresh one.
            if connection.errors_occurred:
                connection.close()
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_settle, job.future, outcome)


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


_ingestor: Ingestor | None = None
_ingestor_lock = threading.Lock()


def ingestor() -> Ingestor:
    """This process's ingestor, started on first use."""
    global _ingestor
    with _ingestor_lock:
        if _ingestor is None:
            _ingestor = Ingestor()
        return _ingestor


def stop() -> None:
    """End this process's ingestor, if it started (its connection closes)."""
    global _ingestor
    with _ingestor_lock:
        if _ingestor is not None:
            _ingestor.stop()
            _ingestor = None
