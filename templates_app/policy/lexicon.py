"""The shape of a language's rules: cues (a phrase that signals a concept) with the
context that takes the signal away, and the words that negate.

A bare keyword misjudges both ways: "discount" flags "your order was not discounted twice",
"rate" flags an exchange rate, "forward" flags "we look forward to seeing you". So a cue
is a word-boundary regex over stems, and may ask for a companion phrase nearby (a rating
is an app-store rating only near "App Store" or "the app"), refuse a context just before
or after it ("exchange rate", "discount … was applied"), and be cancelled by a negation in
the words before it ("not discounted", "без скидки").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# What the language modules write for "a variable here" in their patterns.
VAR = r"\{\{[^{}]*\}\}"

# The concepts a lexicon gives cues for.
PROMOTIONAL = "promotional_content"
APP_STORE_RATING = "app_store_rating"
FORWARD_REQUEST = "forward_request"
MARKETING_SURVEY = "marketing_survey"
DEBT_COLLECTION = "debt_collection"
# A customer who already knows the business ("your order", "as a member", "we miss you").
RELATIONSHIP = "relationship"
# Marketing wording short of an offer ("shop now", "our new collection", "we miss you"):
# enough for the platform to move a utility template to marketing.
MARKETING_TONE = "marketing_tone"

_FLAGS = re.IGNORECASE | re.UNICODE


@dataclass(frozen=True)
class Cue:
    """One phrase that signals a concept, and the context that cancels it.

    ``near``: must also occur within ``window`` words either side. ``not_before``: when it
    matches the words of the same sentence just before (write it anchored with ``$``),
    the phrase is innocent. ``not_after``: the same for the words just after (anchor with
    ``^``). ``negatable``: a negation in the three words before cancels it (threats stay
    threats when negated: "we do not want to take legal action" is still one).
    """

    pattern: re.Pattern[str]
    near: re.Pattern[str] | None = None
    not_before: re.Pattern[str] | None = None
    not_after: re.Pattern[str] | None = None
    window: int = 10
    negatable: bool = True


def cue(
    pattern: str,
    *,
    near: str | None = None,
    not_before: str | None = None,
    not_after: str | None = None,
    window: int = 10,
    negatable: bool = True,
) -> Cue:
    """A ``Cue`` from pattern strings (matched case-insensitively on the text)."""
    return Cue(
        pattern=re.compile(pattern, _FLAGS),
        near=re.compile(near, _FLAGS) if near else None,
        not_before=re.compile(not_before, _FLAGS) if not_before else None,
        not_after=re.compile(not_after, _FLAGS) if not_after else None,
        window=window,
        negatable=negatable,
    )


def cues(*patterns: str, **options: Any) -> tuple[Cue, ...]:
    """Several cues sharing the same options."""
    return tuple(cue(p, **options) for p in patterns)


@dataclass(frozen=True)
class Lexicon:
    """One language's rules: its negations (and the phrases that only look negated, like
    "don't miss", which urge rather than deny) and its cues by concept."""

    language: str
    negation: re.Pattern[str]
    cues: Mapping[str, tuple[Cue, ...]]
    negation_exempt: re.Pattern[str] | None = None
    acronyms: frozenset[str] = field(default_factory=frozenset)


def lexicon(
    language: str,
    *,
    negation: str,
    negation_exempt: str | None = None,
    acronyms: tuple[str, ...] = (),
    **concepts: tuple[Cue, ...],
) -> Lexicon:
    return Lexicon(
        language=language,
        negation=re.compile(negation, _FLAGS),
        negation_exempt=re.compile(negation_exempt, _FLAGS) if negation_exempt else None,
        cues=concepts,
        acronyms=frozenset(acronyms),
    )
