"""What a check says about a template: one ``Finding`` per problem, on the field that
has it, and the one order findings are shown in.

It lives apart from ``checks`` so that ``limits`` and ``policy`` can build findings while
``checks`` imports both of them (no module of ours imports in a circle); ``checks``
re-exports it, and callers import it from there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem with a template.

    ``code`` is stable (tests and the interface key on it); ``severity`` is ``error`` when
    WhatsApp will refuse or reject the template as it stands, ``warning`` when it will
    probably accept it but something costs the business (a higher price, a worse quality
    rating); ``field`` says where (``"body.text"``, ``"buttons[1].url"``, …); ``message``
    is for people, already translated into the admin's interface language.
    """

    code: str
    severity: Severity
    field: str
    message: str


# The order an admin reads a template in: its identity, then the components top to bottom.
_FIELD_ORDER = (
    "name",
    "language",
    "category",
    "parameter_format",
    "components",
    "header",
    "body",
    "footer",
    "buttons",
    "offer",
)
_INDEX = re.compile(r"\[(\d+)\]")


def _field_key(field: str) -> tuple[int, tuple[int, ...], str]:
    head = re.split(r"[.\[]", field, maxsplit=1)[0]
    rank = _FIELD_ORDER.index(head) if head in _FIELD_ORDER else len(_FIELD_ORDER)
    # buttons[10] after buttons[9]: indexes compare as numbers, not as text.
    indexes = tuple(int(i) for i in _INDEX.findall(field))
    return rank, indexes, field


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Errors before warnings, then by field in reading order; stable within a field, so
    findings keep the order their rules ran in."""
    return sorted(findings, key=lambda f: (f.severity != "error", _field_key(f.field)))
