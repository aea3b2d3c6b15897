"""The message template client, the parameters of a template send and what the
customer reads, replayed against the platform's documented requests and answers."""

import copy
import json
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from conftest import FIXTURES_DIR
from whatsapp.client import (
    GraphAPIError,
    GraphClient,
    GraphUnreachable,
    outbound_message,
    template_message,
)
from whatsapp.templates import (
    RenderedButton,
    TemplateClient,
    TemplateParametersError,
    render_template,
    template_components,
)

BASE = "https://graph.example.test/v23.0"
WABA_ID = "102290129340398"
TEMPLATES_URL = f"{BASE}/{WABA_ID}/message_templates"
SEND_URL = f"{BASE}/106540352242922/messages"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES_DIR / name).read_bytes())


@pytest.fixture
def client() -> TemplateClient:
    return TemplateClient(base_url=BASE, access_token="tok", timeout=2)


def sent(call_index: int = 0) -> Any:
    return responses.calls[call_index].request


# --- managing templates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_name", "response_name"),
    [
        ("template_create_request_utility_named_params.json", "template_create_response.json"),
        (
            "template_create_request_marketing_positional_copy_code.json",
            "template_create_response_marketing.json",
        ),
    ],
)
@responses.activate
def test_create_posts_the_documented_request_and_answers_id_status_category(
    client: TemplateClient, request_name: str, response_name: str
) -> None:
    responses.post(TEMPLATES_URL, json=fixture(response_name))

    created = client.create_template(WABA_ID, fixture(request_name))

    assert created == fixture(response_name)
    assert json.loads(sent().body) == fixture(request_name)
    assert sent().headers["Authorization"] == "Bearer tok"
    assert sent().req_kwargs["timeout"] == 2


@responses.activate
def test_the_list_follows_the_after_cursor_to_the_last_page(client: TemplateClient) -> None:
    first = fixture("templates_list_response.json")
    last = fixture("templates_list_fields_response.json")
    del last["paging"]["next"]  # the last page has no next
    asked = {"fields": "name,status,components", "limit": "2"}
    responses.get(TEMPLATES_URL, json=first, match=[matchers.query_param_matcher(asked)])
    responses.get(
        TEMPLATES_URL,
        json=last,
        match=[matchers.query_param_matcher({**asked, "after": "QVFIU..."})],
    )

    listed = client.list_templates(WABA_ID, fields=["name", "status", "components"], limit=2)
    assert len(responses.calls) == 0  # pages are read as the iteration reaches them
    names = [template["name"] for template in listed]

    assert names == [t["name"] for t in first["data"]] + [t["name"] for t in last["data"]]
    assert len(responses.calls) == 2
    assert all(call.request.req_kwargs["timeout"] == 2 for call in responses.calls)


@responses.activate
def test_the_list_by_name_asks_for_that_name(client: TemplateClient) -> None:
    page = {"data": [fixture("templates_list_response.json")["data"][0]]}
    responses.get(
        TEMPLATES_URL,
        json=page,
        match=[matchers.query_param_matcher({"name": "reservation_confirmation"})],
    )

    (template,) = client.list_templates(WABA_ID, name="reservation_confirmation")

    assert template["id"] == "1387372356726668"


@responses.activate
def test_a_next_page_without_a_new_cursor_is_an_error_not_an_endless_loop(
    client: TemplateClient,
) -> None:
    page = fixture("templates_list_fields_response.json")  # next, and the same cursor again
    responses.get(TEMPLATES_URL, json=page)

    with pytest.raises(GraphAPIError) as caught:
        list(client.list_templates(WABA_ID))

    assert caught.value.title == "WhatsApp's list of templates has a next page but no new cursor"
    assert len(responses.calls) == 2


@responses.activate
def test_get_reads_one_template_with_the_fields_asked(client: TemplateClient) -> None:
    answer = fixture("template_quality_score_response.json")
    responses.get(
        f"{BASE}/1387372356726668",
        json=answer,
        match=[matchers.query_param_matcher({"fields": "quality_score"})],
    )

    assert client.get_template("1387372356726668", ["quality_score"]) == answer
    assert sent().req_kwargs["timeout"] == 2


@responses.activate
def test_edit_posts_the_new_components_to_the_template(client: TemplateClient) -> None:
    body = fixture("template_edit_components_request.json")
    responses.post(f"{BASE}/1387372356726668", json={"success": True})

    assert client.edit_template("1387372356726668", body) is None

    assert json.loads(sent().body) == body
    assert sent().req_kwargs["timeout"] == 2


@responses.activate
def test_an_edit_whatsapp_did_not_confirm_is_an_error(client: TemplateClient) -> None:
    responses.post(f"{BASE}/1387372356726668", json={"success": False})

    with pytest.raises(GraphAPIError) as caught:
        client.edit_template("1387372356726668", {"category": "UTILITY"})

    assert caught.value.title == "WhatsApp did not confirm the change"


@responses.activate
def test_delete_names_the_template_and_its_id_in_the_query(client: TemplateClient) -> None:
    responses.delete(
        TEMPLATES_URL,
        json=fixture("template_delete_response.json"),
        match=[
            matchers.query_param_matcher({"name": "order_update", "hsm_id": "1387372356726668"})
        ],
    )

    client.delete_template(WABA_ID, name="order_update", hsm_id="1387372356726668")

    assert sent().method == "DELETE"
    assert sent().req_kwargs["timeout"] == 2


@responses.activate
def test_a_template_that_does_not_exist_refuses_the_send_with_its_code(
    client: TemplateClient,
) -> None:
    body = fixture("error_132001_template_does_not_exist_response.json")
    responses.post(SEND_URL, json=body, status=404)
    payload = template_message(to="16505551234", name="nope", language="en", components=[])

    with pytest.raises(GraphAPIError) as caught:
        client.send_message("106540352242922", payload)

    error = caught.value
    assert (error.code, error.http_status, error.subcode) == (132001, 404, 2494073)
    assert error.title == "(#132001) Template name does not exist in the translation"
    assert error.details == "template name (YOUR_TEMPLATE_NAME) does not exist in en"
    assert error.retryable is False


@responses.activate
def test_a_refused_creation_keeps_whatsapps_words_and_is_not_retryable(
    client: TemplateClient,
) -> None:
    refusal = {
        "error": {
            "message": "Invalid parameter",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 2388024,
            "is_transient": False,
            "error_user_title": "Content in This Language Already Exists",
            "error_user_msg": "There is already en_US content for this template.",
            "fbtrace_id": "A1b2C3",
        }
    }
    responses.post(TEMPLATES_URL, json=refusal, status=400)

    with pytest.raises(GraphAPIError) as caught:
        client.create_template(
            WABA_ID, fixture("template_create_request_utility_named_params.json")
        )

    error = caught.value
    assert (error.code, error.subcode, error.http_status) == (100, 2388024, 400)
    assert error.title == "Invalid parameter"
    assert error.details == "There is already en_US content for this template."
    assert error.retryable is False


@responses.activate
def test_a_server_error_while_listing_is_retryable(client: TemplateClient) -> None:
    responses.get(TEMPLATES_URL, body="Service Unavailable", status=503)

    with pytest.raises(GraphAPIError) as caught:
        list(client.list_templates(WABA_ID))

    assert (caught.value.http_status, caught.value.retryable) == (503, True)


@responses.activate
def test_a_creation_without_an_answer_may_have_arrived(client: TemplateClient) -> None:
    responses.post(TEMPLATES_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(GraphUnreachable) as caught:
        client.create_template(
            WABA_ID, fixture("template_create_request_utility_named_params.json")
        )

    assert caught.value.maybe_delivered is True
    assert str(caught.value) == "WhatsApp did not answer in time; the request may have arrived."


@responses.activate
def test_a_connection_never_made_never_delivered(client: TemplateClient) -> None:
    responses.delete(TEMPLATES_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))

    with pytest.raises(GraphUnreachable) as caught:
        client.delete_template(WABA_ID, name="order_update")

    assert caught.value.maybe_delivered is False


def test_the_template_client_is_the_graph_client() -> None:
    assert issubclass(TemplateClient, GraphClient)


# --- the parameters of a send --------------------------------------------------------------

NAMED = fixture("templates_list_response.json")["data"][0]  # reservation_confirmation
NAMED_VALUES = {
    "header": [{"id": "2871834006348767"}],
    "body": {
        "number_of_guests": "4",
        "day": "Saturday",
        "date": "August 30th, 2025",
        "time": "7:30 pm",
    },
}
COUPON = fixture("template_create_request_marketing_positional_copy_code.json")
COUPON_VALUES = {"body": ["25OFF", "25%"], "buttons": [None, "25OFF"]}
# The template of Meta's limited-time offer send example, as its creation example writes it.
OFFER = {
    "name": "limited_time_offer_caribbean_pkg_2023",
    "language": "en_US",
    "category": "marketing",
    "components": [
        {"type": "header", "format": "image", "example": {"header_handle": ["4::aW..."]}},
        {
            "type": "limited_time_offer",
            "limited_time_offer": {"text": "Expiring offer!", "has_expiration": True},
        },
        {
            "type": "body",
            "text": "Good news, {{1}}! Use code {{2}} to get 25% off all Caribbean Destination "
            "packages!",
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
                    "example": ["https://awesomedestinations.com/offers?code=n3mtql"],
                },
            ],
        },
    ],
}
OFFER_VALUES = {
    "header": [{"id": "1602186516975000"}],
    "body": ["Pablo", "CARIBE25"],
    "limited_time_offer": 1209600000,
    "buttons": ["CARIBE25", "n3mtql"],
}


def built_send(to: str, template: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    components = template_components(
        template["components"],
        values,
        parameter_format=template.get("parameter_format", "POSITIONAL"),
    )
    return template_message(to=to, name=template["name"], language="en_US", components=components)


def test_named_parameters_and_an_image_header_are_sent_as_documented() -> None:
    documented = fixture("send_template_request_named_params_image_header.json")

    assert built_send("16505551234", NAMED, NAMED_VALUES) == documented


def test_positional_parameters_and_a_copy_code_button_are_sent_as_documented() -> None:
    documented = fixture("send_template_request_positional_copy_code_button.json")
    # Meta's coupon example leaves out recipient_type (individual, the default) and writes
    # the sub_type in capitals where its other examples and the reference write it in
    # lower case; the platform takes both.
    expected = {**copy.deepcopy(documented), "recipient_type": "individual"}
    expected["template"]["components"][1]["sub_type"] = "copy_code"

    assert built_send("16505551234", COUPON, COUPON_VALUES) == expected


def test_a_limited_time_offer_with_a_url_variable_is_sent_as_documented() -> None:
    documented = fixture("send_template_request_lto_url_button.json")

    assert built_send("16505555555", OFFER, OFFER_VALUES) == documented


def test_a_template_without_variables_is_sent_without_components() -> None:
    template = {"components": [{"type": "BODY", "text": "Thanks for your order!"}]}

    assert template_components(template["components"], {}) == []
    assert (
        "components"
        not in template_message(to="1", name="thanks", language="en", components=[])["template"]
    )


def test_the_send_job_builds_a_queued_template_message() -> None:
    components = template_components(COUPON["components"], COUPON_VALUES)
    content = {"name": COUPON["name"], "language": "en_US", "components": components}

    payload = outbound_message("16505551234", "template", content=content, callback_data="42")

    assert payload == {
        **template_message(
            to="16505551234", name=COUPON["name"], language="en_US", components=components
        ),
        "biz_opaque_callback_data": "42",
    }


@pytest.mark.parametrize("content", [{}, {"name": "x"}, {"language": "en"}])
def test_a_template_message_without_name_or_language_cannot_be_built(
    content: dict[str, Any],
) -> None:
    with pytest.raises(ValueError, match="needs the template's name and language"):
        outbound_message("16505551234", "template", content=content)


def test_a_quick_reply_payload_and_a_named_text_header_are_sent_when_given() -> None:
    components = [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Hi {{first_name}}",
            "example": {"header_text_named_params": [{"param_name": "first_name", "example": "A"}]},
        },
        {"type": "BODY", "text": "Your order {{order}} ships today."},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}]},
    ]
    values = {
        "header": {"first_name": "Olga"},
        "body": {"order": 48213},
        "buttons": ["STOP_SHIPPING_UPDATES"],
    }

    assert template_components(components, values, parameter_format="NAMED") == [
        {
            "type": "header",
            "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Olga"}],
        },
        {
            "type": "body",
            "parameters": [{"type": "text", "parameter_name": "order", "text": "48213"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": 0,
            "parameters": [{"type": "payload", "payload": "STOP_SHIPPING_UPDATES"}],
        },
    ]


def test_a_document_header_by_link_and_an_authentication_code() -> None:
    document = [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::x"]}},
        {"type": "BODY", "text": "Your invoice {{1}}."},
    ]
    authentication = [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
    ]

    assert template_components(
        document,
        {"header": [{"link": "https://example.test/i.pdf", "filename": "i.pdf"}], "body": ["7"]},
    )[0] == {
        "type": "header",
        "parameters": [
            {
                "type": "document",
                "document": {"link": "https://example.test/i.pdf", "filename": "i.pdf"},
            }
        ],
    }
    assert template_components(authentication, {"body": ["123456"], "buttons": ["123456"]}) == [
        {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
        {
            "type": "button",
            "sub_type": "url",
            "index": 0,
            "parameters": [{"type": "text", "text": "123456"}],
        },
    ]
    assert render_template(authentication, {"body": ["123456"], "buttons": ["123456"]}).text == (
        "123456 is your verification code. For your security, do not share this code.\n\n"
        "This code expires in 10 minutes.\n\n[Copy code]"
    )


def test_a_location_header_and_a_flow_buttons_action_are_sent_as_given() -> None:
    components = [
        {"type": "HEADER", "format": "LOCATION"},
        {"type": "BODY", "text": "Your parcel waits here."},
        {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Book", "flow_id": "1"}]},
    ]
    place = {"latitude": 37.48, "longitude": -122.15, "name": "Locker 7", "address": "1 Main St"}
    action = {"flow_token": "abc", "flow_action_data": {"step": "pick"}}

    assert template_components(components, {"header": [place], "buttons": [action]}) == [
        {"type": "header", "parameters": [{"type": "location", "location": place}]},
        {
            "type": "button",
            "sub_type": "flow",
            "index": 0,
            "parameters": [{"type": "action", "action": action}],
        },
    ]
    assert template_components(components, {"header": [place]})[1:] == []
    with pytest.raises(TemplateParametersError) as caught:
        template_components(components, {"header": [{**place, "latitude": "north"}]})
    assert (caught.value.field, caught.value.problem) == ("header.latitude", "invalid")


@pytest.mark.parametrize(
    ("template", "values", "field", "problem"),
    [
        (NAMED, {**NAMED_VALUES, "body": {"day": "Saturday"}}, "body.number_of_guests", "missing"),
        (NAMED, {**NAMED_VALUES, "body": {**NAMED_VALUES["body"], "x": "1"}}, "body.x", "extra"),
        (NAMED, {**NAMED_VALUES, "body": ["4", "Sat", "Aug 30", "7pm"]}, "body", "invalid"),
        (
            NAMED,
            {**NAMED_VALUES, "body": {**NAMED_VALUES["body"], "day": " "}},
            "body.day",
            "missing",
        ),
        (NAMED, {"body": NAMED_VALUES["body"]}, "header", "missing"),
        (
            NAMED,
            {**NAMED_VALUES, "header": [{"id": "1", "link": "https://x"}]},
            "header",
            "invalid",
        ),
        (
            NAMED,
            {**NAMED_VALUES, "header": [{"id": "1", "caption": "x"}]},
            "header.caption",
            "extra",
        ),
        (NAMED, {**NAMED_VALUES, "buttons": ["x"]}, "buttons.0", "extra"),
        (NAMED, {**NAMED_VALUES, "footer": "Bye"}, "footer", "extra"),
        (COUPON, {"body": ["25OFF"], "buttons": [None, "25OFF"]}, "body.2", "missing"),
        (COUPON, {"body": ["25OFF", "25%", "x"], "buttons": [None, "A"]}, "body.3", "extra"),
        (COUPON, {"body": ["25OFF", "25%"]}, "buttons.1", "missing"),
        (COUPON, {**COUPON_VALUES, "buttons": [None, "A", "B"]}, "buttons.2", "extra"),
        (COUPON, {**COUPON_VALUES, "header": ["Fall"]}, "header", "extra"),
        (COUPON, {**COUPON_VALUES, "body": ["25\nOFF", "25%"]}, "body.1", "invalid"),
        (COUPON, {**COUPON_VALUES, "body": ["25OFF", "25     %"]}, "body.2", "invalid"),
        (COUPON, {**COUPON_VALUES, "body": [True, "25%"]}, "body.1", "invalid"),
        (COUPON, {**COUPON_VALUES, "limited_time_offer": 1}, "limited_time_offer", "extra"),
        (OFFER, {**OFFER_VALUES, "limited_time_offer": None}, "limited_time_offer", "missing"),
        (OFFER, {**OFFER_VALUES, "limited_time_offer": "soon"}, "limited_time_offer", "invalid"),
        (OFFER, {**OFFER_VALUES, "buttons": ["CARIBE25"]}, "buttons.1", "missing"),
    ],
)
def test_values_missing_extra_or_refused_name_the_field(
    template: dict[str, Any], values: dict[str, Any], field: str, problem: str
) -> None:
    for fill in (template_components, render_template):
        with pytest.raises(TemplateParametersError) as caught:
            fill(
                template["components"],
                values,
                parameter_format=template.get("parameter_format", "POSITIONAL"),
            )
        assert (caught.value.field, caught.value.problem) == (field, problem)
        assert isinstance(caught.value, ValueError)
        assert field.split(".")[0] in str(caught.value)


# --- what the customer reads ---------------------------------------------------------------


def test_the_rendered_template_is_the_text_with_the_values_in_place() -> None:
    rendered = render_template(NAMED["components"], NAMED_VALUES, parameter_format="NAMED")

    assert rendered.header == ""
    assert (rendered.header_format, rendered.header_media) == ("IMAGE", {"id": "2871834006348767"})
    assert rendered.body == (
        "*You're all set!*\n\nYour reservation for 4 at Lucky Shrub Eatery on Saturday, "
        "August 30th, 2025, at 7:30 pm, is confirmed. See you then!"
    )
    assert rendered.footer == "Lucky Shrub Eatery: The Luckiest Eatery in Town!"
    assert rendered.buttons == (
        RenderedButton("URL", "Change reservation", "https://www.luckyshrubeater.com/reservations"),
        RenderedButton("PHONE_NUMBER", "Call us", "+16467043595"),
        RenderedButton("QUICK_REPLY", "Cancel reservation"),
    )
    assert rendered.text == (
        "[image]\n\n" + rendered.body + "\n\nLucky Shrub Eatery: The Luckiest Eatery in Town!\n\n"
        "[Change reservation]\n[Call us]\n[Cancel reservation]"
    )


def test_a_rendered_offer_shows_the_filled_link_and_the_code() -> None:
    rendered = render_template(OFFER["components"], OFFER_VALUES)

    assert rendered.offer == "Expiring offer!"
    assert rendered.body == (
        "Good news, Pablo! Use code CARIBE25 to get 25% off all Caribbean Destination packages!"
    )
    assert rendered.buttons == (
        RenderedButton("COPY_CODE", "Copy offer code", "CARIBE25"),
        RenderedButton("URL", "Book now!", "https://awesomedestinations.com/offers?code=n3mtql"),
    )


def test_a_text_header_and_a_repeated_variable_are_filled_everywhere() -> None:
    components = fixture("template_edit_components_request.json")["components"]
    components[1]["text"] = "Use {{2}} before {{1}}; again: {{2}}."

    rendered = render_template(components, {"header": ["Spring Sale"], "body": ["May", "25OFF"]})

    assert rendered.header == "Our Spring Sale is on!"
    assert rendered.body == "Use 25OFF before May; again: 25OFF."
    assert template_components(components, {"header": ["Spring Sale"], "body": ["May", "25OFF"]})[
        1
    ] == {
        "type": "body",
        "parameters": [{"type": "text", "text": "May"}, {"type": "text", "text": "25OFF"}],
    }
