# ruff: noqa: RUF001 (Russian words are Cyrillic on purpose)
"""A customer's own words on consent: a whole short STOP in the languages the
inbox serves, the opt-out button of a marketing template, "stop <category>", and
the prefilled message of a category's opt-in link; each recorded in the ledger,
an opt-out confirmed by an automatic message in the customer's language."""

from __future__ import annotations

import re
import unicodedata

from django.utils import timezone

from conversations.enqueue import enqueue_send
from conversations.models import (
    SERVICE_WINDOW,
    ConsentCategory,
    ConsentSource,
    ConsentState,
    Conversation,
    Message,
    SendPath,
)
from conversations.services.auto_replies import contact_language
from conversations.services.common import message_preview, publish_message
from conversations.services.consent import consent_opt_out_marketing, consent_record

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
            _confirm(conversation, message, OPT_OUT_CONFIRMATION, languages, {})
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
                        message,
                        CATEGORY_OPT_OUT_CONFIRMATION,
                        languages,
                        {"name": category.name},
                    )
                    return "opted_out_category"
    return ""


def _confirm(
    conversation: Conversation,
    said: Message,
    texts: dict[str, str],
    languages: list[str],
    values: dict[str, str],
) -> Message | None:
    """The automatic confirmation, inside the window the customer's message opened,
    in the language of their words (their country's when the words are shared).
    None when that window has closed (a STOP delivered late): WhatsApp would refuse
    it (131047); the opt-out itself stands."""
    now = timezone.now()
    if said.timestamp + SERVICE_WINDOW <= now:
        return None
    preferred = contact_language(conversation.contact)
    language = preferred if preferred in languages else languages[0]
    text = texts.get(language, texts["en"]).format(**values)
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
