"""Reads a template as a WhatsApp reviewer would, in the template's own language, and
says what the reviewer would object to.

What the platform refuses in every category: asking people to rate the app in an app
store, to forward the message to others or to groups, surveys whose aim is marketing, and
debt collection by threat or demand (Meta's review page: "threatening a customer with
legal action or threatening to publicly shame them"). What it refuses outside MARKETING:
promotional content (discounts, sales, coupons, free gifts, limited-time deals). What
costs the business without a refusal: a utility template worded as marketing, which the
platform moves to MARKETING (priced several times higher in most countries), a marketing
message that does not show the customer already knows the business, too many emojis,
text in capitals.

The rules were built from, and are measured against, a corpus of template texts (published
ones where found, most written after real ones)
in ``templates_app/tests/corpus/`` (``tests/test_policy.py`` measures them; ``pytest -s``
prints the table).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from templates_app import components as c
from templates_app.findings import Finding
from templates_app.policy import da, de, en, es, it, pt, ru
from templates_app.policy.lexicon import (
    APP_STORE_RATING,
    DEBT_COLLECTION,
    FORWARD_REQUEST,
    MARKETING_SURVEY,
    MARKETING_TONE,
    PROMOTIONAL,
    RELATIONSHIP,
    Cue,
    Lexicon,
)

LEXICONS: dict[str, Lexicon] = {
    lex.language: lex
    for lex in (en.LEXICON, ru.LEXICON, it.LEXICON, da.LEXICON, es.LEXICON, pt.LEXICON, de.LEXICON)
}

# More than this many emojis in the whole template reads as spam to reviewers and
# customers alike (the platform's own hard limit is ten in the body: see ``limits``).
EMOJIS_MAX = 5
# Words in capitals that shout: at least three, or two making a quarter of the text.
CAPS_WORDS_MIN = 3
_NEGATION_WORDS = 3
_TOKEN = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?\n]")
_CAPS_WORD = re.compile(r"\b[^\W\d_]{3,}\b")
# Abbreviations written in capitals everywhere; they do not shout.
_ACRONYMS = frozenset(
    {
        "OTP", "PIN", "SMS", "PDF", "URL", "VAT", "FAQ", "USD", "EUR", "GBP", "DKK", "RUB",
        "CHF", "SEK", "NOK", "ATM", "API", "DHL", "UPS", "GLS", "TNT", "FEDEX", "ETA", "IBAN",
        "CVV", "NFC", "GPS", "APP", "WIFI", "COVID", "HTTPS", "WWW", "IKEA", "BOGO",
    }
)  # fmt: skip


def language_of(code: Any) -> str:
    """The language of a template language code: "pt_BR" -> "pt", "en_US" -> "en"."""
    return code.split("_")[0].lower() if isinstance(code, str) else ""


def check_policy(
    *,
    language: Any,
    category: Any,
    components: Any,
    prices: dict[str, dict[str, Decimal]] | None = None,
) -> list[Finding]:
    """What a reviewer would object to, as findings. Languages without a lexicon get only
    the checks that need none (emojis, capitals)."""
    cat = c.upper(category)
    parts = c.split(components)
    texts = c.texts(parts)
    found: list[Finding] = []
    lexicon = LEXICONS.get(language_of(language))
    if lexicon is not None:
        found += _meaning(lexicon, cat, texts, prices)
    found += _emojis(texts)
    found += _capitals(texts, lexicon)
    return found


def hits(lexicon: Lexicon, concept: str, texts: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(field, phrase) for every cue of ``concept`` that holds in its context."""
    found: list[tuple[str, str]] = []
    for field, text in texts:
        lowered = text.lower()
        # Quote what the admin wrote; lower() keeps positions for every script we read.
        source = text if len(lowered) == len(text) else lowered
        for one in lexicon.cues.get(concept, ()):
            for match in one.pattern.finditer(lowered):
                if _holds(lexicon, one, lowered, match):
                    found.append((field, source[match.start() : match.end()].strip()))
    return found


def _holds(lexicon: Lexicon, one: Cue, text: str, match: re.Match[str]) -> bool:
    head = text[: match.start()]
    # The context before stops at the start of the sentence: a "not" in the sentence
    # before says nothing about this one.
    ends = list(_SENTENCE_END.finditer(head))
    sentence_head = head[ends[-1].end() :] if ends else head
    before_words = _TOKEN.findall(sentence_head)
    after_words = _TOKEN.findall(text[match.end() :])
    before = " ".join(before_words[-one.window :])
    after = " ".join(after_words[: one.window])
    if one.negatable:
        negation_zone = " ".join(before_words[-_NEGATION_WORDS:])
        if lexicon.negation.search(negation_zone) and not (
            lexicon.negation_exempt and lexicon.negation_exempt.search(negation_zone + " ")
        ):
            return False
    if one.not_before and one.not_before.search(before):
        return False
    if one.not_after and one.not_after.search(after):
        return False
    if one.near is not None:
        around = " ".join(
            [*_TOKEN.findall(head)[-one.window :], match.group(0), *after_words[: one.window]]
        )
        if not one.near.search(around):
            return False
    return True


def _quote(found: list[tuple[str, str]]) -> str:
    """Up to three of the phrases found, each in the interface language's quotes."""
    phrases = list(dict.fromkeys(phrase for _field, phrase in found))
    return ", ".join(_("“%(phrase)s”") % {"phrase": phrase} for phrase in phrases[:3])


def _meaning(
    lexicon: Lexicon,
    cat: str | None,
    texts: list[tuple[str, str]],
    prices: dict[str, dict[str, Decimal]] | None,
) -> list[Finding]:
    found: list[Finding] = []
    everywhere = (
        (
            APP_STORE_RATING,
            _(
                "WhatsApp does not allow asking people to rate or review the app in an app "
                "store (%(quote)s)."
            ),
        ),
        (
            FORWARD_REQUEST,
            _(
                "WhatsApp does not allow asking people to forward the message to others or to "
                "groups (%(quote)s)."
            ),
        ),
        (
            MARKETING_SURVEY,
            _(
                "WhatsApp does not allow surveys that serve marketing (prizes, offers, "
                "product preferences: %(quote)s); a survey about a service the customer "
                "received is fine."
            ),
        ),
        (
            DEBT_COLLECTION,
            _(
                "WhatsApp rejects debt collection by demand or threat (%(quote)s): remind "
                "of the amount and the date, without legal threats or telling others."
            ),
        ),
    )
    for concept, message in everywhere:
        matched = hits(lexicon, concept, texts)
        if matched:
            found.append(
                Finding(concept, "error", matched[0][0], message % {"quote": _quote(matched)})
            )
    promotional = hits(lexicon, PROMOTIONAL, texts)
    if promotional and cat in ("UTILITY", "AUTHENTICATION"):
        found.append(
            Finding(
                PROMOTIONAL,
                "error",
                promotional[0][0],
                _(
                    "%(category)s templates cannot promote (%(quote)s): discounts, sales, "
                    "coupons, gifts and limited-time deals belong in MARKETING templates."
                )
                % {"category": cat, "quote": _quote(promotional)},
            )
        )
    if cat == "UTILITY":
        tone = promotional + hits(lexicon, MARKETING_TONE, texts)
        if tone:
            found.append(_recategorized(_quote(tone), prices))
    if cat == "MARKETING" and not hits(lexicon, RELATIONSHIP, texts):
        found.append(
            Finding(
                "no_relationship_context",
                "warning",
                "body.text",
                _(
                    "Nothing in the text shows that the customer already knows the business "
                    "(their order, account, membership, last visit). Reviewers and customers "
                    "read messages without it as unsolicited."
                ),
            )
        )
    return found


def _recategorized(quote: str, prices: dict[str, dict[str, Decimal]] | None) -> Finding:
    message = _(
        "WhatsApp will likely move this template to MARKETING: its wording reads as "
        "marketing (%(quote)s). In most countries a marketing message costs several "
        "times as much as a utility one."
    ) % {"quote": quote}
    marketing = (prices or {}).get("MARKETING", {})
    utility = (prices or {}).get("UTILITY", {})
    countries = sorted(set(marketing) & set(utility))
    if countries:
        quoted = "; ".join(
            _("%(country)s: %(marketing)s instead of %(utility)s")
            % {"country": country, "marketing": marketing[country], "utility": utility[country]}
            for country in countries
        )
        message += " " + _("Price per message: %(prices)s.") % {"prices": quoted}
    return Finding("likely_recategorized", "warning", "category", message)


def _emojis(texts: list[tuple[str, str]]) -> list[Finding]:
    counts = [(field, len(c.emojis(text))) for field, text in texts]
    total = sum(count for _field, count in counts)
    if total <= EMOJIS_MAX:
        return []
    field = max(counts, key=lambda fc: fc[1])[0]
    return [
        Finding(
            "too_many_emojis",
            "warning",
            field,
            _("%(count)d emojis: more than %(limit)d reads as spam to reviewers and customers.")
            % {"count": total, "limit": EMOJIS_MAX},
        )
    ]


def _capitals(texts: list[tuple[str, str]], lexicon: Lexicon | None) -> list[Finding]:
    acronyms = _ACRONYMS | (lexicon.acronyms if lexicon else frozenset())
    for field, text in texts:
        plain = c.without_variables(text)
        letters = _CAPS_WORD.findall(plain)
        shouting = [w for w in letters if w.isupper() and w not in acronyms]
        if len(shouting) >= CAPS_WORDS_MIN or (
            len(shouting) >= 2 and 4 * len(shouting) >= len(c.words(text))
        ):
            return [
                Finding(
                    "all_caps",
                    "warning",
                    field,
                    _("Text in capitals shouts (“%(words)s”); write it in ordinary case.")
                    % {"words": " ".join(shouting[:4])},
                )
            ]
    return []
