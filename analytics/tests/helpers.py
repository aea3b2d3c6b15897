"""A chat played out on a fixed clock through the core's services (the webhook, an
operator's reply, a status change), so the facts come through the hooks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.contrib.auth.models import User

from conversations import services
from conversations.models import Conversation, Message, SendPath
from conversations.tests.factories import body, consent_to, no_quiet_hours, text_webhook

# Monday 7 December 2026, 09:00 UTC.
T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
ANN = "447700900001"  # a British number


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def customer_says(
    minute: float,
    *,
    wa_id: str = ANN,
    arrives: float | None = None,
    text: str = "Hello",
    phone_number_id: str = "106540352242922",
) -> Conversation:
    """The customer's message written at ``minute`` (its WhatsApp timestamp),
    delivered at ``arrives`` (the same minute unless late)."""
    with time_machine.travel(at(minute if arrives is None else arrives), tick=False):
        services.webhook_receive(
            body=body(
                text_webhook(
                    wa_id=wa_id,
                    text=text,
                    timestamp=at(minute),
                    phone_number_id=phone_number_id,
                )
            )
        )
    return Conversation.objects.get(contact__wa_id=wa_id)


def operator_replies(minute: float, user: User, *, wa_id: str = ANN) -> Message:
    conversation = Conversation.objects.get(contact__wa_id=wa_id)
    with time_machine.travel(at(minute), tick=False):
        return services.message_send_text(conversation=conversation, text="On it", user=user)


def template_by(
    minute: float, user: User | None, *, wa_id: str = ANN, campaign: str = ""
) -> Message:
    """A template sent through the core: by ``user``, or by ``campaign`` (nobody wrote it)."""
    conversation = Conversation.objects.get(contact__wa_id=wa_id)
    # The customer agreed to order updates, whatever the hour: the send rules pass.
    consent_to(conversation.contact, waba_id=conversation.number.waba_id)
    no_quiet_hours()
    with time_machine.travel(at(minute), tick=False):
        return services.message_send_template(
            conversation=conversation,
            user=user,
            name="order_update",
            language="en",
            components=[],
            text="Your order is on its way",
            category="UTILITY",
            path=SendPath.CAMPAIGN if campaign else SendPath.COMPOSER,
            campaign=campaign,
        )


def set_status(minute: float, user: Any, status: str, *, wa_id: str = ANN) -> None:
    conversation = Conversation.objects.get(contact__wa_id=wa_id)
    with time_machine.travel(at(minute), tick=False):
        services.conversation_set_status(conversation=conversation, actor=user, status=status)


def campaign_sends(minute: float, *, wa_id: str = ANN, campaign: str = "7") -> Message:
    """A campaign's template to the customer, as the campaigns app sends it."""
    return template_by(minute, None, wa_id=wa_id, campaign=campaign)
