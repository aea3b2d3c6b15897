"""The simulator against a stub app: what crosses the wire, byte for byte where it matters.

No Django here: the "app" is a small stdlib HTTP server that records every webhook and checks
its signature the way the product must.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import WINDOW_SECONDS, Simulator

APP_SECRET = "test-app-secret"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
PROJECT_DIR = Path(__file__).resolve().parents[2]
FIXTURES_DIR = PROJECT_DIR.parent / "shared" / "fixtures" / "whatsapp"


@dataclass(frozen=True)
class Delivery:
    body: bytes
    signature: str
    content_type: str
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def value(self) -> dict[str, Any]:
        return self.payload["entry"][0]["changes"][0]["value"]

    @property
    def signature_is_valid(self) -> bool:
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)


class AppStub:
    """The business app's webhook endpoint: answers ``answers`` in turn, then 200."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.answers: deque[int] = deque()
        self.changed = threading.Condition()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stub.changed:
                    answer = stub.answers.popleft() if stub.answers else 200
                    stub.deliveries.append(
                        Delivery(
                            body=body,
                            signature=self.headers.get("X-Hub-Signature-256", ""),
                            content_type=self.headers.get("Content-Type", ""),
                            answered=answer,
                        )
                    )
                    stub.changed.notify_all()
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/whatsapp/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def wait_for(
        self, predicate: Callable[[Delivery], bool], count: int = 1, timeout: float = 5.0
    ) -> list[Delivery]:
        """The first ``count`` deliveries matching ``predicate``, waiting for them."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                matching = [d for d in self.deliveries if predicate(d)]
                if len(matching) >= count:
                    return matching[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} deliveries, got {len(matching)}")
                self.changed.wait(remaining)

    def statuses(self, wamid: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deliveries = self.wait_for(
            lambda d: any(s["id"] == wamid for s in d.value.get("statuses", [])), count, timeout
        )
        return [d.value["statuses"][0] for d in deliveries]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app() -> Iterator[AppStub]:
    stub = AppStub()
    yield stub
    stub.close()


@pytest.fixture
def sim(app: AppStub) -> Iterator[Simulator]:
    with Simulator(
        app.url,
        APP_SECRET,
        ACCESS_TOKEN,
        status_delay=0.05,
        webhook_backoff=0.05,
        auto_reply_delay=(0.0, 0.05),
        seed=7,
    ) as simulator:
        yield simulator


def send(sim: Simulator, body: dict[str, Any], token: str = ACCESS_TOKEN) -> requests.Response:
    return requests.post(
        f"{sim.graph_url}/{PHONE_NUMBER_ID}/messages",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def text(to: str, body: str = "Your order ships today.", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
        **extra,
    }


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``check()`` holds: the simulator logs a webhook once the app's answer is back,
    a moment after the app has recorded it."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def settle(sim: Simulator) -> None:
    """Return once the simulator has posted everything it scheduled (status webhooks,
    replies, reviews): only then does "nothing else arrived" prove anything."""
    assert sim.idle(), "the simulator still had webhooks to post"


# --- customers writing ----------------------------------------------------------------------


def test_customer_message_arrives_signed_in_the_platform_shape(
    sim: Simulator, app: AppStub
) -> None:
    result = sim.customer_says(
        "16505551234", "Does it come in another color?", timestamp=1749416383
    )

    (delivery,) = app.wait_for(lambda d: True)
    assert delivery.signature_is_valid
    assert delivery.content_type == "application/json"
    assert delivery.body == json.dumps(result["body"], separators=(",", ":")).encode()
    assert delivery.payload == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [
                                {"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}
                            ],
                            "messages": [
                                {
                                    "from": "16505551234",
                                    "id": result["wamid"],
                                    "timestamp": "1749416383",
                                    "type": "text",
                                    "text": {"body": "Does it come in another color?"},
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    assert result["status_code"] == 200
    assert result["wamid"].startswith("wamid.HBgL")
    assert sim.webhook_log == [("message", result["wamid"], 200)]


def test_customer_message_has_the_same_keys_as_the_documented_example(
    sim: Simulator, app: AppStub
) -> None:
    documented = json.loads((FIXTURES_DIR / "webhook_text_message.json").read_bytes())
    sim.customer_says("16505551234", "Does it come in another color?", timestamp=1749416383)

    (delivery,) = app.wait_for(lambda d: True)
    ours, theirs = delivery.value["messages"][0], documented["entry"][0]["changes"][0]["value"]
    assert list(ours) == list(theirs["messages"][0])
    assert {**ours, "id": "x"} == {**theirs["messages"][0], "id": "x"}
    assert delivery.value["contacts"] == theirs["contacts"]


def test_body_escapes_like_the_platform_so_only_raw_bytes_verify(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says("4915112345678", "Grüße, see https://example.com 🙏")

    (delivery,) = app.wait_for(lambda d: True)
    assert b"Lena M\\u00fcller" in delivery.body
    assert b"https:\\/\\/example.com \\ud83d\\ude4f" in delivery.body
    assert delivery.signature_is_valid
    assert delivery.value["messages"][0]["text"]["body"] == "Grüße, see https://example.com 🙏"
    reserialised = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    resigned = hmac.new(APP_SECRET.encode(), reserialised.encode(), hashlib.sha256).hexdigest()
    assert delivery.signature != "sha256=" + resigned


def test_reply_carries_the_context_of_the_business_message(sim: Simulator, app: AppStub) -> None:
    result = sim.customer_says(
        "447700900123", "Yes, that one", name="Ollie", context_wamid="wamid.BUSINESS=="
    )

    (delivery,) = app.wait_for(lambda d: True)
    message = delivery.value["messages"][0]
    assert message["context"] == {"from": "15550783881", "id": "wamid.BUSINESS=="}
    assert message["id"] == result["wamid"]
    assert delivery.value["contacts"] == [{"profile": {"name": "Ollie"}, "wa_id": "447700900123"}]
    assert sim.customers["447700900123"] == "Ollie"


def test_unknown_customer_is_created_on_first_contact(sim: Simulator, app: AppStub) -> None:
    sim.customer_says("+39 333 123 4567", "Ciao!")

    (delivery,) = app.wait_for(lambda d: True)
    assert delivery.value["messages"][0]["from"] == "393331234567"
    assert sim.customers["393331234567"] == "Customer 4567"
    assert "393331234567" in sim.customer_last_message_at


def test_customer_image_can_be_downloaded_by_the_app(sim: Simulator, app: AppStub) -> None:
    photo = b"\xff\xd8\xff\xe0 not really a jpeg"
    sim.customer_sends_image("16505551234", photo, caption="Broken handle")

    (delivery,) = app.wait_for(lambda d: True)
    image = delivery.value["messages"][0]["image"]
    assert delivery.value["messages"][0]["type"] == "image"
    assert image["caption"] == "Broken handle"
    assert image["mime_type"] == "image/jpeg"
    assert image["sha256"] == base64.b64encode(hashlib.sha256(photo).digest()).decode()
    bearer = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    info = requests.get(f"{sim.graph_url}/{image['id']}", headers=bearer, timeout=5).json()
    download = requests.get(info["url"], headers=bearer, timeout=5)
    assert download.content == photo


# --- the business sending -------------------------------------------------------------------


def test_send_answers_like_the_platform_then_posts_sent_delivered_read(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says("16505551234", "Where is my order?")

    response = send(sim, text("+16505551234", biz_opaque_callback_data="msg-42"))

    assert response.status_code == 200
    answer = response.json()
    wamid = answer["messages"][0]["id"]
    assert answer == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
        "messages": [{"id": wamid}],
    }
    statuses = app.statuses(wamid, 3)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    for status in statuses:
        assert status["recipient_id"] == "16505551234"
        assert status["biz_opaque_callback_data"] == "msg-42"
        assert status["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
        assert status["conversation"]["origin"] == {"type": "service"}
    sent_conversation = statuses[0]["conversation"]
    assert int(sent_conversation["expiration_timestamp"]) > time.time() + WINDOW_SECONDS - 60
    assert {s["conversation"]["id"] for s in statuses} == {sent_conversation["id"]}
    status_deliveries = app.wait_for(lambda d: "statuses" in d.value, 3)
    assert all(d.signature_is_valid for d in status_deliveries)
    eventually(lambda: len(sim.webhook_log) == 4)
    assert [entry[0] for entry in sim.webhook_log] == ["message", "sent", "delivered", "read"]
    (record,) = sim.sent_messages()
    assert record["wamid"] == wamid
    assert record["to"] == "16505551234"
    assert record["type"] == "text"
    assert record["payload"]["text"]["body"] == "Your order ships today."


def test_status_webhook_has_the_same_keys_as_the_documented_example(
    sim: Simulator, app: AppStub
) -> None:
    documented = json.loads(
        (FIXTURES_DIR / "webhook_status_sent_biz_opaque_callback_data.json").read_bytes()
    )
    theirs = documented["entry"][0]["changes"][0]["value"]["statuses"][0]
    sim.customer_says("16505551234", "Hi")

    wamid = send(sim, text("16505551234", biz_opaque_callback_data="x")).json()["messages"][0]["id"]

    (sent,) = app.statuses(wamid, 1)
    assert list(sent) == list(theirs)
    assert list(sent["conversation"]) == list(theirs["conversation"])


ORDER_UPDATE = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Your order {{1}} ships today.",
            "example": {"body_text": [["#48213"]]},
        }
    ],
}


def test_template_send_is_accepted_even_with_the_window_closed(
    sim: Simulator, app: AppStub
) -> None:
    sim.add_template(ORDER_UPDATE)
    template = {
        "messaging_product": "whatsapp",
        "to": "447700900123",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "#5"}]}],
        },
    }

    answer = send(sim, template).json()

    assert answer["messages"][0]["message_status"] == "accepted"
    statuses = app.statuses(answer["messages"][0]["id"], 3)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert statuses[0]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "category": "utility",
        "type": "regular",
    }


@pytest.mark.parametrize("last_message_at", [None, "25 hours ago"])
def test_send_outside_the_window_is_accepted_then_fails_with_131047(
    sim: Simulator, app: AppStub, last_message_at: str | None
) -> None:
    if last_message_at is not None:
        sim.customer_last_message_at["447700900123"] = time.time() - 25 * 3600

    response = send(sim, text("447700900123", biz_opaque_callback_data="msg-7"))

    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    (failed,) = app.statuses(wamid, 1)
    assert failed["status"] == "failed"
    assert failed["biz_opaque_callback_data"] == "msg-7"
    assert failed["errors"] == [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {
                "details": "Message failed to send because more than 24 hours have passed "
                "since the customer last replied to this number."
            },
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }
    ]
    assert "pricing" not in failed
    settle(sim)
    assert [entry[0] for entry in sim.webhook_log] == ["failed"]


def test_window_still_open_just_before_24_hours(sim: Simulator, app: AppStub) -> None:
    sim.customer_last_message_at["447700900123"] = time.time() - WINDOW_SECONDS + 60

    wamid = send(sim, text("447700900123")).json()["messages"][0]["id"]

    assert [s["status"] for s in app.statuses(wamid, 3)] == ["sent", "delivered", "read"]


def test_wrong_token_is_refused_with_code_190(sim: Simulator, app: AppStub) -> None:
    sim.customer_says("16505551234", "Hi")

    response = send(sim, text("16505551234"), token="not-the-token")
    missing = requests.post(
        f"{sim.graph_url}/{PHONE_NUMBER_ID}/messages", json=text("16505551234"), timeout=5
    )

    assert response.status_code == 401
    assert missing.status_code == 401
    error = response.json()["error"]
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert error["type"] == "OAuthException"
    assert error["code"] == 190
    assert error["fbtrace_id"]
    settle(sim)
    assert sim.sent_messages() == []
    assert [entry[0] for entry in sim.webhook_log] == ["message"]


def test_unknown_phone_number_id_is_refused_with_code_100(sim: Simulator) -> None:
    response = requests.post(
        f"{sim.graph_url}/999999999/messages",
        json=text("16505551234"),
        headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
    assert response.json()["error"]["type"] == "GraphMethodException"


TO = {"messaging_product": "whatsapp", "to": "16505551234"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"to": "16505551234", "text": {"body": "hi"}},
            "(#100) The parameter messaging_product is required.",
        ),
        (
            {"messaging_product": "whatsapp", "text": {"body": "hi"}},
            "(#100) The parameter to is required.",
        ),
        ({**TO, "text": {}}, "(#100) The parameter text['body'] is required."),
        ({**TO, "text": {"body": "  "}}, "(#100) The parameter text['body'] is required."),
        (
            {**TO, "text": {"body": "x" * 4097}},
            "(#100) Param text['body'] must be at most 4096 characters long.",
        ),
        ({**TO, "type": "fax"}, None),
        ({**TO, "type": "image", "image": {}}, None),
        ({**TO, "type": "template", "template": {"name": "x"}}, None),
        ({**TO, "type": "reaction", "reaction": {"emoji": "👍"}}, None),
    ],
)
def test_malformed_send_is_refused_with_code_100_and_a_sentence(
    sim: Simulator, body: dict[str, Any], message: str | None
) -> None:
    sim.customer_says("16505551234", "Hi")

    response = send(sim, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["error_data"]["details"].endswith(".")
    if message is not None:
        assert error["message"] == message
    assert sim.sent_messages() == []


def test_text_of_exactly_4096_characters_is_accepted(sim: Simulator) -> None:
    sim.customer_says("16505551234", "Hi")

    assert send(sim, text("16505551234", "x" * 4096)).status_code == 200


def test_fail_next_answers_the_next_sends_with_the_error_envelope(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says("16505551234", "Hi")
    sim.fail_next(130429)
    sim.fail_next(131000, http_status=500, title="Something went wrong", details="Try later.")

    first = send(sim, text("16505551234"))
    second = send(sim, text("16505551234"))
    third = send(sim, text("16505551234"))

    assert first.status_code == 400
    error = first.json()["error"]
    assert error == {
        "message": "(#130429) Rate limit hit",
        "type": "OAuthException",
        "code": 130429,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": "Cloud API message throughput has been reached.",
        },
        "fbtrace_id": error["fbtrace_id"],
    }
    assert second.status_code == 500
    assert second.json()["error"]["code"] == 131000
    assert second.json()["error"]["error_data"]["details"] == "Try later."
    assert third.status_code == 200
    assert [m["wamid"] for m in sim.sent_messages()] == [third.json()["messages"][0]["id"]]
    assert [(r["code"], r["payload"]["text"]["body"]) for r in sim.refused] == [
        (130429, "Your order ships today."),
        (131000, "Your order ships today."),
    ]


def test_mark_as_read_is_recorded_apart_from_sends(sim: Simulator, app: AppStub) -> None:
    incoming = sim.customer_says("16505551234", "Hi")

    response = send(
        sim,
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": incoming["wamid"],
            "typing_indicator": {"type": "text"},
        },
    )

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert [(r["message_id"], r["typing_indicator"]) for r in sim.read_receipts] == [
        (incoming["wamid"], True)
    ]
    assert [r["message_id"] for r in sim.typing_indicators] == [incoming["wamid"]]
    settle(sim)
    assert sim.sent_messages() == []
    assert len(app.deliveries) == 1


def test_a_plain_read_receipt_shows_no_typing_indicator(sim: Simulator, app: AppStub) -> None:
    incoming = sim.customer_says("16505551234", "Hi")

    body = {"messaging_product": "whatsapp", "status": "read", "message_id": incoming["wamid"]}
    assert send(sim, body).status_code == 200
    wrong = send(sim, {**body, "typing_indicator": {"type": "audio"}})

    assert wrong.status_code == 400
    assert [(r["message_id"], r["typing_indicator"]) for r in sim.read_receipts] == [
        (incoming["wamid"], False)
    ]
    assert sim.typing_indicators == []


def test_auto_reply_answers_a_text_after_it_was_read(app: AppStub) -> None:
    with Simulator(
        app.url,
        APP_SECRET,
        ACCESS_TOKEN,
        status_delay=0.02,
        auto_reply=True,
        auto_reply_delay=(0.0, 0.05),
    ) as sim:
        sim.customer_says("4915112345678", "Hallo")
        wamid = send(sim, text("4915112345678")).json()["messages"][0]["id"]

        replies = app.wait_for(lambda d: "messages" in d.value, count=2)

    statuses = [s["status"] for s in app.statuses(wamid, 3)]
    assert statuses == ["sent", "delivered", "read"]
    reply = replies[1].value["messages"][0]
    assert reply["from"] == "4915112345678"
    assert reply["text"]["body"]
    eventually(lambda: len(sim.webhook_log) == 5)
    assert [entry[0] for entry in sim.webhook_log] == [
        "message",
        "sent",
        "delivered",
        "read",
        "message",
    ]


def test_wait_for_sent_returns_a_matching_message_or_times_out(sim: Simulator) -> None:
    sim.customer_says("16505551234", "Hi")
    threading.Timer(0.1, send, args=(sim, text("16505551234", "Later"))).start()

    record = sim.wait_for_sent(lambda m: m["payload"]["text"]["body"] == "Later", timeout=5)

    assert record["to"] == "16505551234"
    with pytest.raises(TimeoutError):
        sim.wait_for_sent(timeout=0.1, since=1)


# --- media ----------------------------------------------------------------------------------


def test_media_upload_then_url_then_download_round_trip(sim: Simulator) -> None:
    data = b"%PDF-1.4\r\n--boundary-like\r\n\x00\xff binary"
    bearer = {"Authorization": f"Bearer {ACCESS_TOKEN}"}

    upload = requests.post(
        f"{sim.graph_url}/{PHONE_NUMBER_ID}/media",
        headers=bearer,
        data={"messaging_product": "whatsapp", "type": "application/pdf"},
        files={"file": ("invoice.pdf", data, "application/pdf")},
        timeout=5,
    )
    media_id = upload.json()["id"]
    info = requests.get(f"{sim.graph_url}/{media_id}", headers=bearer, timeout=5)
    download = requests.get(info.json()["url"], headers=bearer, timeout=5)
    anonymous = requests.get(info.json()["url"], timeout=5)

    assert upload.status_code == 200
    assert media_id.isdigit()
    assert info.json() == {
        "url": info.json()["url"],
        "mime_type": "application/pdf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "file_size": len(data),
        "id": media_id,
        "messaging_product": "whatsapp",
    }
    assert info.json()["url"].startswith(f"{sim.base_url}/media-download/{media_id}?token=")
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["Content-Type"] == "application/pdf"
    assert anonymous.status_code == 401


def test_unknown_media_id_is_refused_with_code_100(sim: Simulator) -> None:
    bearer = {"Authorization": f"Bearer {ACCESS_TOKEN}"}

    response = requests.get(f"{sim.graph_url}/1234567890123456", headers=bearer, timeout=5)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


def test_upload_without_a_file_is_refused(sim: Simulator) -> None:
    response = requests.post(
        f"{sim.graph_url}/{PHONE_NUMBER_ID}/media",
        headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
        files={"messaging_product": (None, "whatsapp"), "type": (None, "image/png")},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "(#100) The parameter file is required."


def documented_message(name: str) -> dict[str, Any]:
    documented = json.loads((FIXTURES_DIR / name).read_bytes())
    return documented["entry"][0]["changes"][0]["value"]["messages"][0]


def shape(value: Any) -> Any:
    """The keys of a payload, in order, all the way down (values left out)."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


CARD = {
    "name": {
        "first_name": "Barbara",
        "last_name": "Johnson",
        "formatted_name": "Barbara J. Johnson",
    },
    "org": {"company": "Social Tsunami"},
    "phones": [{"phone": "+1 (415) 555-0829", "wa_id": "14125550829", "type": "MOBILE"}],
}


@pytest.mark.parametrize(
    ("name", "send"),
    [
        (
            "webhook_video_message.json",
            lambda sim: sim.customer_sends_video("16505551234", b"mp4", caption="Timelapse"),
        ),
        ("webhook_audio_message.json", lambda sim: sim.customer_sends_voice("16505551234", b"ogg")),
        (
            "webhook_sticker_message.json",
            lambda sim: sim.customer_sends_sticker("16505551234", b"RIFF....WEBP"),
        ),
        (
            "webhook_document_message.json",
            lambda sim: sim.customer_sends_document(
                "16505551234", b"%PDF", "receipt.pdf", caption="my receipt"
            ),
        ),
        (
            "webhook_image_message.json",
            lambda sim: sim.customer_sends_image("16505551234", b"jpeg", caption="Taj Mahal"),
        ),
        (
            "webhook_location_message.json",
            lambda sim: sim.customer_sends_location(
                "16505551234",
                37.44221496582,
                -122.16165924072,
                place="Philz Coffee",
                address="101 Forest Ave, Palo Alto, CA 94301",
                url="https://philzcoffee.com/",
            ),
        ),
        (
            "webhook_contacts_message.json",
            lambda sim: sim.customer_shares_contacts("16505551234", [CARD]),
        ),
        (
            "webhook_interactive_button_reply.json",
            lambda sim: sim.customer_taps_reply_button(
                "16505551234", "wamid.OURS", "change-button", "Change"
            ),
        ),
        (
            "webhook_interactive_list_reply.json",
            lambda sim: sim.customer_picks_from_list(
                "16505551234",
                "wamid.OURS",
                "priority_express",
                "Priority Mail Express",
                "Next Day to 2 Days",
            ),
        ),
        (
            "webhook_button_template_quick_reply.json",
            lambda sim: sim.customer_taps_quick_reply("16505551234", "wamid.OURS", "Unsubscribe"),
        ),
    ],
)
def test_every_kind_of_customer_message_has_the_documented_shape(
    sim: Simulator, app: AppStub, name: str, send: Callable[[Simulator], Any]
) -> None:
    result = send(sim)

    (delivery,) = app.wait_for(lambda d: True)
    assert delivery.signature_is_valid
    ours = delivery.value["messages"][0]
    assert ours["id"] == result["wamid"]
    # Inside each object the keys come in the documented order; the documentation
    # itself lists a location message's top-level keys in another order.
    assert dict(shape(ours)) == dict(shape(documented_message(name)))


def test_a_voice_note_is_opus_audio_marked_as_voice(sim: Simulator, app: AppStub) -> None:
    sim.customer_sends_voice("16505551234", b"OggS voice")
    sim.customer_sends_audio("16505551234", b"ID3 song")

    voice, song = (d.value["messages"][0]["audio"] for d in app.wait_for(lambda d: True, 2))
    assert (voice["mime_type"], voice["voice"]) == ("audio/ogg; codecs=opus", True)
    assert (song["mime_type"], song["voice"]) == ("audio/mpeg", False)


def test_media_downloads_can_be_made_to_fail_then_succeed(sim: Simulator, app: AppStub) -> None:
    photo = b"\xff\xd8 photo"
    sim.customer_sends_image("16505551234", photo)
    (delivery,) = app.wait_for(lambda d: True)
    bearer = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    media_id = delivery.value["messages"][0]["image"]["id"]
    url = requests.get(f"{sim.graph_url}/{media_id}", headers=bearer, timeout=5).json()["url"]
    sim.fail_media_downloads(2, http_status=503)
    control = requests.post(
        f"{sim.base_url}/_sim/fail-media-downloads", json={"corrupt": True}, timeout=5
    )

    answers = [requests.get(url, headers=bearer, timeout=5) for _ in range(4)]

    assert control.json() == {"queued": 1}
    assert [a.status_code for a in answers] == [503, 503, 200, 200]
    assert answers[0].json()["error"]["code"] == 2
    assert answers[2].content != photo
    assert hashlib.sha256(answers[2].content).hexdigest() != hashlib.sha256(photo).hexdigest()
    assert answers[3].content == photo


def test_a_customer_reaction_has_the_documented_shape(sim: Simulator, app: AppStub) -> None:
    sim.customer_reacts("16505551234", "wamid.OURS", "😮")

    (delivery,) = app.wait_for(lambda d: True)
    ours = delivery.value["messages"][0]
    assert ours["reaction"] == {"message_id": "wamid.OURS", "emoji": "😮"}
    assert shape(ours) == shape(documented_message("webhook_reaction_message.json"))


# --- webhook delivery -----------------------------------------------------------------------


def test_webhook_is_retried_with_the_same_signed_body_until_the_app_answers_200(
    sim: Simulator, app: AppStub
) -> None:
    app.answers.extend([500, 503])

    result = sim.customer_says("16505551234", "Anyone there?")

    assert result["status_code"] == 200
    deliveries = app.wait_for(lambda d: True, count=3)
    assert [d.answered for d in deliveries] == [500, 503, 200]
    assert len({d.body for d in deliveries}) == 1
    assert all(d.signature_is_valid for d in deliveries)
    assert sim.webhook_log == [
        ("message", result["wamid"], 500),
        ("message", result["wamid"], 503),
        ("message", result["wamid"], 200),
    ]


def test_webhook_gives_up_after_the_configured_retries(app: AppStub) -> None:
    app.answers.extend([500] * 10)
    with Simulator(
        app.url, APP_SECRET, ACCESS_TOKEN, webhook_retries=2, webhook_backoff=0.01
    ) as sim:
        result = sim.customer_says("16505551234", "Hello?")

    assert result["status_code"] == 500
    assert len(app.deliveries) == 3


def test_unreachable_app_is_reported_as_none() -> None:
    sim = Simulator(
        "http://127.0.0.1:9/nowhere",
        APP_SECRET,
        ACCESS_TOKEN,
        webhook_retries=1,
        webhook_backoff=0.01,
    )

    result = sim.customer_says("16505551234", "Hello?")

    assert result["status_code"] is None
    assert [entry[2] for entry in sim.webhook_log] == [None, None]


# --- control endpoints, chatter, command line -----------------------------------------------


def test_control_endpoints_drive_customers_and_list_sends(sim: Simulator, app: AppStub) -> None:
    health = requests.get(f"{sim.base_url}/_sim/health", timeout=5)
    said = requests.post(
        f"{sim.base_url}/_sim/customers/5511987654321/messages",
        json={"text": "Oi! Meu pedido chegou?", "name": "Ana S."},
        timeout=5,
    )
    wamid = send(sim, text("5511987654321", "Chegou sim!")).json()["messages"][0]["id"]
    sent = requests.get(f"{sim.base_url}/_sim/sent", timeout=5)
    queued = requests.post(f"{sim.base_url}/_sim/fail-next", json={"code": 131026}, timeout=5)
    refused = send(sim, text("5511987654321"))
    bad = requests.post(f"{sim.base_url}/_sim/customers/5511987654321/messages", json={}, timeout=5)

    assert health.json() == {"ok": True}
    assert said.status_code == 200
    assert said.json()["status_code"] == 200
    (delivery,) = app.wait_for(lambda d: "messages" in d.value)
    assert delivery.value["messages"][0]["id"] == said.json()["wamid"]
    assert delivery.value["contacts"][0]["profile"]["name"] == "Ana S."
    assert said.json()["body"] == delivery.payload
    assert [(m["wamid"], m["to"]) for m in sent.json()] == [(wamid, "5511987654321")]
    assert queued.status_code == 200
    assert refused.json()["error"]["code"] == 131026
    assert bad.status_code == 400
    eventually(lambda: len(sim.webhook_log) >= 2)
    webhooks = requests.get(f"{sim.base_url}/_sim/webhooks", timeout=5).json()
    assert webhooks[0] == {"kind": "message", "wamid": said.json()["wamid"], "status_code": 200}


def test_chatter_has_known_customers_write_until_stopped(app: AppStub) -> None:
    sim = Simulator(app.url, APP_SECRET, ACCESS_TOKEN, seed=3).start()
    try:
        sim.start_chatter((0.02, 0.05), first_after=0.0)
        deliveries = app.wait_for(lambda d: "messages" in d.value, count=3)
    finally:
        sim.stop()
    count = len(app.deliveries)
    time.sleep(0.2)

    assert len(app.deliveries) == count
    for delivery in deliveries:
        message = delivery.value["messages"][0]
        assert message["from"] in sim.customers
        if message["type"] == "text":  # now and then a photo, a place, an invoice...
            assert message["text"]["body"]
            assert "{order}" not in message["text"]["body"]


def test_stop_cancels_pending_status_webhooks(app: AppStub) -> None:
    sim = Simulator(app.url, APP_SECRET, ACCESS_TOKEN, status_delay=0.3).start()
    sim.customer_says("16505551234", "Hi")
    send(sim, text("16505551234"))

    sim.stop()
    time.sleep(0.5)

    assert [entry[0] for entry in sim.webhook_log] == ["message"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.base_url}/_sim/health", timeout=1)


def test_idle_waits_for_every_scheduled_webhook_and_cancels_none(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says("16505551234", "Hi")
    wamid = send(sim, text("16505551234")).json()["messages"][0]["id"]

    assert sim.idle() is True

    # Nothing left to wait for: all three statuses are already in the app's hands.
    statuses = [d.value["statuses"][0] for d in app.deliveries if "statuses" in d.value]
    assert [(s["id"], s["status"]) for s in statuses] == [
        (wamid, "sent"),
        (wamid, "delivered"),
        (wamid, "read"),
    ]


def test_settle_drops_pending_webhooks_and_ends_retries_but_keeps_serving(
    app: AppStub,
) -> None:
    sim = Simulator(
        app.url, APP_SECRET, ACCESS_TOKEN, status_delay=0.05, webhook_backoff=3.0
    ).start()
    try:
        sim.customer_says("16505551234", "Hi")
        app.answers.append(500)  # the "sent" status is refused and waits 3 s to be posted again
        first = send(sim, text("16505551234")).json()["messages"][0]["id"]
        app.statuses(first, 1)

        started = time.monotonic()
        assert sim.settle() is True
        took = time.monotonic() - started
        time.sleep(0.3)

        assert took < 1.5
        assert [(kind, status) for kind, _, status in sim.webhook_log] == [
            ("message", 200),
            ("sent", 500),
        ]
        second = send(sim, text("16505551234")).json()["messages"][0]["id"]
        assert [s["status"] for s in app.statuses(second, 3)] == ["sent", "delivered", "read"]
    finally:
        sim.stop()


def test_simulator_imports_nothing_from_the_product() -> None:
    code = (
        "import sys, simulator, simulator.__main__; "
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'django', 'whatsapp', 'conversations', 'inbox'}); "
        "print(bad); sys.exit(1 if bad else 0)"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_command_line_serves_until_sigterm(app: AppStub) -> None:
    help_run = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert help_run.returncode == 0
    assert "--app-webhook-url" in help_run.stdout

    env = {**os.environ, "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--app-webhook-url", app.url, "--port", "0"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        base_url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        said = requests.post(
            f"{base_url}/_sim/customers/16505551234/messages", json={"text": "Hi"}, timeout=5
        )
        assert said.json()["status_code"] == 200
        assert app.wait_for(lambda d: True)[0].signature_is_valid
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "-> 200" in stderr


DOCUMENTED_REQUESTS = sorted(
    p.name
    for p in FIXTURES_DIR.glob("*_request*.json")
    if p.name.startswith(("send_", "mark_as_read", "typing_indicator"))
)


def test_every_documented_send_request_is_there() -> None:
    assert len(DOCUMENTED_REQUESTS) == 15


# The template the limited-time-offer send example is for, as the same page creates it.
LIMITED_TIME_OFFER_TEMPLATE = {
    "name": "limited_time_offer_caribbean_pkg_2023",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {"type": "header", "format": "image", "example": {"header_handle": ["4::aW..."]}},
        {
            "type": "limited_time_offer",
            "limited_time_offer": {"text": "Expiring offer!", "has_expiration": True},
        },
        {
            "type": "body",
            "text": "Good news, {{1}}! Use code {{2}} to get 25% off all Caribbean packages!",
            "example": {"body_text": [["Pablo", "CARIBE25"]]},
        },
        {
            "type": "buttons",
            "buttons": [
                {"type": "copy_code", "example": "CARIBE25"},
                {
                    "type": "url",
                    "text": "Book now!",
                    "url": "https://awesomedestinations.com/offers?code={{1}}",
                    "example": ["https://awesomedestinations.com/offers?ref=n3mtql"],
                },
            ],
        },
    ],
}


def media_ids_in(value: Any) -> set[str]:
    """The ids of uploaded media a request refers to, wherever they are."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("image", "video", "audio", "document", "sticker") and isinstance(item, dict):
                found.update([str(item["id"])] if "id" in item else [])
            found |= media_ids_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= media_ids_in(item)
    return found


def documented_world(sim: Simulator, *requests: dict[str, Any]) -> None:
    """What the documented ``requests`` take for granted: the customer wrote (so the window
    is open and the messages marked read exist), the media they send by id was uploaded,
    and the templates they send exist and are approved."""
    sim.customer_says("16505551234", "hello")
    for request in requests:
        if request.get("status") == "read":
            sim.customer_sends("16505551234", "text", {"body": "hi"}, wamid=request["message_id"])
        for media_id in media_ids_in(request):
            sim.upload_media(b"\xff\xd8\xff\xe0 example", "image/jpeg", media_id=media_id)
    for created in (
        "template_create_request_utility_named_params.json",
        "template_create_request_marketing_positional_copy_code.json",
    ):
        sim.add_template(json.loads((FIXTURES_DIR / created).read_bytes()))
    sim.add_template(LIMITED_TIME_OFFER_TEMPLATE)


@pytest.mark.parametrize("name", DOCUMENTED_REQUESTS)
def test_the_graph_api_accepts_every_documented_request(name: str) -> None:
    """The platform's own example requests pass the simulator's checks as they are."""
    body = (FIXTURES_DIR / name).read_bytes()
    with Simulator("http://127.0.0.1:9/unused", "secret", "token", webhook_retries=0) as sim:
        documented_world(sim, json.loads(body))  # the app is unreachable
        response = requests.post(
            f"{sim.graph_url}/{sim.phone_number_id}/messages",
            data=body,
            headers={"Authorization": "Bearer token", "Content-Type": "application/json"},
            timeout=5,
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    if json.loads(body).get("status") == "read":
        assert answer == {"success": True}
    else:
        assert answer["messages"][0]["id"].startswith("wamid.")
