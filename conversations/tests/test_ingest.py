"""The batched webhook path on PostgreSQL stores and announces exactly what the
services would, one delivery at a time."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import functools
from typing import Any

import orjson
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from conftest import FIXTURES_DIR
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
    UserFactory,
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
                "deferred_reason",
                "retry_at",
            ),
            key=repr,
        ),
        "deliveries": sorted(
            (our_ids_named(body), outcome, reason, count)
            for body, outcome, reason, count in WebhookDelivery.objects.values_list(
                "body", "outcome", "reason", "event_count"
            )
        ),
        "status_reports": sorted(
            (
                (
                    r.wamid,
                    r.status,
                    r.timestamp,
                    r.recipient_id,
                    # Our ids differ from run to run: the message the data names.
                    r.callback_data and Message.objects.filter(pk=r.callback_data).first().text,
                    r.errors,
                    r.pricing,
                    r.conversation_info,
                    r.message.text if r.message else None,
                    r.applied,
                )
                for r in StatusReport.objects.select_related("message")
            ),
            key=repr,
        ),
        "events": sorted(
            ConversationEvent.objects.values_list("conversation__contact__wa_id", "kind", "data"),
            key=repr,
        ),
    }


def our_ids_named(text: str) -> str:
    """``text`` with our messages' ids (callback data) replaced by their texts: the
    ids differ from run to run."""
    for message_id, message_text in Message.objects.values_list("id", "text"):
        text = text.replace(str(message_id), f"<{message_text}>")
    return text


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


def run(
    batches: list[list[bytes]], sent: list, capture, state=fresh_state
) -> tuple[dict[str, Any], list]:
    state()
    sent.clear()
    outcomes = []
    with capture(execute=True):
        for batch in batches:
            outcomes += ingest.apply_batch(batch)
    assert all(o.status == 200 for o in outcomes)
    return snapshot(), [(g, without_ids(realtime.event_of(m))) for g, m in sent]


def sequential(
    sent: list, capture, state=fresh_state, deliveries=scenario
) -> tuple[dict[str, Any], list]:
    state()
    sent.clear()
    with capture(execute=True):
        for delivery in deliveries():
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


# --- Status reports ------------------------------------------------------------


@functools.cache
def _fixture(name: str) -> dict[str, Any]:
    return orjson.loads((FIXTURES_DIR / f"webhook_status_{name}.json").read_bytes())


def report(
    fixture: str,
    wamid: str,
    second: int,
    *,
    status: str | None = None,
    callback: str | None = None,
    phone_number_id: str = "106540352242922",
    also: list[dict[str, Any]] = (),
) -> bytes:
    """The platform's own status webhook ``fixture``, about ``wamid`` at ``second``."""
    payload = copy.deepcopy(_fixture(fixture))
    value = payload["entry"][0]["changes"][0]["value"]
    status_ = value["statuses"][0]
    status_.update(id=wamid, timestamp=str(int(at(second).timestamp())))
    status_.pop("biz_opaque_callback_data", None)
    if status:
        status_["status"] = status
    if callback:
        status_["biz_opaque_callback_data"] = callback
    value["metadata"]["phone_number_id"] = phone_number_id
    value["statuses"] += list(also)
    return orjson.dumps(payload)


def outbound_state() -> None:
    """The morning's inbox, and Eve's chat, assigned, with our messages waiting
    for WhatsApp's reports: accepted ones, one whose send job died before saving
    WhatsApp's id, one sent again, a marketing template, one the clock presumed
    failed."""
    fresh_state()
    olga = UserFactory(username="olga", first_name="Olga")
    eve = ConversationFactory(
        contact=ContactFactory(wa_id="447700900005", profile_name="Eve"),
        team=Team.objects.get(),
        assignee=olga,
    )

    def ours(text: str, wamid: str, **fields: Any) -> Message:
        fields.setdefault("status", Message.Status.ACCEPTED)
        fields.setdefault("sent_by", olga)
        return Message.objects.create(
            conversation=eve,
            direction=Message.Direction.OUT,
            wamid=wamid,
            text=text,
            timestamp=at(-10),
            **fields,
        )

    ours("one", "wamid.OUT-1")
    ours("two", "wamid.OUT-2", sent_by=None, automatic=True)
    ours("job died", "", status=Message.Status.SENDING)
    again = ours("sent again", "wamid.OUT-4-B")
    again.attempts.create(number=1, wamid="wamid.OUT-4-A", outcome="accepted")
    ours(
        "",
        "wamid.OUT-5",
        type="template",
        content={"name": "spring_sale", "language": "en", "category": "MARKETING"},
        sent_by=None,
    )
    ours("six", "wamid.OUT-6")
    ours(
        "presumed",
        "wamid.OUT-7",
        status=Message.Status.FAILED,
        error_title="No answer from WhatsApp",
    )
    ours("eight", "wamid.OUT-8")


def status_scenario() -> list[bytes]:
    """Reports as the platform posts them: out of order, repeated, failed with
    errors, for messages we do not know (yet), with pricing; and customers' replies."""
    died = str(Message.objects.get(text="job died").id)
    again = str(Message.objects.get(text="sent again").id)
    pricing = _fixture("delivered_cbp_service")["entry"][0]["changes"][0]["value"]["statuses"][0]
    return [
        report("read_cbp", "wamid.OUT-1", 100),
        report("sent_pmp_marketing", "wamid.OUT-1", 98),
        says("447700900005", "Eve", "thanks", "wamid.E1", 99),
        report("delivered_cbp_service", "wamid.OUT-1", 99),
        report("delivered_cbp_service", "wamid.OUT-1", 99),
        report("sent_biz_opaque_callback_data", "wamid.OUT-2", 100),
        report("delivered_cbp_service", "wamid.OUT-2", 101),
        report("read_cbp", "wamid.OUT-2", 102),
        report("read_cbp", "wamid.OUT-2", 102),
        report("sent_biz_opaque_callback_data", "wamid.OUT-3", 100, callback=died),
        report("delivered_cbp_service", "wamid.OUT-3", 101),
        report("delivered_cbp_service", "wamid.OUT-4-A", 100, callback=again),
        report("sent_biz_opaque_callback_data", "wamid.OUT-4-B", 101, callback=again),
        report("failed_131049", "wamid.OUT-5", 100),
        report("delivered_cbp_service", "wamid.OUT-5", 101),
        report("failed_131047", "wamid.OUT-6", 100),
        report("failed_131047", "wamid.OUT-6", 100),
        report("read_cbp", "wamid.OUT-6", 99),
        report("delivered_cbp_service", "wamid.OUT-7", 100),
        report("delivered_cbp_service", "wamid.NEVER-SENT", 100),
        report("read_cbp", "wamid.NEVER-SENT", 101),
        report("sent_pmp_marketing", "wamid.OUT-8", 100, phone_number_id="999999999"),
        report(
            "sent_pmp_marketing",
            "wamid.OUT-8",
            100,
            also=[{**pricing, "id": "wamid.OUT-8", "timestamp": str(int(at(101).timestamp()))}],
        ),
        says("447700900005", "Eve", "and one more", "wamid.E2", 103),
        report("read_cbp", "wamid.OUT-8", 102),
        report("read_cbp", "wamid.OUT-1", 100),
    ]


def frozen(function):
    """``function`` at one instant (a deferral's time is now plus a day)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with time_machine.travel(at(200), tick=False):
            return function(*args, **kwargs)

    return wrapper


@pytest.mark.django_db
def test_status_reports_one_at_a_time_match_the_services(
    sent, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    NumberFactory(team=Team.objects.create(name="Support"))
    expected_rows, expected_events = frozen(sequential)(
        sent, django_capture_on_commit_callbacks, outbound_state, status_scenario
    )
    through_services: list[bytes] = []
    original = services.webhook_receive
    monkeypatch.setattr(
        services,
        "webhook_receive",
        lambda **kw: through_services.append(kw["body"]) or original(**kw),
    )

    def one_by_one():
        outbound_state()
        return [[d] for d in status_scenario()]

    rows, events = frozen(run_built)(one_by_one, sent, django_capture_on_commit_callbacks)

    assert rows == expected_rows
    assert sorted(events, key=repr) == sorted(expected_events, key=repr)
    # Reports took the batch path, except those the services must judge: the
    # send job's missing id, a marketing refusal, the unregistered number.
    judged = {
        orjson.loads(d)["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
        for d in through_services
    }
    assert judged == {"wamid.OUT-3", "wamid.OUT-5", "wamid.OUT-8"}
    assert len(through_services) == 3
    messages = dict(
        Message.objects.filter(
            direction="out", conversation__contact__wa_id="447700900005"
        ).values_list("text", "status")
    )
    assert messages == {
        "one": "read",
        "two": "read",
        "job died": "delivered",
        "sent again": "sent",
        # Deferred by the platform's marketing limit, then delivered after all.
        "": "delivered",
        # Failed, and later read after all (a read moves past a failure).
        "six": "read",
        "presumed": "delivered",
        "eight": "read",
    }
    assert Message.objects.get(text="").deferred_reason == "platform_marketing_limit"
    six = Message.objects.get(text="six")
    assert (six.error_code, six.status_at) == (None, at(99))
    told = [e["message"] for _, e in events if e["message"]["wamid"] == "wamid.OUT-6"]
    assert [(m["status"], m["error"] and m["error"]["code"]) for m in told] == [
        ("failed", 131047),
        ("read", None),
    ]
    assert not Message.objects.get(text="presumed").error_title
    waiting = StatusReport.objects.filter(wamid="wamid.NEVER-SENT")
    assert [(r.status, r.applied) for r in waiting.order_by("status")] == [
        ("delivered", False),
        ("read", False),
    ]
    assert StatusReport.objects.get(wamid="wamid.OUT-4-A").applied is False
    assert StatusReport.objects.filter(wamid="wamid.OUT-1").count() == 3


def run_built(build, sent, capture) -> tuple[dict[str, Any], list]:
    """``run`` for batches that ``build`` makes once the state is in place."""
    batches = build()
    sent.clear()
    outcomes = []
    with capture(execute=True):
        for batch in batches:
            outcomes += ingest.apply_batch(batch)
    assert all(o.status == 200 for o in outcomes)
    return snapshot(), [(g, without_ids(realtime.event_of(m))) for g, m in sent]


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 5, 100])
def test_status_reports_in_batches_leave_the_inbox_the_same(
    size: int, sent, django_capture_on_commit_callbacks
) -> None:
    NumberFactory(team=Team.objects.create(name="Support"))
    expected_rows, _ = frozen(sequential)(
        sent, django_capture_on_commit_callbacks, outbound_state, status_scenario
    )

    def in_batches():
        outbound_state()
        deliveries = status_scenario()
        return [deliveries[i : i + size] for i in range(0, len(deliveries), size)]

    rows, events = frozen(run_built)(in_batches, sent, django_capture_on_commit_callbacks)

    assert rows == expected_rows
    # Each message's last word is its state in the database, told to whoever
    # hears of Eve's chat.
    last: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {}
    for groups, event in events:
        if event["type"] == "message.updated":
            last[event["message"]["wamid"]] = (groups, event["message"])
    for message in Message.objects.filter(direction="out").exclude(wamid="wamid.OUR-ANSWER"):
        groups, payload = last[message.wamid]
        assert (payload["status"], payload["error"] and payload["error"]["code"]) == (
            message.status,
            message.error_code if message.error_code or message.error_title else None,
        )
        eve = message.conversation
        assert groups == (f"team.{eve.team_id}", "supervisors", f"user.{eve.assignee_id}")
