"""What a message template must look like to be accepted: the rules
``POST /{WABA-ID}/message_templates`` (and an edit) holds a template's name, language,
category and components to. Pure, no I/O.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator import wire

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")

# Meta's list of template languages (its "Supported languages" page). The platform has
# added regional variants since; of those only en_IN, seen in use, is here.
# fmt: off
LANGUAGES = frozenset(
    {
        "af", "sq", "ar", "az", "bn", "bg", "ca", "zh_CN", "zh_HK", "zh_TW", "hr", "cs",
        "da", "nl", "en", "en_GB", "en_US", "en_IN", "et", "fil", "fi", "fr", "ka", "de",
        "el", "gu", "ha", "he", "hi", "hu", "id", "ga", "it", "ja", "kn", "kk", "rw_RW",
        "ko", "ky_KG", "lo", "lv", "lt", "mk", "ms", "ml", "mr", "nb", "fa", "pl", "pt_BR",
        "pt_PT", "pa", "ro", "ru", "sr", "sk", "sl", "es", "es_AR", "es_ES", "es_MX", "sw",
        "sv", "ta", "te", "th", "tr", "uk", "ur", "uz", "vi", "zu",
    }
)
# fmt: on

NAME_MAX = 512
_NAME = re.compile(r"^[a-z0-9_]+$")
HEADER_TEXT_MAX = 60
BODY_TEXT_MAX = 1024
FOOTER_TEXT_MAX = 60
BUTTON_TEXT_MAX = 25
BUTTONS_MAX = 10
URL_MAX = 2000
OFFER_TEXT_MAX = 16
CODE_EXPIRATION_MINUTES = (1, 90)

COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS", "LIMITED_TIME_OFFER")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "MPM", "CATALOG")
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")

VARIABLE = re.compile(r"\{\{(.*?)\}\}")
_NAMED_VARIABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Submission:
    """A template as submitted, checked and in the platform's spelling (upper case types)."""

    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]


def parse_submission(body: Any) -> Submission:
    """Check a ``POST /{WABA-ID}/message_templates`` body as the platform does.

    Enumerations (category, component and button types, formats) are taken in any case,
    as Meta's own examples write them (``"category": "utility"``, ``"type": "body"``), and
    kept in upper case, as the platform lists them. Raises ``wire.GraphFault``: code 100
    for what Graph's parsing refuses, code 100 with ``error_user_msg`` for what review of
    the content refuses.
    """
    if not isinstance(body, dict):
        raise wire.invalid_parameter(
            "Invalid parameter", "The request body must be a JSON object describing a template."
        )
    name = body.get("name")
    if name in (None, ""):
        raise wire.required("", "name")
    if not isinstance(name, str) or len(name) > NAME_MAX or not _NAME.match(name):
        raise wire.user_error(
            "Invalid template name",
            f"Template names may only contain lowercase letters, digits and underscores, "
            f"and at most {NAME_MAX} characters; got {name!r}.",
        )
    language = body.get("language")
    if language in (None, ""):
        raise wire.required("", "language")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise wire.invalid_parameter(
            f'Param language must be a supported template language - got "{language}".',
            f"WhatsApp has no template language {language!r} (codes look like en or en_US).",
        )
    category = enum_field(body, "category", CATEGORIES, required=True)
    parameter_format = enum_field(body, "parameter_format", PARAMETER_FORMATS) or "POSITIONAL"
    components = parse_components(body.get("components"), category, parameter_format)
    return Submission(name, language, category, parameter_format, components)


def enum_field(
    body: dict[str, Any], field: str, allowed: tuple[str, ...], *, required: bool = False
) -> str | None:
    value = body.get(field)
    if value in (None, ""):
        if required:
            raise wire.required("", field)
        return None
    if not isinstance(value, str) or value.upper() not in allowed:
        raise wire.invalid_parameter(
            f'Param {field} must be one of {{{", ".join(allowed)}}} - got "{value}".',
            f"{value!r} is not a template {field.replace('_', ' ')}.",
        )
    return value.upper()


def _refused(message: str) -> wire.GraphFault:
    return wire.user_error("Invalid template components", message)


def variables(text: str, parameter_format: str, where: str) -> list[str]:
    """The distinct variables of ``text`` (``{{1}}`` or ``{{name}}``), in order.

    Positional variables must be numbered 1, 2, ... without gaps; named ones are lowercase
    letters, digits and underscores.
    """
    found: list[str] = []
    for raw in VARIABLE.findall(text):
        variable = raw.strip()
        valid = (
            wire.is_digits(variable)
            if parameter_format == "POSITIONAL"
            else bool(_NAMED_VARIABLE.match(variable))
        )
        if not valid:
            kind = "{{1}}, {{2}}, ..." if parameter_format == "POSITIONAL" else "{{a_name}}"
            raise _refused(
                f"The {where} has the variable {{{{{raw}}}}}; a template with "
                f"{parameter_format} parameters names its variables {kind}."
            )
        if variable not in found:
            found.append(variable)
    if parameter_format == "POSITIONAL":
        found.sort(key=int)
        if found != [str(n) for n in range(1, len(found) + 1)]:
            raise _refused(
                f"The {where}'s variables must be numbered {{{{1}}}}, {{{{2}}}}, ... in "
                f"sequence; it has {', '.join('{{' + v + '}}' for v in found)}."
            )
    return found


def parse_components(raw: Any, category: str, parameter_format: str) -> list[dict[str, Any]]:
    """Check a template's components and return them in the platform's spelling."""
    if raw in (None, []):
        raise wire.required("", "components")
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise wire.invalid_parameter(
            "Param components must be an array of objects.",
            "A template's components are a list of objects, one per component.",
        )
    parsed: dict[str, dict[str, Any]] = {}
    for index, component in enumerate(raw):
        kind = component.get("type")
        if not isinstance(kind, str) or kind.upper() not in COMPONENT_TYPES:
            raise wire.invalid_parameter(
                f"Param components[{index}]['type'] must be one of "
                f'{{{", ".join(COMPONENT_TYPES)}}} - got "{kind}".',
                f"{kind!r} is not a kind of template component.",
            )
        kind = kind.upper()
        if kind in parsed:
            raise _refused(f"A template has at most one {kind} component.")
        checked = copy.deepcopy(component)
        checked["type"] = kind
        _COMPONENT_CHECKS[kind](checked, category, parameter_format)
        parsed[kind] = checked
    if "BODY" not in parsed:
        raise _refused("A template needs a BODY component.")
    if "LIMITED_TIME_OFFER" in parsed and category != "MARKETING":
        raise _refused("Only MARKETING templates can carry a limited-time offer.")
    return list(parsed.values())


def _text(component: dict[str, Any], limit: int, where: str) -> str:
    text = component.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _refused(f"The {where} needs its text.")
    if len(text) > limit:
        raise _refused(f"The {where}'s text may have at most {limit} characters.")
    return text


def _example(component: dict[str, Any]) -> dict[str, Any]:
    example = component.get("example")
    return example if isinstance(example, dict) else {}


def _check_examples(
    component: dict[str, Any],
    found: list[str],
    parameter_format: str,
    where: str,
    positional_key: str,
    named_key: str,
) -> None:
    """Variables need sample values: ``example[positional_key]`` or ``example[named_key]``."""
    if not found:
        return
    example = _example(component)
    if parameter_format == "NAMED":
        samples = example.get(named_key)
        names = (
            [
                s["param_name"]
                for s in samples
                if isinstance(s, dict) and isinstance(s.get("param_name"), str) and s.get("example")
            ]
            if isinstance(samples, list)
            else []
        )
        if sorted(names) != sorted(found):
            raise _refused(
                f"The {where} has the variables {', '.join(found)}; example['{named_key}'] "
                "must give one sample value for each, by param_name."
            )
        return
    samples = example.get(positional_key)
    if positional_key == "body_text":
        # body_text is a list holding one list of values.
        samples = samples[0] if isinstance(samples, list) and samples else None
    if (
        not isinstance(samples, list)
        or len(samples) != len(found)
        or not all(isinstance(s, str) and s for s in samples)
    ):
        raise _refused(
            f"The {where} has {len(found)} variable(s); example['{positional_key}'] must give "
            f"exactly {len(found)} sample value(s)."
        )


def _check_header(component: dict[str, Any], category: str, parameter_format: str) -> None:
    header_format = component.get("format")
    if not isinstance(header_format, str) or header_format.upper() not in HEADER_FORMATS:
        raise wire.invalid_parameter(
            f"Param header format must be one of {{{', '.join(HEADER_FORMATS)}}} "
            f'- got "{header_format}".',
            "A HEADER component's format is TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION.",
        )
    header_format = component["format"] = header_format.upper()
    if header_format == "TEXT":
        found = variables(_text(component, HEADER_TEXT_MAX, "header"), parameter_format, "header")
        if len(found) > 1:
            raise _refused("A header may have at most one variable.")
        _check_examples(
            component, found, parameter_format, "header", "header_text", "header_text_named_params"
        )
    elif header_format in MEDIA_FORMATS:
        handles = _example(component).get("header_handle")
        # The handle comes from a resumable upload; Meta's own examples use handles that
        # no upload made ("4::aW..."), so only its presence is checked.
        if (
            not isinstance(handles, list)
            or not handles
            or not all(isinstance(h, str) and h for h in handles)
        ):
            raise _refused(
                f"A {header_format} header needs a sample file: example['header_handle'] with "
                "the handle of an upload."
            )


def _check_body(component: dict[str, Any], category: str, parameter_format: str) -> None:
    if category == "AUTHENTICATION":
        # The platform writes an authentication template's text itself.
        if "text" in component:
            raise _refused("An AUTHENTICATION template's body has no text of its own.")
        recommendation = component.get("add_security_recommendation", False)
        if not isinstance(recommendation, bool):
            raise _refused("add_security_recommendation must be true or false.")
        return
    found = variables(_text(component, BODY_TEXT_MAX, "body"), parameter_format, "body")
    _check_examples(
        component, found, parameter_format, "body", "body_text", "body_text_named_params"
    )


def _check_footer(component: dict[str, Any], category: str, parameter_format: str) -> None:
    if category == "AUTHENTICATION":
        minutes = component.get("code_expiration_minutes")
        low, high = CODE_EXPIRATION_MINUTES
        if minutes is not None and (
            isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high
        ):
            raise _refused(f"code_expiration_minutes must be between {low} and {high}.")
        return
    text = _text(component, FOOTER_TEXT_MAX, "footer")
    if VARIABLE.search(text):
        raise _refused("A footer cannot have variables.")


def _check_buttons(component: dict[str, Any], category: str, parameter_format: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        raise _refused(f"A BUTTONS component has 1 to {BUTTONS_MAX} buttons.")
    for index, button in enumerate(buttons):
        kind = button.get("type") if isinstance(button, dict) else None
        if not isinstance(kind, str) or kind.upper() not in BUTTON_TYPES:
            raise wire.invalid_parameter(
                f"Param buttons[{index}]['type'] must be one of "
                f'{{{", ".join(BUTTON_TYPES)}}} - got "{kind}".',
                f"{kind!r} is not a kind of template button.",
            )
        kind = button["type"] = kind.upper()
        if (kind == "OTP") != (category == "AUTHENTICATION"):
            raise _refused("AUTHENTICATION templates have OTP buttons, and only they have them.")
        where = f"button {index}"
        if kind not in ("COPY_CODE", "OTP"):
            _text(button, BUTTON_TEXT_MAX, where)
        if kind == "URL":
            url = button.get("url")
            if (
                not isinstance(url, str)
                or not re.match(r"^https?://\S+$", url)
                or len(url) > URL_MAX
            ):
                raise _refused(f"The {where} needs a url starting with http:// or https://.")
            found = variables(url, "POSITIONAL", f"{where}'s url")
            if found and (len(found) > 1 or not url.rstrip().endswith("}}")):
                raise _refused(f"The {where}'s url may end with one variable, {{{{1}}}}.")
            examples = button.get("example")
            if found and not (
                isinstance(examples, list) and examples and isinstance(examples[0], str)
            ):
                raise _refused(f"The {where}'s url has a variable; give a sample url in example.")
        elif kind == "PHONE_NUMBER":
            if not isinstance(button.get("phone_number"), str) or not button["phone_number"]:
                raise _refused(f"The {where} needs a phone_number.")
        elif kind == "COPY_CODE":
            example = button.get("example")
            if isinstance(example, list):
                example = example[0] if example else None
            if not isinstance(example, str) or not example:
                raise _refused(f"The {where} needs a sample code in example.")
        elif kind == "OTP":
            otp_type = button.get("otp_type")
            if not isinstance(otp_type, str) or otp_type.upper() not in OTP_TYPES:
                raise _refused(f"The {where}'s otp_type is one of {', '.join(OTP_TYPES)}.")
            button["otp_type"] = otp_type.upper()
        elif kind == "FLOW" and not any(
            button.get(key) for key in ("flow_id", "flow_name", "flow_json")
        ):
            raise _refused(f"The {where} names its flow by flow_id, flow_name or flow_json.")


def _check_offer(component: dict[str, Any], category: str, parameter_format: str) -> None:
    offer = component.get("limited_time_offer")
    if not isinstance(offer, dict):
        raise _refused("A LIMITED_TIME_OFFER component needs its limited_time_offer object.")
    text = offer.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= OFFER_TEXT_MAX:
        raise _refused(f"A limited-time offer's text has 1 to {OFFER_TEXT_MAX} characters.")
    if not isinstance(offer.get("has_expiration", False), bool):
        raise _refused("has_expiration must be true or false.")


_COMPONENT_CHECKS: dict[str, Callable[[dict[str, Any], str, str], None]] = {
    "HEADER": _check_header,
    "BODY": _check_body,
    "FOOTER": _check_footer,
    "BUTTONS": _check_buttons,
    "LIMITED_TIME_OFFER": _check_offer,
}
