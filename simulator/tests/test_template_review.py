"""Steering template review (reject what has chosen words, approve the rest), and the
quality and category webhooks, through the controls and the Python methods.

No Django here: the "app" is the stub from ``test_simulator``, which records every webhook.
The webhooks are also read back through ``whatsapp.events``, as the inbox will read them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator import Simulator
from simulator.tests.test_simulator import AppStub, Delivery, settle, shape
from simulator.tests.test_templates import (
    NAMED,
    VALID,
    WABA_ID,
    changed,
    create,
    fixture,
    graph,
    make_sim,
    template_updates,
    update_value,
)
from whatsapp.events import TemplateUpdate, parse_webhook


@pytest.fixture
def app() -> Iterator[AppStub]:
    stub = AppStub()
    yield stub
    stub.close()


@pytest.fixture
def sim(app: AppStub) -> Iterator[Simulator]:
    """Review waits for a control: each review in a test is one the test started."""
    with make_sim(app) as simulator:
        yield simulator


def control(sim: Simulator, path: str, body: Any) -> requests.Response:
    return requests.post(f"{sim.base_url}/_sim/{path}", json=body, timeout=5)


def with_text(name: str, text: str, language: str = "en_US") -> dict[str, Any]:
    return changed(
        name=name,
        language=language,
        components=[{"type": "BODY", "text": text, "example": {"body_text": [["x"]]}}],
    )


def updates_of(app: AppStub, field: str, count: int = 1) -> list[Delivery]:
    return app.wait_for(lambda d: d.payload["entry"][0]["changes"][0]["field"] == field, count)


def parsed(delivery: Delivery) -> TemplateUpdate:
    (update,) = parse_webhook(delivery.payload)
    assert isinstance(update, TemplateUpdate)
    return update


# --- review rules ------------------------------------------------------------------------


def test_a_body_with_a_chosen_word_is_rejected_as_promotional_and_the_rest_approved(
    sim: Simulator, app: AppStub
) -> None:
    answer = control(
        sim,
        "template-review-rules",
        {"reject_words": ["discount", "скидка"], "reason": "PROMOTIONAL", "delay": 0.05},
    )
    ids = {
        name: create(sim, body).json()["id"]
        for name, body in [
            ("sale", with_text("sale", "Get a DISCOUNT of {{1}} today.")),
            ("sale_ru", with_text("sale_ru", "Ваша скидка {{1}} ждёт.", language="ru")),
            ("plural", with_text("plural", "Discounts of {{1}} are back.")),
            ("shipped", with_text("shipped", "Order {{1}} has shipped.")),
            ("inside", with_text("inside", "Nodiscount code {{1}}.")),
        ]
    }

    values = {str(update_value(d)["message_template_id"]): d for d in template_updates(app, 5)}
    assert answer.status_code == 200
    assert answer.json() == {
        "reject_words": ["discount", "скидка"],
        "reason": "PROMOTIONAL",
        "delay": 0.05,
    }
    outcomes = {
        name: (update_value(values[ids[name]])["event"], update_value(values[ids[name]])["reason"])
        for name in ids
    }
    assert outcomes == {
        "sale": ("REJECTED", "PROMOTIONAL"),
        "sale_ru": ("REJECTED", "PROMOTIONAL"),
        "plural": ("REJECTED", "PROMOTIONAL"),
        "shipped": ("APPROVED", "NONE"),
        "inside": ("APPROVED", "NONE"),  # the word must begin a word of the body
    }
    rejected = parsed(values[ids["sale"]])
    assert (rejected.event, rejected.reason_code, rejected.rejection_reason) == (
        "REJECTED",
        "PROMOTIONAL",
        "",
    )
    statuses = {t["name"]: (t["status"], t["rejected_reason"]) for t in sim.templates}
    assert statuses["sale"] == ("REJECTED", "PROMOTIONAL")
    assert statuses["shipped"] == ("APPROVED", "NONE")


def test_rules_set_in_python_take_another_reason_and_apply_to_edits(app: AppStub) -> None:
    with make_sim(app, review_delay=0.05) as sim:
        sim.set_review_rules(["free"], "SCAM")
        template_id = create(sim, VALID).json()["id"]
        (approved,) = template_updates(app)
        edited = graph(
            sim,
            "POST",
            template_id,
            json={"components": with_text("x", "Order {{1}} ships free.")["components"]},
        )
        rejected = template_updates(app, 2)[1]

    assert edited.json() == {"success": True}
    assert update_value(approved)["event"] == "APPROVED"
    assert (update_value(rejected)["event"], update_value(rejected)["reason"]) == (
        "REJECTED",
        "SCAM",
    )
    assert sim.templates[0]["rejected_reason"] == "SCAM"


def test_an_outcome_queued_for_the_next_submission_comes_before_the_rules(app: AppStub) -> None:
    with make_sim(app, review_delay=0.05) as sim:
        sim.set_review_rules(["discount"])
        sim.set_review_outcome("APPROVED")
        first = create(sim, with_text("first", "A discount of {{1}}.")).json()["id"]
        second = create(sim, with_text("second", "A discount of {{1}}.")).json()["id"]
        deliveries = template_updates(app, 2)

    events = {str(update_value(d)["message_template_id"]): update_value(d) for d in deliveries}
    assert (events[first]["event"], events[first]["reason"]) == ("APPROVED", "NONE")
    assert (events[second]["event"], events[second]["reason"]) == ("REJECTED", "PROMOTIONAL")


def test_no_words_approve_every_template_again(app: AppStub) -> None:
    with make_sim(app, review_delay=0.05) as sim:
        sim.set_review_rules(["discount"])
        answer = control(sim, "template-review-rules", {"reject_words": []})
        create(sim, with_text("sale", "A discount of {{1}}."))
        (delivery,) = template_updates(app)

    assert answer.json() == {"reject_words": [], "reason": "PROMOTIONAL", "delay": 0.05}
    assert update_value(delivery)["event"] == "APPROVED"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"reject_words" is required'),
        ({"reject_words": "discount"}, "reject_words must be a list"),
        ({"reject_words": ["discount", " "]}, "reject_words must be a list"),
        ({"reject_words": [3]}, "reject_words must be a list"),
        ({"reject_words": ["x"], "reason": "NONE"}, "reason is one of ABUSIVE_CONTENT"),
        ({"reject_words": ["x"], "reason": "BORING"}, "reason is one of ABUSIVE_CONTENT"),
        ({"reject_words": ["x"], "reason": ""}, '"reason" must be a non-empty string'),
        ({"reject_words": ["x"], "delay": -1}, "delay must be a number of seconds"),
        ({"reject_words": ["x"], "delay": "soon"}, "delay must be a number of seconds"),
        ({"reject_words": ["x"], "delay": True}, "delay must be a number of seconds"),
    ],
)
def test_rules_that_make_no_sense_are_refused_and_change_nothing(
    sim: Simulator, body: dict[str, Any], message: str
) -> None:
    sim.set_review_rules(["discount"], "SCAM")

    answer = control(sim, "template-review-rules", body)

    assert answer.status_code == 400
    assert message in answer.json()["error"]
    read = requests.get(f"{sim.base_url}/_sim/template-review-rules", timeout=5).json()
    assert read == {"reject_words": ["discount"], "reason": "SCAM", "delay": None}


# --- quality -------------------------------------------------------------------------------


def test_a_quality_rating_posts_the_documented_webhook_and_is_read_back(
    sim: Simulator, app: AppStub
) -> None:
    template = sim.add_template(fixture(NAMED))
    before = int(time.time())

    yellow = control(
        sim,
        "template-quality",
        {"name": "reservation_confirmation", "language": "en_US", "quality": "YELLOW"},
    )
    red = sim.set_template_quality("reservation_confirmation", "en_US", "RED")

    assert yellow.json() == {"template_id": template["id"], "status_code": 200}
    first, second = updates_of(app, "message_template_quality_update", 2)
    assert first.signature_is_valid
    assert shape(first.payload) == shape(fixture("webhook_template_quality_update_pywa.json"))
    assert first.value == {
        "previous_quality_score": "UNKNOWN",
        "new_quality_score": "YELLOW",
        "message_template_id": int(template["id"]),
        "message_template_name": "reservation_confirmation",
        "message_template_language": "en-US",
    }
    assert red["body"] == second.payload
    update = parsed(second)
    assert (update.previous_quality_score, update.new_quality_score, update.event) == (
        "YELLOW",
        "RED",
        "RED",
    )
    assert (update.template_id, update.language_code) == (template["id"], "en_US")
    read = graph(sim, "GET", template["id"], params={"fields": "quality_score"}).json()
    assert shape(read) == shape(fixture("template_quality_score_response.json"))
    assert read["quality_score"]["score"] == "RED"
    assert read["quality_score"]["date"] >= before


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "nope", "language": "en_US", "quality": "RED"}, 404, "no template 'nope'"),
        ({"name": "order_shipped", "language": "en_US", "quality": "BLUE"}, 400, "one of GREEN"),
        ({"name": "order_shipped", "language": "en_US", "quality": "UNKNOWN"}, 400, "already"),
        ({"name": "order_shipped", "language": "en_US"}, 400, '"quality" must be'),
    ],
)
def test_a_quality_that_cannot_be_given_is_refused_and_posts_nothing(
    sim: Simulator, app: AppStub, body: dict[str, Any], status: int, message: str
) -> None:
    sim.add_template(VALID)

    answer = control(sim, "template-quality", body)

    assert answer.status_code == status
    assert message in answer.json()["error"]
    settle(sim)
    assert app.deliveries == []


# --- category ------------------------------------------------------------------------------


def test_an_impending_recategorization_is_announced_as_documented_and_changes_nothing_yet(
    sim: Simulator, app: AppStub
) -> None:
    template = sim.add_template(VALID)  # UTILITY
    before = int(time.time())

    answer = control(
        sim,
        "template-category",
        {"name": "order_shipped", "language": "en_US", "category": "MARKETING", "impending": True},
    )

    assert answer.json() == {"template_id": template["id"], "status_code": 200}
    (delivery,) = updates_of(app, "template_category_update")
    documented = fixture("webhook_template_category_update_impending.json")
    assert shape(delivery.payload) == shape(documented)
    value = delivery.value
    assert value == {
        "message_template_id": int(template["id"]),
        "message_template_name": "order_shipped",
        "message_template_language": "en-US",
        "new_category": "UTILITY",
        "correct_category": "MARKETING",
        "category_update_timestamp": value["category_update_timestamp"],
    }
    assert before + 24 * 3600 <= value["category_update_timestamp"] <= int(time.time()) + 86400
    update = parsed(delivery)
    assert (update.impending, update.event) == (True, "MARKETING")
    assert sim.templates[0]["category"] == "UTILITY"


def test_a_recategorization_changes_the_category_and_says_what_it_was(
    sim: Simulator, app: AppStub
) -> None:
    template = sim.add_template(VALID)

    result = sim.set_template_category("order_shipped", "en_US", "MARKETING")

    (delivery,) = updates_of(app, "template_category_update")
    assert result["body"] == delivery.payload
    assert delivery.value == {
        "message_template_id": int(template["id"]),
        "message_template_name": "order_shipped",
        "message_template_language": "en-US",
        "previous_category": "UTILITY",
        "new_category": "MARKETING",
    }
    update = parsed(delivery)
    assert (update.impending, update.previous_category, update.event) == (
        False,
        "UTILITY",
        "MARKETING",
    )
    assert sim.templates[0]["category"] == "MARKETING"
    listed = graph(sim, "GET", f"{WABA_ID}/message_templates", params={"fields": "category"})
    assert listed.json()["data"][0]["category"] == "MARKETING"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "nope", "language": "en_US", "category": "MARKETING"}, 404, "no template"),
        ({"name": "order_shipped", "language": "en_US", "category": "PROMO"}, 400, "one of"),
        ({"name": "order_shipped", "language": "en_US", "category": "UTILITY"}, 400, "already"),
        (
            {"name": "order_shipped", "language": "en_US", "category": "MARKETING", "impending": 1},
            400,
            '"impending" must be true or false',
        ),
    ],
)
def test_a_category_that_cannot_be_given_is_refused_and_posts_nothing(
    sim: Simulator, app: AppStub, body: dict[str, Any], status: int, message: str
) -> None:
    sim.add_template(VALID)

    answer = control(sim, "template-category", body)

    assert answer.status_code == status
    assert message in answer.json()["error"]
    settle(sim)
    assert app.deliveries == []
    assert sim.templates[0]["category"] == "UTILITY"


def test_a_disable_date_the_inbox_reads_comes_with_a_disabled_template(
    sim: Simulator, app: AppStub
) -> None:
    sim.add_template(VALID)

    sim.set_template_status("order_shipped", "en_US", "DISABLED")

    (delivery,) = template_updates(app)
    update = parsed(delivery)
    assert update.event == "DISABLED"
    assert isinstance(update.disable_date, dt.datetime)
