"""``check_template``: limits and policy together, in one stable order, with the platform's
own examples passing and messages in the admin's language."""

from __future__ import annotations

import copy
import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES_DIR
from templates_app.checks import Finding, check_template

CONTRACT = FIXTURES_DIR.parents[1] / "contracts" / "whatsapp-business-messaging-openapi-v23.0.yaml"
CREATE_REQUESTS = sorted(FIXTURES_DIR.glob("template_create_request_*.json"))


def check(body: dict[str, Any], **extra: Any) -> list[Finding]:
    return check_template(
        name=body.get("name"),
        language=body.get("language"),
        category=body.get("category"),
        parameter_format=body.get("parameter_format"),
        components=body.get("components"),
        **extra,
    )


def errors(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code, f.field) for f in found if f.severity == "error"]


def contract_examples() -> dict[str, dict[str, Any]]:
    yaml = pytest.importorskip("yaml")
    contract = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    post = contract["paths"]["/{Version}/{WABA-ID}/message_templates"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    return {title: example["value"] for title, example in examples.items()}


def test_the_documented_create_requests_are_found() -> None:
    assert [p.name for p in CREATE_REQUESTS] == [
        "template_create_request_marketing_positional_copy_code.json",
        "template_create_request_utility_named_params.json",
    ]


@pytest.mark.parametrize("path", CREATE_REQUESTS, ids=lambda p: Path(p).stem)
def test_the_documented_create_requests_have_no_error(path: Path) -> None:
    assert errors(check(json.loads(path.read_bytes()))) == []


def test_every_creation_example_of_the_contract_has_no_error() -> None:
    examples = contract_examples()
    assert len(examples) == 11
    for title, body in examples.items():
        body = copy.deepcopy(body)
        if body["name"] == "<TEMPLATE_NAME>":
            # Meta's placeholder is no template name; it is the one thing refused.
            assert errors(check(body)) == [("name_invalid", "name")], title
            body["name"] = "flow_offer"
        assert errors(check(body)) == [], title


def test_the_contracts_own_marketing_example_gets_a_warning_only() -> None:
    body = contract_examples()[
        "Create template w/ text header, text body, text footer, and 2 quick reply buttons"
    ]
    found = check(body)
    assert [(f.code, f.severity) for f in found] == [("no_relationship_context", "warning")]


def test_errors_come_first_then_fields_in_reading_order() -> None:
    body = {
        "name": "Order-Shipped",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "BIG SUMMER SALE TODAY"},
            {"type": "BODY", "text": "{{1}}, your order has shipped. Use code {{2}} for 20% off!"},
            {"type": "FOOTER", "text": "f" * 61},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": f"Reply {i}"} for i in range(11)],
            },
        ],
    }
    found = check(body)
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert [(f.code, f.field) for f in found] == [
        ("name_invalid", "name"),
        ("promotional_content", "header.text"),
        ("missing_example", "body.example"),
        ("variable_at_edge", "body.text"),
        ("footer_too_long", "footer.text"),
        ("buttons_too_many", "buttons"),
        ("quick_replies_too_many", "buttons"),
        ("likely_recategorized", "category"),
        ("all_caps", "header.text"),
    ]


def test_button_ten_comes_after_button_nine() -> None:
    buttons = [{"type": "QUICK_REPLY", "text": f"Reply {i}"} for i in range(11)]
    buttons[9]["text"] = "r" * 26
    buttons[10]["text"] = "r" * 26
    body = {
        "name": "many_replies",
        "language": "en",
        "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Hi there, thanks for your order last week. Tell us more!"},
            {"type": "BUTTONS", "buttons": buttons},
        ],
    }
    fields = [f.field for f in check(body)]
    assert fields == ["buttons", "buttons", "buttons[9].text", "buttons[10].text"]


def test_a_finding_is_a_frozen_value() -> None:
    finding = Finding(code="name_invalid", severity="error", field="name", message="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.code = "other"  # type: ignore[misc]
    assert finding == Finding("name_invalid", "error", "name", "x")


def test_prices_reach_the_recategorization_warning() -> None:
    body = {
        "name": "order_ready",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order is ready. Check out our new collection too!",
                "example": {"body_text": [["Ann"]]},
            }
        ],
    }
    prices = {"MARKETING": {"IT": Decimal("0.0691")}, "UTILITY": {"IT": Decimal("0.0300")}}
    [finding] = check(body, prices=prices)
    assert finding.code == "likely_recategorized"
    assert "IT: 0.0691 instead of 0.0300" in finding.message


def test_messages_are_in_the_admins_language() -> None:
    body = {
        "name": "Order-Shipped",
        "language": "ru",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Здравствуйте, {{1}}! Заказ отправлен. Дарим промокод на скидку 20%!",
                "example": {"body_text": [["Анна"]]},
            }
        ],
    }
    with translation.override("ru"):
        found = check(body)
    by_code = {f.code: f.message for f in found}
    assert set(by_code) == {"name_invalid", "promotional_content", "likely_recategorized"}
    assert by_code["name_invalid"].startswith("Имя шаблона")
    assert by_code["promotional_content"].startswith(
        "Шаблоны UTILITY не могут рекламировать («промокод», «скидку»)"
    )
    assert by_code["likely_recategorized"].startswith("WhatsApp, скорее всего, переведёт")
    with translation.override("en"):
        english = {f.code: f.message for f in check(body)}
    assert english["name_invalid"].startswith("A name may contain")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_COMPONENT = st.fixed_dictionaries(
    {"type": st.sampled_from(["HEADER", "body", "FOOTER", "BUTTONS", "CAROUSEL", "x", 3])},
    optional={
        "text": st.text(max_size=80) | _JSON,
        "format": st.sampled_from(["TEXT", "image", "LOCATION", "AUDIO"]) | _JSON,
        "example": _JSON,
        "buttons": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["QUICK_REPLY", "url", "OTP", "COPY_CODE", "?"])},
                optional={"text": _JSON, "url": _JSON, "example": _JSON, "otp_type": _JSON},
            )
            | _JSON,
            max_size=12,
        )
        | _JSON,
    },
)


@settings(max_examples=200, deadline=None)
@given(
    components=st.lists(_COMPONENT | _JSON, max_size=5) | _JSON,
    category=st.sampled_from(["MARKETING", "utility", "AUTHENTICATION", "", None, 7]),
    language=st.sampled_from(["en_US", "ru", "it", "da", "pt_BR", "fr", None, 1]),
)
def test_any_input_gets_findings_never_an_exception(
    components: Any, category: Any, language: Any
) -> None:
    found = check_template(
        name="any",
        language=language,
        category=category,
        parameter_format=None,
        components=components,
    )
    assert all(f.severity in ("error", "warning") and f.code and f.message for f in found)
