"""Consent: the ledger of what each customer agreed to (per business account and
consent category), the platform's own stop and resume of marketing, the admins'
compliance policy, contacts created before they write, and the compliance log of
every message that was not sent or was deferred. A customer's own words are in
``consent_messages``, the platform's refusals of a send in ``deferrals``.

Every change of consent is a new ``ConsentChange`` (never edited) and the
contact's current ``Consent`` row for the category, written in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.db import transaction
from django.utils import timezone

from conversations import realtime
from conversations.models import (
    TEMPLATE_CATEGORIES,
    ComplianceLogEntry,
    CompliancePolicy,
    Consent,
    ConsentCategory,
    ConsentChange,
    ConsentSource,
    ConsentState,
    Contact,
    Conversation,
    Message,
)
from conversations.phones import parse_number, phone_country, phone_time_zone
from conversations.services.errors import InvalidConsent, UnknownCategory
from whatsapp.events import AccountEvent

logger = logging.getLogger(__name__)


# --- Contacts ----------------------------------------------------------------------


def wa_id_normalize(value: str) -> str:
    """The digits of a phone number in international form; "" when it is not one."""
    digits = re.sub(r"[^\d]", "", value or "")
    if not digits or len(digits) > 15:
        return ""
    parsed = parse_number(digits)
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        return ""
    return digits


def contact_create(*, wa_id: str, name: str = "") -> tuple[Contact, bool]:
    """The contact with this phone number, created when new (a customer who has not
    written yet): ``(contact, created)``. Country and time zone come from the number.
    Raises ``InvalidConsent`` (code ``invalid_wa_id``) for a number that is not one."""
    digits = wa_id_normalize(wa_id)
    if not digits:
        error = InvalidConsent(f"{wa_id!r} is not a phone number in international form.")
        error.code = "invalid_wa_id"
        raise error
    existing = Contact.objects.filter(wa_id=digits).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        contact, created = Contact.objects.get_or_create(
            wa_id=digits, defaults=_new_contact_fields(digits, name)
        )
    return contact, created


def contacts_create(*, wa_ids: Iterable[str]) -> dict[str, Contact]:
    """``contact_create`` for many phone numbers at once (each already
    ``wa_id_normalize``d): the contact of each number, created when new, with a
    few statements for every 2,000 numbers."""
    wanted = list(dict.fromkeys(wa_ids))
    found: dict[str, Contact] = {}
    for start in range(0, len(wanted), 2000):
        chunk = wanted[start : start + 2000]
        found.update((c.wa_id, c) for c in Contact.objects.filter(wa_id__in=chunk))
        missing = [digits for digits in chunk if digits not in found]
        if missing:
            # A number another request created meanwhile is skipped, and read below.
            Contact.objects.bulk_create(
                [Contact(wa_id=digits, **_new_contact_fields(digits)) for digits in missing],
                ignore_conflicts=True,
            )
            found.update((c.wa_id, c) for c in Contact.objects.filter(wa_id__in=missing))
    return found


def _new_contact_fields(digits: str, name: str = "") -> dict[str, Any]:
    """A new contact's fields: country and time zone come from the number."""
    return {
        "profile_name": name.strip()[:256],
        "phone": "+" + digits,
        "country": phone_country(digits),
        "time_zone": phone_time_zone(digits),
    }


# --- The ledger --------------------------------------------------------------------


def consent_category_create(
    *,
    waba_id: str,
    slug: str,
    name: str,
    template_categories: list[str],
    opt_in_text: str = "",
) -> ConsentCategory:
    """A consent category of the business account. Raises ``InvalidConsent`` for a
    template category WhatsApp does not have, or a slug the account already uses."""
    unknown = [c for c in template_categories if c not in TEMPLATE_CATEGORIES]
    if unknown or not template_categories:
        raise InvalidConsent(
            "template_categories lists UTILITY, MARKETING or AUTHENTICATION, at least one."
        )
    if ConsentCategory.objects.filter(waba_id=waba_id, slug=slug).exists():
        error = InvalidConsent(f"The account already has a consent category {slug!r}.")
        error.code = "duplicate"
        error.http_status = 409
        raise error
    return ConsentCategory.objects.create(
        waba_id=waba_id,
        slug=slug,
        name=name,
        template_categories=list(dict.fromkeys(template_categories)),
        opt_in_text=opt_in_text.strip(),
    )


def consent_record(
    *,
    contact: Contact,
    category: ConsentCategory,
    state: str,
    source: str,
    wording: str = "",
    recorded_by: Any = None,
    at: dt.datetime | None = None,
) -> ConsentChange:
    """Record that ``contact`` opted in to or out of ``category``: a new change in
    the audit trail and the contact's current state. An older change (``at``
    before the current state's) is kept in the trail but does not change the state.
    Raises ``InvalidConsent`` for an unknown state or source."""
    if state not in ConsentState.values:
        raise InvalidConsent(f"state is opted_in or opted_out, not {state!r}.")
    if source not in ConsentSource.values:
        raise InvalidConsent(f"Unknown source {source!r}.")
    at = at or timezone.now()
    with transaction.atomic():
        change = ConsentChange.objects.create(
            contact=contact,
            waba_id=category.waba_id,
            category=category,
            state=state,
            at=at,
            source=source,
            wording=wording,
            recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
        )
        current = Consent.objects.select_for_update().filter(contact=contact, category=category)
        row = current.first()
        if row is None:
            Consent.objects.create(
                contact=contact,
                category=category,
                state=state,
                changed_at=at,
                source=source,
                wording=wording,
                change=change,
            )
        elif at >= row.changed_at:
            row.state, row.changed_at, row.source = state, at, source
            row.wording, row.change = wording, change
            row.save(update_fields=["state", "changed_at", "source", "wording", "change"])
        publish_consent(contact)
    return change


def publish_consent(contact: Contact) -> None:
    """``contact.consent`` (``{"contact_id"}``) after commit to whoever may see one
    of the customer's chats: an open contact panel and template picker read the
    consents again."""
    groups: list[str] = []
    for team_id, assignee_id in Conversation.objects.filter(contact=contact).values_list(
        "team_id", "assignee_id"
    ):
        groups += realtime.groups_for_conversation(team_id=team_id, assignee_id=assignee_id)
    if groups:
        realtime.publish("contact.consent", {"contact_id": contact.pk}, groups=groups)


def consent_opt_out_marketing(
    *,
    contact: Contact,
    waba_id: str,
    source: str,
    wording: str = "",
    recorded_by: Any = None,
    at: dt.datetime | None = None,
) -> list[ConsentChange]:
    """Opt ``contact`` out of every category of the account that covers MARKETING."""
    return [
        consent_record(
            contact=contact,
            category=category,
            state=ConsentState.OPTED_OUT,
            source=source,
            wording=wording,
            recorded_by=recorded_by,
            at=at,
        )
        for category in ConsentCategory.objects.filter(waba_id=waba_id)
        if category.covers_marketing
    ]


def platform_marketing_set(
    *,
    contact: Contact,
    waba_id: str,
    stopped: bool,
    detail: str = "",
    at: dt.datetime | None = None,
) -> ConsentChange | None:
    """The platform says the customer stopped (or resumed) the business's marketing:
    ``marketing_stopped_on_platform`` follows and the trail gets a change with source
    ``platform`` (no category). A repeat of the latest such change records nothing."""
    at = at or timezone.now()
    state = ConsentState.OPTED_OUT if stopped else ConsentState.OPTED_IN
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        latest = (
            ConsentChange.objects.filter(
                contact=contact, category__isnull=True, source=ConsentSource.PLATFORM
            )
            .order_by("-at", "-pk")
            .first()
        )
        if latest is not None and latest.state == state and latest.at == at:
            return None
        if latest is None or at >= latest.at:
            contact.marketing_stopped_on_platform = stopped
            contact.save(update_fields=["marketing_stopped_on_platform"])
        publish_consent(contact)
        return ConsentChange.objects.create(
            contact=contact,
            waba_id=waba_id,
            category=None,
            state=state,
            at=at,
            source=ConsentSource.PLATFORM,
            wording=detail,
        )


def user_preferences_apply(*, event: AccountEvent) -> int:
    """Apply a ``user_preferences`` webhook: each marketing stop or resume sets the
    customer's platform flag (caller's transaction). Returns how many applied."""
    applied = 0
    for preference in event.preferences:
        if not preference.marketing or preference.value not in ("stop", "resume"):
            continue
        contact = Contact.objects.filter(wa_id=preference.wa_id).first()
        if contact is None:
            if not wa_id_normalize(preference.wa_id):
                continue  # not a number anybody could be reached at
            contact, _ = contact_create(wa_id=preference.wa_id)
        change = platform_marketing_set(
            contact=contact,
            waba_id=event.waba_id,
            stopped=preference.value == "stop",
            detail=preference.detail,
            at=preference.timestamp,
        )
        applied += change is not None
    return applied


# --- Policy and log ----------------------------------------------------------------


def compliance_policy_update(
    *,
    quiet_hours: dict[str, Any] | None,
    frequency_cap: dict[str, int] | None,
    allowed_countries: list[str] | None,
) -> CompliancePolicy:
    """Replace the policy (``None`` for a rule: no such rule). ``quiet_hours``:
    ``{"start": "21:00", "end": "09:00", "weekend_days": [5, 6]}`` (local times,
    Monday = 0)."""
    with transaction.atomic():
        policy = CompliancePolicy.objects.select_for_update().filter(pk=1).first()
        policy = policy or CompliancePolicy.default()
        if quiet_hours is None:
            policy.quiet_start = policy.quiet_end = None
            policy.weekend_days = []
        else:
            policy.quiet_start = _clock_time(quiet_hours["start"])
            policy.quiet_end = _clock_time(quiet_hours["end"])
            policy.weekend_days = sorted(set(quiet_hours.get("weekend_days") or []))
        if frequency_cap is None:
            policy.cap_messages = policy.cap_days = None
        else:
            policy.cap_messages = frequency_cap["messages"]
            policy.cap_days = frequency_cap["days"]
        policy.allowed_countries = (
            None if allowed_countries is None else sorted({c.upper() for c in allowed_countries})
        )
        policy.updated_at = timezone.now()
        policy.save()
    return policy


def _clock_time(value: str | dt.time) -> dt.time:
    if isinstance(value, dt.time):
        return value
    hours, minutes = str(value).split(":")[:2]
    return dt.time(int(hours), int(minutes))


def compliance_log_record(
    *,
    contact: Contact | None,
    path: str,
    reason: str,
    template: str = "",
    detail: str = "",
    campaign: str = "",
    message: Message | None = None,
    retry_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> ComplianceLogEntry:
    """Record a message that was not sent, or was deferred, and why."""
    entry = compliance_log_entry(
        contact=contact,
        path=path,
        reason=reason,
        template=template,
        detail=detail,
        campaign=campaign,
        message=message,
        retry_at=retry_at,
        at=at,
    )
    entry.save(force_insert=True)
    return entry


def compliance_log_entry(
    *,
    contact: Contact | None,
    path: str,
    reason: str,
    template: str = "",
    detail: str = "",
    campaign: str = "",
    message: Message | None = None,
    retry_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> ComplianceLogEntry:
    """The entry ``compliance_log_record`` stores, not saved yet (a batch stores
    its entries at once with ``bulk_create``)."""
    return ComplianceLogEntry(
        at=at or timezone.now(),
        contact=contact,
        wa_id=contact.wa_id if contact is not None else "",
        path=path,
        reason=reason,
        template=template[:512],
        campaign=str(campaign or ""),
        detail=detail,
        message=message,
        retry_at=retry_at,
    )


def category_for(*, waba_id: str | None, slug: str) -> ConsentCategory:
    """The consent category ``slug`` of the account (the only account when
    ``waba_id`` is empty). Raises ``UnknownCategory``."""
    categories = ConsentCategory.objects.filter(slug=slug)
    if waba_id:
        categories = categories.filter(waba_id=waba_id)
    found = list(categories[:2])
    if len(found) != 1:
        raise UnknownCategory(
            f"No consent category {slug!r}"
            + ("." if waba_id or not found else ": name the account (waba_id).")
        )
    return found[0]
