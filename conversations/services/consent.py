# ruff: noqa: RUF001 (Russian words are Cyrillic on purpose)
"""Consent: the ledger of what each customer agreed to (per business account and
consent category), the platform's own stop and resume of marketing, a customer's
STOP or opt-in message, the admins' compliance policy, contacts created before
they write, and the compliance log of every message that was not sent or was
deferred.

Every change of consent is a new ``ConsentChange`` (never edited) and the
contact's current ``Consent`` row for the category, written in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from typing import Any

import phonenumbers
from django.db import transaction
from django.utils import timezone

from conversations import realtime
from conversations.enqueue import enqueue_send
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
    SendPath,
)
from conversations.services.common import message_preview, publish_message
from conversations.services.errors import InvalidConsent, UnknownCategory
from conversations.services.send_rules import phone_country, phone_time_zone
from whatsapp.events import AccountEvent

logger = logging.getLogger(__name__)

PLATFORM_MARKETING_LIMIT = "platform_marketing_limit"
PLATFORM_RETRY_AFTER = dt.timedelta(hours=24)
# WhatsApp's codes: the customer stopped marketing; the platform's per-user marketing limit.
MARKETING_STOPPED_CODE = 131050
MARKETING_LIMIT_CODE = 131049


# --- Contacts ----------------------------------------------------------------------


def wa_id_normalize(value: str) -> str:
    """The digits of a phone number in international form; "" when it is not one."""
    digits = re.sub(r"[^\d]", "", value or "")
    if not digits or len(digits) > 15:
        return ""
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
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
            wa_id=digits,
            defaults={
                "profile_name": name.strip()[:256],
                "phone": "+" + digits,
                "country": phone_country(digits),
                "time_zone": phone_time_zone(digits),
            },
        )
    return contact, created


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


# --- The customer's own words ------------------------------------------------------

# A whole short message that means "stop sending me this", per language the inbox serves.
STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        {
            "stop",
            "stop all",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "opt out",
            "optout",
            "stop promotions",
            "stop messages",
        }
    ),
    "ru": frozenset({"стоп", "отписаться", "отписка", "остановить", "отменить подписку"}),
    "it": frozenset({"stop", "basta", "disiscriviti", "cancellami", "annulla iscrizione"}),
    "da": frozenset({"stop", "stop alle", "afmeld", "frameld", "afmeld mig"}),
    "es": frozenset({"stop", "baja", "parar", "darme de baja", "cancelar suscripcion"}),
    "pt": frozenset({"parar", "pare", "sair", "cancelar", "descadastrar"}),
    "de": frozenset({"stopp", "stop", "abmelden", "abbestellen"}),
}
_ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())
# Single words that may start a per-category opt-out ("stop offers").
_STOP_PREFIXES = frozenset(w for w in _ALL_STOP_WORDS if " " not in w)

OPT_OUT_CONFIRMATION = {
    "en": "You will no longer receive marketing messages from us. To hear from us again, "
    "send us the opt-in message from our website.",
    "ru": "Вы больше не будете получать от нас рекламные сообщения. Чтобы снова получать их, "
    "отправьте нам сообщение подписки с нашего сайта.",
    "it": "Non riceverai più messaggi promozionali da noi. Per riceverli di nuovo, inviaci il "
    "messaggio di iscrizione dal nostro sito.",
    "da": "Du modtager ikke længere markedsføringsbeskeder fra os. Send tilmeldingsbeskeden "
    "fra vores hjemmeside for at høre fra os igen.",
    "es": "Ya no recibirás mensajes promocionales nuestros. Para volver a recibirlos, envíanos "
    "el mensaje de suscripción de nuestra web.",
    "pt": "Você não receberá mais mensagens promocionais nossas. Para voltar a recebê-las, "
    "envie-nos a mensagem de inscrição do nosso site.",
    "de": "Sie erhalten keine Werbenachrichten mehr von uns. Um wieder von uns zu hören, "
    "senden Sie uns die Anmeldenachricht von unserer Website.",
}
CATEGORY_OPT_OUT_CONFIRMATION = {
    "en": "You will no longer receive {name} from us.",
    "ru": "Вы больше не будете получать от нас: {name}.",
    "it": "Non riceverai più da noi: {name}.",
    "da": "Du modtager ikke længere {name} fra os.",
    "es": "Ya no recibirás de nosotros: {name}.",
    "pt": "Você não receberá mais de nós: {name}.",
    "de": "Sie erhalten von uns keine {name} mehr.",
}
_SHORT = 40


def normalize_words(text: str) -> str:
    """Lower case, accents and punctuation gone, one space between words."""
    text = unicodedata.normalize("NFKD", (text or "").casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) or ch == "\u0306")
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[\W_]+", " ", text)
    return " ".join(text.split())


def stop_language(text: str) -> list[str] | None:
    """The languages in which the whole message means STOP; None when it does not."""
    if len(text or "") > _SHORT:
        return None
    words = normalize_words(text)
    languages = [language for language, stops in STOP_WORDS.items() if words in stops]
    return languages or None


def may_be_consent_message(msg_type: str, text: str, opt_in_texts: frozenset[str]) -> bool:
    """Whether a customer's message may change their consent (the webhook's fast
    path leaves such messages to the services): a quick-reply button, a short
    message starting with a stop word, or a category's opt-in text."""
    if msg_type in ("button", "interactive"):
        return True
    if msg_type != "text":
        return False
    words = normalize_words(text)
    if words in opt_in_texts:
        return True
    return len(text) <= _SHORT and bool(words) and words.split()[0] in _STOP_PREFIXES


def opt_in_texts() -> frozenset[str]:
    """Every category's prefilled opt-in message, normalised."""
    return frozenset(
        normalize_words(text)
        for text in ConsentCategory.objects.exclude(opt_in_text="").values_list(
            "opt_in_text", flat=True
        )
    )


def _button_words(message: Message) -> list[str]:
    content = message.content or {}
    if message.type == "button":
        return [str(content.get("payload") or ""), str(content.get("text") or "")]
    if message.type == "interactive":
        reply = content.get("button_reply") or {}
        if isinstance(reply, dict):
            return [str(reply.get("id") or ""), str(reply.get("title") or "")]
    return []


def consent_apply_inbound(*, conversation: Conversation, message: Message) -> str:
    """Act on a customer's message that speaks of their consent: a whole short STOP
    (in any language the inbox serves) or the opt-out button of a marketing
    template opts them out of every category covering MARKETING (source
    ``whatsapp_message``) and answers with a confirmation in their language;
    "stop <category>" opts them out of that category only; the prefilled text of
    a category's opt-in link opts them in to it (``whatsapp_link``).

    Returns what happened ("opted_out", "opted_out_category", "opted_in") or "".
    Recorded at the moment it is applied (the platform's timestamps are whole
    seconds, and the customer's latest word must win). Caller's transaction,
    conversation row locked."""
    waba_id = conversation.number.waba_id
    contact = conversation.contact
    candidates = _button_words(message) if message.type in ("button", "interactive") else []
    if message.type == "text":
        candidates = [message.text]
    if not candidates:
        return ""
    for candidate in candidates:
        languages = stop_language(candidate)
        if languages is not None:
            consent_opt_out_marketing(
                contact=contact,
                waba_id=waba_id,
                source=ConsentSource.WHATSAPP_MESSAGE,
                wording=candidate,
            )
            _confirm(conversation, OPT_OUT_CONFIRMATION, languages, {})
            return "opted_out"
    if message.type != "text":
        return ""
    words = normalize_words(message.text)
    categories = list(ConsentCategory.objects.filter(waba_id=waba_id))
    for category in categories:
        if category.opt_in_text and words == normalize_words(category.opt_in_text):
            consent_record(
                contact=contact,
                category=category,
                state=ConsentState.OPTED_IN,
                source=ConsentSource.WHATSAPP_LINK,
                wording=category.opt_in_text,
            )
            return "opted_in"
    if len(message.text) <= _SHORT and " " in words:
        first, rest = words.split(" ", 1)
        if first in _STOP_PREFIXES:
            for category in categories:
                if rest in (normalize_words(category.slug), normalize_words(category.name)):
                    consent_record(
                        contact=contact,
                        category=category,
                        state=ConsentState.OPTED_OUT,
                        source=ConsentSource.WHATSAPP_MESSAGE,
                        wording=message.text,
                    )
                    languages = [lang for lang, stops in STOP_WORDS.items() if first in stops]
                    _confirm(
                        conversation,
                        CATEGORY_OPT_OUT_CONFIRMATION,
                        languages,
                        {"name": category.name},
                    )
                    return "opted_out_category"
    return ""


def _confirm(
    conversation: Conversation,
    texts: dict[str, str],
    languages: list[str],
    values: dict[str, str],
) -> Message:
    """The automatic confirmation, inside the window the customer's message opened,
    in the language of their words (their country's when the words are shared)."""
    from conversations.services.auto_replies import contact_language

    preferred = contact_language(conversation.contact)
    language = preferred if preferred in languages else languages[0]
    text = texts.get(language, texts["en"]).format(**values)
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUT,
        type="text",
        text=text,
        content={"body": text, "path": SendPath.AUTOMATIC},
        status=Message.Status.QUEUED,
        timestamp=now,
        automatic=True,
    )
    if conversation.last_message_at is None or now >= conversation.last_message_at:
        conversation.last_message_at = now
        conversation.last_message_text = message_preview(message)
        conversation.save(update_fields=["last_message_at", "last_message_text"])
    publish_message(message, conversation, "message.created")
    enqueue_send(message.id)
    return message


# --- The platform's refusals -------------------------------------------------------


def platform_refusal_apply(message: Message, *, now: dt.datetime | None = None) -> None:
    """A marketing template WhatsApp failed for a consent reason (message row
    locked, status ``failed`` with the platform's code): 131050 records the customer's stop of
    marketing on the platform; 131049 (its per-user marketing limit) defers the
    message 24 hours, once, instead of failing it. Both go to the compliance log."""
    code = message.error_code
    if code not in (MARKETING_STOPPED_CODE, MARKETING_LIMIT_CODE):
        return
    if message.type != "template" or (message.content or {}).get("category") not in (
        None,
        "MARKETING",
    ):
        return  # only marketing templates meet these limits: kept as a plain failure
    now = now or timezone.now()
    conversation = message.conversation
    contact = conversation.contact
    template = str((message.content or {}).get("name") or "") if message.type == "template" else ""
    path = str((message.content or {}).get("path") or "") or (
        SendPath.AUTOMATIC if message.automatic else SendPath.COMPOSER
    )
    if code == MARKETING_STOPPED_CODE:
        platform_marketing_set(
            contact=contact,
            waba_id=conversation.number.waba_id,
            stopped=True,
            detail=message.error_title or "The send failed with 131050.",
            at=now,
        )
        compliance_log_record(
            contact=contact,
            path=path,
            reason="opted_out",
            template=template,
            detail="WhatsApp refused it (131050): the customer stopped marketing messages.",
            message=message,
            at=now,
        )
        return
    if message.deferred_reason:
        compliance_log_record(
            contact=contact,
            path=path,
            reason=PLATFORM_MARKETING_LIMIT,
            template=template,
            detail="WhatsApp held it back again (131049) after one deferral: failed.",
            message=message,
            at=now,
        )
        return
    message.status = Message.Status.DEFERRED
    message.deferred_reason = PLATFORM_MARKETING_LIMIT
    message.retry_at = now + PLATFORM_RETRY_AFTER
    message.save(update_fields=["status", "deferred_reason", "retry_at"])
    compliance_log_record(
        contact=contact,
        path=path,
        reason=PLATFORM_MARKETING_LIMIT,
        template=template,
        detail="WhatsApp held it back (131049, its per-user marketing limit): "
        "it goes again once, 24 hours later.",
        message=message,
        retry_at=message.retry_at,
        at=now,
    )


def sends_deferred_due(*, now: dt.datetime | None = None) -> int:
    """Queue again, once, the messages the platform deferred whose time has come.
    Sent again only if the customer still consents; otherwise failed, and logged."""
    from conversations.services.send_rules import send_verdict

    now = now or timezone.now()
    due = list(
        Message.objects.filter(status=Message.Status.DEFERRED, retry_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    queued = 0
    for pk in due:
        with transaction.atomic():
            message = (
                Message.objects.select_for_update(of=("self",))
                .select_related("conversation__contact", "conversation__number")
                .filter(pk=pk, status=Message.Status.DEFERRED)
                .first()
            )
            if message is None:
                continue
            category = (message.content or {}).get("category")
            refusal = None
            if message.type == "template" and category:
                refusal = send_verdict(
                    contact=message.conversation.contact,
                    waba_id=message.conversation.number.waba_id,
                    template_category=str(category),
                    path=SendPath.AUTOMATIC,
                    window_open=True,  # its time was chosen by the platform, not quiet hours
                    now=now,
                )
                if refusal is not None and refusal.code == "frequency_cap":
                    refusal = None  # it was counted when it was first sent
            if refusal is not None:
                message.status = Message.Status.FAILED
                message.error_title = refusal.detail[:255]
                message.status_at = now
                message.save(update_fields=["status", "error_title", "status_at"])
                compliance_log_record(
                    contact=message.conversation.contact,
                    path=SendPath.AUTOMATIC,
                    reason=refusal.code,
                    template=str((message.content or {}).get("name") or ""),
                    detail=refusal.detail,
                    message=message,
                    at=now,
                )
                publish_message(message, None, "message.updated")
                continue
            message.status = Message.Status.QUEUED
            message.wamid = None
            message.error_code = None
            message.error_title = message.error_details = ""
            message.status_at = now
            message.save(
                update_fields=[
                    "status",
                    "wamid",
                    "error_code",
                    "error_title",
                    "error_details",
                    "status_at",
                ]
            )
            publish_message(message, None, "message.updated")
            enqueue_send(message.id)
            queued += 1
    return queued


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
    return ComplianceLogEntry.objects.create(
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
