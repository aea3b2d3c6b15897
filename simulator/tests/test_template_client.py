"""The inbox's template client (``whatsapp.templates``) against the simulator: what it sends
is what the simulator, holding the platform's rules, accepts; what the simulator answers
(cursor paging, refusals) is what the client reads.

No Django here: the "app" is the stub from ``test_simulator``, which records every webhook.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator import Simulator
from simulator.tests.test_simulator import ACCESS_TOKEN, PHONE_NUMBER_ID, AppStub
from simulator.tests.test_templates import NAMED, POSITIONAL, VALID, WABA_ID, fixture, make_sim
from whatsapp.client import GraphAPIError, outbound_message, template_message
from whatsapp.templates import TemplateClient, template_components
from whatsapp.tests.test_templates import COUPON_VALUES, NAMED_VALUES, OFFER, OFFER_VALUES

JPEG = b"\xff\xd8\xff\xe0 a small photo"


@pytest.fixture
def app() -> Iterator[AppStub]:
    stub = AppStub()
    yield stub
    stub.close()


@pytest.fixture
def sim(app: AppStub) -> Iterator[Simulator]:
    with make_sim(app) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> TemplateClient:
    return TemplateClient(base_url=sim.graph_url, access_token=ACCESS_TOKEN, timeout=5)


def test_templates_are_created_listed_page_by_page_read_edited_and_deleted(
    sim: Simulator, client: TemplateClient
) -> None:
    created = [client.create_template(WABA_ID, fixture(name)) for name in (NAMED, POSITIONAL)]
    created.append(client.create_template(WABA_ID, VALID))

    listed = list(client.list_templates(WABA_ID, fields=["name", "status"], limit=1))
    by_name = list(client.list_templates(WABA_ID, name="order_shipped"))
    sim.set_template_status("order_shipped", "en_US", "REJECTED", "PROMOTIONAL")
    client.edit_template(
        created[2]["id"],
        {"components": [{**VALID["components"][0], "text": "Order {{1}} left {{2}}."}]},
    )
    read = client.get_template(created[2]["id"], ["status", "components", "quality_score"])
    client.delete_template(WABA_ID, name="order_shipped", hsm_id=created[2]["id"])

    assert [c["status"] for c in created] == ["PENDING", "PENDING", "PENDING"]
    assert [c["category"] for c in created] == ["UTILITY", "MARKETING", "UTILITY"]
    assert listed == [
        {"name": "reservation_confirmation", "status": "PENDING", "id": created[0]["id"]},
        {"name": "coupon_code_fall2023_25off", "status": "PENDING", "id": created[1]["id"]},
        {"name": "order_shipped", "status": "PENDING", "id": created[2]["id"]},
    ]
    assert [t["id"] for t in by_name] == [created[2]["id"]]
    assert read["components"][0]["text"] == "Order {{1}} left {{2}}."
    assert (read["status"], read["quality_score"]["score"]) == ("PENDING", "UNKNOWN")
    assert [t["name"] for t in sim.templates] == [
        "reservation_confirmation",
        "coupon_code_fall2023_25off",
    ]


@pytest.mark.parametrize(
    ("definition", "values"),
    [
        (fixture(NAMED), NAMED_VALUES),
        (fixture(POSITIONAL), COUPON_VALUES),
        (OFFER, OFFER_VALUES),
    ],
)
def test_built_template_sends_are_accepted_by_the_platforms_rules(
    sim: Simulator, client: TemplateClient, definition: dict[str, Any], values: dict[str, Any]
) -> None:
    for media_id in ("2871834006348767", "1602186516975000"):
        sim.upload_media(JPEG, "image/jpeg", "photo.jpg", media_id=media_id)
    sim.add_template(definition)
    (template,) = client.list_templates(WABA_ID, name=definition["name"])
    components = template_components(
        template["components"], values, parameter_format=template["parameter_format"]
    )
    content = {"name": template["name"], "language": template["language"], "components": components}

    result = client.send_message(
        PHONE_NUMBER_ID,
        outbound_message("16505551234", "template", content=content, callback_data="7"),
    )

    assert result.message_status == "accepted"
    (sent,) = sim.sent_messages()
    assert sent["wamid"] == result.wamid


def test_a_template_not_approved_refuses_the_send_as_the_platform_does(
    sim: Simulator, client: TemplateClient
) -> None:
    client.create_template(WABA_ID, VALID)  # pending: it does not exist for sends
    payload = template_message(
        to="16505551234",
        name="order_shipped",
        language="en_US",
        components=template_components(VALID["components"], {"body": ["#1", "today"]}),
    )

    with pytest.raises(GraphAPIError) as caught:
        client.send_message(PHONE_NUMBER_ID, payload)

    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (
        132001,
        404,
        False,
    )
    assert caught.value.details == "template name (order_shipped) does not exist in en_US"


def test_a_creation_the_platform_refuses_is_a_graph_error_with_its_words(
    client: TemplateClient,
) -> None:
    client.create_template(WABA_ID, VALID)

    with pytest.raises(GraphAPIError) as caught:
        client.create_template(WABA_ID, VALID)

    assert (caught.value.code, caught.value.subcode, caught.value.retryable) == (
        100,
        2388024,
        False,
    )
    assert caught.value.details.startswith("There is already en_US content for this template.")
