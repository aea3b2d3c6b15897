"""Template sends: refused as the platform refuses them (a template that is not approved in
that language, paused or disabled, the wrong parameters), and nothing delivered then.

No Django here: the "app" is the stub from ``test_simulator``, which records every webhook.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator import Simulator
from simulator.tests.test_simulator import AppStub, send
from simulator.tests.test_templates import (
    COUPON_BUTTON,
    NAMED,
    POSITIONAL,
    assert_nothing_sent,
    body_parameters,
    coupon_send,
    fixture,
    make_sim,
    template_send,
)


@pytest.fixture
def app() -> Iterator[AppStub]:
    stub = AppStub()
    yield stub
    stub.close()


@pytest.fixture
def sim(app: AppStub) -> Iterator[Simulator]:
    with make_sim(app) as simulator:
        yield simulator


def test_an_approved_template_is_sent_with_its_category_priced_even_outside_the_window(
    sim: Simulator, app: AppStub
) -> None:
    sim.add_template(fixture(POSITIONAL))

    answer = send(sim, coupon_send(body_parameters("25OFF", "25%"), COUPON_BUTTON))

    assert answer.status_code == 200
    assert answer.json()["messages"][0]["message_status"] == "accepted"
    statuses = app.statuses(answer.json()["messages"][0]["id"], 3)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert statuses[0]["pricing"]["category"] == "marketing"


@pytest.mark.parametrize(
    ("status", "language"),
    [(None, "en_US"), ("APPROVED", "de"), ("PENDING", "en_US"), ("REJECTED", "en_US")],
)
def test_a_template_that_is_not_approved_in_that_language_does_not_exist_for_sends(
    sim: Simulator, app: AppStub, status: str | None, language: str
) -> None:
    if status is not None:
        sim.add_template(fixture(POSITIONAL), status=status)
    body = coupon_send(body_parameters("25OFF", "25%"), COUPON_BUTTON)
    body["template"]["language"]["code"] = language

    answer = send(sim, body)

    assert answer.status_code == 404
    error = answer.json()["error"]
    documented = fixture("error_132001_template_does_not_exist_response.json")["error"]
    assert list(error) == list(documented)
    assert {k: error[k] for k in ("message", "type", "code", "error_subcode")} == {
        k: documented[k] for k in ("message", "type", "code", "error_subcode")
    }
    assert error["error_data"] == {
        "messaging_product": "whatsapp",
        "details": f"template name (coupon_code_fall2023_25off) does not exist in {language}",
    }
    assert_nothing_sent(sim, app)


def header_image(media_id: str) -> dict[str, Any]:
    return {"type": "header", "parameters": [{"type": "image", "image": {"id": media_id}}]}


def named_body(**values: str) -> dict[str, Any]:
    return {
        "type": "body",
        "parameters": [
            {"type": "text", "parameter_name": name, "text": value}
            for name, value in values.items()
        ],
    }


RESERVATION = {"number_of_guests": "4", "day": "Saturday", "date": "August 30th", "time": "7:30"}


@pytest.mark.parametrize(
    ("components", "code", "details"),
    [
        (
            [body_parameters("25OFF"), COUPON_BUTTON],
            132000,
            "body: number of localizable_params (1) does not match the expected number of "
            "params (2)",
        ),
        ([body_parameters("25OFF", "25%", "x"), COUPON_BUTTON], 132000, "body: number of"),
        (
            [
                {"type": "header", "parameters": [{"type": "text", "text": "x"}]},
                body_parameters("a", "b"),
                COUPON_BUTTON,
            ],
            132000,
            "header: number of localizable_params (1) does not match the expected number of "
            "params (0)",
        ),
        (
            [body_parameters("25OFF", "25%")],
            131008,
            "buttons: Button at index 1 of type CopyCode requires a parameter",
        ),
        (
            [
                {"type": "body", "parameters": [{"type": "text"}, {"type": "text", "text": "2"}]},
                COUPON_BUTTON,
            ],
            131008,
            "body: Parameter of type text is missing text value",
        ),
        (
            [body_parameters("a", "b"), {**COUPON_BUTTON, "index": 2}],
            131009,
            "buttons: Button at index 2 does not exist",
        ),
        (
            [body_parameters("a", "b"), {**COUPON_BUTTON, "sub_type": "url"}],
            131009,
            "its sub_type is copy_code, not url",
        ),
    ],
)
def test_a_template_send_with_the_wrong_parameters_is_refused_and_not_delivered(
    sim: Simulator,
    app: AppStub,
    components: list[dict[str, Any]],
    code: int,
    details: str,
) -> None:
    sim.add_template(fixture(POSITIONAL))

    answer = send(sim, coupon_send(*components))

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == code
    assert (
        error["message"]
        == f"(#{code}) "
        + {
            132000: "Number of parameters does not match the expected number of params",
            131008: "Required parameter is missing",
            131009: "Parameter value is not valid",
        }[code]
    )
    assert details in error["error_data"]["details"]
    assert_nothing_sent(sim, app)


@pytest.mark.parametrize(
    ("components", "code", "message"),
    [
        (
            [named_body(**RESERVATION)],
            132012,
            "header: Format mismatch, expected IMAGE, received UNKNOWN",
        ),
        (
            [
                {"type": "header", "parameters": [{"type": "text", "text": "x"}]},
                named_body(**RESERVATION),
            ],
            132012,
            "header: Format mismatch, expected IMAGE, received TEXT",
        ),
        (
            [header_image("1234567890123456"), named_body(**RESERVATION)],
            100,
            "(#100) Param template['components'][0]['parameters'][0]['image']['id'] is not a "
            "valid whatsapp business account media attachment ID",
        ),
        (
            [header_image("UPLOADED"), named_body(**{**RESERVATION, "when": "now"})],
            132000,
            "body: number of localizable_params (5) does not match the expected number of "
            "params (4)",
        ),
        (
            [
                header_image("UPLOADED"),
                named_body(**{"guests": "4", "day": "Sat", "date": "Aug 30", "time": "7:30"}),
            ],
            131009,
            "body: Parameter name (guests) is not a parameter of the template",
        ),
    ],
)
def test_a_named_template_send_needs_its_header_file_and_its_parameter_names(
    sim: Simulator,
    app: AppStub,
    components: list[dict[str, Any]],
    code: int,
    message: str,
) -> None:
    sim.add_template(fixture(NAMED))
    uploaded = sim.upload_media(b"\xff\xd8\xff\xe0 photo", "image/jpeg")
    for component in components:
        for parameter in component["parameters"]:
            if parameter.get("image", {}).get("id") == "UPLOADED":
                parameter["image"]["id"] = uploaded

    answer = send(sim, template_send("reservation_confirmation", components))

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == code
    assert message in (error["message"] + " " + error.get("error_data", {}).get("details", ""))
    assert_nothing_sent(sim, app)


def test_a_named_template_send_with_its_file_and_names_is_accepted(sim: Simulator) -> None:
    sim.add_template(fixture(NAMED))
    uploaded = sim.upload_media(b"\xff\xd8\xff\xe0 photo", "image/jpeg")

    answer = send(
        sim,
        template_send(
            "reservation_confirmation", [header_image(uploaded), named_body(**RESERVATION)]
        ),
    )

    assert answer.status_code == 200, answer.text
    assert sim.sent_messages()[0]["type"] == "template"


def test_a_button_index_that_is_no_number_is_refused(sim: Simulator) -> None:
    sim.add_template(fixture(POSITIONAL))

    answer = send(sim, coupon_send(body_parameters("a", "b"), {**COUPON_BUTTON, "index": "²"}))

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "(#100) The parameter template['components'][1]['index'] is required."
    )
