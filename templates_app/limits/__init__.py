"""Every limit WhatsApp holds a template to when it is submitted, checked here first so
that an admin learns of a broken limit on the field that breaks it, in words, before the
platform answers with an error code.

Sources: Meta's "Template components" page (lengths, counts, button grouping), "Template
review" (variables: numbering, dangling, too many for the length; braces), "Supported
languages", the authentication templates guides (preset body, OTP button, expiry 1 to 90
minutes; no URLs, media or emojis), and what the platform answers when it refuses a body
("can't have more than two consecutive newline characters, only have parameters, or have
more than 10 emojis"). Meta publishes no figure for "too many variables relative to the
message length"; the rule used is the one two messaging providers found by testing
(words plus variables at least three times the variables plus one: Syniverse, Mercuri).

Pure: no ORM, no network. ``check_limits`` takes the template as data.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from templates_app import components as c
from templates_app.findings import Finding
from templates_app.limits.buttons import check_authentication, check_buttons
from templates_app.limits.rules import (
    BODY_TEXT_MAX,
    BUTTON_TEXT_MAX,
    BUTTONS_MAX,
    CATEGORIES,
    COPY_CODE_BUTTONS_MAX,
    COPY_CODE_MAX,
    FOOTER_TEXT_MAX,
    HEADER_TEXT_MAX,
    LANGUAGES,
    NAME_MAX,
    NAME_PATTERN,
    PARAMETER_FORMATS,
    PHONE_BUTTONS_MAX,
    PHONE_MAX,
    URL_BUTTONS_MAX,
    URL_MAX,
    finding,
)
from templates_app.limits.texts import check_body, check_footer, check_header, check_offer

__all__ = [
    "BODY_TEXT_MAX",
    "BUTTONS_MAX",
    "BUTTON_TEXT_MAX",
    "COPY_CODE_BUTTONS_MAX",
    "COPY_CODE_MAX",
    "FOOTER_TEXT_MAX",
    "HEADER_TEXT_MAX",
    "LANGUAGES",
    "NAME_MAX",
    "PHONE_BUTTONS_MAX",
    "PHONE_MAX",
    "URL_BUTTONS_MAX",
    "URL_MAX",
    "check_limits",
]


def check_limits(
    *, name: Any, language: Any, category: Any, parameter_format: Any, components: Any
) -> list[Finding]:
    """Every limit the platform checks on submission, as findings (unordered; ``checks``
    orders them). Category-specific rules run only when the category is valid."""
    found: list[Finding] = []
    found += _name(name)
    found += _language(language)
    cat = c.upper(category)
    if cat not in CATEGORIES:
        found.append(
            finding(
                "category_invalid",
                "category",
                _("Choose the category: MARKETING, UTILITY or AUTHENTICATION (got “%(value)s”).")
                % {"value": category or ""},
            )
        )
        cat = None
    fmt = c.upper(parameter_format) or "POSITIONAL"
    if fmt not in PARAMETER_FORMATS:
        found.append(
            finding(
                "parameter_format_invalid",
                "parameter_format",
                _(
                    "The parameter format is POSITIONAL ({{1}}) or NAMED ({{first_name}}), "
                    "not “%(value)s”."
                )
                % {"value": parameter_format},
            )
        )
        fmt = "POSITIONAL"
    if not isinstance(components, list) or not components:
        found.append(
            finding(
                "components_invalid",
                "components",
                _("A template is a list of components with at least a body."),
            )
        )
        return found
    parts = c.split(components)
    found += _structure(parts)
    found += check_header(parts, cat, fmt)
    found += check_body(parts, cat, fmt)
    found += check_footer(parts, cat)
    found += check_buttons(parts, cat)
    found += check_offer(parts, cat)
    if cat == "AUTHENTICATION":
        found += check_authentication(parts)
    return found


# --- identity -----------------------------------------------------------------------------


def _name(name: Any) -> list[Finding]:
    if not isinstance(name, str) or not name:
        return [finding("name_missing", "name", _("Give the template a name."))]
    found = []
    if len(name) > NAME_MAX:
        found.append(
            finding(
                "name_too_long",
                "name",
                _("The name has %(count)d characters; WhatsApp allows at most %(limit)d.")
                % {"count": len(name), "limit": NAME_MAX},
            )
        )
    if not NAME_PATTERN.match(name):
        bad = "".join(dict.fromkeys(ch for ch in name if not re.match(r"[a-z0-9_]", ch)))
        found.append(
            finding(
                "name_invalid",
                "name",
                _(
                    "A name may contain only lowercase letters, digits and underscores; "
                    "remove or replace “%(chars)s”."
                )
                % {"chars": bad},
            )
        )
    return found


def _language(language: Any) -> list[Finding]:
    if isinstance(language, str) and language in LANGUAGES:
        return []
    hint = ""
    if isinstance(language, str):
        # "en-US", "EN_us", "pt_br": the code the admin meant, in the platform's spelling.
        base, _sep, region = language.replace("-", "_").partition("_")
        guess = base.lower() + (f"_{region.upper()}" if region else "")
        if guess in LANGUAGES:
            hint = guess
    if hint:
        message = _("WhatsApp writes this language “%(code)s”.") % {"code": hint}
    else:
        message = _(
            "“%(value)s” is not one of WhatsApp's template languages "
            "(codes look like en, en_US, ru, it, da, pt_BR)."
        ) % {"value": language or ""}
    return [finding("language_invalid", "language", message)]


def _structure(parts: c.Parts) -> list[Finding]:
    found = []
    for kind, index, detail in parts.problems:
        where = f"components[{index}]"
        if kind == "duplicate":
            found.append(
                finding(
                    "component_duplicate",
                    where,
                    _("A template has at most one %(type)s.") % {"type": detail},
                )
            )
        else:
            found.append(
                finding(
                    "component_type_invalid",
                    where,
                    _(
                        "“%(type)s” is not a kind of template component (HEADER, BODY, FOOTER, "
                        "BUTTONS)."
                    )
                    % {"type": detail},
                )
            )
    if parts.body is None:
        found.append(finding("body_missing", "body", _("A template needs a body.")))
    return found
