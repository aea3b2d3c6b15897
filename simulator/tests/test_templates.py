"""Message templates: the management endpoints, review and its webhooks, and template sends
refused as the platform refuses them.

No Django here: the "app" is the stub from ``test_simulator``, which records every webhook.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator import Simulator, template_content, wire
from simulator.tests.test_refusals import mutated
from simulator.tests.test_simulator import (
    ACCESS_TOKEN,
    APP_SECRET,
    FIXTURES_DIR,
    AppStub,
    Delivery,
    send,
    settle,
    shape,
)

WABA_ID = "102290129340398"
BEARER = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
CONTRACT = FIXTURES_DIR.parents[1] / "contracts" / "whatsapp-business-messaging-openapi-v23.0.yaml"
CUSTOMER = "16505551234"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES_DIR / name).read_bytes())


NAMED = "template_create_request_utility_named_params.json"
POSITIONAL = "template_create_request_marketing_positional_copy_code.json"


@pytest.fixture
def app() -> Iterator[AppStub]:
    stub = AppStub()
    yield stub
    stub.close()


def make_sim(app: AppStub, review_delay: float | None = None) -> Simulator:
    return Simulator(
        app.url,
        APP_SECRET,
        ACCESS_TOKEN,
        status_delay=0.05,
        webhook_backoff=0.05,
        template_review_delay=review_delay,
    )


@pytest.fixture
def sim(app: AppStub) -> Iterator[Simulator]:
    """Review waits for a control, so every status change in a test is one it asked for."""
    with make_sim(app) as simulator:
        yield simulator


def graph(sim: Simulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{sim.graph_url}/{path}", headers=BEARER, timeout=5, **kwargs)


def create(sim: Simulator, body: dict[str, Any]) -> requests.Response:
    return graph(sim, "POST", f"{WABA_ID}/message_templates", json=body)


def template_updates(app: AppStub, count: int = 1) -> list[Delivery]:
    return app.wait_for(
        lambda d: d.payload["entry"][0]["changes"][0]["field"] == "message_template_status_update",
        count,
    )


def update_value(delivery: Delivery) -> dict[str, Any]:
    return delivery.payload["entry"][0]["changes"][0]["value"]


def template_send(
    name: str, components: list[dict[str, Any]], language: str = "en_US", to: str = CUSTOMER
) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": components},
    }


def body_parameters(*values: str) -> dict[str, Any]:
    return {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}


def coupon_send(*components: dict[str, Any]) -> dict[str, Any]:
    return template_send("coupon_code_fall2023_25off", list(components))


COUPON_BUTTON = {
    "type": "button",
    "sub_type": "COPY_CODE",
    "index": 1,
    "parameters": [{"type": "coupon_code", "coupon_code": "25OFF"}],
}


def assert_nothing_sent(sim: Simulator, app: AppStub) -> None:
    """The refused send was not recorded, and no status webhook followed it."""
    settle(sim)
    assert sim.sent_messages() == []
    assert not any("statuses" in d.value for d in app.deliveries)


# --- creating and reviewing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_name", "category"), [(NAMED, "UTILITY"), (POSITIONAL, "MARKETING")]
)
def test_a_documented_template_is_created_pending_then_approved_by_a_signed_webhook(
    app: AppStub, request_name: str, category: str
) -> None:
    with make_sim(app, review_delay=0.05) as sim:
        answer = create(sim, fixture(request_name))

        assert answer.status_code == 200
        created = answer.json()
        assert list(created) == list(fixture("template_create_response.json"))
        assert (created["status"], created["category"]) == ("PENDING", category)
        assert created["id"].isdigit()
        (delivery,) = template_updates(app)

    assert delivery.signature_is_valid
    documented = fixture("webhook_template_status_approved.json")
    assert shape(delivery.payload) == shape(documented)
    assert update_value(delivery) == {
        "event": "APPROVED",
        "message_template_id": int(created["id"]),
        "message_template_name": fixture(request_name)["name"],
        "message_template_language": "en-US",
        "reason": "NONE",
        "message_template_category": category,
    }
    assert delivery.payload["entry"][0]["id"] == WABA_ID
    (template,) = sim.templates
    assert (template["id"], template["status"]) == (created["id"], "APPROVED")
    assert sim.webhook_log == [("template", created["id"], 200)]


def test_a_rejection_decided_beforehand_comes_as_the_documented_webhook(
    app: AppStub,
) -> None:
    with make_sim(app, review_delay=0.05) as sim:
        control = requests.post(
            f"{sim.base_url}/_sim/template-review",
            json={"status": "REJECTED", "reason": "INVALID_FORMAT"},
            timeout=5,
        )
        assert control.json() == {"queued": 1}
        rejected_id = create(sim, fixture(POSITIONAL)).json()["id"]
        approved_id = create(sim, fixture(NAMED)).json()["id"]
        deliveries = template_updates(app, 2)

    by_id = {update_value(d)["message_template_id"]: d for d in deliveries}
    rejected = by_id[int(rejected_id)]
    assert shape(rejected.payload) == shape(
        fixture("webhook_template_status_rejected_invalid_format.json")
    )
    assert update_value(rejected)["event"] == "REJECTED"
    assert update_value(rejected)["reason"] == "INVALID_FORMAT"
    assert update_value(by_id[int(approved_id)])["event"] == "APPROVED"
    statuses = {t["name"]: (t["status"], t["rejected_reason"]) for t in sim.templates}
    assert statuses == {
        "coupon_code_fall2023_25off": ("REJECTED", "INVALID_FORMAT"),
        "reservation_confirmation": ("APPROVED", "NONE"),
    }


VALID = {
    "name": "order_shipped",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Order {{1}} ships {{2}}.",
            "example": {"body_text": [["#1", "today"]]},
        }
    ],
}


def changed(**fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID)
    body.update(fields)
    return body


def with_body(text: str, example: Any = None) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "BODY", "text": text}
    if example is not None:
        component["example"] = example
    return changed(components=[component])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({k: v for k, v in VALID.items() if k != "name"}, "(#100) The parameter name is required."),
        (changed(name="Order_Shipped"), "lowercase letters, digits and underscores"),
        (changed(name="order shipped"), "lowercase letters, digits and underscores"),
        (changed(name="o" * 513), "at most 512 characters"),
        (changed(language="en-US"), "Param language must be a supported template language"),
        (changed(language="klingon"), "Param language must be a supported template language"),
        (changed(category="PROMOTION"), "Param category must be one of {MARKETING, UTILITY"),
        (changed(parameter_format="ROMAN"), "Param parameter_format must be one of"),
        (changed(components=[]), "(#100) The parameter components is required."),
        (changed(components=[{"type": "FOOTER", "text": "Bye"}]), "needs a BODY component"),
        (changed(components=[{"type": "GREETING", "text": "Hi"}]), "Param components[0]['type']"),
        (with_body("Order {{1}} ships {{2}}."), "example['body_text'] must give exactly 2"),
        (with_body("Order {{1}}.", {"body_text": [["#1", "x"]]}), "exactly 1 sample value"),
        (with_body("Order {{1}} ships {{3}}.", {"body_text": [["a", "b"]]}), "in sequence"),
        (with_body("Order {{number}}.", {"body_text": [["a"]]}), "POSITIONAL parameters"),
        (with_body("Order {{²}}.", {"body_text": [["a"]]}), "POSITIONAL parameters"),
        (with_body("x" * 1025), "at most 1024 characters"),
        (
            changed(
                components=[
                    VALID["components"][0],
                    {"type": "HEADER", "format": "IMAGE"},
                ]
            ),
            "needs a sample file",
        ),
        (
            changed(
                components=[
                    VALID["components"][0],
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]},
                ]
            ),
            "at most 25 characters",
        ),
        (
            changed(
                category="UTILITY",
                components=[
                    VALID["components"][0],
                    {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
                ],
            ),
            "only they have them",
        ),
    ],
)
def test_a_template_the_platform_would_refuse_is_refused_and_not_kept(
    sim: Simulator, app: AppStub, body: dict[str, Any], message: str
) -> None:
    answer = create(sim, body)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 100
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    assert message in (error.get("error_user_msg") or error["message"])
    settle(sim)
    assert sim.templates == []
    assert app.deliveries == []


def test_the_same_name_in_the_same_language_is_refused_in_another_it_is_a_new_template(
    sim: Simulator,
) -> None:
    assert create(sim, VALID).status_code == 200

    again = create(sim, VALID)
    german = create(
        sim,
        changed(
            language="de",
            components=[
                {"type": "BODY", "text": "Bestellung {{1}}.", "example": {"body_text": [["#1"]]}}
            ],
        ),
    )

    assert again.status_code == 400
    error = again.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 2388024)
    assert error["error_user_title"] == "Content in This Language Already Exists"
    assert german.status_code == 200
    assert sorted(t["language"] for t in sim.templates) == ["de", "en_US"]


def test_every_creation_example_of_the_contract_passes_but_for_placeholder_names() -> None:
    yaml = pytest.importorskip("yaml")
    contract = yaml.safe_load(CONTRACT.read_text())
    examples = contract["paths"]["/{Version}/{WABA-ID}/message_templates"]["post"]["requestBody"][
        "content"
    ]["application/json"]["examples"]
    refused = []
    for title, example in examples.items():
        body = example["value"]
        # ("Create catalog template" is a copy of the one-tap authentication example.)
        if body["name"].startswith("<"):
            # Meta's placeholder is no template name; with a real one the example passes.
            with pytest.raises(wire.GraphFault, match="Invalid parameter"):
                template_content.parse_submission(body)
            body = {**body, "name": "flow_offer"}
        try:
            template_content.parse_submission(body)
        except wire.GraphFault as fault:
            refused.append((title, fault.envelope))
    assert len(examples) == 11
    assert refused == []


# --- listing, reading, editing, deleting ----------------------------------------------------


def add_three(sim: Simulator) -> list[dict[str, Any]]:
    return [
        sim.add_template(fixture(NAMED)),
        sim.add_template(fixture(POSITIONAL), status="REJECTED"),
        sim.add_template(VALID, status="PENDING"),
    ]


def test_the_list_answers_the_documented_fields_and_pages_with_cursors(sim: Simulator) -> None:
    added = add_three(sim)

    everything = graph(sim, "GET", f"{WABA_ID}/message_templates").json()
    first = graph(sim, "GET", f"{WABA_ID}/message_templates", params={"limit": 2}).json()
    second = requests.get(first["paging"]["next"], headers=BEARER, timeout=5).json()
    back = requests.get(second["paging"]["previous"], headers=BEARER, timeout=5).json()
    brief = graph(
        sim,
        "GET",
        f"{WABA_ID}/message_templates",
        params={"fields": "name,category,status", "limit": 5},
    ).json()

    documented = fixture("templates_list_response.json")
    assert list(everything["data"][0]) == list(documented["data"][0])
    components = everything["data"][0]["components"]
    assert [c["type"] for c in components] == ["HEADER", "BODY", "FOOTER", "BUTTONS"]
    assert components[1] == documented["data"][0]["components"][1]
    assert [b["type"] for b in components[3]["buttons"]] == ["URL", "PHONE_NUMBER", "QUICK_REPLY"]
    assert [t["id"] for t in everything["data"]] == [t["id"] for t in added]
    assert [t["id"] for t in first["data"]] == [added[0]["id"], added[1]["id"]]
    assert list(first["paging"]["cursors"]) == ["before", "after"]
    assert "previous" not in first["paging"]
    assert [t["id"] for t in second["data"]] == [added[2]["id"]]
    assert "next" not in second["paging"]
    assert [t["id"] for t in back["data"]] == [added[0]["id"], added[1]["id"]]
    fields_documented = fixture("templates_list_fields_response.json")
    assert list(brief["data"][0]) == list(fields_documented["data"][0])
    assert [(t["name"], t["status"]) for t in brief["data"]] == [
        ("reservation_confirmation", "APPROVED"),
        ("coupon_code_fall2023_25off", "REJECTED"),
        ("order_shipped", "PENDING"),
    ]


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"name": "order_shipped"}, ["order_shipped"]),
        ({"status": "APPROVED,PENDING"}, ["reservation_confirmation", "order_shipped"]),
        ({"language": "en_US", "category": "marketing"}, ["coupon_code_fall2023_25off"]),
        ({"name": "nothing_like_it"}, []),
    ],
)
def test_the_list_filters_by_name_status_language_and_category(
    sim: Simulator, params: dict[str, str], names: list[str]
) -> None:
    add_three(sim)

    answer = graph(sim, "GET", f"{WABA_ID}/message_templates", params=params).json()

    assert [t["name"] for t in answer["data"]] == names


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "²"},
        {"limit": "0"},
        {"after": "garbage"},
        {"before": base64.urlsafe_b64encode(b"template:\xc2\xb2").decode()},
    ],
)
def test_paging_values_the_list_did_not_answer_are_refused(
    sim: Simulator, params: dict[str, str]
) -> None:
    add_three(sim)

    answer = graph(sim, "GET", f"{WABA_ID}/message_templates", params=params)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100


def test_reading_a_field_templates_do_not_have_is_refused(sim: Simulator) -> None:
    answer = graph(sim, "GET", f"{WABA_ID}/message_templates", params={"fields": "name,colour"})

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "(#100) Tried accessing nonexisting field (colour) on node type (WhatsAppBusinessHSM)"
    )


def test_a_template_is_read_by_its_id(sim: Simulator) -> None:
    added = sim.add_template(fixture(POSITIONAL))

    answer = graph(sim, "GET", added["id"]).json()
    some = graph(sim, "GET", added["id"], params={"fields": "status,name"}).json()

    assert answer["name"] == "coupon_code_fall2023_25off"
    assert answer["components"][1]["example"] == {"body_text": [["25OFF", "25%"]]}
    assert [c["type"] for c in answer["components"]] == ["HEADER", "BODY", "BUTTONS"]
    assert some == {"status": "APPROVED", "name": "coupon_code_fall2023_25off", "id": added["id"]}


def test_editing_the_components_sends_the_template_to_review_again(
    sim: Simulator, app: AppStub
) -> None:
    added = sim.add_template(
        {
            **fixture(POSITIONAL),
            "name": "seasonal_promotion",
            "components": [VALID["components"][0]],
        }
    )
    edit = fixture("template_edit_components_request.json")

    answer = graph(sim, "POST", added["id"], json=edit)
    pending = sim.templates[0]["status"]
    refused = coupon_like_send(sim, "seasonal_promotion")
    again = graph(sim, "POST", added["id"], json=edit)
    sim.set_template_status("seasonal_promotion", "en_US", "APPROVED")
    too_soon = graph(sim, "POST", added["id"], json=edit)

    assert answer.json() == {"success": True}
    assert pending == "PENDING"
    assert refused.json()["error"]["code"] == 132001
    assert again.status_code == 400
    assert "PENDING template can't be edited" in again.json()["error"]["error_user_msg"]
    assert too_soon.status_code == 400
    assert "once in 24 hours" in too_soon.json()["error"]["error_user_msg"]
    (template,) = sim.templates
    assert [c["type"] for c in template["components"]] == ["HEADER", "BODY", "FOOTER", "BUTTONS"]


def coupon_like_send(sim: Simulator, name: str) -> requests.Response:
    return send(sim, template_send(name, [body_parameters("a", "b", "c")]))


def test_a_refused_edit_does_not_use_up_the_days_edit(sim: Simulator) -> None:
    added = sim.add_template(VALID)

    refused = graph(sim, "POST", added["id"], json={"components": [{"type": "FOOTER"}]})
    accepted = graph(
        sim, "POST", added["id"], json=fixture("template_edit_components_request.json")
    )

    assert refused.status_code == 400
    assert accepted.json() == {"success": True}
    assert sim.templates[0]["status"] == "PENDING"


def test_the_category_of_an_approved_template_cannot_change(sim: Simulator) -> None:
    added = sim.add_template(VALID)

    answer = graph(sim, "POST", added["id"], json={"category": "MARKETING"})

    assert answer.status_code == 400
    assert sim.templates[0]["category"] == "UTILITY"
    assert sim.templates[0]["status"] == "APPROVED"


def test_deleting_by_name_takes_every_language_and_the_name_stays_taken(sim: Simulator) -> None:
    sim.add_template(VALID)
    sim.add_template(
        changed(
            language="de",
            components=[
                {"type": "BODY", "text": "Bestellung {{1}}.", "example": {"body_text": [["#1"]]}}
            ],
        )
    )
    kept = sim.add_template(fixture(NAMED))

    answer = graph(sim, "DELETE", f"{WABA_ID}/message_templates", params={"name": "order_shipped"})
    again = create(sim, VALID)
    unknown = graph(sim, "DELETE", f"{WABA_ID}/message_templates", params={"name": "order_shipped"})

    assert answer.json() == fixture("template_delete_response.json")
    assert [t["id"] for t in sim.templates] == [kept["id"]]
    assert again.status_code == 400
    assert again.json()["error"]["error_subcode"] == 2388023
    assert unknown.status_code == 400
    assert unknown.json()["error"]["error_user_title"] == "Message template not found"


def test_deleting_by_name_and_hsm_id_takes_only_that_template(sim: Simulator) -> None:
    english = sim.add_template(VALID)
    german = sim.add_template(
        changed(
            language="de",
            components=[
                {"type": "BODY", "text": "Bestellung {{1}}.", "example": {"body_text": [["#1"]]}}
            ],
        )
    )

    wrong = graph(
        sim,
        "DELETE",
        f"{WABA_ID}/message_templates",
        params={"name": "reservation_confirmation", "hsm_id": english["id"]},
    )
    answer = graph(
        sim,
        "DELETE",
        f"{WABA_ID}/message_templates",
        params={"name": "order_shipped", "hsm_id": german["id"]},
    )

    assert wrong.status_code == 400
    assert answer.json() == {"success": True}
    assert [t["id"] for t in sim.templates] == [english["id"]]


def test_template_endpoints_need_the_token_and_this_account(sim: Simulator) -> None:
    anonymous = requests.get(f"{sim.graph_url}/{WABA_ID}/message_templates", timeout=5)
    other = graph(sim, "POST", "999999999/message_templates", json=VALID)

    assert anonymous.status_code == 401
    assert other.status_code == 400
    assert other.json()["error"]["error_subcode"] == 33
    assert sim.templates == []


# --- status controls ----------------------------------------------------------------------


def test_pausing_disabling_and_approving_post_their_webhooks_and_gate_sends(
    sim: Simulator, app: AppStub
) -> None:
    sim.add_template(fixture(POSITIONAL))
    sim.customer_says(CUSTOMER, "Hi")
    good = coupon_send(body_parameters("25OFF", "25%"), COUPON_BUTTON)

    def control(status: str) -> requests.Response:
        return requests.post(
            f"{sim.base_url}/_sim/template-status",
            json={"name": "coupon_code_fall2023_25off", "language": "en_US", "status": status},
            timeout=5,
        )

    assert control("PAUSED").json()["status_code"] == 200
    paused = send(sim, good)
    control("APPROVED")
    unpaused = send(sim, good)
    control("DISABLED")
    disabled = send(sim, good)

    assert paused.status_code == 400
    assert paused.json()["error"]["message"] == "(#132015) Template is Paused"
    assert unpaused.status_code == 200
    assert disabled.status_code == 400
    assert disabled.json()["error"]["message"] == "(#132016) Template is Disabled"
    values = [update_value(d) for d in template_updates(app, 3)]
    assert [(v["event"], v["reason"]) for v in values] == [
        ("PAUSED", "NONE"),
        ("APPROVED", "NONE"),
        ("DISABLED", "NONE"),
    ]
    assert values[0]["other_info"]["title"] == "FIRST_PAUSE"
    assert values[1]["other_info"]["title"] == "UNPAUSE"
    assert isinstance(values[2]["disable_info"]["disable_date"], int)
    assert [m["wamid"] for m in sim.sent_messages()] == [unpaused.json()["messages"][0]["id"]]


def test_status_control_refuses_unknown_templates_and_statuses(sim: Simulator) -> None:
    sim.add_template(VALID)
    url = f"{sim.base_url}/_sim/template-status"

    unknown = requests.post(
        url, json={"name": "nope", "language": "en_US", "status": "PAUSED"}, timeout=5
    )
    wrong_status = requests.post(
        url, json={"name": "order_shipped", "language": "en_US", "status": "PENDING"}, timeout=5
    )
    wrong_reason = requests.post(
        url,
        json={"name": "order_shipped", "language": "en_US", "status": "REJECTED", "reason": "NONE"},
        timeout=5,
    )

    assert unknown.status_code == 404
    assert wrong_status.status_code == 400
    assert wrong_reason.status_code == 400
    assert sim.templates[0]["status"] == "APPROVED"


def test_a_pending_template_stays_pending_until_a_control_decides(
    sim: Simulator, app: AppStub
) -> None:
    template_id = create(sim, VALID).json()["id"]
    time.sleep(0.2)
    before = sim.templates[0]["status"]

    result = sim.set_template_status("order_shipped", "en_US", "REJECTED", "PROMOTIONAL")

    assert before == "PENDING"
    (delivery,) = template_updates(app)
    assert result["template_id"] == template_id
    assert update_value(delivery)["reason"] == "PROMOTIONAL"
    assert "rejection_info" not in update_value(delivery)
    assert sim.templates[0]["rejected_reason"] == "PROMOTIONAL"


def test_a_template_deleted_before_review_ends_gets_no_webhook(app: AppStub) -> None:
    with make_sim(app, review_delay=0.2) as sim:
        create(sim, VALID)
        graph(sim, "DELETE", f"{WABA_ID}/message_templates", params={"name": "order_shipped"})
        time.sleep(0.5)

    assert app.deliveries == []


def test_the_templates_control_lists_what_the_account_has(sim: Simulator) -> None:
    added = sim.add_template(VALID)

    listed = requests.get(f"{sim.base_url}/_sim/templates", timeout=5).json()

    assert listed == [added]
    assert listed[0]["status"] == "APPROVED"


def test_mutated_creations_and_edits_are_answered_never_with_a_server_error(
    sim: Simulator,
) -> None:
    rng = random.Random(99)
    created = [fixture(NAMED), fixture(POSITIONAL)]
    edit = fixture("template_edit_components_request.json")
    target = sim.add_template(fixture(POSITIONAL) | {"name": "edited"})
    answers = set()
    for number in range(150):
        body = mutated(rng.choice(created), rng)
        if isinstance(body.get("name"), str):
            body["name"] = f"template_{number}"
        answers.add(create(sim, body).status_code)
        answers.add(graph(sim, "POST", target["id"], json=mutated(edit, rng)).status_code)
    assert answers == {200, 400}
