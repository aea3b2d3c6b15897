"""Customers' files and reactions: downloaded by a job into storage, retried with
backoff, served only to who may see the chat, reactions shown on their target."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

import django_rq
import pytest
import responses
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rq import SimpleWorker

from conftest import FIXTURES_DIR
from conversations import ingest, jobs, services
from conversations.models import Message
from conversations.tests.factories import (
    ContactFactory,
    ConversationFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
    _envelope,
    body,
    wamid,
)
from simulator import Simulator, wire

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.example.test/v23.0"
LOOKASIDE = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF photo of a broken handle"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def fixture_message(name: str, **changes: Any) -> dict[str, Any]:
    """A documented webhook with a fresh message id and, for media, ``changes``
    applied to the object under its type."""
    payload = json.loads((FIXTURES_DIR / name).read_bytes())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = wamid()
    message[message["type"]].update(changes)
    return payload


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def fake_graph(graph: responses.RequestsMock, media_id: str, data: bytes, **info: Any) -> None:
    """WhatsApp's two answers: the media URL for ``media_id``, then the bytes."""
    answer = {
        "url": LOOKASIDE,
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(data).hexdigest(),
        "file_size": len(data),
        "id": media_id,
        "messaging_product": "whatsapp",
        **info,
    }
    graph.get(f"{GRAPH}/{media_id}", json=answer)
    graph.get(LOOKASIDE, body=data)


def receive_image(
    post_webhook, data: bytes = JPEG, media_id: str = "1003383421387256", **changes: Any
) -> Message:
    payload = fixture_message(
        "webhook_image_message.json", id=media_id, sha256=b64sha(data), **changes
    )
    assert post_webhook(payload).status_code == 200
    return Message.objects.get(
        wamid=payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    )


def as_received(message: Message) -> tuple[Any, ...]:
    return (message.type, message.text, message.content, message.status, message.timestamp)


# --- Download ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mime_type", "extension"),
    [
        ("webhook_image_message.json", "image/jpeg", ".jpg"),
        ("webhook_sticker_message.json", "image/webp", ".webp"),
        ("webhook_video_message.json", "video/mp4", ".mp4"),
        ("webhook_audio_message.json", "audio/ogg; codecs=opus", ".ogg"),
        ("webhook_document_message.json", "application/pdf", ".pdf"),
    ],
)
def test_each_kind_of_media_is_downloaded_and_stored(
    post_webhook, numbers, published, django_capture_on_commit_callbacks, name, mime_type, extension
) -> None:
    data = f"bytes of a {mime_type} file".encode()
    payload = fixture_message(name, sha256=b64sha(data))
    media_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    media_id = media_id[media_id["type"]]["id"]
    post_webhook(payload)
    message = Message.objects.get()
    assert message.media_state == "pending"
    received = as_received(message)

    with responses.RequestsMock() as graph, django_capture_on_commit_callbacks(execute=True):
        fake_graph(graph, media_id, data, mime_type=mime_type)
        attempt = services.media_download(message_id=message.id)

    assert attempt.retry_in is None
    message.refresh_from_db()
    assert message.media_state == "ready"
    assert message.media_size == len(data)
    assert message.media_error == ""
    with message.media_file.open("rb") as stored:
        assert stored.read() == data
    if name == "webhook_document_message.json":
        assert message.media_file.name.endswith("/receipt.pdf")
    else:
        assert message.media_file.name.endswith(f"/{media_id}{extension}")
    assert as_received(message) == received
    media = published[-1].event["message"]["media"]
    assert published[-1].event["type"] == "message.updated"
    # To whoever may see the chat: its number's team (none here) and the supervisors.
    assert published[-1].groups == ("team.none", "supervisors")
    assert (media["state"], media["size"]) == ("ready", len(data))
    assert media["url"] == f"/api/v1/messages/{message.id}/media/"


def test_a_dangerous_file_name_is_stored_under_a_safe_one(post_webhook, numbers) -> None:
    payload = fixture_message(
        "webhook_document_message.json",
        filename="../../settings.py",
        sha256=b64sha(b"x"),
        id="77",
    )
    post_webhook(payload)
    message = Message.objects.get()
    with responses.RequestsMock() as graph:
        fake_graph(graph, "77", b"x", mime_type="text/x-python")
        services.media_download(message_id=message.id)
    message.refresh_from_db()
    assert message.media_state == "ready"
    assert message.media_file.name.startswith("messages/")
    assert message.media_file.name.endswith("/settings.py")
    assert ".." not in message.media_file.name


@pytest.mark.django_db(transaction=True)
def test_storing_a_media_message_enqueues_its_download_job(post_webhook, numbers) -> None:
    message = receive_image(post_webhook)
    queued = django_rq.get_queue("default").jobs
    assert [(job.func_name, job.args) for job in queued] == [
        ("conversations.jobs.download_media", (str(message.id),))
    ]
    with responses.RequestsMock() as graph:
        fake_graph(graph, "1003383421387256", JPEG)
        django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
    message.refresh_from_db()
    assert message.media_state == "ready"


def test_files_from_the_simulator_pass_the_media_host_check(
    post_webhook, numbers, settings
) -> None:
    """The demo's WhatsApp: media URLs on the simulator's own host, the Graph URL's."""
    with Simulator(
        "http://127.0.0.1:9/webhooks/whatsapp/",
        settings.WHATSAPP_APP_SECRET,
        settings.WHATSAPP_ACCESS_TOKEN,
        webhook_retries=0,
    ) as sim:
        settings.WHATSAPP_GRAPH_URL = sim.graph_url
        sim.fail_media_downloads(1, corrupt=True)
        sent = sim.customer_sends_voice("16505551234", b"OggS a voice note")
        post_webhook(sent["body"])
        message = Message.objects.get()

        first = services.media_download(message_id=message.id)
        second = services.media_download(message_id=message.id)

    assert first.retry_in == dt.timedelta(seconds=30)
    message.refresh_from_db()
    assert second.retry_in is None
    assert (message.media_state, message.media_attempts) == ("ready", 1)
    assert message.content["voice"] is True
    with message.media_file.open("rb") as stored:
        assert stored.read() == b"OggS a voice note"
    assert message.media_file.name.endswith(".ogg")


def test_a_text_message_enqueues_no_download(post_webhook, numbers) -> None:
    payload = json.loads((FIXTURES_DIR / "webhook_text_message.json").read_bytes())
    post_webhook(payload)
    assert Message.objects.get().media_state == ""
    assert django_rq.get_queue("default").count == 0


def test_a_damaged_file_is_retried_with_backoff_then_failed_with_the_message_intact(
    post_webhook, numbers, published, django_capture_on_commit_callbacks
) -> None:
    message = receive_image(post_webhook)
    received = as_received(message)

    delays = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as graph:
        fake_graph(graph, "1003383421387256", JPEG)
        graph.replace(responses.GET, LOOKASIDE, body=JPEG[:-1] + b"?")
        for _ in range(4):
            with django_capture_on_commit_callbacks(execute=True):
                delays.append(services.media_download(message_id=message.id).retry_in)

    assert delays == [
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=10),
        None,
    ]
    message.refresh_from_db()
    assert message.media_state == "failed"
    assert message.media_attempts == 4
    assert "checksum" in message.media_error
    assert not message.media_file
    assert as_received(message) == received
    assert published[-1].event["message"]["media"]["state"] == "failed"
    assert published[-1].event["message"]["media"]["url"] is None
    assert published[-1].groups == ("team.none", "supervisors")
    # A fifth run (a duplicated job) changes nothing.
    with responses.RequestsMock() as graph:
        services.media_download(message_id=message.id)
    message.refresh_from_db()
    assert message.media_attempts == 4


def test_a_server_error_schedules_the_job_again_in_30_seconds(post_webhook, numbers) -> None:
    message = receive_image(post_webhook)
    with responses.RequestsMock() as graph:
        graph.get(f"{GRAPH}/1003383421387256", body="Bad Gateway", status=502)
        before = timezone.now()
        jobs.download_media(str(message.id))

    message.refresh_from_db()
    assert (message.media_state, message.media_attempts) == ("pending", 1)
    assert "502" in message.media_error
    registry = django_rq.get_queue("default").scheduled_job_registry
    (job_id,) = registry.get_job_ids()
    assert (registry.get_scheduled_time(job_id) - before).total_seconds() == pytest.approx(
        30, abs=3
    )


def test_a_refused_token_fails_at_once_with_the_reason(post_webhook, numbers) -> None:
    message = receive_image(post_webhook)
    expired = json.loads(
        (FIXTURES_DIR / "error_190_access_token_expired_response.json").read_bytes()
    )
    with responses.RequestsMock() as graph:
        graph.get(f"{GRAPH}/1003383421387256", json=expired, status=401)
        attempt = services.media_download(message_id=message.id)
    assert attempt.retry_in is None
    message.refresh_from_db()
    assert (message.media_state, message.media_attempts) == ("failed", 1)
    assert message.media_error.startswith("WhatsApp refused the download")


def test_a_media_url_on_another_host_is_refused_and_nothing_is_fetched(
    post_webhook, numbers
) -> None:
    message = receive_image(post_webhook)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as graph:
        fake_graph(graph, "1003383421387256", JPEG, url="http://169.254.169.254/latest/")
        graph.get("http://169.254.169.254/latest/", body="instance credentials")
        attempt = services.media_download(message_id=message.id)
        fetched = [call.request.url for call in graph.calls]
    assert fetched == [f"{GRAPH}/1003383421387256"]
    assert attempt.retry_in is None
    message.refresh_from_db()
    assert message.media_state == "failed"
    assert "not a WhatsApp media host" in message.media_error


def test_a_later_manual_retry_succeeds(post_webhook, numbers) -> None:
    operator = UserFactory(username="olga", role="operator")
    message = receive_image(post_webhook)
    with responses.RequestsMock() as graph:
        graph.get(f"{GRAPH}/1003383421387256", body="down", status=503)
        for _ in range(4):
            services.media_download(message_id=message.id)
    message.refresh_from_db()
    assert message.media_state == "failed"

    api = APIClient()
    api.force_authenticate(operator)
    response = api.post(f"/api/v1/messages/{message.id}/media/retry/")
    assert response.status_code == 202
    assert response.json()["media"]["state"] == "pending"
    assert response.json()["media"]["error"] == ""
    message.refresh_from_db()
    assert (message.media_state, message.media_attempts) == ("pending", 0)

    with responses.RequestsMock() as graph:
        fake_graph(graph, "1003383421387256", JPEG)
        services.media_download(message_id=message.id)
    served = api.get(f"/api/v1/messages/{message.id}/media/")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == JPEG


def test_retrying_a_download_that_did_not_fail_is_a_conflict(post_webhook, numbers) -> None:
    operator = UserFactory(username="olga", role="operator")
    message = receive_image(post_webhook)
    api = APIClient()
    api.force_authenticate(operator)
    response = api.post(f"/api/v1/messages/{message.id}/media/retry/")
    assert response.status_code == 409
    assert response.json()["code"] == "media_not_failed"
    assert django_rq.get_queue("default").count == 0


# --- Serving ------------------------------------------------------------------------


def stored(conversation, data: bytes, mime_type: str, filename: str = "", **content: Any):
    """A customer's file already downloaded."""
    message = Message.objects.create(
        conversation=conversation,
        direction="in",
        wamid=wamid(),
        type="document" if filename else "image",
        content={"id": "55", "mime_type": mime_type, "filename": filename, **content},
        status="received",
        timestamp=timezone.now(),
        media_state="ready",
        media_size=len(data),
    )
    from django.core.files.base import ContentFile

    message.media_file.save(filename or "55.bin", ContentFile(data))
    return message


@pytest.fixture
def support_chat():
    olga = UserFactory(username="olga", role="operator")
    return ConversationFactory(team=TeamFactory(name="Support", members=[olga])), olga


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_photo_is_served_inline_to_the_team_and_to_supervisors(support_chat) -> None:
    conversation, olga = support_chat
    message = stored(conversation, JPEG, "image/jpeg")
    for user in (olga, UserFactory(username="sam", role="supervisor")):
        response = client_for(user).get(f"/api/v1/messages/{message.id}/media/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == JPEG
        assert response["Content-Type"] == "image/jpeg"
        assert response["Content-Disposition"].startswith("inline")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


@pytest.mark.parametrize(
    ("asked", "status", "part", "content_range"),
    [
        ("bytes=2-5", 206, b"2345", "bytes 2-5/10"),
        ("bytes=7-", 206, b"789", "bytes 7-9/10"),
        ("bytes=-3", 206, b"789", "bytes 7-9/10"),
        ("bytes=8-99", 206, b"89", "bytes 8-9/10"),
        ("bytes=10-", 416, b"", "bytes */10"),
        ("bytes=0-1,4-5", 200, b"0123456789", None),  # several ranges: the whole file
        ("items=0-1", 200, b"0123456789", None),
    ],
)
def test_a_player_may_ask_for_part_of_a_file(support_chat, asked, status, part, content_range):
    conversation, olga = support_chat
    message = stored(conversation, b"0123456789", "video/mp4")
    response = client_for(olga).get(f"/api/v1/messages/{message.id}/media/", HTTP_RANGE=asked)
    assert response.status_code == status
    assert b"".join(response.streaming_content) == part
    assert response["Content-Length"] == str(len(part))
    assert response.get("Content-Range") == content_range
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_nobody_else_gets_the_file(support_chat, client) -> None:
    conversation, _ = support_chat
    message = stored(conversation, JPEG, "image/jpeg")
    boris = UserFactory(username="boris", role="operator")
    TeamFactory(name="Sales", members=[boris])
    url = f"/api/v1/messages/{message.id}/media/"

    assert client_for(boris).get(url).status_code == 404
    assert client_for(UserFactory(username="nobody")).get(url).status_code == 403
    assert APIClient().get(url).status_code == 401
    client.force_login(UserFactory(username="nobody"))
    assert client.get(url).status_code == 403
    assert client_for(boris).post(f"{url}retry/").status_code == 404


@pytest.mark.parametrize(
    ("mime_type", "filename", "data"),
    [
        ("image/svg+xml", "logo.svg", b"<svg onload=alert(1) xmlns='http://www.w3.org/2000/svg'/>"),
        ("text/html", "invoice.html", b"<script>alert(1)</script>"),
        ("application/x-unknown", "data.bin", b"\x00\x01"),
        ("text/html\r\nX-Evil: 1", "page.html", b"<b>hi</b>"),
        ("text/html", "page\r\nX-Evil: 1.html", b"<b>hi</b>"),
    ],
)
def test_anything_that_could_run_in_the_page_is_only_downloaded(
    support_chat, mime_type, filename, data
) -> None:
    conversation, olga = support_chat
    message = stored(conversation, data, mime_type, filename)
    response = client_for(olga).get(f"/api/v1/messages/{message.id}/media/")
    assert response.status_code == 200
    shown = filename.replace("\r\n", "")
    assert response["Content-Disposition"] == f'attachment; filename="{shown}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "\n" not in response["Content-Type"]
    assert "X-Evil" not in response


def test_a_document_keeps_its_name_and_voice_notes_play_inline(support_chat) -> None:
    conversation, olga = support_chat
    pdf = stored(conversation, b"%PDF-1.7", "application/pdf", "Договор №5.pdf")
    voice = stored(conversation, b"OggS", "audio/ogg; codecs=opus")
    api = client_for(olga)

    response = api.get(f"/api/v1/messages/{pdf.id}/media/")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert "filename*=utf-8''%D0%94%D0%BE%D0%B3" in response["Content-Disposition"]

    response = api.get(f"/api/v1/messages/{voice.id}/media/")
    assert response["Content-Type"] == "audio/ogg; codecs=opus"
    assert response["Content-Disposition"].startswith("inline")


def test_a_file_not_downloaded_yet_is_not_found(support_chat, post_webhook, numbers) -> None:
    _, olga = support_chat
    message = receive_image(post_webhook)
    assert client_for(olga).get(f"/api/v1/messages/{message.id}/media/").status_code == 404


def test_the_schema_describes_the_media_endpoints_without_warnings(tmp_path) -> None:
    target = tmp_path / "schema.json"
    call_command("spectacular", "--fail-on-warn", "--format", "openapi-json", "--file", target)
    paths = json.loads(target.read_text())["paths"]
    assert "200" in paths["/api/v1/messages/{id}/media/"]["get"]["responses"]
    assert "409" in paths["/api/v1/messages/{id}/media/retry/"]["post"]["responses"]


# --- Reactions ----------------------------------------------------------------------


def reaction(target: str, emoji: str, seconds: int, message_id: str | None = None) -> bytes:
    message = wire.inbound_message(
        wa_id="16505551234",
        wamid=message_id or wamid(),
        timestamp=int(timezone.now().timestamp()) + seconds,
        message_type="reaction",
        content={"message_id": target, "emoji": emoji},
    )
    contact = {"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}
    return body(_envelope("106540352242922", {"contacts": [contact], "messages": [message]}))


@pytest.fixture
def our_reply():
    conversation = ConversationFactory(
        number=NumberFactory(), contact=ContactFactory(wa_id="16505551234")
    )
    return Message.objects.create(
        conversation=conversation,
        direction="out",
        wamid="wamid.OUR-REPLY",
        text="Your parcel left this morning.",
        status="delivered",
        timestamp=timezone.now(),
        reactions={"business": "🙏"},
    )


def test_a_customer_reaction_shows_on_the_message_it_reacts_to(
    post_webhook, our_reply, published, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(reaction("wamid.OUR-REPLY", "❤️", 0)).status_code == 200

    our_reply.refresh_from_db()
    assert our_reply.reactions == {"business": "🙏", "customer": "❤️"}
    assert Message.objects.filter(type="reaction", content__emoji="❤️").count() == 1
    updated = [p for p in published if p.event["type"] == "message.updated"]
    assert [p.event["message"]["id"] for p in updated] == [str(our_reply.id)]
    assert updated[0].event["message"]["reactions"] == {"business": "🙏", "customer": "❤️"}
    assert updated[0].groups == ("team.none", "supervisors")


def test_a_reaction_asks_nothing_of_the_operators(post_webhook, our_reply) -> None:
    chat = our_reply.conversation
    chat.status = "resolved"
    chat.save(update_fields=["status"])

    post_webhook(reaction("wamid.OUR-REPLY", "👍", 0))

    chat.refresh_from_db()
    assert (chat.status, chat.unread_count, chat.waiting_since) == ("resolved", 0, None)
    assert chat.last_message_text == "👍"  # still the chat's latest news in the list
    post_webhook(reaction("wamid.OUR-REPLY", "❤️", 5))
    chat.refresh_from_db()
    assert (chat.status, chat.unread_count) == ("resolved", 0)


def test_an_empty_emoji_removes_the_customers_reaction(post_webhook, our_reply) -> None:
    post_webhook(reaction("wamid.OUR-REPLY", "👍", 0))
    post_webhook(reaction("wamid.OUR-REPLY", "", 5))
    our_reply.refresh_from_db()
    assert our_reply.reactions == {"business": "🙏"}


def test_the_newest_reaction_wins_whatever_the_delivery_order(post_webhook, our_reply) -> None:
    post_webhook(reaction("wamid.OUR-REPLY", "😮", 10))
    post_webhook(reaction("wamid.OUR-REPLY", "👍", 0))
    our_reply.refresh_from_db()
    assert our_reply.reactions["customer"] == "😮"


def test_a_reaction_to_a_message_we_do_not_have_is_kept_harmlessly(
    post_webhook, numbers, published, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(reaction("wamid.UNKNOWN", "👍", 0)).status_code == 200
    assert Message.objects.get().type == "reaction"
    created = [p for p in published if p.event["type"].startswith("message.")]
    assert [p.event["type"] for p in created] == ["message.created"]
    assert created[0].groups == ("team.none", "supervisors")


def test_the_documented_reaction_webhook_is_applied(post_webhook, numbers) -> None:
    conversation = ConversationFactory(
        number=numbers[1], contact=ContactFactory(wa_id="972987654321")
    )
    target = Message.objects.create(
        conversation=conversation,
        direction="out",
        wamid="wamid.yzxyzx=",
        status="read",
        timestamp=timezone.now(),
    )
    post_webhook((FIXTURES_DIR / "webhook_reaction_message.json").read_bytes())
    target.refresh_from_db()
    assert target.reactions == {"customer": "😮"}


# --- The batched webhook path ----------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the batched path is PostgreSQL's")
def test_the_batched_path_downloads_media_and_applies_reactions(
    our_reply, published, django_capture_on_commit_callbacks
) -> None:
    image = wire.inbound_message(
        wa_id="16505551234",
        wamid="wamid.IMAGE",
        timestamp=int(timezone.now().timestamp()),
        message_type="image",
        content={"id": "42", "mime_type": "image/jpeg", "sha256": b64sha(JPEG)},
    )
    contact = {"profile": {"name": our_reply.conversation.contact.profile_name}}
    contact["wa_id"] = "16505551234"
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = ingest.apply_batch(
            [
                body(_envelope("106540352242922", {"contacts": [contact], "messages": [image]})),
                reaction("wamid.OUR-REPLY", "👍", 0),
            ]
        )

    assert [o.status for o in outcomes] == [200, 200]
    assert Message.objects.get(wamid="wamid.IMAGE").media_state == "pending"
    queued = django_rq.get_queue("default").jobs
    assert [job.func_name for job in queued] == ["conversations.jobs.download_media"]
    our_reply.refresh_from_db()
    assert our_reply.reactions == {"business": "🙏", "customer": "👍"}
