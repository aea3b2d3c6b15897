"""A template's components as the checks read them, and the text measures both the
limits and the policy rules need (variables, words, emojis).

The input is the platform's own component JSON, as an admin wrote it or as Meta's
examples spell it: types in either case (``"type": "body"``, ``"format": "image"``).
Nothing here judges the template; ``limits`` and ``policy`` do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Anything between double braces; whether it is a valid variable is decided by the caller,
# so that "{{first name}}" is reported as a bad variable rather than ignored.
VARIABLE = re.compile(r"\{\{([^{}]*)\}\}")
POSITIONAL_NAME = re.compile(r"^[1-9][0-9]*$")
NAMED_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# One emoji as a person sees it: a pictograph with its skin tone, variation selector and
# zero-width-joined parts (👩‍💻 is one), a flag (two regional indicators) or a keycap.
_PICTOGRAPH = (
    "\U0001f300-\U0001faff"  # pictographs, emoticons, transport, supplemental symbols
    "\U0001f000-\U0001f0ff"  # mahjong, dominoes, playing cards
    "\U0001f170-\U0001f19a"  # squared letters (🅰 🆗)
    "\u2600-\u27bf"  # miscellaneous symbols and dingbats (☀ ✅ ✨ ❤)
    "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55"  # arrows, squares, star, circle
    "\u231a\u231b\u23e9-\u23f3\u23f8-\u23fa"  # watch, hourglass, media keys
    "\u3030\u303d\u3297\u3299"
)
_MODIFIER = "\U0001f3fb-\U0001f3ff\ufe0f"
EMOJI = re.compile(
    rf"[\U0001f1e6-\U0001f1ff]{{2}}"
    rf"|[0-9#*]\ufe0f?\u20e3"
    rf"|[{_PICTOGRAPH}][{_MODIFIER}]*(?:\u200d[{_PICTOGRAPH}][{_MODIFIER}]*)*"
)
# A word: a run of non-space characters with at least one letter or digit in it, so that
# a dash standing alone or an emoji is not one, and "item(s)" or "24h" is.
_WORD = re.compile(r"[^\s]*[^\W_][^\s]*")


@dataclass(frozen=True)
class Part:
    """One component (or one button) and where it sits in what the admin wrote."""

    data: Mapping[str, Any]
    index: int


@dataclass
class Parts:
    """The components by type. ``problems`` holds (kind, index, detail) for what could not
    be sorted: ``("not_object", i, "")``, ``("unknown_type", i, type)``, ``("duplicate", i,
    type)``; ``limits`` reports them."""

    header: Part | None = None
    body: Part | None = None
    footer: Part | None = None
    buttons: Part | None = None
    offer: Part | None = None
    others: list[Part] = field(default_factory=list)
    problems: list[tuple[str, int, str]] = field(default_factory=list)


COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS", "LIMITED_TIME_OFFER", "CAROUSEL")


def upper(value: Any) -> str | None:
    """An enumeration as the platform lists it (upper case), or None when not a string."""
    return value.upper() if isinstance(value, str) else None


def split(components: Any) -> Parts:
    """Sort ``components`` by type. Tolerates any input: what is not a list of objects of
    known types lands in ``problems`` for ``limits`` to report."""
    parts = Parts()
    if not isinstance(components, Sequence) or isinstance(components, str | bytes):
        return parts
    slots = {
        "HEADER": "header",
        "BODY": "body",
        "FOOTER": "footer",
        "BUTTONS": "buttons",
        "LIMITED_TIME_OFFER": "offer",
    }
    for index, component in enumerate(components):
        if not isinstance(component, Mapping):
            parts.problems.append(("not_object", index, ""))
            continue
        kind = upper(component.get("type"))
        if kind not in COMPONENT_TYPES:
            parts.problems.append(("unknown_type", index, str(component.get("type"))))
            continue
        if kind not in slots:
            parts.others.append(Part(component, index))
            continue
        if getattr(parts, slots[kind]) is not None:
            parts.problems.append(("duplicate", index, kind))
            continue
        setattr(parts, slots[kind], Part(component, index))
    return parts


def button_list(parts: Parts) -> list[Mapping[str, Any]]:
    """The buttons of the BUTTONS component (objects only; others are limits' business)."""
    if parts.buttons is None:
        return []
    buttons = parts.buttons.data.get("buttons")
    if not isinstance(buttons, list):
        return []
    return [b if isinstance(b, Mapping) else {} for b in buttons]


def text_of(part: Part | None) -> str | None:
    """A component's ``text`` when it is a string."""
    if part is None:
        return None
    text = part.data.get("text")
    return text if isinstance(text, str) else None


def texts(parts: Parts) -> list[tuple[str, str]]:
    """(field, text) of every text a customer reads, top to bottom."""
    found: list[tuple[str, str]] = []
    if parts.header is not None and upper(parts.header.data.get("format")) == "TEXT":
        header = text_of(parts.header)
        if header:
            found.append(("header.text", header))
    body = text_of(parts.body)
    if body:
        found.append(("body.text", body))
    footer = text_of(parts.footer)
    if footer:
        found.append(("footer.text", footer))
    for index, button in enumerate(button_list(parts)):
        label = button.get("text")
        if isinstance(label, str) and label:
            found.append((f"buttons[{index}].text", label))
    return found


def variables(text: str) -> list[re.Match[str]]:
    """Every ``{{…}}`` in ``text``, valid or not, in order."""
    return list(VARIABLE.finditer(text))


def without_variables(text: str, replacement: str = " ") -> str:
    return VARIABLE.sub(replacement, text)


def words(text: str) -> list[str]:
    """The words of ``text`` once its variables are taken out (see ``_WORD``)."""
    return _WORD.findall(without_variables(text))


def emojis(text: str) -> list[str]:
    return EMOJI.findall(text)
