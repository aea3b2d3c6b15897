"""Message templates as a WhatsApp Business Account keeps them, and the rules they follow.

Pure, no I/O: what ``POST /{WABA-ID}/message_templates`` takes, how the Graph API shows a
template, what a template send must carry for it, and the ``message_template_status_update``
webhook's value. ``TemplateBook`` holds one account's templates; ``simulator.core`` calls it
under the simulator's lock and does the HTTP and the webhooks.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from simulator import wire

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
STATUSES = ("PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")
# The statuses review and quality rating move a template to; each posts its webhook event.
STATUS_EVENTS = ("APPROVED", "REJECTED", "PAUSED", "DISABLED")
# The webhook's ``reason`` values (NONE for everything but a rejection).
REASONS = (
    "NONE",
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "INVALID_FORMAT",
    "PROMOTIONAL",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
)

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
# Button type -> (the send's sub_type for it, the parameter type it takes, whether the
# send must give it). A URL button takes a parameter only when its url has a variable.
BUTTON_PARAMETERS: dict[str, tuple[str, str, bool]] = {
    "URL": ("url", "text", True),
    "COPY_CODE": ("copy_code", "coupon_code", True),
    "OTP": ("url", "text", True),
    "MPM": ("mpm", "action", True),
    "QUICK_REPLY": ("quick_reply", "payload", False),
    "FLOW": ("flow", "action", False),
    "CATALOG": ("catalog", "action", False),
}

SEND_COMPONENT_TYPES = ("header", "body", "button", "limited_time_offer")
PARAMETER_TYPES = (
    "text",
    "currency",
    "date_time",
    "image",
    "video",
    "document",
    "location",
    "coupon_code",
    "payload",
    "action",
    "limited_time_offer",
)

NODE_TYPE = "WhatsAppBusinessHSM"
FIELDS = ("name", "parameter_format", "components", "language", "status", "category", "id")
EXTRA_FIELDS = ("rejected_reason",)
LIST_LIMIT = 25
# After a deletion the name stays taken in that language for four weeks.
DELETED_NAME_HOLD = 28 * 24 * 3600
# An approved template may be edited once a day.
EDIT_INTERVAL = 24 * 3600

_VARIABLE = re.compile(r"\{\{(.*?)\}\}")
_NAMED_VARIABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass
class Template:
    """One template in one language, as the account keeps it."""

    id: str
    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]
    serial: int
    status: str = "PENDING"
    reason: str = "NONE"
    # Bumped whenever the template is submitted or its status changes, so that a review
    # scheduled for an older submission does nothing.
    revision: int = 0
    # How review will end, decided when it was submitted: (status, reason).
    review: tuple[str, str | None] = ("APPROVED", None)
    pauses: int = 0
    approved_edit_at: float | None = None

    def view(self, fields: Sequence[str] = FIELDS) -> dict[str, Any]:
        """The template as the Graph API shows it: ``fields`` in that order, then ``id``."""
        values: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": copy.deepcopy(self.components),
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "rejected_reason": self.reason if self.status == "REJECTED" else "NONE",
            "id": self.id,
        }
        shown = {field: values[field] for field in fields}
        shown["id"] = self.id
        return shown


def parse_fields(text: str | None) -> tuple[str, ...]:
    """The ``fields`` a read asks for (the default ones when none), checked."""
    wanted = tuple(dict.fromkeys(f.strip() for f in (text or "").split(",") if f.strip()))
    for field in wanted:
        if field not in FIELDS and field not in EXTRA_FIELDS:
            raise wire.nonexisting_field(field, NODE_TYPE)
    return wanted or FIELDS


# --- submissions -----------------------------------------------------------------------------


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
    if language not in LANGUAGES:
        raise wire.invalid_parameter(
            f'Param language must be a supported template language - got "{language}".',
            f"WhatsApp has no template language {language!r} (codes look like en or en_US).",
        )
    category = _enum(body, "category", CATEGORIES, required=True)
    parameter_format = _enum(body, "parameter_format", PARAMETER_FORMATS) or "POSITIONAL"
    components = parse_components(body.get("components"), category, parameter_format)
    return Submission(name, language, category, parameter_format, components)


def _enum(
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
    for raw in _VARIABLE.findall(text):
        variable = raw.strip()
        valid = (
            variable.isdigit()
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
            [s.get("param_name") for s in samples if isinstance(s, dict) and s.get("example")]
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
    if _VARIABLE.search(text):
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


# --- sends -----------------------------------------------------------------------------------


def check_send(
    template: Template | None,
    request: dict[str, Any],
    media_known: Callable[[str], bool],
) -> None:
    """Refuse a template send as the platform does; ``request`` is the send's ``template``
    object (already shaped right: name, language code, a list of component objects).

    132001 (HTTP 404) when no approved template has that name in that language (pending
    and rejected ones do not count), 132015 / 132016 when it is paused / disabled, then for
    its components: 132000 for a wrong number of parameters, 132012 for a header parameter
    of another format, 131008 for a parameter or a button's parameter that is missing,
    131009 for a value that is not valid, code 100 for a media id the account does not have.
    """
    name, language = request["name"], request["language"]["code"]
    if template is None or template.status in ("PENDING", "REJECTED"):
        # As captured from the platform: HTTP 404, subcode 2494073.
        raise wire.platform_error(
            132001,
            f"template name ({name}) does not exist in {language}",
            http_status=404,
            subcode=2494073,
        )
    if template.status == "PAUSED":
        raise wire.platform_error(132015, f"template name ({name}) is paused in {language}")
    if template.status == "DISABLED":
        raise wire.platform_error(132016, f"template name ({name}) is disabled in {language}")
    sent: dict[str, list[dict[str, Any]]] = {}
    buttons: dict[int, tuple[str, list[dict[str, Any]]]] = {}
    for position, component in enumerate(request.get("components", [])):
        path = f"template['components'][{position}]"
        kind = str(component.get("type", "")).lower()
        if kind not in SEND_COMPONENT_TYPES:
            raise wire.invalid_parameter(
                f"Param {path}['type'] must be one of "
                f"{{{', '.join(t.upper() for t in SEND_COMPONENT_TYPES)}}} "
                f'- got "{component.get("type")}".',
                f"{component.get('type')!r} is not a kind of template component to send.",
            )
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
            raise wire.invalid_parameter(
                f"Param {path}['parameters'] must be an array of objects.",
                "A component's parameters are a list of objects.",
            )
        where = "buttons" if kind == "button" else kind
        for number, parameter in enumerate(parameters):
            _check_parameter(parameter, where, f"{path}['parameters'][{number}]", media_known)
        if kind == "button":
            index = _button_index(component, path)
            if index in buttons:
                raise wire.invalid_value(f"buttons: Button at index {index} is given twice.")
            buttons[index] = (str(component.get("sub_type", "")).lower(), parameters)
        elif kind in sent:
            raise wire.invalid_value(f"{kind}: the component is given twice.")
        else:
            sent[kind] = parameters
    parts = {component["type"]: component for component in template.components}
    _check_header_parameters(parts.get("HEADER"), sent.get("header", []), template)
    _check_body_parameters(parts["BODY"], sent.get("body", []), template)
    _check_button_parameters(parts.get("BUTTONS"), buttons)
    _check_offer_parameters(parts.get("LIMITED_TIME_OFFER"), sent)


def _count_mismatch(where: str, given: int, expected: int) -> wire.GraphFault:
    return wire.platform_error(
        132000,
        f"{where}: number of localizable_params ({given}) does not match the expected number "
        f"of params ({expected})",
    )


def _check_parameter(
    parameter: dict[str, Any], where: str, path: str, media_known: Callable[[str], bool]
) -> None:
    kind = parameter.get("type")
    if kind not in PARAMETER_TYPES:
        raise wire.invalid_parameter(
            f"Param {path}['type'] must be one of {{{', '.join(PARAMETER_TYPES).upper()}}} "
            f'- got "{kind}".',
            f"{kind!r} is not a kind of template parameter.",
        )
    value = parameter.get(kind)
    if kind in ("image", "video", "document"):
        if not isinstance(value, dict) or not (value.get("id") or value.get("link")):
            raise wire.missing_parameter(
                f"{where}: Parameter of type {kind} is missing id or link value"
            )
        if value.get("id") and not media_known(str(value["id"])):
            raise wire.not_a_media_id(f"{path}['{kind}']['id']")
    elif kind in ("text", "coupon_code", "payload"):
        if not isinstance(value, str) or not value:
            raise wire.missing_parameter(
                f"{where}: Parameter of type {kind} is missing {kind} value"
            )
    elif kind in ("currency", "date_time"):
        if not isinstance(value, dict) or not value.get("fallback_value"):
            raise wire.missing_parameter(
                f"{where}: Parameter of type {kind} is missing fallback_value value"
            )
    elif not isinstance(value, dict):
        raise wire.missing_parameter(f"{where}: Parameter of type {kind} is missing {kind} value")


def _button_index(component: dict[str, Any], path: str) -> int:
    index = component.get("index")
    # The docs send the index as a number and as a string ("index": "0"); both are taken.
    if isinstance(index, bool) or not (
        isinstance(index, int) or (isinstance(index, str) and index.isdigit())
    ):
        raise wire.required(path, "index")
    if not component.get("sub_type"):
        raise wire.required(path, "sub_type")
    return int(index)


def _check_header_parameters(
    header: dict[str, Any] | None, parameters: list[dict[str, Any]], template: Template
) -> None:
    header_format = header["format"] if header else None
    if header_format in (*MEDIA_FORMATS, "LOCATION"):
        received = str(parameters[0].get("type")).upper() if parameters else "UNKNOWN"
        if received != header_format:
            raise wire.platform_error(
                132012,
                f"header: Format mismatch, expected {header_format}, received {received}",
            )
        if len(parameters) != 1:
            raise _count_mismatch("header", len(parameters), 1)
        return
    expected = (
        variables(header["text"], template.parameter_format, "header")
        if header_format == "TEXT"
        else []
    )
    if len(parameters) != len(expected):
        raise _count_mismatch("header", len(parameters), len(expected))
    for parameter in parameters:
        if parameter.get("type") != "text":
            raise wire.platform_error(
                132012,
                f"header: Format mismatch, expected TEXT, received "
                f"{str(parameter.get('type')).upper()}",
            )
    _check_names("header", parameters, expected, template)


def _check_body_parameters(
    body: dict[str, Any], parameters: list[dict[str, Any]], template: Template
) -> None:
    if template.category == "AUTHENTICATION":
        expected = ["1"]  # the one-time code
    else:
        expected = variables(body["text"], template.parameter_format, "body")
    if len(parameters) != len(expected):
        raise _count_mismatch("body", len(parameters), len(expected))
    _check_names("body", parameters, expected, template)


def _check_names(
    where: str, parameters: list[dict[str, Any]], expected: list[str], template: Template
) -> None:
    """A template with NAMED parameters is sent each value with its parameter_name."""
    if template.parameter_format != "NAMED" or template.category == "AUTHENTICATION":
        return
    for parameter in parameters:
        name = parameter.get("parameter_name")
        if not name:
            raise wire.missing_parameter(f"{where}: Parameter is missing parameter_name value")
        if name not in expected:
            raise wire.invalid_value(
                f"{where}: Parameter name ({name}) is not a parameter of the template"
            )


def _button_name(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_"))


def _check_button_parameters(
    buttons_component: dict[str, Any] | None,
    given: dict[int, tuple[str, list[dict[str, Any]]]],
) -> None:
    defined = buttons_component["buttons"] if buttons_component else []
    for index in sorted(given):
        if index >= len(defined):
            raise wire.invalid_value(f"buttons: Button at index {index} does not exist")
    for index, button in enumerate(defined):
        kind = button["type"]
        sub_type, parameter_type, needed = BUTTON_PARAMETERS.get(kind, ("", "", False))
        if kind == "URL" and not _VARIABLE.search(button["url"]):
            sub_type, needed = "", False  # a static link takes nothing
        if index not in given:
            if needed:
                raise wire.missing_parameter(
                    f"buttons: Button at index {index} of type {_button_name(kind)} "
                    "requires a parameter"
                )
            continue
        given_sub_type, parameters = given[index]
        if sub_type and given_sub_type != sub_type:
            raise wire.invalid_value(
                f"buttons: Button at index {index} is of type {_button_name(kind)}; "
                f"its sub_type is {sub_type}, not {given_sub_type}"
            )
        expected = 1 if needed else 0
        if len(parameters) != expected and not (sub_type and not needed and len(parameters) <= 1):
            raise _count_mismatch(f"buttons: Button at index {index}", len(parameters), expected)
        for parameter in parameters:
            if parameter.get("type") != parameter_type:
                raise wire.invalid_value(
                    f"buttons: Button at index {index} of type {_button_name(kind)} takes a "
                    f"{parameter_type} parameter, not {parameter.get('type')}"
                )


def _check_offer_parameters(
    offer: dict[str, Any] | None, sent: dict[str, list[dict[str, Any]]]
) -> None:
    expiring = bool(offer and offer["limited_time_offer"].get("has_expiration"))
    parameters = sent.get("limited_time_offer")
    if parameters is None:
        if expiring:
            raise wire.missing_parameter(
                "limited_time_offer: Parameter of type limited_time_offer is missing"
            )
        return
    if len(parameters) != (1 if expiring else 0):
        raise _count_mismatch("limited_time_offer", len(parameters), 1 if expiring else 0)


# --- status webhooks -------------------------------------------------------------------------

# What a rejection for INVALID_FORMAT explains (the platform adds a reason of its own words).
INVALID_FORMAT_INFO = {
    "reason": "Your template does not follow the formatting rules for its variables.",
    "recommendation": "Check the template's variables and their sample values, then submit "
    "it again.",
}


def status_update(
    template: Template, event: str, reason: str, *, now: int, was: str
) -> dict[str, Any]:
    """The ``message_template_status_update`` value of a status change, keys in the order
    of the platform's examples (``webhook_template_status_*.json``).

    The examples write the language with a hyphen ("en-US") where the API writes it with
    an underscore ("en_US"); the webhook follows its examples.
    """
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language.replace("_", "-"),
        "reason": reason,
        "message_template_category": template.category,
    }
    if event == "REJECTED" and reason == "INVALID_FORMAT":
        value["rejection_info"] = dict(INVALID_FORMAT_INFO)
    elif event == "PAUSED":
        hours = 3 if template.pauses == 1 else 6
        value["other_info"] = {
            "title": "FIRST_PAUSE" if template.pauses == 1 else "SECOND_PAUSE",
            "description": f"Your WhatsApp message template has been paused for {hours} hours "
            "because of low quality.",
        }
    elif event == "APPROVED" and was == "PAUSED":
        value["other_info"] = {
            "title": "UNPAUSE",
            "description": "Your WhatsApp message template has been unpaused.",
        }
    elif event == "DISABLED":
        value["disable_info"] = {"disable_date": now}
    return value


def check_status(status: str, reason: str | None) -> str:
    """The webhook reason for moving a template to ``status``; raises ``ValueError``."""
    if status not in STATUS_EVENTS:
        raise ValueError(f"status must be one of {', '.join(STATUS_EVENTS)}; got {status!r}")
    if reason is None:
        return "INVALID_FORMAT" if status == "REJECTED" else "NONE"
    if reason not in REASONS or (status == "REJECTED") == (reason == "NONE"):
        allowed = REASONS[1:] if status == "REJECTED" else ("NONE",)
        raise ValueError(f"a {status} template's reason is one of {', '.join(allowed)}")
    return reason


# --- the account's templates -----------------------------------------------------------------


class TemplateBook:
    """One WhatsApp Business Account's templates. Not thread-safe: hold the caller's lock."""

    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}
        self._serial = 0
        # (name, language) -> when it was deleted; the pair stays taken for a while.
        self._deleted: dict[tuple[str, str], float] = {}

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates

    def get(self, template_id: str) -> Template | None:
        return self._templates.get(template_id)

    def find(self, name: str, language: str) -> Template | None:
        for template in self._templates.values():
            if template.name == name and template.language == language:
                return template
        return None

    def all(self) -> list[Template]:
        """Every template, oldest first."""
        return sorted(self._templates.values(), key=lambda t: t.serial)

    def add(self, submission: Submission, *, template_id: str, now: float) -> Template:
        """Store a new template (PENDING); refuses a name and language already there."""
        key = (submission.name, submission.language)
        if self.find(*key) is not None:
            raise wire.user_error(
                "Content in This Language Already Exists",
                f"There is already {submission.language} content for this template. You can "
                "create a new template and try again.",
                subcode=2388024,
            )
        deleted_at = self._deleted.get(key)
        if deleted_at is not None and now - deleted_at < DELETED_NAME_HOLD:
            raise wire.user_error(
                "Message template language is being deleted",
                f"New {submission.language} content can't be added while the existing "
                f"{submission.language} content is being deleted. Try again in 4 weeks or "
                "consider creating a new message template.",
                subcode=2388023,
            )
        self._serial += 1
        template = Template(
            id=template_id,
            name=submission.name,
            language=submission.language,
            category=submission.category,
            parameter_format=submission.parameter_format,
            components=submission.components,
            serial=self._serial,
        )
        self._templates[template_id] = template
        return template

    def edit(self, template: Template, body: Any, *, now: float) -> None:
        """Apply ``POST /{TEMPLATE_ID}``: new components and/or category, then review again.

        Meta's edit example also repeats ``name`` and ``language``; they are taken when
        they are the template's own, since neither can be changed.
        """
        if not isinstance(body, dict):
            raise wire.invalid_parameter(
                "Invalid parameter", "The request body must be a JSON object of changes."
            )
        for field in body:
            if field not in ("components", "category", "name", "language"):
                raise wire.invalid_parameter(
                    f"Param {field} is not a valid parameter.",
                    "An edit changes a template's components or category.",
                )
        for field in ("name", "language"):
            if field in body and body[field] != getattr(template, field):
                raise wire.user_error(
                    f"Template {field} can't be edited",
                    f"A template's {field} can't be changed; create a new template instead.",
                )
        if "components" not in body and "category" not in body:
            raise wire.required("", "components")
        if template.status in ("PENDING", "DISABLED"):
            raise wire.user_error(
                "Template can't be edited",
                f"A {template.status} template can't be edited.",
            )
        category = _enum(body, "category", CATEGORIES) or template.category
        if template.status == "APPROVED":
            if category != template.category:
                raise wire.user_error(
                    "Category can't be edited",
                    "The category of an approved template can't be changed.",
                )
            if template.approved_edit_at is not None and (
                now - template.approved_edit_at < EDIT_INTERVAL
            ):
                raise wire.user_error(
                    "Edit limit reached",
                    "An approved template can be edited once in 24 hours.",
                )
            template.approved_edit_at = now
        raw = body.get("components", template.components)
        template.components = parse_components(raw, category, template.parameter_format)
        template.category = category
        template.status = "PENDING"
        template.reason = "NONE"
        template.revision += 1

    def delete(self, name: str, hsm_id: str | None, *, now: float) -> list[Template]:
        """Apply ``DELETE /{WABA-ID}/message_templates?name=...[&hsm_id=...]``: every
        language of ``name``, or only the template ``hsm_id`` (which must bear that name)."""
        doomed = [
            t
            for t in self._templates.values()
            if t.name == name and (hsm_id is None or t.id == hsm_id)
        ]
        if not doomed:
            raise wire.user_error(
                "Message template not found",
                f"No message template named {name}"
                + (f" has the id {hsm_id}." if hsm_id else " was found."),
            )
        for template in doomed:
            del self._templates[template.id]
            self._deleted[(template.name, template.language)] = now
        return doomed

    def page(
        self, query: dict[str, str], page_url: Callable[[dict[str, str]], str]
    ) -> dict[str, Any]:
        """``GET /{WABA-ID}/message_templates``: filters ``name``, ``status``, ``language``,
        ``category`` (the last three take comma-separated values), ``fields``, and cursor
        paging (``limit``, ``after``, ``before``) answered like ``templates_list_response.json``.
        ``page_url`` makes the ``next``/``previous`` links from query parameters."""
        fields = parse_fields(query.get("fields"))
        limit_text = query.get("limit", str(LIST_LIMIT))
        if not limit_text.isdigit() or int(limit_text) == 0:
            raise wire.invalid_parameter(
                "Param limit must be a positive integer.", "limit is the number per page."
            )
        limit = int(limit_text)
        matching = self.all()
        if query.get("name"):
            matching = [t for t in matching if t.name == query["name"]]
        for field in ("status", "language", "category"):
            if query.get(field):
                wanted = {v.strip() for v in query[field].split(",")}
                if field != "language":
                    wanted = {v.upper() for v in wanted}
                matching = [t for t in matching if getattr(t, field) in wanted]
        if "after" in query:
            after = _cursor_serial(query["after"])
            page = [t for t in matching if t.serial > after][:limit]
        elif "before" in query:
            before = _cursor_serial(query["before"])
            page = [t for t in matching if t.serial < before][-limit:]
        else:
            page = matching[:limit]
        answer: dict[str, Any] = {"data": [t.view(fields) for t in page]}
        if not page:
            return answer
        first, last = _cursor(page[0].serial), _cursor(page[-1].serial)
        paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
        filters = {k: v for k, v in query.items() if k not in ("after", "before")}
        if any(t.serial > page[-1].serial for t in matching):
            paging["next"] = page_url({**filters, "limit": str(limit), "after": last})
        if any(t.serial < page[0].serial for t in matching):
            paging["previous"] = page_url({**filters, "limit": str(limit), "before": first})
        answer["paging"] = paging
        return answer


def _cursor(serial: int) -> str:
    return base64.urlsafe_b64encode(f"template:{serial}".encode()).decode().rstrip("=")


def _cursor_serial(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, serial = text.partition(":")
        if prefix != "template" or not serial.isdigit():
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise wire.invalid_parameter(
            "Invalid cursor", "The paging cursor is not one this list answered."
        ) from exc
    return int(serial)
