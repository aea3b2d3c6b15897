"""A number's business profile as the platform accepts it: its fields, their limits,
and the profile photo's formats.

The platform refuses a whole update for one bad value; checking the same rules
before sending lets the inbox say which field is wrong, in words, at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# What the platform's ``whatsapp_business_profile`` edge reads and writes.
FIELDS = ("about", "address", "description", "email", "websites", "vertical")
READ_FIELDS = (*FIELDS, "profile_picture_url")

ABOUT_MAX = 139
ADDRESS_MAX = 256
DESCRIPTION_MAX = 512
EMAIL_MAX = 128
WEBSITES_MAX = 2
WEBSITE_MAX = 256

# The industries the platform knows, in its own spelling.
VERTICALS = (
    "UNDEFINED",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "NOT_A_BIZ",
)

PHOTO_MAX_BYTES = 5 * 2**20
PHOTO_TYPES = ("image/jpeg", "image/png")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WEBSITE = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)


def problems(fields: Mapping[str, Any]) -> dict[str, str]:
    """What the platform would refuse in ``fields`` (any subset of ``FIELDS``), by
    field, as sentences for the admin. Empty when everything may be sent."""
    found: dict[str, str] = {}
    limits = {"about": ABOUT_MAX, "address": ADDRESS_MAX, "description": DESCRIPTION_MAX}
    for name, limit in limits.items():
        value = fields.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            found[name] = "Must be text."
        elif len(value) > limit:
            found[name] = f"At most {limit} characters ({len(value)} given)."
    email = fields.get("email")
    if email is not None:
        if not isinstance(email, str):
            found["email"] = "Must be text."
        elif len(email) > EMAIL_MAX:
            found["email"] = f"At most {EMAIL_MAX} characters ({len(email)} given)."
        elif email and not _EMAIL.match(email):
            found["email"] = f"{email!r} is not an email address."
    websites = fields.get("websites")
    if websites is not None:
        if not isinstance(websites, list | tuple) or not all(
            isinstance(site, str) for site in websites
        ):
            found["websites"] = "Must be a list of web addresses."
        elif len(websites) > WEBSITES_MAX:
            found["websites"] = f"At most {WEBSITES_MAX} websites ({len(websites)} given)."
        else:
            for site in websites:
                if len(site) > WEBSITE_MAX:
                    found["websites"] = f"A web address holds at most {WEBSITE_MAX} characters."
                    break
                if not _WEBSITE.match(site):
                    found["websites"] = (
                        f"{site!r} is not a web address starting with http:// or https://."
                    )
                    break
    vertical = fields.get("vertical")
    if vertical is not None and vertical not in VERTICALS:
        found["vertical"] = f"{vertical!r} is not one of WhatsApp's industries."
    return found


def photo_type(data: bytes) -> str | None:
    """The photo's mime type from its first bytes when it is a JPEG or PNG, else None
    (a file's name or declared type says nothing about what it holds)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
