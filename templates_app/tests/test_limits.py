"""Every limit the platform holds a template to, at its edge and one past it.

Plain functions: ``limits`` is pure, so no database is needed.
"""

from __future__ import annotations

from typing import Any

import pytest

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
