"""The limits of buttons (how many of each, how they group, their labels, addresses,
numbers and codes) and the shape of an authentication template, which is mostly its
one-time password button."""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from django.utils.translation import gettext as _

from templates_app import components as c
from templates_app.findings import Finding
from templates_app.limits.rules import (
    BUTTON_TEXT_MAX,
    BUTTON_TYPES,
    BUTTONS_MAX,
    CODE_EXPIRATION_MINUTES,
    COPY_CODE_BUTTONS_MAX,
    COPY_CODE_MAX,
    OTP_TYPES,
    PHONE_BUTTONS_MAX,
    PHONE_MAX,
    QUICK_REPLIES_MAX,
    UNLABELLED,
    URL_BUTTONS_MAX,
    URL_MAX,
    URL_PATTERN,
    finding,
    length,
)


def check_buttons(parts: c.Parts, cat: str | None) -> list[Finding]:
    if parts.buttons is None:
        return []
    raw = parts.buttons.data.get("buttons")
    if not isinstance(raw, list) or not raw:
        return [finding("buttons_empty", "buttons", _("Add a button or remove the buttons."))]
    buttons = c.button_list(parts)
    kinds = [c.upper(b.get("type")) for b in buttons]
    found: list[Finding] = []
    counted = (
        (None, BUTTONS_MAX, "buttons_too_many", _("A template has at most %(limit)d buttons.")),
        (
            "QUICK_REPLY",
            QUICK_REPLIES_MAX,
            "quick_replies_too_many",
            _("A template has at most %(limit)d quick replies."),
        ),
        (
            "URL",
            URL_BUTTONS_MAX,
            "url_buttons_too_many",
            _("A template has at most %(limit)d website buttons."),
        ),
        (
            "PHONE_NUMBER",
            PHONE_BUTTONS_MAX,
            "phone_buttons_too_many",
            _("A template has at most %(limit)d phone number button."),
        ),
        (
            "COPY_CODE",
            COPY_CODE_BUTTONS_MAX,
            "copy_code_buttons_too_many",
            _("A template has at most %(limit)d copy code button."),
        ),
    )
    for kind, limit, code, message in counted:
        count = len(kinds) if kind is None else kinds.count(kind)
        if count > limit:
            found.append(finding(code, "buttons", message % {"limit": limit}))
    # Two groups at most, quick replies and the rest: one change between them in the list.
    changes = sum(1 for a, b in pairwise(kinds) if (a == "QUICK_REPLY") != (b == "QUICK_REPLY"))
    if changes > 1:
        found.append(
            finding(
                "buttons_order",
                "buttons",
                _(
                    "Keep the quick replies together, all before or all after the other "
                    "buttons (quick reply, website, quick reply is refused)."
                ),
            )
        )
    for index, button in enumerate(buttons):
        found += _button(button, index, cat)
    return found


def _button(button: Mapping[str, Any], index: int, cat: str | None) -> list[Finding]:
    where = f"buttons[{index}]"
    kind = c.upper(button.get("type"))
    if kind not in BUTTON_TYPES:
        return [
            finding(
                "button_type_invalid",
                f"{where}.type",
                _("“%(value)s” is not a kind of button.") % {"value": button.get("type") or ""},
            )
        ]
    if (kind == "OTP") != (cat == "AUTHENTICATION") and cat is not None:
        if kind == "OTP":
            message = _("One-time password buttons belong to AUTHENTICATION templates.")
        else:
            message = _("An AUTHENTICATION template has only its one-time password button.")
        return [finding("button_type_category", f"{where}.type", message)]
    found: list[Finding] = []
    label = button.get("text")
    if kind not in UNLABELLED or label is not None:
        if not isinstance(label, str) or not label.strip():
            found.append(
                finding("button_text_missing", f"{where}.text", _("Write the button's label."))
            )
        else:
            found += length(label, BUTTON_TEXT_MAX, "button_text_too_long", f"{where}.text")
            if c.variables(label):
                found.append(
                    finding(
                        "button_text_variables",
                        f"{where}.text",
                        _("A button's label cannot have variables."),
                    )
                )
    if kind == "URL":
        found += _url_button(button, where)
    elif kind == "PHONE_NUMBER":
        phone = button.get("phone_number")
        if not isinstance(phone, str) or not phone.strip():
            found.append(
                finding(
                    "button_phone_missing",
                    f"{where}.phone_number",
                    _("Give the number to call."),
                )
            )
        else:
            found += length(phone, PHONE_MAX, "button_phone_too_long", f"{where}.phone_number")
            if not re.search(r"\d", phone):
                found.append(
                    finding(
                        "button_phone_invalid",
                        f"{where}.phone_number",
                        _("“%(value)s” is not a phone number.") % {"value": phone},
                    )
                )
    elif kind == "COPY_CODE":
        example = button.get("example")
        if isinstance(example, list):
            example = example[0] if example else None
        if not isinstance(example, str) or not example.strip():
            found.append(
                finding(
                    "missing_example",
                    f"{where}.example",
                    _("Give a sample code for the copy code button (example)."),
                )
            )
        else:
            found += length(example, COPY_CODE_MAX, "copy_code_too_long", f"{where}.example")
    elif kind == "FLOW" and not any(button.get(k) for k in ("flow_id", "flow_name", "flow_json")):
        found.append(
            finding(
                "button_flow_missing",
                where,
                _("Name the flow the button opens (flow_id, flow_name or flow_json)."),
            )
        )
    elif kind == "OTP":
        found += _otp_button(button, where)
    return found


def _url_button(button: Mapping[str, Any], where: str) -> list[Finding]:
    url = button.get("url")
    field = f"{where}.url"
    if not isinstance(url, str) or not url.strip():
        return [finding("button_url_missing", field, _("Give the website's address."))]
    found = length(url, URL_MAX, "button_url_too_long", field)
    if not re.match(r"^https?://[^\s/]+\.[^\s]+$", url.strip()):
        found.append(
            finding(
                "button_url_invalid",
                field,
                _("The address must start with https:// (or http://) and have no spaces."),
            )
        )
    matches = c.variables(url)
    if not matches:
        return found
    if len(matches) > 1 or matches[0].group(1) != "1" or not url.rstrip().endswith("}}"):
        found.append(
            finding(
                "button_url_variable",
                field,
                _("A website address may have one variable, {{1}}, and only at its end."),
            )
        )
    example = button.get("example")
    sample = example[0] if isinstance(example, list) and example else example
    if not isinstance(sample, str) or not sample.strip():
        found.append(
            finding(
                "missing_example",
                f"{where}.example",
                _("The address has a variable; give a sample value for it (example)."),
            )
        )
    return found


def _otp_button(button: Mapping[str, Any], where: str) -> list[Finding]:
    otp = c.upper(button.get("otp_type"))
    if otp not in OTP_TYPES:
        return [
            finding(
                "auth_button",
                f"{where}.otp_type",
                _("The one-time password button is COPY_CODE, ONE_TAP or ZERO_TAP."),
            )
        ]
    found: list[Finding] = []
    autofill = button.get("autofill_text")
    if isinstance(autofill, str):
        found += length(autofill, BUTTON_TEXT_MAX, "button_text_too_long", f"{where}.autofill")
    if otp in ("ONE_TAP", "ZERO_TAP"):
        apps = button.get("supported_apps")
        named = bool(button.get("package_name")) and bool(button.get("signature_hash"))
        listed = isinstance(apps, list) and bool(apps)
        if not (named or listed):
            found.append(
                finding(
                    "auth_otp_app",
                    where,
                    _(
                        "A one-tap or zero-tap button names the Android app that receives the "
                        "code (package_name and signature_hash)."
                    ),
                )
            )
    return found


def check_authentication(parts: c.Parts) -> list[Finding]:
    """An authentication template is the platform's preset text, an optional expiry
    footer and one one-time password button: no header, no URLs, no emojis."""
    found: list[Finding] = []
    if parts.header is not None:
        found.append(
            finding(
                "auth_header",
                "header",
                _("An AUTHENTICATION template has no header (no text, image, video or document)."),
            )
        )
    text = c.text_of(parts.body) or ""
    if URL_PATTERN.search(text):
        found.append(
            finding("auth_url", "body.text", _("An AUTHENTICATION template cannot have links."))
        )
    if c.emojis(text):
        found.append(
            finding("auth_emoji", "body.text", _("An AUTHENTICATION template cannot have emojis."))
        )
    if parts.body is not None and not isinstance(
        parts.body.data.get("add_security_recommendation", False), bool
    ):
        found.append(
            finding(
                "auth_body",
                "body.add_security_recommendation",
                _("add_security_recommendation is true or false."),
            )
        )
    if parts.footer is not None:
        footer = parts.footer.data
        minutes = footer.get("code_expiration_minutes")
        low, high = CODE_EXPIRATION_MINUTES
        if "text" in footer:
            found.append(
                finding(
                    "auth_footer",
                    "footer.text",
                    _(
                        "An AUTHENTICATION footer has no text of its own: it says when the code "
                        "expires (code_expiration_minutes)."
                    ),
                )
            )
        if minutes is not None and (
            isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high
        ):
            found.append(
                finding(
                    "auth_footer",
                    "footer.code_expiration_minutes",
                    _("The code expires after %(low)d to %(high)d minutes.")
                    % {"low": low, "high": high},
                )
            )
    kinds = [c.upper(b.get("type")) for b in c.button_list(parts)]
    if kinds.count("OTP") != 1:
        found.append(
            finding(
                "auth_button",
                "buttons",
                _(
                    "An AUTHENTICATION template has exactly one one-time password button "
                    "(copy code, one-tap or zero-tap)."
                ),
            )
        )
    return found
