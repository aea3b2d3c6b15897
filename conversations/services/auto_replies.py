"""Automatic replies to a customer nobody can answer now: the team's ``closed`` or
``busy`` reply, once per period, in the customer's language, with its
placeholders filled.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import phonenumbers
from django.conf import settings
from django.db.models import Q
from django.utils import formats, timezone, translation

from conversations import calendars, selectors
from conversations.enqueue import enqueue_send
from conversations.models import (
    AgentProfile,
    AutoReply,
    BusinessProfile,
    Contact,
    Conversation,
    Message,
    Team,
)
from conversations.serializers import iso
from conversations.services.common import message_preview, publish_message

# The language a customer most likely reads, by their phone number's country
# (ISO 3166-1 alpha-2 -> language tag); everyone else: the inbox's own language.
COUNTRY_LANGUAGES = {
    **dict.fromkeys(["RU", "BY", "KZ", "KG"], "ru"),
    **dict.fromkeys(["UA"], "uk"),
    **dict.fromkeys(["IT", "SM", "VA"], "it"),
    **dict.fromkeys(["DK", "FO", "GL"], "da"),
    **dict.fromkeys(["DE", "AT", "LI"], "de"),
    **dict.fromkeys(["FR", "MC", "SN", "CI"], "fr"),
    **dict.fromkeys(
        [
            "ES",
            "MX",
            "AR",
            "CO",
            "CL",
            "PE",
            "VE",
            "EC",
            "GT",
            "CU",
            "BO",
            "DO",
            "HN",
            "PY",
            "SV",
            "NI",
            "CR",
            "PA",
            "UY",
        ],
        "es",
    ),
    **dict.fromkeys(["PT", "BR", "AO", "MZ"], "pt"),
    **dict.fromkeys(["NL", "SR"], "nl"),
    **dict.fromkeys(["PL"], "pl"),
    **dict.fromkeys(["TR"], "tr"),
    **dict.fromkeys(["IL"], "he"),
    **dict.fromkeys(["SA", "AE", "EG", "MA", "DZ", "IQ", "JO", "KW", "QA", "OM", "BH", "LB"], "ar"),
    **dict.fromkeys(["ID"], "id"),
    **dict.fromkeys(["IN", "PK"], "en"),
    **dict.fromkeys(["GB", "US", "CA", "AU", "NZ", "IE", "ZA", "NG", "KE", "SG", "PH"], "en"),
    **dict.fromkeys(["SE"], "sv"),
    **dict.fromkeys(["NO"], "nb"),
    **dict.fromkeys(["FI"], "fi"),
    **dict.fromkeys(["GR", "CY"], "el"),
    **dict.fromkeys(["CZ"], "cs"),
    **dict.fromkeys(["RO", "MD"], "ro"),
    **dict.fromkeys(["HU"], "hu"),
    **dict.fromkeys(["JP"], "ja"),
    **dict.fromkeys(["CN", "TW", "HK"], "zh-hans"),
    **dict.fromkeys(["KR"], "ko"),
    **dict.fromkeys(["VN"], "vi"),
    **dict.fromkeys(["TH"], "th"),
}

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def contact_language(contact: Contact) -> str:
    """The language the customer most likely reads ("" when their country is unknown)."""
    return COUNTRY_LANGUAGES.get(contact.country.upper(), "")


def auto_reply_send_if_due(
    *, conversation: Conversation, now: dt.datetime | None = None
) -> Message | None:
    """Answer a customer nobody can answer now, at most once per period.

    Outside the calendar of the chat's team (or of its number's team) the
    team's ``closed`` reply is sent, once per closed period; within it, when
    none of the team's operators (nor the chat's assignee) is online, its
    ``busy`` reply, once per waiting period (``waiting_since``). The reply is in
    the customer's language when the team has one (by their phone's country,
    then the inbox's language, then the reply for any language), with its
    placeholders filled. Only inside the customer's window.

    The reply is an outbound text with ``automatic`` set, queued for the same
    send job as operators' messages. It is never an operator's answer: the
    customer's waiting time, escalation and unread count stay as they are.

    Call inside a transaction holding the conversation's row lock (the period
    is checked and recorded under it). Publishes ``message.created``; None when
    nothing was due."""
    now = now or timezone.now()
    team = conversation.team if conversation.team_id else conversation.number.team
    if team is None or conversation.window_expires_at(now) is None:
        return None
    replies = selectors.team_auto_replies(team)
    if not replies:
        return None
    schedule = selectors.team_schedule(team)
    if not calendars.is_open(schedule, now):
        kind = AutoReply.Kind.CLOSED
        period = calendars.current_period(schedule, now).key
    elif not _someone_online_for(team, conversation, now):
        kind = AutoReply.Kind.BUSY
        period = f"{kind}:{iso(conversation.waiting_since) or '-'}"
    else:
        return None
    if conversation.auto_reply_period == period:
        return None
    language = contact_language(conversation.contact)
    reply = _auto_reply_choose(replies, kind=kind, languages=[language, settings.LANGUAGE_CODE, ""])
    if reply is None:
        return None
    text = auto_reply_render(
        reply.text,
        conversation=conversation,
        opens_at=calendars.next_opening(schedule, now),
        time_zone=str(schedule.time_zone) if schedule is not None else "",
        language=reply.language or language or settings.LANGUAGE_CODE,
        now=now,
    ).strip()[:4096]
    if not text:
        return None
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUT,
        type="text",
        text=text,
        content={"body": text},
        status=Message.Status.QUEUED,
        timestamp=now,
        sent_by=None,
        automatic=True,
    )
    conversation.auto_reply_period = period
    fields = ["auto_reply_period"]
    if conversation.last_message_at is None or now >= conversation.last_message_at:
        conversation.last_message_at = now
        conversation.last_message_text = message_preview(message)
        fields += ["last_message_at", "last_message_text"]
    conversation.save(update_fields=fields)
    publish_message(message, conversation, "message.created")
    enqueue_send(message.id)
    return message


def _auto_reply_choose(
    replies: list[AutoReply], *, kind: str, languages: list[str]
) -> AutoReply | None:
    """The reply of ``kind`` in the first of ``languages`` there is one for;
    matched on the primary language too (``pt`` finds ``pt-BR``)."""
    of_kind = [reply for reply in replies if reply.kind == kind]
    for language in languages:
        wanted = language.lower()
        exact = [reply for reply in of_kind if reply.language.lower() == wanted]
        if exact:
            return exact[0]
        primary = wanted.split("-")[0]
        if primary:
            for reply in of_kind:
                if reply.language.lower().split("-")[0] == primary:
                    return reply
    return None


def _someone_online_for(team: Team, conversation: Conversation, now: dt.datetime) -> bool:
    """Whether an operator of ``team``, or the chat's assignee, is online now
    (a fresh socket and their switch on "online"; capacity does not matter)."""
    people = Q(teams=team)
    if conversation.assignee_id is not None:
        people |= Q(pk=conversation.assignee_id)
    return (
        selectors.users_in_roles()
        .filter(people)
        .filter(selectors.fresh_connection(now))
        .exclude(agent__presence__in=[AgentProfile.Presence.AWAY, AgentProfile.Presence.OFFLINE])
        .exists()
    )


def auto_reply_render(
    text: str,
    *,
    conversation: Conversation,
    opens_at: dt.datetime | None,
    time_zone: str,
    language: str,
    now: dt.datetime | None = None,
) -> str:
    """Fill ``{{opens_at}}`` (when the team is back, in the calendar's time zone
    and ``language``, e.g. "Monday 09:00 (Europe/Rome)"), ``{{name}}`` (the
    customer), ``{{email}}``, ``{{website}}`` (the number's business profile)
    and ``{{phone}}`` (the number's own). Unknown placeholders stay."""
    contact = conversation.contact
    number = conversation.number
    profile = BusinessProfile.objects.filter(number=number).first()
    websites = [site for site in (profile.websites if profile else None) or [] if site]
    values = {
        "opens_at": _opening_text(opens_at, time_zone, language, now or timezone.now()),
        "name": contact.profile_name.strip() or contact.phone or contact.wa_id,
        "email": profile.email if profile else "",
        "website": str(websites[0]) if websites else "",
        "phone": _display_phone(number.display_phone_number),
    }

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _PLACEHOLDER.sub(fill, text)


def _opening_text(
    opens_at: dt.datetime | None, time_zone: str, language: str, now: dt.datetime
) -> str:
    if opens_at is None:
        return ""
    local = timezone.localtime(opens_at, zoneinfo.ZoneInfo(time_zone or "UTC"))
    # Within a week the weekday says it; further away the date does too.
    pattern = "l H:i" if opens_at - now < dt.timedelta(days=6) else "l j E H:i"
    if not translation.check_for_language(language):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        when = formats.date_format(local, pattern)
    return f"{when} ({time_zone})" if time_zone else when


def _display_phone(display_phone_number: str) -> str:
    digits = re.sub(r"\D", "", display_phone_number)
    if not digits:
        return display_phone_number
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return "+" + digits
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
