"""Operators' outbound messages: files, replies, reactions, read receipts, typing,
and retrying a failed send, against the simulated Cloud API."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator

import django_rq
import pytest
import responses
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient
from rq import SimpleWorker

from conversations import services
from conversations.models import Conversation, Message, SendAttempt
from conversations.tests.factories import (
    ConversationFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
    status_webhook,
)
from simulator import Simulator

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = "16505551234"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GRAPH = "https://graph.example.test/v23.0/106540352242922"


def run_jobs() -> None:
    """Run the queued jobs in an RQ worker of this process (no fork)."""
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the expected state was not reached in time")
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def olga():
    return UserFactory(username="olga", role="operator")


@pytest.fixture
def api(olga) -> APIClient:
    client = APIClient()
    client.force_authenticate(olga)
    return client


@pytest.fixture
def sim(live_server, settings) -> Iterator[Simulator]:
    """The simulated Cloud API: the inbox sends to it, its webhooks reach the inbox."""
    NumberFactory()
    with Simulator(
        f"{live_server.url}/webhooks/whatsapp/",
        settings.WHATSAPP_APP_SECRET,
        settings.WHATSAPP_ACCESS_TOKEN,
        status_delay=0.05,
        webhook_backoff=0.05,
    ) as simulator:
        settings.WHATSAPP_GRAPH_URL = simulator.graph_url
        yield simulator


def customer_writes(sim: Simulator, text: str = "Hi, where is my order?") -> Message:
    answer = sim.customer_says(CUSTOMER, text)
    assert answer["status_code"] == 200
    return Message.objects.get(wamid=answer["wamid"])


def upload(name: str, data: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


# --- Files ---------------------------------------------------------------------------


def test_a_photo_is_stored_uploaded_once_and_sent_by_media_id_as_a_reply(sim, api) -> None:
    question = customer_writes(sim, "Is this the right one?")
    conversation = question.conversation
    response = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {
            "file": upload("shelf.png", PNG, "image/png"),
            "caption": "This one",
            "reply_to": str(question.id),
        },
        format="multipart",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["status"], body["text"], body["context_wamid"]) == (
        "image",
        "queued",
        "This one",
        question.wamid,
    )
    assert body["media"]["state"] == "ready"
    assert body["media"]["size"] == len(PNG)
    assert body["media"]["url"] == f"/api/v1/messages/{body['id']}/media/"
    message = Message.objects.get(pk=body["id"])
    assert message.media_file.read() == PNG

    run_jobs()

    record = sim.wait_for_sent()
    message.refresh_from_db()
    media_id = message.content["id"]
    assert record["payload"]["image"] == {"id": media_id, "caption": "This one"}
    assert record["payload"]["context"] == {"message_id": question.wamid}
    assert record["payload"]["biz_opaque_callback_data"] == str(message.id)
    stored = sim.api_media_info(media_id).payload
    assert (stored["mime_type"], stored["sha256"]) == ("image/png", hashlib.sha256(PNG).hexdigest())
    eventually(lambda: Message.objects.get(pk=message.pk).status == "read")
    conversation.refresh_from_db()
    assert conversation.waiting_since is None


def test_a_document_keeps_its_name_and_caption(sim, api) -> None:
    conversation = customer_writes(sim).conversation
    response = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {
            "file": upload("Invoice 42.pdf", b"%PDF-1.4 invoice", "application/pdf"),
            "caption": "Your invoice",
        },
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["media"]["filename"] == "Invoice 42.pdf"
    run_jobs()
    document = sim.wait_for_sent()["payload"]["document"]
    assert (document["filename"], document["caption"]) == ("Invoice 42.pdf", "Your invoice")


def test_audio_and_video_are_recognised_by_their_type(olga) -> None:
    conversation = ConversationFactory()
    audio = services.message_send_media(
        conversation=conversation, user=olga, file=upload("note.mp3", b"ID3 voice", "audio/mpeg")
    )
    video = services.message_send_media(
        conversation=conversation,
        user=olga,
        file=upload("clip.mp4", b"\x00\x00\x00\x18ftypmp42", "application/octet-stream"),
    )
    assert (audio.type, audio.content["mime_type"]) == ("audio", "audio/mpeg")
    assert (video.type, video.content["mime_type"]) == ("video", "video/mp4")


@pytest.mark.parametrize(
    ("name", "data", "content_type", "reason"),
    [
        ("cat.gif", b"GIF89a...", "image/gif", "WhatsApp does not accept image/gif files"),
        ("page.html", b"<html>", "text/html", "WhatsApp does not accept text/html files"),
        ("big.png", PNG + b"\x00" * (5 * 2**20), "image/png", "up to 5 MB"),
        ("fake.jpg", b"MZ not a photo", "image/jpeg", "not really a JPEG image"),
    ],
)
def test_files_whatsapp_would_refuse_are_refused_with_the_reason(
    api, media_root, name, data, content_type, reason
) -> None:
    conversation = ConversationFactory()
    response = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {"file": upload(name, data, content_type)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_media"
    assert reason in response.json()["detail"]
    assert not Message.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_a_file_after_the_window_closed_is_refused_and_not_stored(api, media_root) -> None:
    conversation = ConversationFactory(last_inbound_at=timezone.now() - dt.timedelta(hours=25))
    response = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {"file": upload("shelf.png", PNG, "image/png")},
        format="multipart",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "window_closed"
    assert not Message.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_a_duplicated_send_job_uploads_and_sends_a_file_once(olga) -> None:
    conversation = ConversationFactory()
    message = services.message_send_media(
        conversation=conversation, user=olga, file=upload("shelf.png", PNG, "image/png")
    )
    with responses.RequestsMock() as graph:
        graph.post(f"{GRAPH}/media", json={"id": "5551"})
        graph.post(
            f"{GRAPH}/messages",
            status=400,
            json={"error": {"code": 130429, "message": "(#130429) Rate limit hit"}},
        )
        first = services.message_deliver(message_id=message.pk)
        assert first.retry_in is not None  # throughput: tried again later
        graph.replace(responses.POST, f"{GRAPH}/messages", json={"messages": [{"id": "wamid.F"}]})
        services.message_deliver(message_id=message.pk)
        services.message_deliver(message_id=message.pk)  # the same job delivered twice
        uploads = [c for c in graph.calls if c.request.url.endswith("/media")]
        sends = [
            json.loads(c.request.body) for c in graph.calls if c.request.url.endswith("/messages")
        ]
    assert len(uploads) == 1
    assert [s["image"]["id"] for s in sends] == ["5551", "5551"]
    message.refresh_from_db()
    assert (message.status, message.wamid, message.send_attempts) == ("accepted", "wamid.F", 2)
    assert list(message.attempts.values_list("number", "outcome", "error_code")) == [
        (1, "retry", 130429),
        (2, "accepted", None),
    ]


# --- Replies ---------------------------------------------------------------------------


def test_a_text_reply_quotes_the_customers_message(sim, api) -> None:
    question = customer_writes(sim, "Do you ship to Spain?")
    response = api.post(
        f"/api/v1/conversations/{question.conversation_id}/messages/",
        {"text": "Yes, in 3 days.", "reply_to": str(question.id)},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["context_wamid"] == question.wamid
    run_jobs()
    payload = sim.wait_for_sent()["payload"]
    assert payload["context"] == {"message_id": question.wamid}
    assert payload["text"]["body"] == "Yes, in 3 days."


def test_a_reply_to_a_message_of_another_chat_is_refused(api) -> None:
    elsewhere = Message.objects.create(
        conversation=ConversationFactory(),
        direction="in",
        wamid="wamid.OTHER",
        status="received",
        timestamp=timezone.now(),
    )
    conversation = ConversationFactory()
    response = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {"text": "Sure", "reply_to": str(elsewhere.id)},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_reply_to"
    assert not Message.objects.filter(direction="out").exists()


# --- Reactions -------------------------------------------------------------------------


def test_a_reaction_reaches_the_customer_and_shows_on_the_message(sim, api, published) -> None:
    thanks = customer_writes(sim, "Thanks a lot!")
    waiting_since = Conversation.objects.get(pk=thanks.conversation_id).waiting_since
    response = api.post(f"/api/v1/messages/{thanks.id}/reaction/", {"emoji": "👍"}, format="json")
    assert response.status_code == 201
    reaction = response.json()
    assert (reaction["type"], reaction["content"]) == (
        "reaction",
        {"message_id": thanks.wamid, "emoji": "👍"},
    )
    thanks.refresh_from_db()
    assert thanks.reactions == {"business": "👍"}
    updated = [p for p in published if p.event["type"] == "message.updated"]
    assert [p.event["message"]["reactions"] for p in updated] == [{"business": "👍"}]
    assert updated[0].groups == ("team.none", "supervisors")
    run_jobs()
    assert sim.wait_for_sent()["payload"]["reaction"] == {"message_id": thanks.wamid, "emoji": "👍"}

    removed = api.post(f"/api/v1/messages/{thanks.id}/reaction/", {"emoji": ""}, format="json")
    assert removed.status_code == 201
    thanks.refresh_from_db()
    assert thanks.reactions is None
    run_jobs()
    assert sim.wait_for_sent(since=1)["payload"]["reaction"] == {
        "message_id": thanks.wamid,
        "emoji": "",
    }
    # A reaction is not an answer: the customer still waits for one.
    assert Conversation.objects.get(pk=thanks.conversation_id).waiting_since == waiting_since


def test_a_reaction_after_the_window_closed_is_refused(api) -> None:
    conversation = ConversationFactory(last_inbound_at=timezone.now() - dt.timedelta(hours=30))
    old = Message.objects.create(
        conversation=conversation,
        direction="in",
        wamid="wamid.OLD",
        status="received",
        timestamp=conversation.last_inbound_at,
    )
    response = api.post(f"/api/v1/messages/{old.id}/reaction/", {"emoji": "❤️"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "window_closed"
    old.refresh_from_db()
    assert old.reactions is None
    assert not Message.objects.filter(type="reaction").exists()


def test_words_are_not_a_reaction(api) -> None:
    conversation = ConversationFactory()
    target = Message.objects.create(
        conversation=conversation,
        direction="in",
        wamid="wamid.T",
        status="received",
        timestamp=timezone.now(),
    )
    response = api.post(f"/api/v1/messages/{target.id}/reaction/", {"emoji": "ok"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_reaction"


def test_messages_of_chats_the_operator_may_not_see_do_not_exist(api) -> None:
    hidden = ConversationFactory(team=TeamFactory(name="Billing"))
    message = Message.objects.create(
        conversation=hidden,
        direction="out",
        wamid="wamid.H",
        status="failed",
        error_code=131000,
        timestamp=timezone.now(),
    )
    assert api.post(f"/api/v1/messages/{message.id}/reaction/", {"emoji": "👍"}).status_code == 404
    assert api.post(f"/api/v1/messages/{message.id}/retry/").status_code == 404
    assert api.post(f"/api/v1/conversations/{hidden.pk}/typing/").status_code == 404
    message.refresh_from_db()
    assert (message.status, message.reactions) == ("failed", None)


# --- Read receipts and typing ----------------------------------------------------------


def test_opening_the_chat_marks_the_customers_latest_message_read_once(sim, api) -> None:
    customer_writes(sim, "Hello?")
    latest = customer_writes(sim, "Anyone there?")
    read = f"/api/v1/conversations/{latest.conversation_id}/read/"
    assert api.post(read).status_code == 200
    assert api.post(read).status_code == 200
    run_jobs()
    assert [(r["message_id"], r["typing_indicator"]) for r in sim.read_receipts] == [
        (latest.wamid, False)
    ]
    newer = customer_writes(sim, "Hello??")
    api.post(read)
    run_jobs()
    assert [r["message_id"] for r in sim.read_receipts] == [latest.wamid, newer.wamid]


def test_typing_shows_the_indicator_at_most_every_20_seconds(sim, api) -> None:
    latest = customer_writes(sim)
    typing = f"/api/v1/conversations/{latest.conversation_id}/typing/"
    assert api.post(typing).status_code == 204
    assert api.post(typing).status_code == 204
    run_jobs()
    assert [r["message_id"] for r in sim.typing_indicators] == [latest.wamid]


def test_no_typing_indicator_without_an_open_window(sim, api) -> None:
    conversation = ConversationFactory(
        number=NumberFactory(), last_inbound_at=timezone.now() - dt.timedelta(hours=25)
    )
    Message.objects.create(
        conversation=conversation,
        direction="in",
        wamid="wamid.YESTERDAY",
        status="received",
        timestamp=conversation.last_inbound_at,
    )
    assert api.post(f"/api/v1/conversations/{conversation.pk}/typing/").status_code == 204
    run_jobs()
    assert sim.typing_indicators == []


# --- Failures and retries --------------------------------------------------------------


def test_a_refused_send_shows_whatsapps_reason_and_a_retry_delivers_it(sim, api, olga) -> None:
    conversation = customer_writes(sim).conversation
    sim.fail_next(131047)
    response = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/", {"text": "On its way"}, format="json"
    )
    message_id = response.json()["id"]
    run_jobs()
    failed = api.get(f"/api/v1/conversations/{conversation.pk}/messages/").json()["results"][-1]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == 131047
    assert failed["error"]["title"].startswith("More than 24 hours have passed")
    assert failed["retryable"] is True

    retried = api.post(f"/api/v1/messages/{message_id}/retry/")
    assert retried.status_code == 202
    assert (retried.json()["status"], retried.json()["error"], retried.json()["retryable"]) == (
        "queued",
        None,
        False,
    )
    run_jobs()
    eventually(lambda: Message.objects.get(pk=message_id).status == "read")

    assert [r["payload"]["text"]["body"] for r in sim.refused] == ["On its way"]
    assert [r["payload"]["text"]["body"] for r in sim.sent_messages()] == ["On its way"]
    message = Message.objects.get(pk=message_id)
    assert message.wamid == sim.sent_messages()[0]["wamid"]
    assert message.send_attempts == 2
    assert list(
        SendAttempt.objects.filter(message=message).values_list(
            "number", "outcome", "error_code", "wamid", "requested_by"
        )
    ) == [(1, "failed", 131047, "", None), (2, "accepted", None, message.wamid, olga.pk)]


def test_a_retry_that_cannot_help_is_refused(olga, api) -> None:
    conversation = ConversationFactory()
    invalid = Message.objects.create(
        conversation=conversation,
        direction="out",
        status="failed",
        error_code=131009,
        error_title="A parameter value is not valid.",
        timestamp=timezone.now(),
    )
    assert (
        api.get(f"/api/v1/conversations/{conversation.pk}/messages/").json()["results"][0][
            "retryable"
        ]
        is False
    )
    response = api.post(f"/api/v1/messages/{invalid.id}/retry/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_retryable"
    assert "A parameter value is not valid." in response.json()["detail"]

    delivered = Message.objects.create(
        conversation=conversation, direction="out", status="delivered", timestamp=timezone.now()
    )
    assert api.post(f"/api/v1/messages/{delivered.id}/retry/").status_code == 409

    closed = ConversationFactory(last_inbound_at=timezone.now() - dt.timedelta(hours=25))
    throttled = Message.objects.create(
        conversation=closed,
        direction="out",
        status="failed",
        error_code=131000,
        timestamp=timezone.now(),
    )
    response = api.post(f"/api/v1/messages/{throttled.id}/retry/")
    assert response.status_code == 409
    assert "window is closed" in response.json()["detail"]
    assert not SendAttempt.objects.exists()
    assert django_rq.get_queue("default").count == 0
    for message in (invalid, delivered, throttled):
        status = message.status
        message.refresh_from_db()
        assert message.status == status


def test_late_reports_of_the_earlier_try_do_not_move_the_retried_message(
    olga, post_webhook
) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=olga)
    with responses.RequestsMock() as graph:
        graph.post(f"{GRAPH}/messages", json={"messages": [{"id": "wamid.FIRST"}]})
        services.message_deliver(message_id=message.pk)
    failed = status_webhook(
        message_id="wamid.FIRST",
        status="failed",
        callback_data=str(message.id),
        errors=[{"code": 131026, "title": "Message undeliverable"}],
    )
    post_webhook(failed)
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", 131026)
    # Not a reason that passes: the operator cannot retry it.
    with pytest.raises(services.NotRetryable):
        services.message_retry(message=message, user=olga)

    Message.objects.filter(pk=message.pk).update(error_code=131000)
    services.message_retry(message=message, user=olga)
    post_webhook(
        status_webhook(message_id="wamid.FIRST", status="delivered", callback_data=str(message.id))
    )
    message.refresh_from_db()
    assert (message.status, message.wamid) == ("queued", None)
    with responses.RequestsMock() as graph:
        graph.post(f"{GRAPH}/messages", json={"messages": [{"id": "wamid.SECOND"}]})
        services.message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.wamid) == ("accepted", "wamid.SECOND")


def test_every_try_is_recorded_with_its_outcome(olga) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=olga)
    with responses.RequestsMock() as graph:
        graph.post(
            f"{GRAPH}/messages",
            status=400,
            json={"error": {"code": 131009, "message": "(#131009) Parameter value is not valid"}},
        )
        services.message_deliver(message_id=message.pk)
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.number, attempt.outcome, attempt.error_code) == (1, "failed", 131009)
    assert attempt.finished_at is not None
    assert attempt.requested_by is None


def test_the_schema_describes_files_reactions_retries_and_typing(client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    send = paths["/api/v1/conversations/{id}/messages/"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(send)
    assert "/api/v1/messages/{id}/reaction/" in paths
    assert set(paths["/api/v1/messages/{id}/retry/"]["post"]["responses"]) >= {"202", "409"}
    assert "204" in paths["/api/v1/conversations/{id}/typing/"]["post"]["responses"]
