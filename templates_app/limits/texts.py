"""The limits of the text components: header, body, footer and the limited-time offer."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from templates_app import components as c
from templates_app.findings import Finding
from templates_app.limits.rules import (
    BODY_EMOJIS_MAX,
    BODY_TEXT_MAX,
    FOOTER_TEXT_MAX,
    HEADER_FORMATS,
    HEADER_TEXT_MAX,
    MEDIA_FORMATS,
    OFFER_TEXT_MAX,
    THREE_NEWLINES,
    finding,
    length,
)
from templates_app.limits.variables import examples, placement, variables_of


def check_header(parts: c.Parts, cat: str | None, fmt: str) -> list[Finding]:
    if parts.header is None or cat == "AUTHENTICATION":
        return []
    header = parts.header
    form = c.upper(header.data.get("format"))
    if form not in HEADER_FORMATS:
        return [
            finding(
                "header_format_invalid",
                "header.format",
                _("A header is TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION (got “%(value)s”).")
                % {"value": header.data.get("format") or ""},
            )
        ]
    if form in MEDIA_FORMATS:
        example = header.data.get("example")
        handles = example.get("header_handle") if isinstance(example, Mapping) else None
        if not (
            isinstance(handles, list) and handles and all(isinstance(h, str) and h for h in handles)
        ):
            return [
                finding(
                    "missing_example",
                    "header.example",
                    _(
                        "A header of type %(format)s needs a sample file (example.header_handle, "
                        "the handle of an upload)."
                    )
                    % {"format": form},
                )
            ]
        return []
    if form != "TEXT":
        return []
    text = c.text_of(header)
    if not text or not text.strip():
        return [finding("header_text_missing", "header.text", _("Write the header's text."))]
    found = length(text, HEADER_TEXT_MAX, "header_too_long", "header.text")
    if "\n" in text or c.emojis(text):
        found.append(
            finding(
                "header_formatting",
                "header.text",
                _("A text header is one line without emojis."),
            )
        )
    names, problems = variables_of(text, fmt, "header")
    found += problems
    if len(c.variables(text)) > 1:
        found.append(
            finding(
                "header_too_many_variables",
                "header.text",
                _("A header may have at most one variable."),
            )
        )
    found += examples(header, names, fmt, "header", "header_text", "header_text_named_params")
    return found


def check_body(parts: c.Parts, cat: str | None, fmt: str) -> list[Finding]:
    if parts.body is None:
        return []
    body = parts.body
    text = c.text_of(body)
    if cat == "AUTHENTICATION":
        # The platform writes an authentication body itself ("<code> is your verification
        # code."); a text of one's own, when given, is held to the same "no URLs, no
        # emojis" rule in ``_authentication``. Its preset starts with the code, so the
        # placement rules do not apply.
        return []
    if not text or not text.strip():
        return [finding("body_text_missing", "body.text", _("Write the body's text."))]
    found = length(text, BODY_TEXT_MAX, "body_too_long", "body.text")
    if THREE_NEWLINES.search(text):
        found.append(
            finding(
                "body_newlines",
                "body.text",
                _("The body cannot have more than two line breaks in a row."),
            )
        )
    count = len(c.emojis(text))
    if count > BODY_EMOJIS_MAX:
        found.append(
            finding(
                "body_emoji_limit",
                "body.text",
                _("The body has %(count)d emojis; WhatsApp allows at most %(limit)d.")
                % {"count": count, "limit": BODY_EMOJIS_MAX},
            )
        )
    names, problems = variables_of(text, fmt, "body")
    found += problems
    found += examples(body, names, fmt, "body", "body_text", "body_text_named_params")
    found += placement(text, names)
    return found


def check_footer(parts: c.Parts, cat: str | None) -> list[Finding]:
    if parts.footer is None or cat == "AUTHENTICATION":
        return []
    text = c.text_of(parts.footer)
    if not text or not text.strip():
        return [finding("footer_text_missing", "footer.text", _("Write the footer's text."))]
    found = length(text, FOOTER_TEXT_MAX, "footer_too_long", "footer.text")
    if c.variables(text):
        found.append(
            finding("footer_variables", "footer.text", _("A footer cannot have variables."))
        )
    if "\n" in text or c.emojis(text):
        found.append(
            finding(
                "footer_formatting",
                "footer.text",
                _("Meta asks for footers without emojis or line breaks."),
                "warning",
            )
        )
    return found


def check_offer(parts: c.Parts, cat: str | None) -> list[Finding]:
    if parts.offer is None:
        return []
    found: list[Finding] = []
    if cat is not None and cat != "MARKETING":
        found.append(
            finding(
                "offer_category",
                "offer",
                _("Only MARKETING templates can carry a limited-time offer."),
            )
        )
    offer = parts.offer.data.get("limited_time_offer")
    text = offer.get("text") if isinstance(offer, Mapping) else None
    if not isinstance(text, str) or not text.strip():
        found.append(finding("offer_text_missing", "offer.text", _("Write the offer's text.")))
    else:
        found += length(text, OFFER_TEXT_MAX, "offer_text_too_long", "offer.text")
    return found
