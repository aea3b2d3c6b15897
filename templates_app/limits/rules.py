"""What every limit rule shares: the platform's figures, the enumerations it accepts, and
the helpers that make findings."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from templates_app.findings import Finding, Severity

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")

# Meta's "Supported languages" page (updated May 2026).
# fmt: off
LANGUAGES = frozenset({
    "af", "sq", "ar", "ar_EG", "ar_AE", "ar_LB", "ar_MA", "ar_QA", "az", "be_BY", "bn",
    "bn_IN", "bg", "ca", "zh_CN", "zh_HK", "zh_TW", "hr", "cs", "da", "prs_AF", "nl", "nl_BE",
    "en", "en_GB", "en_US", "en_AE", "en_AU", "en_CA", "en_GH", "en_IE", "en_IN", "en_JM",
    "en_MY", "en_NZ", "en_QA", "en_SG", "en_UG", "en_ZA", "et", "fil", "fi", "fr", "fr_BE",
    "fr_CA", "fr_CH", "fr_CI", "fr_MA", "ka", "de", "de_AT", "de_CH", "el", "gu", "ha", "he",
    "hi", "hu", "id", "ga", "it", "ja", "kn", "kk", "rw_RW", "ko", "ky_KG", "lo", "lv", "lt",
    "mk", "ms", "ml", "mr", "nb", "ps_AF", "fa", "pl", "pt_BR", "pt_PT", "pa", "ro", "ru",
    "sr", "si_LK", "sk", "sl", "es", "es_AR", "es_CL", "es_CO", "es_CR", "es_DO", "es_EC",
    "es_HN", "es_MX", "es_PA", "es_PE", "es_ES", "es_UY", "sw", "sv", "ta", "te", "th", "tr",
    "uk", "ur", "uz", "vi", "zu",
})
# fmt: on

NAME_MAX = 512
NAME_PATTERN = re.compile(r"^[a-z0-9_]+$")
HEADER_TEXT_MAX = 60
BODY_TEXT_MAX = 1024
FOOTER_TEXT_MAX = 60
BUTTON_TEXT_MAX = 25
URL_MAX = 2000
PHONE_MAX = 20
COPY_CODE_MAX = 15
OFFER_TEXT_MAX = 16
BUTTONS_MAX = 10
QUICK_REPLIES_MAX = 10
URL_BUTTONS_MAX = 2
PHONE_BUTTONS_MAX = 1
COPY_CODE_BUTTONS_MAX = 1
BODY_EMOJIS_MAX = 10
CODE_EXPIRATION_MINUTES = (1, 90)

HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "GIF", "DOCUMENT", "LOCATION")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "GIF", "DOCUMENT")
BUTTON_TYPES = (
    "QUICK_REPLY",
    "URL",
    "PHONE_NUMBER",
    "COPY_CODE",
    "OTP",
    "FLOW",
    "MPM",
    "CATALOG",
    "SPM",
    "VOICE_CALL",
)
# Buttons whose label the platform writes itself.
UNLABELLED = ("COPY_CODE", "OTP")
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")

# What may stand before the first variable or after the last without making it any less
# the first or last thing in the body: spaces, WhatsApp's formatting marks, opening quotes
# and brackets ("{{1}}, welcome!" and "*{{1}}* is your code" start with one; "… on {{1}}"
# and "… is *{{1}}*" end with one). A closing full stop, question or exclamation mark ends
# the sentence, and the variable with it: "… will arrive on {{3}}." is the brief's own
# example of a fine body, and Meta's wording ("cannot start or end with a parameter")
# says no more.
EDGE_BEFORE = r"^[\s*_~`'\"\u00ab\u201c\u201e\u2018(\[\u00a1\u00bf]*\{\{[^{}]*\}\}"
EDGE_AFTER = r"\{\{[^{}]*\}\}[\s*_~`]*$"
URL_PATTERN = re.compile(r"(?i)\bhttps?://|\bwww\.[a-z0-9-]+\.[a-z]")
THREE_NEWLINES = re.compile(r"\n[ \t]*\n[ \t]*\n")


def finding(code: str, field: str, message: str, severity: Severity = "error") -> Finding:
    return Finding(code=code, severity=severity, field=field, message=message)


def length(text: str, limit: int, code: str, field: str) -> list[Finding]:
    if len(text) <= limit:
        return []
    return [
        finding(
            code,
            field,
            _("%(count)d characters; WhatsApp allows at most %(limit)d.")
            % {"count": len(text), "limit": limit},
        )
    ]
