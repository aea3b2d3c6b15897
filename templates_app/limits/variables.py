"""The rules on variables: how they are written ({{1}} or {{first_name}}, never mixed),
numbered, given sample values, and placed in the body (not first or last, not side by
side, not too many for the words around them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from django.utils.translation import gettext as _

from templates_app import components as c
from templates_app.findings import Finding
from templates_app.limits.rules import EDGE_AFTER, EDGE_BEFORE, finding


def variables_of(text: str, fmt: str, where: str) -> tuple[list[str], list[Finding]]:
    """The distinct valid variables of ``text`` in order, and what is wrong with them."""
    field = f"{where}.text"
    found: list[Finding] = []
    names: list[str] = []
    kinds: set[str] = set()
    for match in c.variables(text):
        raw = match.group(1)
        if c.POSITIONAL_NAME.match(raw):
            kinds.add("POSITIONAL")
        elif c.NAMED_NAME.match(raw):
            kinds.add("NAMED")
        else:
            found.append(
                finding(
                    "variable_invalid",
                    field,
                    _(
                        "“%(variable)s” is not a variable: write {{1}}, {{2}}, … or, with named "
                        "parameters, lowercase letters, digits and underscores ({{first_name}})."
                    )
                    % {"variable": match.group(0)},
                )
            )
            continue
        if raw not in names:
            names.append(raw)
    stray = c.without_variables(text)
    if "{" in stray or "}" in stray:
        found.append(
            finding(
                "variable_braces",
                field,
                _(
                    "A brace is missing or left over: every variable is written with two "
                    "braces on each side, like {{1}}."
                ),
            )
        )
    if len(kinds) > 1:
        found.append(
            finding(
                "variables_mixed",
                field,
                _("Numbered ({{1}}) and named ({{first_name}}) variables cannot be mixed."),
            )
        )
    elif kinds and kinds != {fmt}:
        wrong = next(iter(kinds))
        found.append(
            finding(
                "variable_kind",
                field,
                _(
                    "This template's parameter format is %(format)s, but its variables are "
                    "%(kind)s; change one to match the other."
                )
                % {"format": fmt, "kind": wrong},
            )
        )
    positional = [n for n in names if c.POSITIONAL_NAME.match(n)]
    expected = [str(i) for i in range(1, len(positional) + 1)]
    if positional and positional != expected:
        found.append(
            finding(
                "variable_numbering",
                field,
                _(
                    "Number the variables {{1}}, {{2}}, {{3}}, … in the order they appear, "
                    "without gaps; this text has %(found)s."
                )
                % {"found": ", ".join("{{" + n + "}}" for n in positional)},
            )
        )
    return names, found


def examples(
    part: c.Part, names: list[str], fmt: str, where: str, positional_key: str, named_key: str
) -> list[Finding]:
    """Every variable needs a sample value (``missing_example``); samples for variables
    that are not there are refused too (``example_mismatch``)."""
    if not names:
        return []
    field = f"{where}.example"
    example = part.data.get("example")
    example = example if isinstance(example, Mapping) else {}
    given: dict[str, Any] = {}
    extra = 0
    if fmt == "NAMED":
        samples = example.get(named_key)
        for sample in samples if isinstance(samples, list) else []:
            if isinstance(sample, Mapping) and isinstance(sample.get("param_name"), str):
                given[sample["param_name"]] = sample.get("example")
        extra = len([n for n in given if n not in names])
    else:
        samples = example.get(positional_key)
        if positional_key == "body_text":
            # body_text holds one list of values (Meta's shape: [["Pablo", "860198"]]).
            samples = samples[0] if isinstance(samples, list) and samples else None
        values = samples if isinstance(samples, list) else []
        given = {str(i + 1): v for i, v in enumerate(values)}
        extra = max(0, len(values) - len(names))
    missing = [n for n in names if not (isinstance(given.get(n), str) and given[n].strip())]
    found = []
    if missing:
        key = named_key if fmt == "NAMED" else positional_key
        found.append(
            finding(
                "missing_example",
                field,
                _(
                    "Give a sample value for %(variables)s (example.%(key)s): reviewers see the "
                    "template with them filled in."
                )
                % {"variables": ", ".join("{{" + n + "}}" for n in missing), "key": key},
            )
        )
    if extra:
        found.append(
            finding(
                "example_mismatch",
                field,
                _("There are more sample values than variables; give exactly one per variable."),
            )
        )
    return found


def placement(text: str, names: list[str]) -> list[Finding]:
    """The body rules on where variables stand: not first or last, not side by side, not
    too many for the words around them."""
    found: list[Finding] = []
    field = "body.text"
    matches = c.variables(text)
    if not matches:
        return found
    if re.match(EDGE_BEFORE, text) or re.search(EDGE_AFTER, text):
        found.append(
            finding(
                "variable_at_edge",
                field,
                _(
                    "The body cannot start or end with a variable; put words before the first "
                    "and after the last (“Hello {{1}}, …”, “… on {{2}}. See you then!”)."
                ),
            )
        )
    for before, after in pairwise(matches):
        between = text[before.end() : after.start()]
        # Side by side: nothing but spaces or joining punctuation between them ("{{1}}
        # {{2}}", "{{1}}-{{2}}", "{{1}} / {{2}}"). A list ("on {{day}}, {{date}}, at …",
        # Meta's own example) separates its items with a comma or colon and a space.
        if re.search(r"[^\W_]", between) or re.search(r"[,;:]\s", between):
            continue
        found.append(
            finding(
                "adjacent_variables",
                field,
                _(
                    "%(first)s and %(second)s stand side by side; put words between them so "
                    "that a reader knows what each one is."
                )
                % {"first": before.group(0), "second": after.group(0)},
            )
        )
    count = len(matches)
    fixed = len(c.words(text))
    needed = 2 * count + 1
    if fixed < needed:
        found.append(
            finding(
                "too_many_variables",
                field,
                _(
                    "Too many variables for the length of the text: with %(count)d variables "
                    "the body needs at least %(needed)d words of its own, and has %(words)d. "
                    "Add words or remove variables."
                )
                % {"count": count, "needed": needed, "words": fixed},
            )
        )
    return found
