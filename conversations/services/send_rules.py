"""The send rules every message obeys, whichever path it leaves by (the composer,
the API, a campaign, an automatic message): one verdict function, ``send_verdict``,
that the one send service applies under the conversation's lock and that the
template picker asks beforehand.

What a rule looks at:

* **Window**: a free-form message needs the customer's 24-hour window open.
* **Consent**: a template needs the contact opted in to a consent category of the
  number's business account that covers the template's category; a MARKETING
  template also needs the contact not stopped on the platform itself.
* **Quiet hours and countries**: proactive messages only (a template sent while
  the window is closed, and every campaign message). An operator answering inside
  the window is never held by quiet hours.
* **Frequency cap**: MARKETING messages per contact, counted across every path.

Reads only: recording a refusal is the caller's (``compliance_log_record``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from conversations.models import (
    CompliancePolicy,
    Consent,
    ConsentCategory,
    ConsentState,
    Contact,
    Message,
    SendPath,
)
from conversations.phones import contact_country, contact_time_zone

REFUSAL_CODES = (
    "no_consent",
    "opted_out",
    "quiet_hours",
    "frequency_cap",
    "country_not_allowed",
    "window_closed",
    "template_not_approved",
)
MARKETING = "MARKETING"


@dataclass(frozen=True)
class Refusal:
    """Why a message may not go now; ``retry_at`` (UTC) when it may go later."""

    code: str
    detail: str
    retry_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "detail": self.detail,
            "retry_at": self.retry_at.isoformat().replace("+00:00", "Z") if self.retry_at else None,
        }


def compliance_policy() -> CompliancePolicy:
    """The admins' policy, or the default one (21:00-09:00 and weekends, 2 marketing
    messages in 7 days, every country) while nobody saved one."""
    return CompliancePolicy.objects.filter(pk=1).first() or CompliancePolicy.default()


def covering_categories(waba_id: str, template_category: str) -> list[ConsentCategory]:
    """The consent categories of the account that cover ``template_category``
    (filtered here: JSON containment is PostgreSQL's, the embedded mode is SQLite)."""
    return [
        category
        for category in ConsentCategory.objects.filter(waba_id=waba_id)
        if template_category in (category.template_categories or [])
    ]


def _consent_refusal(
    contact: Contact, template_category: str, covering: list[ConsentCategory], states: set[str]
) -> Refusal | None:
    """The consent rules, given the contact's ``states`` in the ``covering`` categories."""
    if template_category == MARKETING and contact.marketing_stopped_on_platform:
        return Refusal(
            "opted_out",
            "The customer stopped this business's marketing messages on WhatsApp.",
        )
    if ConsentState.OPTED_IN in states:
        return None
    if ConsentState.OPTED_OUT in states:
        return Refusal(
            "opted_out",
            f"The customer opted out of the consent categories covering {template_category} "
            "templates.",
        )
    names = ", ".join(c.slug for c in covering) or "none defined yet"
    return Refusal(
        "no_consent",
        f"The customer has not opted in to a consent category covering {template_category} "
        f"templates ({names}).",
    )


def quiet_until(policy: CompliancePolicy, local: dt.datetime) -> dt.datetime | None:
    """The first local moment at or after ``local`` outside quiet hours and weekend
    days; None when ``local`` itself is allowed."""
    if policy.quiet_start is None and not policy.weekend_days:
        return None
    weekend = set(policy.weekend_days or [])
    zone = local.tzinfo
    moment = local
    for _ in range(32):
        if moment.weekday() in weekend:
            moment = dt.datetime.combine(
                moment.date() + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone
            )
            continue
        end = _quiet_end_after(policy, moment)
        if end is not None:
            moment = end
            continue
        return None if moment == local else moment
    return None  # every day is quiet: nothing better to say than "now"


def _quiet_end_after(policy: CompliancePolicy, moment: dt.datetime) -> dt.datetime | None:
    """When the quiet interval holding ``moment`` ends; None outside it."""
    start, end = policy.quiet_start, policy.quiet_end
    if start is None or end is None or start == end:
        return None
    now = moment.time().replace(tzinfo=None)
    zone = moment.tzinfo
    if start < end:  # the same day, 12:00-14:00
        if start <= now < end:
            return dt.datetime.combine(moment.date(), end, tzinfo=zone)
        return None
    if now >= start:  # past midnight, 21:00-09:00: the evening part
        return dt.datetime.combine(moment.date() + dt.timedelta(days=1), end, tzinfo=zone)
    if now < end:  # the morning part
        return dt.datetime.combine(moment.date(), end, tzinfo=zone)
    return None


def marketing_sent_since(contact: Contact, since: dt.datetime) -> list[dt.datetime]:
    """When MARKETING messages went (or are going) to ``contact`` since ``since``,
    on every path and every number; failed ones did not reach the customer."""
    return list(_marketing_query([contact.pk], since).values_list("timestamp", flat=True))


def _marketing_query(contact_ids: list[int], since: dt.datetime) -> Any:
    return (
        Message.objects.filter(
            conversation__contact_id__in=contact_ids,
            direction=Message.Direction.OUT,
            type="template",
            content__category=MARKETING,
            timestamp__gte=since,
        )
        .exclude(status=Message.Status.FAILED)
        .order_by("timestamp")
    )


def send_verdict(
    *,
    contact: Contact,
    waba_id: str,
    template_category: str | None,
    path: str = SendPath.COMPOSER,
    window_open: bool = False,
    template_approved: bool = True,
    now: dt.datetime | None = None,
    policy: CompliancePolicy | None = None,
) -> Refusal | None:
    """None when a message may go to ``contact`` now, else the first rule it breaks.

    ``template_category`` is the template's category (UTILITY, MARKETING,
    AUTHENTICATION) or None for a free-form message; ``path`` one of
    ``SendPath``; ``window_open`` whether the customer's window is open now. A
    ``quiet_hours`` or ``frequency_cap`` refusal carries ``retry_at`` (UTC): the
    composer and the API refuse then, a campaign defers to it."""
    now = now or timezone.now()
    if template_category is None or not template_approved:
        return _rules(
            contact,
            template_category=template_category,
            path=path,
            window_open=window_open,
            template_approved=template_approved,
            now=now,
            covering=[],
            states=set(),
            policy=None,
            marketing_sent=list,
        )
    covering: list[ConsentCategory] = []
    states: set[str] = set()
    if not (template_category == MARKETING and contact.marketing_stopped_on_platform):
        covering = covering_categories(waba_id, template_category)
        states = set(
            Consent.objects.filter(contact=contact, category__in=covering).values_list(
                "state", flat=True
            )
        )
    return _rules(
        contact,
        template_category=template_category,
        path=path,
        window_open=window_open,
        template_approved=template_approved,
        now=now,
        covering=covering,
        states=states,
        # Read only when the earlier rules pass: most refusals need no policy.
        policy=policy,
        marketing_sent=lambda since: marketing_sent_since(contact, since),
    )


def send_verdicts(
    *,
    contacts: list[Contact],
    waba_id: str,
    template_category: str,
    path: str,
    window_open: dict[int, bool],
    now: dt.datetime | None = None,
    policy: CompliancePolicy | None = None,
) -> dict[int, Refusal | None]:
    """``send_verdict`` for many contacts and one template category at once, per
    contact id: the same rules, read with a few set queries whatever the number of
    contacts (the covering categories, the consents, the policy, and the marketing
    messages of the frequency cap's period). ``window_open`` says, per contact id,
    whether that customer's window is open now. One template per contact: a
    batch that sends one customer two marketing messages must count the first
    itself."""
    now = now or timezone.now()
    ids = [c.pk for c in contacts]
    covering = covering_categories(waba_id, template_category)
    states: dict[int, set[str]] = {pk: set() for pk in ids}
    if covering:
        for contact_id, state in Consent.objects.filter(
            contact_id__in=ids, category__in=covering
        ).values_list("contact_id", "state"):
            states[contact_id].add(state)
    policy = policy or compliance_policy()
    sent: dict[int, list[dt.datetime]] = {pk: [] for pk in ids}
    if (
        template_category == MARKETING
        and policy.cap_days is not None
        and policy.cap_messages is not None
    ):
        since = now - dt.timedelta(days=policy.cap_days)
        for contact_id, at in _marketing_query(ids, since).values_list(
            "conversation__contact_id", "timestamp"
        ):
            sent[contact_id].append(at)
    return {
        contact.pk: _rules(
            contact,
            template_category=template_category,
            path=path,
            window_open=window_open.get(contact.pk, False),
            template_approved=True,
            now=now,
            covering=covering,
            states=states[contact.pk],
            policy=policy,
            marketing_sent=lambda since, pk=contact.pk: [at for at in sent[pk] if at >= since],
        )
        for contact in contacts
    }


def _rules(
    contact: Contact,
    *,
    template_category: str | None,
    path: str,
    window_open: bool,
    template_approved: bool,
    now: dt.datetime,
    covering: list[ConsentCategory],
    states: set[str],
    policy: CompliancePolicy | None,
    marketing_sent: Callable[[dt.datetime], list[dt.datetime]],
) -> Refusal | None:
    """The send rules for one contact, in their order, given what was read for it:
    the ``states`` of its consents in the ``covering`` categories, and
    ``marketing_sent(since)``, when marketing messages went to it since then. The
    one place the rules are decided: ``send_verdict`` and ``send_verdicts`` only
    read differently (``policy`` None: read when needed)."""
    if template_category is None:
        if not window_open:
            return Refusal(
                "window_closed",
                "The 24-hour customer service window is closed: only an approved template "
                "can be sent.",
            )
        return None  # a service reply inside the window: no consent, no quiet hours
    if not template_approved:
        return Refusal("template_not_approved", "WhatsApp has not approved this template.")
    refusal = _consent_refusal(contact, template_category, covering, states)
    if refusal is not None:
        return refusal
    policy = policy or compliance_policy()
    proactive = not window_open or path == SendPath.CAMPAIGN
    if proactive and policy.allowed_countries is not None:
        country = contact_country(contact)
        allowed = {c.upper() for c in policy.allowed_countries}
        if country not in allowed:
            return Refusal(
                "country_not_allowed",
                f"Proactive messages may not go to {country or 'an unknown country'}: "
                "the policy allows " + (", ".join(sorted(allowed)) or "no country") + ".",
            )
    if proactive:
        zone = contact_time_zone(contact)
        local = now.astimezone(zone)
        allowed_at = quiet_until(policy, local)
        if allowed_at is not None:
            return Refusal(
                "quiet_hours",
                f"It is {local:%H:%M} on {local:%A} for the customer ({zone.key}): quiet "
                f"hours. It may go at {allowed_at:%Y-%m-%d %H:%M} their time.",
                retry_at=allowed_at.astimezone(dt.UTC),
            )
    if (
        template_category == MARKETING
        and policy.cap_messages is not None
        and policy.cap_days is not None
    ):
        period = dt.timedelta(days=policy.cap_days)
        sent = marketing_sent(now - period)
        if len(sent) >= policy.cap_messages:
            return Refusal(
                "frequency_cap",
                f"The customer already got {len(sent)} marketing messages in the last "
                f"{policy.cap_days} days (the policy allows {policy.cap_messages}).",
                retry_at=(sent[len(sent) - policy.cap_messages] + period).astimezone(dt.UTC),
            )
    return None
