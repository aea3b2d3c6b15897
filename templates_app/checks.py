"""The checks an admin's template goes through before it is submitted to WhatsApp: the
platform's limits (``limits``) and a reading of the text as a reviewer would (``policy``),
as one list of findings.

Pure: the template comes as data (the fields of a ``POST /{WABA-ID}/message_templates``
body); nothing is read from the database or sent anywhere. Messages are translated into
the active language, so call it inside the admin's ``translation.override`` when not in a
request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from templates_app.findings import Finding, Severity, ordered
from templates_app.limits import check_limits
from templates_app.policy import check_policy

__all__ = ["Finding", "Severity", "check_template"]


def check_template(
    *,
    name: Any,
    language: Any,
    category: Any,
    parameter_format: Any,
    components: Any,
    prices: dict[str, dict[str, Decimal]] | None = None,
) -> list[Finding]:
    """Every finding for the template: errors first, then by field in reading order.

    ``prices``, when given, is the price of one message by category, then by country
    (``{"MARKETING": {"IT": Decimal("0.0691")}, "UTILITY": {"IT": Decimal("0.0300")}}``);
    the warning that the platform will move a utility template to marketing quotes it.
    An empty list means nothing stands in the way of submitting the template; review by
    WhatsApp may still decide otherwise.
    """
    found = check_limits(
        name=name,
        language=language,
        category=category,
        parameter_format=parameter_format,
        components=components,
    )
    found += check_policy(
        language=language, category=category, components=components, prices=prices
    )
    return ordered(found)
