"""Sends the platform refuses are refused by the simulator too, and nothing is delivered:
unknown media, recipients that are no phone numbers, read receipts for messages the number
never received, and values WhatsApp finds missing (131008) or not valid (131009). Reactions
get only the status the platform sends for them.

No Django here: the "app" is the stub from ``test_simulator``, which records every webhook.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator import Simulator
from simulator.tests.test_simulator import (
    ACCESS_TOKEN,
    APP_SECRET,
    DOCUMENTED_REQUESTS,
    FIXTURES_DIR,
    PHONE_NUMBER_ID,
    AppStub,
    documented_world,
    eventually,
    send,
    settle,
    text,
)

CUSTOMER = "16505551234"
BEARER = {"Authorization": f"Bearer {ACCESS_TOKEN}"}


@pytest.fixture
def app() -> Iterator[AppStub]:
    stub = AppStub()
    yield stub
    stub.close()


@pytest.fixture
def sim(app: AppStub) -> Iterator[Simulator]:
    with Simulator(
        app.url, APP_SECRET, ACCESS_TOKEN, status_delay=0.05, webhook_backoff=0.05
    ) as simulator:
        yield simulator


def assert_refused_and_nothing_delivered(
    sim: Simulator, app: AppStub, answer: requests.Response, code: int
) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    settle(sim)
    assert sim.sent_messages() == []
    assert not any("statuses" in d.value for d in app.deliveries)
    return error


def upload(sim: Simulator, data: bytes = b"\xff\xd8\xff\xe0 photo") -> str:
    answer = requests.post(
        f"{sim.graph_url}/{PHONE_NUMBER_ID}/media",
        headers=BEARER,
        data={"messaging_product": "whatsapp", "type": "image/jpeg"},
        files={"file": ("photo.jpg", data, "image/jpeg")},
        timeout=5,
    )
    return answer.json()["id"]


def image(media_id: str, to: str = CUSTOMER) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "image", "image": {"id": media_id}}


# --- media ----------------------------------------------------------------------------------


def test_a_send_by_an_unknown_media_id_is_refused_and_nothing_is_delivered(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says(CUSTOMER, "Send me the photo")

    answer = send(sim, image("1234567890123456"))

    error = assert_refused_and_nothing_delivered(sim, app, answer, 100)
    assert error["message"] == (
        "(#100) Param image['id'] is not a valid whatsapp business account media attachment ID"
    )
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]


def test_a_deleted_upload_can_no_longer_be_sent(sim: Simulator, app: AppStub) -> None:
    sim.customer_says(CUSTOMER, "Send me the photo")
    media_id = upload(sim)
    requests.delete(f"{sim.graph_url}/{media_id}", headers=BEARER, timeout=5)

    answer = send(sim, image(media_id))

    assert_refused_and_nothing_delivered(sim, app, answer, 100)


def test_an_interactive_header_by_an_unknown_media_id_is_refused(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says(CUSTOMER, "Which day?")
    body = json.loads((FIXTURES_DIR / "send_interactive_reply_buttons_request.json").read_bytes())

    answer = send(sim, body)

    error = assert_refused_and_nothing_delivered(sim, app, answer, 100)
    assert "interactive['header']['image']['id'] is not a valid" in error["message"]


def test_an_uploaded_file_is_sent_by_its_id(sim: Simulator, app: AppStub) -> None:
    sim.customer_says(CUSTOMER, "Send me the photo")

    answer = send(sim, image(upload(sim)))

    assert answer.status_code == 200
    statuses = app.statuses(answer.json()["messages"][0]["id"], 3)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]


# --- recipients -----------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["12ab34", "+1 650 555 CALL", "wa:16505551234", "+", "---"])
def test_a_recipient_that_is_not_a_phone_number_is_refused_with_131009(
    sim: Simulator, app: AppStub, to: str
) -> None:
    sim.customer_says(CUSTOMER, "Hi")

    answer = send(sim, text(to))

    error = assert_refused_and_nothing_delivered(sim, app, answer, 131009)
    assert error["message"] == "(#131009) Parameter value is not valid"
    assert to in error["error_data"]["details"]


def test_a_recipient_written_with_a_plus_spaces_and_dashes_is_taken(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says(CUSTOMER, "Hi")

    answer = send(sim, text("+1 (650) 555-1234"))

    assert answer.status_code == 200
    assert answer.json()["contacts"] == [{"input": "+1 (650) 555-1234", "wa_id": CUSTOMER}]


# --- read receipts --------------------------------------------------------------------------


def read(message_id: str, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": message_id, **extra}


def test_marking_read_a_message_the_number_never_received_is_refused(
    sim: Simulator, app: AppStub
) -> None:
    sim.customer_says(CUSTOMER, "Hi")
    ours = send(sim, text(CUSTOMER)).json()["messages"][0]["id"]
    documented = json.loads((FIXTURES_DIR / "mark_as_read_request.json").read_bytes())

    unknown = send(sim, documented)
    own = send(sim, read(ours, typing_indicator={"type": "text"}))

    for answer in (unknown, own):
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == 131009
        assert error["message"] == "(#131009) Parameter value is not valid"
    assert sim.read_receipts == []
    assert sim.typing_indicators == []


def test_a_message_the_customer_sent_is_marked_read(sim: Simulator) -> None:
    incoming = sim.customer_says(CUSTOMER, "Hi")

    answer = send(sim, read(incoming["wamid"]))

    assert answer.json() == {"success": True}
    assert [r["message_id"] for r in sim.read_receipts] == [incoming["wamid"]]


# --- reactions ------------------------------------------------------------------------------


def test_a_reaction_gets_only_the_sent_status(sim: Simulator, app: AppStub) -> None:
    incoming = sim.customer_says(CUSTOMER, "Thanks, it arrived!")
    reaction = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "reaction",
        "reaction": {"message_id": incoming["wamid"], "emoji": "👍"},
    }

    wamid = send(sim, reaction).json()["messages"][0]["id"]

    (status,) = app.statuses(wamid, 1)
    assert status["status"] == "sent"
    settle(sim)
    eventually(lambda: len(sim.webhook_log) == 2)
    assert [kind for kind, _, _ in sim.webhook_log] == ["message", "sent"]


# --- 131008 and 131009 ----------------------------------------------------------------------


def interactive(kind: str, action: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": "Choose"}, "action": action},
    }


def reply(title: str) -> dict[str, Any]:
    return {"type": "reply", "reply": {"id": title.lower(), "title": title}}


def rows(count: int) -> list[dict[str, Any]]:
    return [{"id": f"r{n}", "title": f"Row {n}"} for n in range(count)]


ORDER_UPDATE = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "BODY", "text": "Order {{1}} ships today.", "example": {"body_text": [["#1"]]}}
    ],
}


@pytest.mark.parametrize(
    ("body", "code", "details"),
    [
        (
            interactive("button", {"buttons": [reply(t) for t in ("A", "B", "C", "D")]}),
            131009,
            "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3",
        ),
        (
            interactive("button", {"buttons": [reply("Change my delivery date")]}),
            131009,
            "Button title length invalid. Min length: 1, Max length: 20",
        ),
        (
            interactive(
                "list",
                {"button": "Options", "sections": [{"rows": rows(6)}, {"rows": rows(5)}]},
            ),
            131009,
            "Total row count exceed max allowed count: 10",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": CUSTOMER,
                "type": "location",
                "location": {"latitude": 95.5, "longitude": 13.4},
            },
            131009,
            "location['latitude'] must be a number between -90 and 90",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": CUSTOMER,
                "type": "location",
                "location": {"latitude": "north", "longitude": "13.4"},
            },
            131009,
            "location['latitude'] must be a number",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": CUSTOMER,
                "type": "template",
                "template": {
                    "name": "order_update",
                    "language": {"code": "en_US"},
                    "components": [{"type": "body", "parameters": [{"type": "text"}]}],
                },
            },
            131008,
            "body: Parameter of type text is missing text value",
        ),
    ],
)
def test_values_whatsapp_refuses_get_131008_or_131009_in_the_documented_error_shape(
    sim: Simulator, app: AppStub, body: dict[str, Any], code: int, details: str
) -> None:
    sim.customer_says(CUSTOMER, "Hi")
    sim.add_template(ORDER_UPDATE)

    answer = send(sim, body)

    error = assert_refused_and_nothing_delivered(sim, app, answer, code)
    title = {131008: "Required parameter is missing", 131009: "Parameter value is not valid"}
    assert error["message"] == f"(#{code}) {title[code]}"
    documented = json.loads(
        (FIXTURES_DIR / "error_131047_re_engagement_response.RECONSTRUCTED.json").read_bytes()
    )["error"]
    assert set(error) == set(documented) - {"error_subcode"}
    assert list(error["error_data"]) == list(documented["error_data"])
    assert error["error_data"]["details"].startswith(details)
    assert error["type"] == "OAuthException"


def test_coordinates_written_as_strings_are_taken(sim: Simulator) -> None:
    sim.customer_says(CUSTOMER, "Where are you?")
    body = json.loads((FIXTURES_DIR / "send_location_request.json").read_bytes())
    body["to"] = CUSTOMER

    assert send(sim, body).status_code == 200
    assert isinstance(body["location"]["latitude"], str)


# --- never a server error -------------------------------------------------------------------

ODD_VALUES: list[Any] = [None, "", 0, -1, 2.5, True, [], {}, [{}], {"x": 1}, "x" * 5000, "{{1}}"]


def mutated(value: Any, rng: random.Random) -> Any:
    """``value`` (JSON) with one part, at any depth, replaced by an odd value or left out."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, item in node.items():
                walk(item, (*path, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, index))

    walk(value, ())
    copy = json.loads(json.dumps(value))
    path = rng.choice(paths[1:])
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and rng.random() < 0.3:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(ODD_VALUES)
    return copy


def test_mutated_documented_requests_are_answered_never_with_a_server_error() -> None:
    rng = random.Random(1234)
    bodies = [json.loads((FIXTURES_DIR / name).read_bytes()) for name in DOCUMENTED_REQUESTS]
    with Simulator("http://127.0.0.1:9/unused", "secret", "token", webhook_retries=0) as sim:
        documented_world(sim, *bodies)
        session = requests.Session()
        statuses = set()
        for _ in range(400):
            answer = session.post(
                f"{sim.graph_url}/{sim.phone_number_id}/messages",
                json=mutated(rng.choice(bodies), rng),
                headers={"Authorization": "Bearer token"},
                timeout=5,
            )
            assert answer.status_code in (200, 400, 404), answer.text
            statuses.add(answer.status_code)
    assert statuses == {200, 400, 404}
