"""What a template send must carry: ``check_send`` holds the ``template`` object of a
``POST /{Phone-Number-ID}/messages`` to the template it names, and refuses it with the
platform's codes. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator import template_content, templates, wire

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


def check_send(
    template: templates.Template | None,
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
    # Meta's schema gives "Template not found" the code 132000 (its NotFound example); the
    # platform answers 132001, as captured, and 132000 is its parameter count mismatch.
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
        isinstance(index, int) or (isinstance(index, str) and wire.is_digits(index))
    ):
        raise wire.required(path, "index")
    if not component.get("sub_type"):
        raise wire.required(path, "sub_type")
    return int(index)


def _check_header_parameters(
    header: dict[str, Any] | None, parameters: list[dict[str, Any]], template: templates.Template
) -> None:
    header_format = header["format"] if header else None
    if header_format in (*template_content.MEDIA_FORMATS, "LOCATION"):
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
        template_content.variables(header["text"], template.parameter_format, "header")
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
    body: dict[str, Any], parameters: list[dict[str, Any]], template: templates.Template
) -> None:
    if template.category == "AUTHENTICATION":
        expected = ["1"]  # the one-time code
    else:
        expected = template_content.variables(body["text"], template.parameter_format, "body")
    if len(parameters) != len(expected):
        raise _count_mismatch("body", len(parameters), len(expected))
    _check_names("body", parameters, expected, template)


def _check_names(
    where: str, parameters: list[dict[str, Any]], expected: list[str], template: templates.Template
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
        if kind == "URL" and not template_content.VARIABLE.search(button["url"]):
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
