"""Registering the business numbers whose webhooks the inbox receives."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from conversations.models import WhatsAppNumber
from conversations.services.errors import DuplicateNumber


def number_register(
    *, phone_number_id: str, display_phone_number: str, waba_id: str, name: str
) -> WhatsAppNumber:
    """Register a business number so its webhooks are routed to the inbox.

    Raises ``DuplicateNumber`` when ``phone_number_id`` is already registered.
    """
    try:
        with transaction.atomic():
            return WhatsAppNumber.objects.create(
                phone_number_id=phone_number_id,
                display_phone_number=display_phone_number,
                waba_id=waba_id,
                name=name,
            )
    except IntegrityError as exc:
        raise DuplicateNumber(f"The number {phone_number_id} is already registered.") from exc
