"""What a phone number tells of its owner: country and time zone, from the
``phonenumbers`` library (its ``timezone`` module, not a table of ours). Reads
only; the send rules and the API's contact both use it."""

from __future__ import annotations

import functools
import zoneinfo

import phonenumbers
from django.conf import settings
from phonenumbers import timezone as phone_timezone

from conversations.models import Contact

# Only a tie-break among the zones the library lists for a number (never a
# source of zones): where most of a multi-zone country's customers live.
PRINCIPAL_ZONES = {
    "RU": "Europe/Moscow",
    "KZ": "Asia/Almaty",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "AU": "Australia/Sydney",
    "ID": "Asia/Jakarta",
    "UA": "Europe/Kyiv",
}


@functools.lru_cache(maxsize=4096)
def parse_number(wa_id: str) -> phonenumbers.PhoneNumber | None:
    """``wa_id`` (digits, a leading + allowed) parsed; None when it is no number.
    Kept for the next question about the same number (an import asks three); the
    result must not be changed."""
    if not wa_id:
        return None
    try:
        return phonenumbers.parse("+" + wa_id.lstrip("+"))
    except phonenumbers.NumberParseException:
        return None


def phone_time_zone(wa_id: str) -> str:
    """The IANA time zone of a phone number ("" when the library knows none), from
    ``phonenumbers.timezone``. A number the library cannot place (a mobile range it
    does not map) takes its country's, found through the country's example
    landline number. Where the library gives several zones (a Russian mobile spans
    eleven) the one most of the country's people live in is taken when it is among
    them (``PRINCIPAL_ZONES``), else the first listed."""
    parsed = parse_number(wa_id)
    if parsed is None:
        return ""
    zones = _known(phone_timezone.time_zones_for_number(parsed))
    if not zones:
        region = phonenumbers.region_code_for_number(
            parsed
        ) or phonenumbers.region_code_for_country_code(parsed.country_code)
        example = phonenumbers.example_number_for_type(
            region, phonenumbers.PhoneNumberType.FIXED_LINE
        )
        if example is not None:
            zones = _known(phone_timezone.time_zones_for_number(example))
    if not zones:
        return ""
    if len(zones) > 1:
        principal = PRINCIPAL_ZONES.get(phonenumbers.region_code_for_number(parsed) or "")
        if principal in zones:
            return principal
    return zones[0]


def _known(zones: tuple[str, ...]) -> list[str]:
    return [zone for zone in zones if zone != phone_timezone.UNKNOWN_TIMEZONE]


def phone_country(wa_id: str) -> str:
    """The ISO country of a phone number ("" when it has none)."""
    parsed = parse_number(wa_id)
    if parsed is None:
        return ""
    region = phonenumbers.region_code_for_number(
        parsed
    ) or phonenumbers.region_code_for_country_code(parsed.country_code)
    return region if region and region != "ZZ" else ""


def contact_time_zone(contact: Contact) -> zoneinfo.ZoneInfo:
    """Where the contact's clock runs: their stored zone, else their number's, else
    the inbox's."""
    name = contact.time_zone or phone_time_zone(contact.wa_id or contact.phone)
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def contact_country(contact: Contact) -> str:
    return (contact.country or phone_country(contact.wa_id or contact.phone)).upper()
