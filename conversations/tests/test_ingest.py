"""The batched webhook path on PostgreSQL stores and announces exactly what the
services would, one delivery at a time."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import orjson
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from conversations import ingest, realtime, services
from conversations.models import (
    AutoReply,
    BusinessCalendar,
    Contact,
    Conversation,
    ConversationEvent,
    Label,
    Message,
    StatusReport,
    Team,
    WebhookDelivery,
)
from conversations.tests.factories import (
    ContactFactory,
    ConversationFactory,
    NumberFactory,
    _envelope,
    body,
    status_webhook,
    text_webhook,
)
from simulator import wire

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the batched path is PostgreSQL's"
)

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=30)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def message_webhook(
    wa_id: str, name: str, message: dict[str, Any], phone_number_id: str = "106540352242922"
) -> bytes:
    contact = {"profile": {"name": name}, "wa_id": wa_id}
    return body(_envelope(phone_number_id, {"contacts": [contact], "messages": [message]}))


def says(wa_id: str, name: str, text: str, message_id: str, second: int) -> bytes:
    return body(
        text_webhook(wa_id=wa_id, name=name, text=text, message_id=message_id, timestamp=at(second))
    )


def reacts(target: str, emoji: str, message_id: str, second: int) -> dict[str, Any]:
    return wire.inbound_message(
        wa_id="447700900002",
        wamid=message_id,
        timestamp=int(at(second).timestamp()),
        message_type="reaction",
        content={"message_id": target, "emoji": emoji},
    )


def scenario() -> list[bytes]:
    """A morning's deliveries: new customers, follow-ups, a duplicate, media, a
    reply, an unsupported message, a renamed profile, a reopened chat, a status
    for a message nobody sent, a message older than the last one, reactions."""
    ann, bob, cat = "447700900001", "447700900002", "447700900003"
    image = wire.inbound_message(
        wa_id=ann,
        wamid="wamid.ANN-IMAGE",
        timestamp=int(at(30).timestamp()),
        message_type="image",
        content={"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "x"},
    )
    reply = {
        "from": ann,
        "id": "wamid.ANN-REPLY",
        "timestamp": str(int(at(60).timestamp())),
        "type": "text",
        "text": {"body": "This one, please"},
        "context": {"from": "15550783881", "id": "wamid.OUR-OFFER"},
    }
    unsupported = {
        "from": ann,
        "id": "wamid.ANN-UNSUPPORTED",
        "timestamp": str(int(at(70).timestamp())),
        "type": "unsupported",
        "errors": [{"code": 131051, "title": "Message type unknown", "message": "x"}],
    }
    return [
        says(ann, "Ann", "hi", "wamid.A1", 0),
        says(ann, "Ann", "parcel?", "wamid.A2", 10),
        says(ann, "Ann", "parcel?", "wamid.A2", 10),
        says(bob, "Bob", "hello", "wamid.B1", 20),
        message_webhook(ann, "Ann", image),
        says(ann, "Ann", "again", "wamid.A3", 35),
        says(cat, "Cat", "back", "wamid.C1", 40),
        says(cat, "Cat", "me again", "wamid.C2", 45),
        says(ann, "Ann Smith", "new name", "wamid.A4", 50),
        message_webhook(ann, "Ann Smith", reply),
        message_webhook(ann, "Ann Smith", unsupported),
        body(status_webhook(message_id="wamid.NEVER-SENT", status="delivered", timestamp=at(80))),
        says(bob, "Bob", "late", "wamid.B0", 5),
        says(bob, "Bob", "now", "wamid.B2", 90),
        message_webhook(bob, "Bob", reacts("wamid.B1", "👍", "wamid.B-LIKE", 91)),
        message_webhook(bob, "Bob", reacts("wamid.B1", "🎉", "wamid.B-PARTY", 92)),
        says("447700900004", "Dan", "one more thing", "wamid.D0", -40),
        says("447700900004", "Dan", "thanks!", "wamid.D1", 95),
        says("447700900004", "Dan", "and before that", "wamid.D2", 92),
    ]


def fresh_state() -> None:
    """Empty the inbox, then Cat's earlier chat, resolved, and Dan's, open,
    labelled and answered by an operator (nobody waits)."""
    Message.objects.all().delete()
    StatusReport.objects.all().delete()
    WebhookDelivery.objects.all().delete()
    ConversationEvent.objects.all().delete()
    Conversation.objects.all().delete()
    Contact.objects.all().delete()
    ConversationFactory(
        contact=ContactFactory(wa_id="447700900003", profile_name="Cat"),
        status=Conversation.Status.RESOLVED,
        last_inbound_at=at(-3600),
        last_message_at=at(-3600),
    )
    answered = ConversationFactory(
        contact=ContactFactory(wa_id="447700900004", profile_name="Dan"),
        last_inbound_at=at(-60),
        last_message_at=at(-30),
        last_message_text="Our answer",
        waiting_since=None,
    )
    Label.objects.all().delete()
    answered.labels.add(
        Label.objects.create(name="Refund", color="#dc2626"), Label.objects.create(name="Billing")
    )
    Message.objects.create(
        conversation=answered,
        direction=Message.Direction.OUT,
        wamid="wamid.OUR-ANSWER",
        text="Our answer",
        status=Message.Status.READ,
        timestamp=at(-30),
    )


def snapshot() -> dict[str, Any]:
    """What an operator could ever see of the inbox, without row ids."""
    return {
        "contacts": sorted(Contact.objects.values_list("wa_id", "user_id", "profile_name")),
        "conversations": sorted(
            (
                c.contact.wa_id,
                c.status,
                c.team_id,
                c.assignee_id,
                c.unread_count,
                c.last_message_at,
                c.last_message_text,
                c.last_inbound_at,
                c.waiting_since,
                c.free_entry_until,
                c.queued_at is not None,
            )
            for c in Conversation.objects.select_related("contact")
        ),
        "messages": sorted(
            Message.objects.values_list(
                "conversation__contact__wa_id",
                "direction",
                "wamid",
                "type",
                "text",
                "content",
                "context_wamid",
                "referral",
                "status",
                "error_code",
                "error_title",
                "error_details",
                "timestamp",
                "status_at",
                "send_attempts",
                "media_state",
                "reactions",
            ),
            key=repr,
        ),
        "deliveries": sorted(
            WebhookDelivery.objects.values_list("body", "outcome", "reason", "event_count")
        ),
        "status_reports": sorted(StatusReport.objects.values_list("wamid", "status", "applied")),
        "events": sorted(
            ConversationEvent.objects.values_list("conversation__contact__wa_id", "kind", "data"),
            key=repr,
        ),
    }


def without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: without_ids(v)
            for k, v in value.items()
            if k not in ("id", "conversation_id", "created_at")
        }
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every event handed to the channel layer after commit."""
    events: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    monkeypatch.setattr(realtime, "_send", lambda groups, message: events.append((groups, message)))
    return events


def run(batches: list[list[bytes]], sent: list, capture) -> tuple[dict[str, Any], list]:
    fresh_state()
    sent.clear()
    outcomes = []
    with capture(execute=True):
        for batch in batches:
            outcomes += ingest.apply_batch(batch)
    assert all(o.status == 200 for o in outcomes)
    return snapshot(), [(g, without_ids(realtime.event_of(m))) for g, m in sent]


def sequential(sent: list, capture) -> tuple[dict[str, Any], list]:
    fresh_state()
    sent.clear()
    with capture(execute=True):
        for delivery in scenario():
            services.webhook_receive(body=delivery)
    return snapshot(), [(g, without_ids(realtime.event_of(m))) for g, m in sent]


@pytest.mark.django_db
def test_one_at_a_time_the_batch_path_matches_the_services(
    sent, django_capture_on_commit_callbacks
) -> None:
    NumberFactory(team=Team.objects.create(name="Support"))
    expected_rows, expected_events = sequential(sent, django_capture_on_commit_callbacks)

    rows, events = run([[d] for d in scenario()], sent, django_capture_on_commit_callbacks)

    assert rows == expected_rows
    assert sorted(events, key=repr) == sorted(expected_events, key=repr)
    # Dan waits from his oldest message after our answer, though it arrived last;
    # the one written before our answer (delivered late) does not count.
    dan = Conversation.objects.get(contact__wa_id="447700900004")
    assert dan.waiting_since == at(92)
    bob = Conversation.objects.get(contact__wa_id="447700900002")
    assert bob.waiting_since == at(5)
    # The scenario exercises both paths: plain messages really went through the batch.
    assert expected_rows["messages"] and len(expected_rows["deliveries"]) == len(scenario())


@pytest.mark.django_db
@pytest.mark.parametrize("size", [3, 5, 100])
def test_in_batches_the_inbox_ends_the_same(
    size: int, sent, django_capture_on_commit_callbacks
) -> None:
    NumberFactory(team=Team.objects.create(name="Support"))
    expected_rows, _ = sequential(sent, django_capture_on_commit_callbacks)
    deliveries = scenario()

    rows, events = run(
        [deliveries[i : i + size] for i in range(0, len(deliveries), size)],
        sent,
        django_capture_on_commit_callbacks,
    )

    assert rows == expected_rows
    # The last word on each conversation is its state in the database.
    last: dict[str, dict[str, Any]] = {}
    for _, event in events:
        if "conversation" in event:
            last[event["conversation"]["contact"]["wa_id"]] = event["conversation"]
    for c in Conversation.objects.select_related("contact"):
        assert last[c.contact.wa_id]["unread_count"] == c.unread_count
        assert last[c.contact.wa_id]["last_message_text"] == c.last_message_text


@pytest.mark.django_db
def test_a_plain_message_in_an_open_chat_takes_the_batch_path(sent, monkeypatch) -> None:
    conversation = ConversationFactory(
        contact=ContactFactory(wa_id="447700900009", profile_name="Di")
    )
    monkeypatch.setattr(
        services, "webhook_receive", lambda **kw: pytest.fail("went through the services")
    )

    outcomes = ingest.apply_batch(
        [body(text_webhook(wa_id="447700900009", name="Di", text=f"m{i}")) for i in range(3)]
    )

    assert [o.status for o in outcomes] == [200, 200, 200]
    conversation.refresh_from_db()
    assert conversation.unread_count == 3
    assert conversation.last_message_text == "m2"
    assert WebhookDelivery.objects.filter(outcome="applied").count() == 3


@pytest.mark.django_db
def test_a_value_postgres_refuses_costs_only_its_own_delivery(sent) -> None:
    ConversationFactory(contact=ContactFactory(wa_id="447700900009", profile_name="Di"))
    good = [body(text_webhook(wa_id="447700900009", name="Di", text=f"ok {i}")) for i in range(2)]
    bad = body(text_webhook(wa_id="447700900009", name="Di", message_id="wamid." + "x" * 300))

    outcomes = ingest.apply_batch([good[0], bad, good[1]])

    assert [o.status for o in outcomes] == [200, 200, 200]
    assert sorted(Message.objects.values_list("text", flat=True)) == ["ok 0", "ok 1"]
    dead = WebhookDelivery.objects.get(outcome="dead_letter")
    assert "cannot be stored" in dead.reason and orjson.loads(dead.body)


@pytest.mark.django_db(transaction=True)
def test_the_ingestor_answers_each_delivery_after_its_commit() -> None:
    ConversationFactory(contact=ContactFactory(wa_id="447700900009", profile_name="Di"))
    ingestor = ingest.Ingestor(max_batch=4)
    deliveries = [
        body(text_webhook(wa_id="447700900009", name="Di", text=f"m{i}")) for i in range(10)
    ]

    async def post_all() -> list[ingest.Outcome]:
        return await asyncio.gather(*(ingestor.receive(d) for d in deliveries))

    try:
        outcomes = asyncio.run(post_all())
    finally:
        ingestor.stop()

    assert [o.status for o in outcomes] == [200] * 10
    assert Message.objects.count() == 10
    assert Conversation.objects.get().unread_count == 10


@pytest.mark.django_db
def test_a_chat_whose_team_answers_automatically_goes_through_the_services(
    sent, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """A team with automatic replies (closed around the clock here): the batch
    path leaves its chats to the services, so the customer gets the reply once,
    exactly as one delivery at a time."""
    team = Team.objects.create(
        name="Support", calendar=BusinessCalendar.objects.create(name="Never", time_zone="UTC")
    )
    AutoReply.objects.create(team=team, kind="closed", text="We are closed, {{name}}.")
    NumberFactory(team=team)
    deliveries = [
        says("447700900004", "Dan", "hello?", "wamid.D1", 95),
        says("447700900004", "Dan", "anyone?", "wamid.D2", 96),
    ]
    through_services = []
    original = services.webhook_receive
    monkeypatch.setattr(
        services,
        "webhook_receive",
        lambda **kw: through_services.append(kw["body"]) or original(**kw),
    )

    def outcome(apply) -> tuple[dict[str, Any], list]:
        fresh_state()
        sent.clear()
        with time_machine.travel(at(120), tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                apply()
        return snapshot(), [(g, without_ids(realtime.event_of(m))) for g, m in sent]

    expected_rows, expected_events = outcome(
        lambda: [services.webhook_receive(body=d) for d in deliveries]
    )
    through_services.clear()
    rows, events = outcome(lambda: ingest.apply_batch(deliveries))

    assert through_services == deliveries
    assert rows == expected_rows
    assert sorted(events, key=repr) == sorted(expected_events, key=repr)
    replies = Message.objects.filter(direction="out", automatic=True)
    assert list(replies.values_list("text", flat=True)) == ["We are closed, Dan."]
