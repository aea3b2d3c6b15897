"""The policy reading, measured on the corpus of template texts in ``corpus/`` and held to
the behaviours that matter around it (category, prices, other fields, other languages).

``pytest -s`` prints, per code and language, what the rules found against what a reviewer
would: true and false positives and negatives, precision and recall.

The figures asserted below are on the whole corpus, which the rules were built from, so
they say that the rules hold what they were shown, not how they do on new texts. For that,
texts marked ``held_out`` were written after the rules and run once before any change:

- Round 1 (16 per required language, 8 clean): no false error. Missed promotion worded
  in ways no cue covered (referral credit, "members save 15%", "sat 30% ned"):
  promotional_content recall 2/4 in en, ru, it, 1/4 in da; likely_recategorized 2/3 (1/3
  in da); debt_collection 0/1 in en ("debt recovery agency"); one false
  no_relationship_context in ru, it, da ("your favourite coffee"). App-store rating,
  forward requests, marketing surveys: all found.
- Round 2 (8 per language, after round 1's fixes): a false promotional_content error in
  en ("up to {{3}} days" read as "up to 50%"); promotion missed in every language ("only
  for you", "for the price of one": 0/1); a debt threat missed in every language (agents
  visiting the workplace: 0/1); one false no_relationship_context in it and da ("ti è
  piaciuto", "da du var med"). Rating, forwarding: all found.

Every miss and false finding of both rounds was then fixed and the texts kept in the
corpus. Expect paraphrases of promotion and threats to be the weak spot on new texts.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from templates_app.findings import Finding
from templates_app.policy import check_policy
from templates_app.policy.engine import LEXICONS, language_of

CORPUS_DIR = Path(__file__).parent / "corpus"
REQUIRED_LANGUAGES = ("en", "ru", "it", "da")
OTHER_LANGUAGES = ("es", "pt", "de")
CODES = (
    "promotional_content",
    "app_store_rating",
    "forward_request",
    "marketing_survey",
    "debt_collection",
    "no_relationship_context",
    "too_many_emojis",
    "all_caps",
    "likely_recategorized",
)


def load_corpus() -> list[dict[str, Any]]:
    texts = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for index, entry in enumerate(data["texts"]):
            texts.append({**entry, "language": data["language"], "id": f"{path.stem}-{index}"})
    return texts


CORPUS = load_corpus()


def run(entry: dict[str, Any]) -> set[str]:
    found = check_policy(
        language=entry["language"],
        category=entry["category"],
        components=[{"type": "BODY", "text": entry["text"]}],
    )
    return {f.code for f in found}


def body_only(text: str, category: str, language: str = "en_US") -> list[Finding]:
    return check_policy(
        language=language, category=category, components=[{"type": "BODY", "text": text}]
    )


# --- the corpus --------------------------------------------------------------------------


def test_the_corpus_is_large_enough_in_every_required_language() -> None:
    for language in REQUIRED_LANGUAGES:
        entries = [e for e in CORPUS if language_of(e["language"]) == language]
        clean = [e for e in entries if not e["expect"]]
        failing = [e for e in entries if e["expect"]]
        assert len(clean) >= 15, language
        assert len(failing) >= 10, language
        # Every category, and a must-fail text for every code.
        assert {e["category"] for e in entries} == {"MARKETING", "UTILITY", "AUTHENTICATION"}
        expected = Counter(code for e in entries for code in e["expect"])
        assert set(CODES) <= set(expected), (language, set(CODES) - set(expected))
    for language in OTHER_LANGUAGES:
        entries = [e for e in CORPUS if language_of(e["language"]) == language]
        assert len([e for e in entries if not e["expect"]]) >= 5, language
        assert len([e for e in entries if e["expect"]]) >= 5, language


@pytest.mark.parametrize(
    "entry",
    CORPUS,
    ids=[e["id"] for e in CORPUS],
)
def test_each_corpus_text_gets_exactly_its_expected_findings(entry: dict[str, Any]) -> None:
    got = run(entry) & set(CODES)
    assert got == set(entry["expect"]), entry["text"]


def confusion() -> dict[tuple[str, str], Counter[str]]:
    """(code, language) -> counts of tp, fp, fn, tn over the corpus."""
    table: dict[tuple[str, str], Counter[str]] = {}
    for entry in CORPUS:
        got = run(entry)
        language = language_of(entry["language"])
        for code in CODES:
            expected = code in entry["expect"]
            found = code in got
            kind = {(True, True): "tp", (False, True): "fp", (True, False): "fn"}.get(
                (expected, found), "tn"
            )
            table.setdefault((code, language), Counter())[kind] += 1
    return table


def _rate(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:6.0%}" if denominator else "     -"


def test_precision_and_recall_per_code_and_language() -> None:
    """No false positive anywhere; every must-fail text found (recall 100%, at least the
    90% the rules are held to). The table is the report."""
    table = confusion()
    languages = REQUIRED_LANGUAGES + OTHER_LANGUAGES
    lines = [f"{'code':<26}{'lang':<6}{'tp':>4}{'fp':>4}{'fn':>4}{'tn':>4}  precision recall"]
    for code in CODES:
        for language in languages:
            counts = table[(code, language)]
            tp, fp, fn, tn = (counts[k] for k in ("tp", "fp", "fn", "tn"))
            lines.append(
                f"{code:<26}{language:<6}{tp:>4}{fp:>4}{fn:>4}{tn:>4}  "
                f"{_rate(tp, tp + fp):>9} {_rate(tp, tp + fn):>6}"
            )
    print("\n" + "\n".join(lines))
    for (code, language), counts in table.items():
        assert counts["fp"] == 0, (code, language)
        if counts["tp"] + counts["fn"]:
            assert counts["tp"] / (counts["tp"] + counts["fn"]) >= 0.9, (code, language)


def test_clean_texts_get_no_finding_at_all() -> None:
    for entry in (e for e in CORPUS if not e["expect"]):
        assert run(entry) == set(), entry["text"]


# --- behaviours around the rules ---------------------------------------------------------

SHIPPED_WITH_COUPON = "Hi {{1}}, your order {{2}} has shipped! Use code {{3}} to get 20% off."


def test_promotion_is_an_error_in_utility_and_authentication_and_fine_in_marketing() -> None:
    for category in ("UTILITY", "AUTHENTICATION"):
        promotional = [f for f in body_only(SHIPPED_WITH_COUPON, category)]
        [finding] = [f for f in promotional if f.code == "promotional_content"]
        assert (finding.severity, finding.field) == ("error", "body.text")
        assert "“20% off”" in finding.message
    marketing = {f.code for f in body_only(SHIPPED_WITH_COUPON, "MARKETING")}
    assert "promotional_content" not in marketing


@pytest.mark.parametrize("category", ["MARKETING", "UTILITY", "AUTHENTICATION"])
@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("app_store_rating", "Please rate our app with 5 stars on Google Play, {{1}}. Thanks!"),
        ("forward_request", "Hi {{1}}, forward this message to all your friends today."),
        ("marketing_survey", "Hi {{1}}, answer our survey and win a prize worth {{2}} now."),
        ("debt_collection", "Hi {{1}}, pay {{2}} today or we will take legal action against you."),
    ],
)
def test_what_is_refused_in_every_category(category: str, code: str, text: str) -> None:
    found = [f for f in body_only(text, category) if f.code == code]
    assert [(f.severity, f.field) for f in found] == [("error", "body.text")]


def test_the_words_of_other_fields_are_read_too() -> None:
    components = [
        {"type": "HEADER", "format": "TEXT", "text": "Our Fall Sale is on!"},
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped and arrives soon."},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Rate our app"}]},
    ]
    found = check_policy(language="en_US", category="UTILITY", components=components)
    by_code = {f.code: f.field for f in found}
    assert by_code["promotional_content"] == "header.text"
    assert by_code["app_store_rating"] == "buttons[0].text"


def test_recategorization_warns_of_the_price_and_quotes_given_prices() -> None:
    text = "Hi {{1}}, your order {{2}} is ready. Check out our new collection in store!"
    [plain] = [f for f in body_only(text, "UTILITY") if f.code == "likely_recategorized"]
    assert (plain.severity, plain.field) == ("warning", "category")
    assert "several times as much" in plain.message
    assert "“Check out our”" in plain.message
    prices = {
        "MARKETING": {"IT": Decimal("0.0691"), "DE": Decimal("0.1365"), "US": Decimal("0.025")},
        "UTILITY": {"IT": Decimal("0.0300"), "DE": Decimal("0.0550")},
    }
    found = check_policy(
        language="en_US",
        category="UTILITY",
        components=[{"type": "BODY", "text": text}],
        prices=prices,
    )
    [priced] = [f for f in found if f.code == "likely_recategorized"]
    assert priced.message.endswith(
        "Price per message: DE: 0.1365 instead of 0.0550; IT: 0.0691 instead of 0.0300."
    )


def test_recategorization_is_only_for_utility() -> None:
    text = "Hi {{1}}, your order {{2}} is ready. Check out our new collection in store!"
    for category in ("MARKETING", "AUTHENTICATION"):
        assert "likely_recategorized" not in {f.code for f in body_only(text, category)}


def test_relationship_context_is_asked_of_marketing_only() -> None:
    cold = "Summer is here! Discover the new garden range in our stores from {{1}} onwards."
    assert "no_relationship_context" in {f.code for f in body_only(cold, "MARKETING")}
    assert "no_relationship_context" not in {f.code for f in body_only(cold, "UTILITY")}


def test_five_emojis_pass_and_six_warn() -> None:
    five = "Hi {{1}} 🎉 your order 📦 has shipped 🚚 and arrives 🏠 tomorrow ✨ enjoy."
    assert body_only(five, "UTILITY") == []
    [finding] = body_only(five.replace("enjoy", "enjoy 🙌"), "UTILITY")
    assert (finding.code, finding.severity) == ("too_many_emojis", "warning")


def test_capitals_of_acronyms_and_brand_names_do_not_shout() -> None:
    text = "Hi {{1}}, your PIN and the PDF of order {{2}} from IKEA are in the DHL app."
    assert body_only(text, "UTILITY") == []
    [finding] = body_only("Hi {{1}}, YOUR ORDER HAS SHIPPED and arrives soon.", "UTILITY")
    assert (finding.code, finding.field) == ("all_caps", "body.text")
    assert "YOUR ORDER HAS SHIPPED" in finding.message


def test_regional_codes_read_in_their_language() -> None:
    assert language_of("pt_BR") == "pt"
    assert language_of("en_GB") == "en"
    found = body_only("Seu pedido {{1}} foi enviado! Use o cupom {{2}} hoje.", "UTILITY", "pt_PT")
    assert "promotional_content" in {f.code for f in found}


def test_a_language_without_a_lexicon_gets_only_emojis_and_capitals() -> None:
    assert "fr" not in LEXICONS
    assert body_only("Profitez de 50% de remise sur tout, {{1}} !", "UTILITY", "fr") == []
    shouting = body_only("GRANDE VENTE AUJOURD'HUI {{1}} dans nos magasins.", "UTILITY", "fr")
    assert [f.code for f in shouting] == ["all_caps"]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en_US", "Your order was not discounted twice; the total of {{1}} is right."),
        ("en_US", "The exchange rate for your transfer {{1}} was applied today."),
        ("en_US", "Your offer ID is {{1}}; quote it when you call us about the loan."),
        ("en_US", "We look forward to welcoming you on {{1}} at our clinic."),
        ("ru", "Курс обмена по переводу {{1}} составил {{2}} рублей за доллар."),  # noqa: RUF001
        ("en_US", "Your refund {{1}} is on its way; it may take up to {{2}} days to arrive."),
        ("ru", "Оплатите счёт {{1}} до {{2}} на сайте или в приложении банка."),
        ("it", "La sua offerta n. {{1}} per i lavori richiesti è in allegato."),
        ("da", "Dit tilbudsnummer er {{1}}, og tilbuddet på tagarbejdet er vedhæftet."),
    ],
)
def test_innocent_look_alikes_are_not_flagged(language: str, text: str) -> None:
    assert body_only(text, "UTILITY", language) == []
