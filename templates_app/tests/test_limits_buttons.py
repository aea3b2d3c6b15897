"""The limits of buttons (counts, grouping, labels, addresses, numbers, codes), of the
authentication template's shape and of the limited-time offer, at the edge and one past.

Plain functions: ``limits`` is pure, so no database is needed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from templates_app import limits
from templates_app.tests.test_limits import body, codes, template


def buttons(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "BUTTONS", "buttons": list(items)}


def quick(text: str = "Stop updates") -> dict[str, Any]:
    return {"type": "QUICK_REPLY", "text": text}


def url(address: str = "https://www.luckyshrub.com/orders", **extra: Any) -> dict[str, Any]:
    return {"type": "URL", "text": "View order", "url": address, **extra}


def phone(number: str = "+15550051310") -> dict[str, Any]:
    return {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": number}


def copy_code(example: str = "SPRING25") -> dict[str, Any]:
    return {"type": "COPY_CODE", "example": example}


# --- buttons -------------------------------------------------------------------------------


def test_ten_buttons_pass_and_eleven_do_not() -> None:
    assert codes(template(body(), buttons(*[quick(f"Reply {i}") for i in range(10)]))) == []
    found = codes(template(body(), buttons(*[quick(f"Reply {i}") for i in range(11)])))
    assert found == [("buttons_too_many", "buttons"), ("quick_replies_too_many", "buttons")]


def test_two_url_buttons_pass_and_three_do_not() -> None:
    assert codes(template(body(), buttons(url(), url()))) == []
    assert codes(template(body(), buttons(url(), url(), url()))) == [
        ("url_buttons_too_many", "buttons")
    ]


def test_one_phone_button_passes_and_two_do_not() -> None:
    assert codes(template(body(), buttons(phone()))) == []
    assert codes(template(body(), buttons(phone(), phone()))) == [
        ("phone_buttons_too_many", "buttons")
    ]


def test_one_copy_code_button_passes_and_two_do_not() -> None:
    assert codes(template(body(), buttons(copy_code()))) == []
    assert codes(template(body(), buttons(copy_code(), copy_code()))) == [
        ("copy_code_buttons_too_many", "buttons")
    ]


@pytest.mark.parametrize(
    "order",
    [
        [quick(), quick()],
        [quick(), quick(), url(), phone()],
        [url(), phone(), quick(), quick()],
    ],
)
def test_quick_replies_grouped_together_pass(order: list[dict[str, Any]]) -> None:
    assert codes(template(body(), buttons(*order))) == []


@pytest.mark.parametrize("order", [[quick(), url(), quick()], [url(), quick(), url()]])
def test_quick_replies_split_by_other_buttons_are_refused(order: list[dict[str, Any]]) -> None:
    assert ("buttons_order", "buttons") in codes(template(body(), buttons(*order)))


def test_button_label_of_25_characters_passes_and_26_does_not() -> None:
    assert codes(template(body(), buttons(quick("q" * 25)))) == []
    found = codes(template(body(), buttons(quick("q" * 26))))
    assert found == [("button_text_too_long", "buttons[0].text")]


def test_a_label_is_required_and_has_no_variables() -> None:
    assert codes(template(body(), buttons(quick("")))) == [
        ("button_text_missing", "buttons[0].text")
    ]
    assert codes(template(body(), buttons(quick("Order {{1}}")))) == [
        ("button_text_variables", "buttons[0].text")
    ]


def test_url_of_2000_characters_passes_and_2001_does_not() -> None:
    base = "https://www.luckyshrub.com/"
    assert codes(template(body(), buttons(url(base + "u" * (2000 - len(base)))))) == []
    found = codes(template(body(), buttons(url(base + "u" * (2001 - len(base))))))
    assert found == [("button_url_too_long", "buttons[0].url")]


@pytest.mark.parametrize(
    "address", ["www.luckyshrub.com", "ftp://luckyshrub.com/x", "https://lucky shrub.com"]
)
def test_url_must_be_a_web_address(address: str) -> None:
    assert codes(template(body(), buttons(url(address)))) == [
        ("button_url_invalid", "buttons[0].url")
    ]


def test_url_is_required() -> None:
    button = {"type": "URL", "text": "Shop"}
    assert codes(template(body(), buttons(button))) == [("button_url_missing", "buttons[0].url")]


def test_url_variable_at_the_end_with_its_example_passes() -> None:
    button = url("https://www.luckyshrub.com/shop?promo={{1}}", example=["summer2023"])
    assert codes(template(body(), buttons(button))) == []


def test_url_variable_needs_its_example() -> None:
    button = url("https://www.luckyshrub.com/shop?promo={{1}}")
    assert codes(template(body(), buttons(button))) == [("missing_example", "buttons[0].example")]


@pytest.mark.parametrize(
    "address",
    [
        "https://www.luckyshrub.com/{{1}}/orders",
        "https://www.luckyshrub.com/shop?promo={{2}}",
        "https://www.luckyshrub.com/{{1}}/{{2}}",
    ],
)
def test_url_variable_is_one_at_the_end(address: str) -> None:
    found = codes(template(body(), buttons(url(address, example=["x"]))))
    assert ("button_url_variable", "buttons[0].url") in found


def test_phone_of_20_characters_passes_and_21_does_not() -> None:
    assert codes(template(body(), buttons(phone("+" + "1" * 19)))) == []
    found = codes(template(body(), buttons(phone("+" + "1" * 20))))
    assert found == [("button_phone_too_long", "buttons[0].phone_number")]


def test_phone_number_is_required_and_has_digits() -> None:
    assert codes(template(body(), buttons(phone("")))) == [
        ("button_phone_missing", "buttons[0].phone_number")
    ]
    assert codes(template(body(), buttons(phone("call us")))) == [
        ("button_phone_invalid", "buttons[0].phone_number")
    ]


def test_copy_code_of_15_characters_passes_and_16_does_not() -> None:
    assert codes(template(body(), buttons(copy_code("C" * 15)))) == []
    found = codes(template(body(), buttons(copy_code("C" * 16))))
    assert found == [("copy_code_too_long", "buttons[0].example")]


def test_copy_code_needs_its_example() -> None:
    assert codes(template(body(), buttons({"type": "COPY_CODE"}))) == [
        ("missing_example", "buttons[0].example")
    ]


def test_unknown_button_type_is_refused() -> None:
    found = codes(template(body(), buttons({"type": "EMAIL", "text": "Mail us"})))
    assert found == [("button_type_invalid", "buttons[0].type")]


def test_otp_button_belongs_to_authentication() -> None:
    otp = {"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}
    assert codes(template(body(), buttons(otp))) == [("button_type_category", "buttons[0].type")]


def test_flow_button_names_its_flow() -> None:
    flow = {"type": "FLOW", "text": "Book a table", "flow_action": "navigate"}
    assert codes(template(body(), buttons(flow))) == [("button_flow_missing", "buttons[0]")]
    assert codes(template(body(), buttons({**flow, "flow_id": "1234"}))) == []


def test_an_empty_buttons_component_is_refused() -> None:
    assert codes(template(body(), {"type": "BUTTONS", "buttons": []})) == [
        ("buttons_empty", "buttons")
    ]


# --- authentication ------------------------------------------------------------------------


def auth(*components: dict[str, Any]) -> dict[str, Any]:
    otp = {"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}
    default = [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        buttons(otp),
    ]
    return template(*(components or default), category="AUTHENTICATION", name="login_code")


def test_the_preset_authentication_template_passes() -> None:
    assert codes(auth()) == []


def test_code_expiry_of_1_and_90_minutes_passes_and_0_or_91_does_not() -> None:
    tpl = auth()
    for minutes, expected in ((1, []), (90, []), (0, ["auth_footer"]), (91, ["auth_footer"])):
        changed = copy.deepcopy(tpl)
        changed["components"][1]["code_expiration_minutes"] = minutes
        assert [code for code, _field in codes(changed)] == expected


def test_authentication_has_no_header() -> None:
    tpl = auth()
    tpl["components"].insert(0, {"type": "HEADER", "format": "IMAGE"})
    assert codes(tpl) == [("auth_header", "header")]


def test_authentication_body_has_no_links_or_emojis() -> None:
    tpl = auth()
    tpl["components"][0]["text"] = "{{1}} is your code. Log in at https://luckyshrub.com 🔐"
    assert sorted(codes(tpl)) == [("auth_emoji", "body.text"), ("auth_url", "body.text")]


def test_authentication_footer_has_no_text() -> None:
    tpl = auth()
    tpl["components"][1]["text"] = "Lucky Shrub"
    assert codes(tpl) == [("auth_footer", "footer.text")]


def test_authentication_needs_exactly_one_otp_button() -> None:
    tpl = auth()
    tpl["components"][2] = buttons(quick("Not me"))
    assert sorted(codes(tpl)) == [
        ("auth_button", "buttons"),
        ("button_type_category", "buttons[0].type"),
    ]
    tpl["components"].pop()
    assert codes(tpl) == [("auth_button", "buttons")]


def test_one_tap_names_the_app() -> None:
    tpl = auth()
    tpl["components"][2] = buttons({"type": "OTP", "otp_type": "ONE_TAP", "text": "Copy code"})
    assert codes(tpl) == [("auth_otp_app", "buttons[0]")]
    tpl["components"][2]["buttons"][0].update(
        package_name="com.example.luckyshrub", signature_hash="K8a%2FAINcGX7"
    )
    assert codes(tpl) == []


def test_otp_type_is_one_of_three() -> None:
    tpl = auth()
    tpl["components"][2] = buttons({"type": "OTP", "otp_type": "MAGIC_LINK"})
    assert codes(tpl) == [("auth_button", "buttons[0].otp_type")]


# --- limited-time offer --------------------------------------------------------------------


def offer(text: str) -> dict[str, Any]:
    return {"type": "LIMITED_TIME_OFFER", "limited_time_offer": {"text": text}}


def test_offer_text_of_16_characters_passes_and_17_does_not() -> None:
    assert codes(template(body(), offer("o" * 16), category="MARKETING")) == []
    found = codes(template(body(), offer("o" * 17), category="MARKETING"))
    assert found == [("offer_text_too_long", "offer.text")]


def test_only_marketing_carries_an_offer() -> None:
    assert codes(template(body(), offer("Expiring offer!"))) == [("offer_category", "offer")]


def test_the_limits_match_the_platforms_published_figures() -> None:
    assert (
        limits.NAME_MAX,
        limits.HEADER_TEXT_MAX,
        limits.BODY_TEXT_MAX,
        limits.FOOTER_TEXT_MAX,
        limits.BUTTON_TEXT_MAX,
        limits.URL_MAX,
        limits.PHONE_MAX,
        limits.COPY_CODE_MAX,
        limits.BUTTONS_MAX,
        limits.URL_BUTTONS_MAX,
        limits.PHONE_BUTTONS_MAX,
        limits.COPY_CODE_BUTTONS_MAX,
    ) == (512, 60, 1024, 60, 25, 2000, 20, 15, 10, 2, 1, 1)
