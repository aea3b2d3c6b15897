"""Every limit the platform holds a template to, at its edge and one past it.

Plain functions: ``limits`` is pure, so no database is needed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from templates_app import limits
from templates_app.findings import Finding
from templates_app.limits import check_limits

BODY = "Hello {{1}}, your order {{2}} has shipped and will arrive on {{3}}."


def body(text: str = BODY, examples: list[str] | None = None) -> dict[str, Any]:
    count = text.count("{{")
    values = examples if examples is not None else [f"value {i}" for i in range(1, count + 1)]
    component: dict[str, Any] = {"type": "BODY", "text": text}
    if values:
        component["example"] = {"body_text": [values]}
    return component


def template(*components: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A valid UTILITY template with ``components`` (a body of its own when none given)."""
    return {
        "name": "order_shipped",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": list(components) or [body()],
        **fields,
    }


def check(tpl: dict[str, Any]) -> list[Finding]:
    return check_limits(**tpl)


def codes(tpl: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.code, f.field) for f in check(tpl)]


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


def test_a_valid_template_has_no_findings() -> None:
    assert check(template()) == []


def test_the_brief_sentence_with_three_variables_is_fine() -> None:
    assert codes(template(body(BODY))) == []


# --- name, language, category, parameter format --------------------------------------------


def test_name_of_512_characters_passes_and_513_does_not() -> None:
    assert codes(template(name="a" * 512)) == []
    assert codes(template(name="a" * 513)) == [("name_too_long", "name")]


@pytest.mark.parametrize("name", ["Order_Shipped", "order-shipped", "order shipped", "заказ"])
def test_name_takes_lowercase_letters_digits_and_underscores_only(name: str) -> None:
    found = check(template(name=name))
    assert [(f.code, f.field) for f in found] == [("name_invalid", "name")]


def test_name_invalid_quotes_the_characters_to_remove() -> None:
    [finding] = check(template(name="Order-Shipped"))
    assert "“O-S”" in finding.message


@pytest.mark.parametrize("name", ["", None])
def test_name_is_required(name: Any) -> None:
    assert codes(template(name=name)) == [("name_missing", "name")]


@pytest.mark.parametrize(
    "language", ["en_US", "en_GB", "en", "ru", "it", "da", "pt_BR", "es", "de"]
)
def test_the_platforms_languages_pass(language: str) -> None:
    assert codes(template(language=language)) == []


def test_a_language_spelled_the_web_way_is_corrected() -> None:
    [finding] = check(template(language="en-US"))
    assert (finding.code, finding.field) == ("language_invalid", "language")
    assert "“en_US”" in finding.message


@pytest.mark.parametrize("language", ["xx", "english", "", None, "ru_RU"])
def test_other_languages_are_refused(language: Any) -> None:
    assert codes(template(language=language)) == [("language_invalid", "language")]


def test_category_and_format_are_taken_in_either_case() -> None:
    named = {"type": "body", "text": "Hi {{name}}, your table is booked. See you soon!"}
    named["example"] = {"body_text_named_params": [{"param_name": "name", "example": "Ann"}]}
    assert codes(template(named, category="utility", parameter_format="named")) == []


@pytest.mark.parametrize("category", ["PROMOTIONAL", "TRANSACTIONAL", "", None])
def test_an_unknown_category_is_refused(category: Any) -> None:
    assert codes(template(category=category)) == [("category_invalid", "category")]


def test_an_unknown_parameter_format_is_refused() -> None:
    found = codes(template(parameter_format="numbered"))
    assert found == [("parameter_format_invalid", "parameter_format")]


def test_parameter_format_defaults_to_positional() -> None:
    assert codes(template(parameter_format=None)) == []


# --- components ----------------------------------------------------------------------------


@pytest.mark.parametrize("components", [None, [], "BODY", {"type": "BODY"}])
def test_components_must_be_a_list_with_something_in_it(components: Any) -> None:
    assert codes(template(components=components)) == [("components_invalid", "components")]


def test_a_second_body_is_refused() -> None:
    assert codes(template(body(), body())) == [("component_duplicate", "components[1]")]


def test_an_unknown_component_type_is_refused() -> None:
    found = codes(template(body(), {"type": "SIGNATURE", "text": "x"}))
    assert found == [("component_type_invalid", "components[1]")]


def test_a_template_needs_a_body() -> None:
    header = {"type": "HEADER", "format": "TEXT", "text": "Order update"}
    assert codes(template(header)) == [("body_missing", "body")]


# --- header --------------------------------------------------------------------------------


def header(text: str, example: list[str] | None = None) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": text}
    if example is not None:
        component["example"] = {"header_text": example}
    return component


def test_header_of_60_characters_passes_and_61_does_not() -> None:
    assert codes(template(header("h" * 60), body())) == []
    assert codes(template(header("h" * 61), body())) == [("header_too_long", "header.text")]


def test_header_has_at_most_one_variable() -> None:
    assert codes(template(header("Order {{1}} shipped", ["A1"]), body())) == []
    found = codes(template(header("Order {{1}} for {{2}}", ["A1", "Ann"]), body()))
    assert ("header_too_many_variables", "header.text") in found


def test_header_variable_needs_its_example() -> None:
    found = codes(template(header("Our {{1}} is on!"), body()))
    assert found == [("missing_example", "header.example")]


def test_named_header_variable_takes_its_named_example() -> None:
    named = {
        "type": "HEADER",
        "format": "TEXT",
        "text": "Our new sale starts {{sale_start_date}}!",
        "example": {
            "header_text_named_params": [
                {"param_name": "sale_start_date", "example": "December 1st"}
            ]
        },
    }
    text = "Hi {{name}}, your order is ready for pickup. See you soon!"
    named_body = {
        "type": "BODY",
        "text": text,
        "example": {"body_text_named_params": [{"param_name": "name", "example": "Ann"}]},
    }
    assert codes(template(named, named_body, parameter_format="NAMED")) == []


@pytest.mark.parametrize("text", ["Order\nshipped", "Order shipped 🚚"])
def test_text_header_is_one_line_without_emojis(text: str) -> None:
    assert codes(template(header(text), body())) == [("header_formatting", "header.text")]


@pytest.mark.parametrize("form", ["IMAGE", "video", "DOCUMENT"])
def test_media_header_needs_a_sample_file(form: str) -> None:
    media = {"type": "HEADER", "format": form}
    assert codes(template(media, body())) == [("missing_example", "header.example")]
    media["example"] = {"header_handle": ["4::aW..."]}
    assert codes(template(media, body())) == []


def test_location_header_needs_nothing() -> None:
    assert codes(template({"type": "HEADER", "format": "LOCATION"}, body())) == []


def test_unknown_header_format_is_refused() -> None:
    found = codes(template({"type": "HEADER", "format": "AUDIO"}, body()))
    assert found == [("header_format_invalid", "header.format")]


# --- body ----------------------------------------------------------------------------------


def test_body_of_1024_characters_passes_and_1025_does_not() -> None:
    assert codes(template(body("b" * 1024))) == []
    assert codes(template(body("b" * 1025))) == [("body_too_long", "body.text")]


def test_body_may_have_two_line_breaks_in_a_row_not_three() -> None:
    assert codes(template(body("Hello {{1}}!\n\nYour order has shipped."))) == []
    found = codes(template(body("Hello {{1}}!\n\n\nYour order has shipped.")))
    assert found == [("body_newlines", "body.text")]


def test_body_may_have_ten_emojis_not_eleven() -> None:
    assert codes(template(body("Your order has shipped " + "📦" * 10 + " today."))) == []
    found = codes(template(body("Your order has shipped " + "📦" * 11 + " today.")))
    assert found == [("body_emoji_limit", "body.text")]


def test_an_emoji_with_skin_tone_or_joiner_counts_once() -> None:
    text = "Your order has shipped " + "👍🏽" * 5 + "👩‍💻" * 5 + " today."
    assert codes(template(body(text))) == []


def test_body_text_is_required() -> None:
    assert codes(template({"type": "BODY", "text": "  "})) == [("body_text_missing", "body.text")]


# --- variables -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hello {{1}}, your order {{3}} has shipped and arrives soon.",
        "Hello {{2}}, your order {{1}} has shipped and arrives soon.",
        "Hello {{0}}, your order has shipped and arrives very soon.",
    ],
)
def test_positional_variables_are_numbered_in_order_without_gaps(text: str) -> None:
    found = codes(template(body(text)))
    assert ("variable_numbering", "body.text") in found or (
        "variable_invalid",
        "body.text",
    ) in found


def test_a_gap_is_a_numbering_error_and_quotes_the_numbers() -> None:
    found = check(template(body("Hello {{1}}, your order {{3}} has shipped and arrives soon.")))
    [numbering] = [f for f in found if f.code == "variable_numbering"]
    assert numbering.field == "body.text"
    assert "{{1}}, {{3}}" in numbering.message


def test_a_variable_may_repeat() -> None:
    text = "Hello {{1}}, your order {{2}} has shipped, {{1}}. Thanks for shopping with us."
    assert codes(template(body(text, ["Ann", "A1"]))) == []


@pytest.mark.parametrize(
    "variable", ["{{First}}", "{{first name}}", "{{first-name}}", "{{ 1 }}", "{{#}}"]
)
def test_malformed_variables_are_refused(variable: str) -> None:
    found = codes(template(body(f"Hello {variable}, your order has shipped and arrives soon.")))
    assert ("variable_invalid", "body.text") in found


@pytest.mark.parametrize(
    "text", ["Hello {{1}, your order is ready.", "Hello {1}}, your order is ready."]
)
def test_unmatched_braces_are_refused(text: str) -> None:
    assert ("variable_braces", "body.text") in codes(template(body(text, [])))


def test_named_and_numbered_variables_do_not_mix() -> None:
    text = "Hello {{name}}, your order {{1}} has shipped and arrives soon."
    assert ("variables_mixed", "body.text") in codes(template(body(text)))


def test_variables_follow_the_parameter_format() -> None:
    named = {"type": "BODY", "text": "Hello {{1}}, your order has shipped and arrives soon."}
    named["example"] = {"body_text": [["Ann"]]}
    found = codes(template(named, parameter_format="NAMED"))
    assert ("variable_kind", "body.text") in found


def test_every_variable_needs_an_example() -> None:
    assert codes(template(body(BODY, ["Ann", "A1"]))) == [("missing_example", "body.example")]
    assert codes(template({"type": "BODY", "text": BODY})) == [("missing_example", "body.example")]
    assert codes(template(body(BODY, ["Ann", "", "Monday"]))) == [
        ("missing_example", "body.example")
    ]


def test_a_missing_example_names_the_variable() -> None:
    [finding] = check(template(body(BODY, ["Ann", "A1"])))
    assert "{{3}}" in finding.message


def test_named_variables_need_their_examples_by_name() -> None:
    text = "Hi {{first_name}}, your order {{order_id}} has shipped and arrives soon."
    given = {"body_text_named_params": [{"param_name": "first_name", "example": "Ann"}]}
    found = check(
        template({"type": "BODY", "text": text, "example": given}, parameter_format="NAMED")
    )
    assert [(f.code, f.field) for f in found] == [("missing_example", "body.example")]
    assert "{{order_id}}" in found[0].message


def test_more_examples_than_variables_are_refused() -> None:
    found = codes(template(body(BODY, ["Ann", "A1", "Monday", "extra"])))
    assert found == [("example_mismatch", "body.example")]


@pytest.mark.parametrize(
    "text",
    [
        "{{1}}, your order has shipped and will arrive soon.",
        "*{{1}}* is the number of your order that has shipped.",
        "  “{{1}}” is the number of your order that has shipped.",
        "Your order has shipped and will arrive on {{1}}",
        "Your order has shipped and will arrive on *{{1}}*\n",
    ],
)
def test_a_variable_cannot_start_or_end_the_body(text: str) -> None:
    assert codes(template(body(text))) == [("variable_at_edge", "body.text")]


def test_a_variable_inside_the_body_is_not_at_an_edge() -> None:
    assert codes(template(body("Your order has shipped and arrives on {{1}}. Thank you!"))) == []


def test_a_full_stop_after_the_last_variable_ends_the_body() -> None:
    assert codes(template(body("Your order has shipped and will arrive on {{1}}."))) == []


@pytest.mark.parametrize("between", ["", " ", "  ", "-", " - ", "/", " / ", ".", "\n"])
def test_variables_side_by_side_are_refused(between: str) -> None:
    text = f"Hello dear customer {{{{1}}}}{between}{{{{2}}}}, your order has shipped to you today."
    assert ("adjacent_variables", "body.text") in codes(template(body(text)))


@pytest.mark.parametrize("between", [", ", ": ", " and ", " at "])
def test_variables_separated_by_words_or_a_list_comma_are_fine(between: str) -> None:
    text = f"Hello dear customer {{{{1}}}}{between}{{{{2}}}} was booked for you and confirmed."
    assert codes(template(body(text))) == []


def test_enough_words_for_the_variables_pass_and_one_word_fewer_does_not() -> None:
    # Two variables need 2 * 2 + 1 = 5 words of the body's own.
    assert codes(template(body("Dear {{1}}, parcel {{2}} arrives tomorrow morning."))) == []
    found = check(template(body("Dear {{1}}, parcel {{2}} arrives tomorrow.")))
    assert [(f.code, f.field) for f in found] == [("too_many_variables", "body.text")]
    assert "at least 5 words" in found[0].message


def test_too_many_variables_for_a_refused_text_from_the_platform() -> None:
    # Refused by WhatsApp for its length (a published staging test): 7 words, 4 variables.
    text = "Reminder: your {{1}} shift at {{2}} is on {{3}} at {{4}} today."
    assert ("too_many_variables", "body.text") in codes(template(body(text)))


# --- footer --------------------------------------------------------------------------------


def footer(text: str) -> dict[str, Any]:
    return {"type": "FOOTER", "text": text}


def test_footer_of_60_characters_passes_and_61_does_not() -> None:
    assert codes(template(body(), footer("f" * 60))) == []
    assert codes(template(body(), footer("f" * 61))) == [("footer_too_long", "footer.text")]


def test_footer_cannot_have_variables() -> None:
    found = codes(template(body(), footer("Sent to {{1}}")))
    assert found == [("footer_variables", "footer.text")]


def test_footer_emoji_is_a_warning() -> None:
    [finding] = check(template(body(), footer("Lucky Shrub 🌱")))
    assert (finding.code, finding.severity) == ("footer_formatting", "warning")


def test_footer_needs_text() -> None:
    assert codes(template(body(), footer(""))) == [("footer_text_missing", "footer.text")]


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
