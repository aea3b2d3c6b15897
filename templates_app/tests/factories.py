"""Templates for tests: written as an admin would, in WhatsApp's component shape."""

from __future__ import annotations

from typing import Any

from conversations.tests.factories import NumberFactory
from templates_app.models import MessageTemplate

WABA_ID = "102290129340398"  # the account of the shared fixtures' number

ORDER_SHIPPED = [
    {
        "type": "BODY",
        "text": "Hello {{1}}, your order {{2}} has shipped and will arrive on {{3}}.",
        "example": {"body_text": [["Anna", "A-1042", "Friday"]]},
    },
    {"type": "FOOTER", "text": "Acme Shop"},
]

DISCOUNT = [
    {
        "type": "BODY",
        "text": "Hello {{1}}, your order {{2}} has shipped. Enjoy 20% off your next order "
        "with the code SAVE20!",
        "example": {"body_text": [["Anna", "A-1042"]]},
    }
]


def template_fields(**changes: Any) -> dict[str, Any]:
    """A create request of a UTILITY template the checks pass."""
    fields: dict[str, Any] = {
        "waba_id": WABA_ID,
        "name": "order_shipped",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": ORDER_SHIPPED,
    }
    fields.update(changes)
    return fields


def make_template(**changes: Any) -> MessageTemplate:
    """A template stored as it is after WhatsApp's answer (APPROVED unless told)."""
    if not NumberFactory._meta.model.objects.filter(waba_id=WABA_ID).exists():
        NumberFactory()
    fields = template_fields()
    fields.pop("waba_id")
    values = {"waba_id": WABA_ID, "status": MessageTemplate.Status.APPROVED, **fields, **changes}
    teams = values.pop("allowed_teams", [])
    template = MessageTemplate.objects.create(**values)
    template.allowed_teams.set(teams)
    return template
