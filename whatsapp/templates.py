"""Message templates at the platform: managing them through the Graph API
(``TemplateClient``), filling their variables for a send (``template_components``),
and the text the customer will read (``render_template``).

A template's definition is what the Graph API lists for it, or what was submitted:
its ``components`` (the platform's JSON; types and formats in either case, as Meta's
own examples write them) and its ``parameter_format`` (POSITIONAL or NAMED). The body
of a send is ``whatsapp.client.template_message``; a queued template message goes out
through ``outbound_message`` like any other.

The values an operator filled in are one object::

    {
        "header": ["Pablo"]                 # a text header's variable (NAMED: {"name": v}),
                  or [{"id": "<media id>"}]  # a media header, by id or {"link": url};
                                             # a document may add "filename"
                  or [{"latitude": ..., "longitude": ..., "name"?, "address"?}],
        "body": ["25OFF", "25%"]            # POSITIONAL: {{1}}, {{2}}, ... in order
                or {"day": "Saturday", ...},  # NAMED, by name
        "buttons": [None, "25OFF"],          # one entry per button of the template, by
                                             # index; None for a button that takes nothing
        "limited_time_offer": 1209600000,    # the offer's expiration_time_ms, when it has one
    }

Leave out what the template does not use. A value missing, one the template has no
place for, or one the platform would refuse raises ``TemplateParametersError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote

from whatsapp.client import GraphAPIError, GraphClient

# --- managing templates ------------------------------------------------------------------


class TemplateClient(GraphClient):
    """The Graph client with the message template endpoints of a WhatsApp Business
    Account. Every call has the client's timeout and raises ``GraphAPIError`` (WhatsApp
    refused; ``retryable`` says whether the same request may succeed later) or
    ``GraphUnreachable`` (no answer; ``maybe_delivered`` False only when the request
    never left, so that a creation whose answer was lost can be looked up by name
    before it is tried again)."""

    def create_template(self, waba_id: str, body: Mapping[str, Any]) -> dict[str, str]:
        """Submit a template for review (``POST /{waba_id}/message_templates``); ``body``
        is the platform's creation request. Returns ``{"id", "status", "category"}``:
        status is PENDING while review runs (its end comes as a webhook), and category is
        the one WhatsApp gave it, which may differ from the one asked for."""
        data = self._request("POST", f"{_segment(waba_id)}/message_templates", json=dict(body))
        template_id = data.get("id")
        if not isinstance(template_id, str | int) or not str(template_id):
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no template id", details=str(data)
            )
        return {
            "id": str(template_id),
            "status": str(data.get("status") or ""),
            "category": str(data.get("category") or ""),
        }

    def list_templates(
        self,
        waba_id: str,
        *,
        name: str | None = None,
        fields: Sequence[str] | str | None = None,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every template of the account (only those called ``name``, when given), as
        the Graph API shows them (``fields``, or its default fields). Pages are read one
        after the other as the iteration reaches them, following ``paging.cursors.after``
        while the answer has a ``paging.next``; ``limit`` is the size of a page, not of
        the whole. The next page is asked of the same path with the cursor (never of the
        ``next`` address itself, which would take the token wherever it pointed)."""
        params: dict[str, Any] = {}
        if name:
            params["name"] = name
        if fields:
            params["fields"] = fields if isinstance(fields, str) else ",".join(fields)
        if limit:
            params["limit"] = limit
        path = f"{_segment(waba_id)}/message_templates"
        cursors: set[str] = set()
        while True:
            page = self._request("GET", path, params=params)
            templates = page.get("data")
            if not isinstance(templates, list):
                raise GraphAPIError(
                    code=None, title="WhatsApp's answer had no list of templates", details=str(page)
                )
            yield from (template for template in templates if isinstance(template, dict))
            paging = page.get("paging") if isinstance(page.get("paging"), dict) else {}
            if not paging.get("next"):
                return
            cursors_given = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
            after = cursors_given.get("after")
            if not isinstance(after, str) or not after or after in cursors:
                raise GraphAPIError(
                    code=None,
                    title="WhatsApp's list of templates has a next page but no new cursor",
                    details=str(paging),
                )
            cursors.add(after)
            params = {**params, "after": after}

    def get_template(
        self, template_id: str, fields: Sequence[str] | str | None = None
    ) -> dict[str, Any]:
        """One template by its id (``GET /{template_id}``), with ``fields`` (for example
        ``["status", "quality_score"]``) or the default ones."""
        params = None
        if fields:
            params = {"fields": fields if isinstance(fields, str) else ",".join(fields)}
        data = self._request("GET", _segment(template_id), params=params)
        if not data.get("id"):
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no template", details=str(data)
            )
        return data

    def edit_template(self, template_id: str, body: Mapping[str, Any]) -> None:
        """Change a template's components and/or category (``POST /{template_id}``); it
        goes back to review, whose end comes as a webhook. An approved template may be
        edited once a day, and its category never."""
        self._succeed(self._request("POST", _segment(template_id), json=dict(body)))

    def delete_template(self, waba_id: str, *, name: str, hsm_id: str | None = None) -> None:
        """Delete every language of the template ``name``, or only the one whose id is
        ``hsm_id`` (``DELETE /{waba_id}/message_templates?name=...&hsm_id=...``). The name
        stays taken in those languages for four weeks."""
        params = {"name": name}
        if hsm_id:
            params["hsm_id"] = hsm_id
        self._succeed(
            self._request("DELETE", f"{_segment(waba_id)}/message_templates", params=params)
        )

    @staticmethod
    def _succeed(data: dict[str, Any]) -> None:
        if data.get("success") is not True:
            raise GraphAPIError(
                code=None, title="WhatsApp did not confirm the change", details=str(data)
            )


def _segment(object_id: str) -> str:
    return quote(str(object_id), safe="")


# --- filling a template's variables --------------------------------------------------------


class TemplateParametersError(ValueError):
    """The values do not fit the template. ``field`` says where: ``header``, ``body``,
    ``body.<variable>`` (``body.2``, ``body.day``), ``buttons.<index>``,
    ``limited_time_offer``, or the unknown key itself; ``problem`` is ``missing``,
    ``extra`` or ``invalid``."""

    def __init__(self, field: str, problem: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.problem = problem


VARIABLE = re.compile(r"\{\{(.*?)\}\}")
# The platform refuses a send whose text parameter has a new line, a tab or more than 4
# spaces in a row (132018), and nothing is delivered.
_REFUSED_TEXT = re.compile(r"[\n\r\t]| {5,}")
VALUE_KEYS = ("header", "body", "buttons", "limited_time_offer")
# Button type -> the send's sub_type, and whether a value is needed (True), optional
# (False) or not taken at all (None). A URL button takes one only when its url has {{1}}.
_BUTTONS: dict[str, tuple[str, bool | None]] = {
    "URL": ("url", True),
    "COPY_CODE": ("copy_code", True),
    "OTP": ("url", True),
    "QUICK_REPLY": ("quick_reply", False),
    "FLOW": ("flow", False),
    "CATALOG": ("catalog", False),
    "MPM": ("mpm", True),
}


@dataclass(frozen=True, slots=True)
class _Definition:
    """A template's parts, in the platform's upper-case spelling."""

    header: dict[str, Any] | None
    body: dict[str, Any]
    footer: dict[str, Any] | None
    offer: dict[str, Any] | None
    buttons: list[dict[str, Any]]
    named: bool


def _definition(components: Sequence[Mapping[str, Any]], parameter_format: str) -> _Definition:
    parts: dict[str, dict[str, Any]] = {}
    for component in components:
        if not isinstance(component, Mapping):
            raise ValueError("A template's components are objects.")
        kind = str(component.get("type", "")).upper()
        parts[kind] = dict(component)
    if "BODY" not in parts:
        raise ValueError("A template has a BODY component.")
    buttons_part = parts.get("BUTTONS")
    buttons = [dict(b) for b in (buttons_part or {}).get("buttons") or [] if isinstance(b, Mapping)]
    return _Definition(
        header=parts.get("HEADER"),
        body=parts["BODY"],
        footer=parts.get("FOOTER"),
        offer=parts.get("LIMITED_TIME_OFFER"),
        buttons=buttons,
        named=str(parameter_format).upper() == "NAMED",
    )


def variables(text: str, *, named: bool) -> list[str]:
    """The distinct variables of ``text`` in the order their values are sent: by number
    for POSITIONAL templates ({{1}}, {{2}}), by first appearance for NAMED ones."""
    found: list[str] = []
    for raw in VARIABLE.findall(text):
        variable = raw.strip()
        if variable not in found:
            found.append(variable)
    if not named:
        found.sort(key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
    return found


def _text_value(value: Any, field: str) -> str | None:
    """A text parameter's value as the platform takes it (numbers written out); None
    when it was not given or is blank."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        _invalid(field, "a text")
    text = str(value)
    if not text.strip():
        return None
    if _REFUSED_TEXT.search(text):
        _invalid(field, "one line, without tabs or more than 4 spaces in a row")
    return text


def _invalid(field: str, wanted: str) -> NoReturn:
    raise TemplateParametersError(field, "invalid", f"The value for {field} must be {wanted}.")


def _missing(field: str, what: str = "a value") -> TemplateParametersError:
    return TemplateParametersError(field, "missing", f"{field} needs {what}.")


def _extra(field: str, why: str) -> TemplateParametersError:
    return TemplateParametersError(field, "extra", f"{field} was given a value, but {why}.")


def _by_variable(given: Any, field: str, *, named: bool) -> dict[str, Any]:
    """The values of a text's variables: a list (POSITIONAL, {{1}} first) or an object
    (by name; by number as "1", "2" for POSITIONAL)."""
    if given is None:
        return {}
    if isinstance(given, Mapping):
        return {str(key): value for key, value in given.items()}
    if isinstance(given, list | tuple):
        if named:
            raise TemplateParametersError(
                field, "invalid", f"The template's variables have names: give {field} by name."
            )
        return {str(number): value for number, value in enumerate(given, start=1)}
    return _invalid(field, "a list of values or an object of them")


def _fill_text(
    text: str, given: Any, field: str, *, named: bool
) -> tuple[list[tuple[str, str]], str]:
    """(variable, value) pairs in the order they are sent, and the text filled in."""
    wanted = variables(text, named=named)
    values = _by_variable(given, field, named=named)
    for key in values:
        if key not in wanted:
            raise _extra(f"{field}.{key}", f"the {field} has no variable {{{{{key}}}}}")
    filled: list[tuple[str, str]] = []
    for variable in wanted:
        value = _text_value(values.get(variable), f"{field}.{variable}")
        if value is None:
            raise _missing(f"{field}.{variable}", f"a value for {{{{{variable}}}}}")
        filled.append((variable, value))
    lookup = dict(filled)
    return filled, VARIABLE.sub(lambda m: lookup.get(m.group(1).strip(), m.group(0)), text)


@dataclass(frozen=True, slots=True)
class RenderedButton:
    """A button as the customer sees it: ``type`` (QUICK_REPLY, URL, ...), its label,
    and what it holds (the filled url, the phone number, the code to copy, the payload)."""

    type: str
    text: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    """What the customer reads. ``header`` is the header's text (empty for a media or
    location header: ``header_format`` and ``header_media`` say what it shows)."""

    header: str
    body: str
    footer: str = ""
    header_format: str = ""
    header_media: dict[str, Any] | None = None
    offer: str = ""
    buttons: tuple[RenderedButton, ...] = ()

    @property
    def text(self) -> str:
        """Header, offer, body and footer, a blank line apart, then a line per button:
        the message as a thread shows it in words."""
        header = self.header or (f"[{self.header_format.lower()}]" if self.header_media else "")
        parts = [part for part in (header, self.offer, self.body, self.footer) if part]
        if self.buttons:
            parts.append("\n".join(f"[{button.text}]" for button in self.buttons))
        return "\n\n".join(parts)


@dataclass(slots=True)
class _Filled:
    components: list[dict[str, Any]]
    rendered: RenderedTemplate


def _fill(
    components: Sequence[Mapping[str, Any]], values: Mapping[str, Any], parameter_format: str
) -> _Filled:
    if not isinstance(values, Mapping):
        raise TemplateParametersError("values", "invalid", "The values must be an object.")
    for key in values:
        if key not in VALUE_KEYS:
            raise _extra(str(key), "a template has only " + ", ".join(VALUE_KEYS))
    definition = _definition(components, parameter_format)
    sent: list[dict[str, Any]] = []
    header, header_format, header_media = _fill_header(definition, values.get("header"), sent)
    body = _fill_body(definition, values.get("body"), sent)
    offer = _fill_offer(definition, values.get("limited_time_offer"), sent)
    buttons = _fill_buttons(definition, values.get("buttons"), sent)
    footer = _footer_text(definition)
    return _Filled(
        sent,
        RenderedTemplate(
            header=header,
            body=body,
            footer=footer,
            header_format=header_format,
            header_media=header_media,
            offer=offer,
            buttons=tuple(buttons),
        ),
    )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | tuple | Mapping) and not value)


def _text_parameters(filled: list[tuple[str, str]], *, named: bool) -> list[dict[str, Any]]:
    return [
        {"type": "text", "parameter_name": name, "text": value}
        if named
        else {"type": "text", "text": value}
        for name, value in filled
    ]


def _fill_header(
    definition: _Definition, given: Any, sent: list[dict[str, Any]]
) -> tuple[str, str, dict[str, Any] | None]:
    header = definition.header
    header_format = str(header.get("format", "TEXT")).upper() if header else ""
    if header is None or (header_format == "TEXT" and not VARIABLE.search(header.get("text", ""))):
        if not _empty(given):
            raise _extra("header", "the template's header takes no value")
        return (str(header.get("text", "")) if header else ""), header_format, None
    if header_format == "TEXT":
        filled, text = _fill_text(header["text"], given, "header", named=definition.named)
        sent.append(
            {"type": "header", "parameters": _text_parameters(filled, named=definition.named)}
        )
        return text, header_format, None
    if isinstance(given, list | tuple):
        if len(given) > 1:
            raise _extra("header", "a header takes one file or place")
        given = given[0] if given else None
    if _empty(given):
        what = "a location" if header_format == "LOCATION" else f"the {header_format.lower()}"
        raise _missing("header", what)
    if not isinstance(given, Mapping):
        return _invalid("header", "an object")
    kind = header_format.lower()
    if header_format == "LOCATION":
        place = _location(given)
        sent.append({"type": "header", "parameters": [{"type": "location", "location": place}]})
        return "", header_format, place
    media = _media(given, kind)
    sent.append({"type": "header", "parameters": [{"type": kind, kind: media}]})
    return "", header_format, media


def _media(given: Mapping[str, Any], kind: str) -> dict[str, Any]:
    allowed = {"id", "link", "filename"} if kind == "document" else {"id", "link"}
    for key in given:
        if key not in allowed:
            raise _extra(f"header.{key}", f"a {kind} header is given by id or link")
    by = [key for key in ("id", "link") if given.get(key)]
    if len(by) != 1 or not isinstance(given[by[0]], str):
        _invalid("header", f"the {kind}'s id or its link (one of them)")
    media = {by[0]: given[by[0]]}
    if given.get("filename"):
        media["filename"] = str(given["filename"])
    return media


def _location(given: Mapping[str, Any]) -> dict[str, Any]:
    place: dict[str, Any] = {}
    for key in ("latitude", "longitude"):
        value = given.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            _invalid(f"header.{key}", "a number")
        place[key] = value
    for key in ("name", "address"):
        if given.get(key):
            place[key] = str(given[key])
    for key in given:
        if key not in place and key not in ("name", "address"):
            raise _extra(f"header.{key}", "a location has latitude, longitude, name, address")
    return place


def _fill_body(definition: _Definition, given: Any, sent: list[dict[str, Any]]) -> str:
    text = definition.body.get("text")
    if not isinstance(text, str):
        # An authentication template: the platform writes the text around the one code.
        values = _by_variable(given, "body", named=False)
        for key in values:
            if key != "1":
                raise _extra(f"body.{key}", "an authentication template takes only its code")
        code = _text_value(values.get("1"), "body.1")
        if code is None:
            raise _missing("body.1", "the one-time code")
        sent.append({"type": "body", "parameters": [{"type": "text", "text": code}]})
        text = f"{code} is your verification code."
        if definition.body.get("add_security_recommendation"):
            text += " For your security, do not share this code."
        return text
    filled, rendered = _fill_text(text, given, "body", named=definition.named)
    if filled:
        sent.append(
            {"type": "body", "parameters": _text_parameters(filled, named=definition.named)}
        )
    return rendered


def _fill_offer(definition: _Definition, given: Any, sent: list[dict[str, Any]]) -> str:
    offer = (definition.offer or {}).get("limited_time_offer") or {}
    if not offer.get("has_expiration"):
        if given is not None:
            raise _extra("limited_time_offer", "the template's offer has no expiration")
        return str(offer.get("text", ""))
    if given is None:
        raise _missing("limited_time_offer", "the offer's expiration (expiration_time_ms)")
    if isinstance(given, bool) or not isinstance(given, int) or given <= 0:
        _invalid(
            "limited_time_offer", "the expiration time in milliseconds, a positive whole number"
        )
    sent.append(
        {
            "type": "limited_time_offer",
            "parameters": [
                {"type": "limited_time_offer", "limited_time_offer": {"expiration_time_ms": given}}
            ],
        }
    )
    return str(offer.get("text", ""))


def _fill_buttons(
    definition: _Definition, given: Any, sent: list[dict[str, Any]]
) -> list[RenderedButton]:
    if given is None:
        given = []
    if not isinstance(given, list | tuple):
        return _invalid("buttons", "a list with an entry per button of the template")
    defined = definition.buttons
    for index in range(len(defined), len(given)):
        if given[index] is not None:
            raise _extra(f"buttons.{index}", f"the template has {len(defined)} button(s)")
    rendered: list[RenderedButton] = []
    for index, button in enumerate(defined):
        field = f"buttons.{index}"
        kind = str(button.get("type", "")).upper()
        value = given[index] if index < len(given) else None
        sub_type, needed = _BUTTONS.get(kind, ("", None))
        url = str(button.get("url", ""))
        if kind == "URL" and not VARIABLE.search(url):
            needed = None  # a fixed link takes nothing
        if needed is None:
            if value is not None:
                raise _extra(field, f"its {kind.lower()} button takes no value")
            rendered.append(_rendered_button(kind, button, ""))
            continue
        if kind in ("FLOW", "CATALOG", "MPM"):
            if value is None and needed:
                raise _missing(field, "its action object")
            if value is None:
                rendered.append(_rendered_button(kind, button, ""))
                continue
            if not isinstance(value, Mapping):
                _invalid(field, "the button's action object")
            parameter: dict[str, Any] = {"type": "action", "action": dict(value)}
            shown = ""
        else:
            text = _text_value(value, field)
            if text is None:
                if needed:
                    raise _missing(field, _BUTTON_VALUE_NAMES.get(kind, "a value"))
                rendered.append(_rendered_button(kind, button, ""))
                continue
            if kind == "COPY_CODE":
                parameter = {"type": "coupon_code", "coupon_code": text}
            elif kind == "QUICK_REPLY":
                parameter = {"type": "payload", "payload": text}
            else:
                parameter = {"type": "text", "text": text}
            shown = VARIABLE.sub(lambda _, end=text: end, url) if kind == "URL" else text
        sent.append(
            {"type": "button", "sub_type": sub_type, "index": index, "parameters": [parameter]}
        )
        rendered.append(_rendered_button(kind, button, shown))
    return rendered


_BUTTON_VALUE_NAMES = {
    "URL": "the end of its link ({{1}})",
    "COPY_CODE": "the code to copy",
    "OTP": "the one-time code",
}


def _rendered_button(kind: str, button: Mapping[str, Any], value: str) -> RenderedButton:
    if kind == "COPY_CODE":
        return RenderedButton(kind, "Copy offer code", value)
    if kind == "OTP":
        return RenderedButton(kind, str(button.get("text") or "Copy code"), value)
    if kind == "URL":
        return RenderedButton(
            kind, str(button.get("text", "")), value or str(button.get("url", ""))
        )
    if kind == "PHONE_NUMBER":
        phone = str(button.get("phone_number", ""))
        return RenderedButton(kind, str(button.get("text", "")), phone)
    return RenderedButton(kind, str(button.get("text", "")), value)


def _footer_text(definition: _Definition) -> str:
    footer = definition.footer
    if footer is None:
        return ""
    if isinstance(footer.get("text"), str):
        return footer["text"]
    minutes = footer.get("code_expiration_minutes")
    return f"This code expires in {minutes} minutes." if minutes else ""


def template_components(
    components: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    *,
    parameter_format: str = "POSITIONAL",
) -> list[dict[str, Any]]:
    """The ``components`` of a template send: the template's definition (``components``
    and ``parameter_format``) filled with the operator's ``values`` (see the module's
    docstring), header, body, offer and buttons in that order, each with the
    parameters of the type its part takes. Raises ``TemplateParametersError`` for a
    value missing, one the template has no place for, or one the platform refuses."""
    return _fill(components, values, parameter_format).components


def render_template(
    components: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    *,
    parameter_format: str = "POSITIONAL",
) -> RenderedTemplate:
    """What the customer will see once the template is sent with ``values``: header,
    body, footer and buttons with the variables filled in. Raises
    ``TemplateParametersError`` exactly where ``template_components`` does."""
    return _fill(components, values, parameter_format).rendered
