"""A customer's message and the chat: it opens the chat again, starts the
customer's waiting time, and an ad's referral opens the 72-hour window (services)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses
from django.utils import timezone

from conftest import FIXTURES_DIR
from conversations import services
from conversations.models import Conversation, ConversationEvent, Message
from conversations.tests.factories import (
    ConversationFactory,
    NumberFactory,
    UserFactory,
    text_webhook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga():
    return UserFactory(username="olga", role="operator", first_name="Olga")


def customer_writes(post_webhook, conversation: Conversation, text: str = "Hello?", **kwargs):
    response = post_webhook(text_webhook(wa_id=conversation.contact.wa_id, text=text, **kwargs))
    assert response.status_code == 200
    conversation.refresh_from_db()
    return conversation


@pytest.mark.parametrize(
    ("status", "reason"),
    [("resolved", "reopened"), ("snoozed", "woke"), ("pending", "customer_replied")],
)
def test_a_customer_message_opens_the_chat_again(post_webhook, status, reason):
    conversation = ConversationFactory(
        number=NumberFactory(),
        status=status,
        snoozed_until=timezone.now() + dt.timedelta(hours=1) if status == "snoozed" else None,
    )
    customer_writes(post_webhook, conversation)
    assert (conversation.status, conversation.snoozed_until) == ("open", None)
    event = ConversationEvent.objects.get(conversation=conversation)
    assert (event.kind, event.actor, event.data) == (
        "status",
        None,
        {"from": status, "to": "open", "reason": reason},
    )


def test_an_open_chat_records_no_status_change(post_webhook):
    conversation = customer_writes(post_webhook, ConversationFactory(number=NumberFactory()))
    assert conversation.status == "open"
    assert not ConversationEvent.objects.exists()


def test_waiting_starts_with_the_first_unanswered_message_and_ends_with_a_reply(
    post_webhook, olga, settings
):
    settings.JOBS_INLINE = False  # leave the send job on the queue
    conversation = ConversationFactory(number=NumberFactory())
    first = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    customer_writes(post_webhook, conversation, timestamp=first)
    customer_writes(post_webhook, conversation, timestamp=first + dt.timedelta(minutes=5))
    assert conversation.waiting_since == first
    Conversation.objects.filter(pk=conversation.pk).update(escalated_at=timezone.now())
    services.message_send_text(conversation=conversation, text="Here!", user=olga)
    conversation.refresh_from_db()
    assert (conversation.waiting_since, conversation.escalated_at) == (None, None)
    later = customer_writes(post_webhook, conversation, text="Thanks")
    assert later.waiting_since is not None
    assert later.waiting_since > first


def test_a_click_to_whatsapp_ad_opens_the_72_hour_window(post_webhook):
    NumberFactory()
    payload = json.loads((FIXTURES_DIR / "webhook_text_ctwa_ad_referral.json").read_bytes())
    assert post_webhook(payload).status_code == 200
    message = Message.objects.get()
    conversation = message.conversation
    assert conversation.free_entry_until == message.timestamp + dt.timedelta(hours=72)
    # Two days later the 24-hour window is long closed, the ad's window is not.
    two_days = message.timestamp + dt.timedelta(hours=48)
    assert conversation.window_expires_at(now=two_days) == conversation.free_entry_until
    assert conversation.window_expires_at(now=message.timestamp + dt.timedelta(hours=73)) is None


def test_a_reply_to_a_chat_started_from_an_ad_is_allowed_after_24_hours(olga, settings):
    settings.JOBS_INLINE = False
    long_ago = timezone.now() - dt.timedelta(hours=30)
    conversation = ConversationFactory(
        last_inbound_at=long_ago, free_entry_until=long_ago + dt.timedelta(hours=72)
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        message = services.message_send_text(conversation=conversation, text="Hi", user=olga)
    assert message.status == "queued"


@pytest.mark.parametrize(
    "fixture", ["webhook_text_ctwa_ad_referral.json", "webhook_text_message.json"]
)
def test_a_timestamp_at_the_end_of_the_calendar_is_stored_not_a_server_error(post_webhook, fixture):
    NumberFactory()
    payload = json.loads((FIXTURES_DIR / fixture).read_bytes())
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "253402300799"
    assert post_webhook(payload).status_code == 200
    conversation = Message.objects.get().conversation
    assert conversation.waiting_since.year == 9999
    assert conversation.window_expires_at() == dt.datetime.max.replace(tzinfo=dt.UTC)
