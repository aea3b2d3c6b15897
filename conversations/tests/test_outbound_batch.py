"""The batched template send (``message_send_template_batch``): a campaign's batch
costs a few statements whatever its size, publishes nothing per message, hands
the messages to the hooks at once, and commits with the caller's rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from conversations import hooks, services
from conversations.models import ComplianceLogEntry, Contact, Conversation, Message
from conversations.tests.factories import ConversationFactory, consent_to, no_quiet_hours

pytestmark = pytest.mark.django_db


def chats(count: int, *, consent: bool = True) -> list[Conversation]:
    made = []
    start = Contact.objects.count()
    for i in range(start, start + count):
        contact = Contact.objects.create(wa_id=f"3933300{i:05d}", phone=f"+3933300{i:05d}")
        if consent:
            consent_to(contact)
        made.append(ConversationFactory(contact=contact, last_inbound_at=None))
    return made


def batch(conversations: list[Conversation], category: str = "MARKETING") -> list[Any]:
    return services.message_send_template_batch(
        sends=[
            services.TemplateMessage(c, "spring_offer", "en", [], "Spring offer", category, "9")
            for c in conversations
        ],
        path="campaign",
    )


def test_a_batch_costs_the_same_few_statements_for_5_or_40_customers(
    django_assert_max_num_queries: Any,
) -> None:
    no_quiet_hours()
    small, large = chats(5), chats(40)
    with django_assert_max_num_queries(14) as few:
        batch(small)
    with django_assert_max_num_queries(len(few.captured_queries)):
        results = batch(large)
    assert all(isinstance(r, Message) and r.status == "queued" for r in results)
    assert Message.objects.filter(content__path="campaign").count() == 45
    conversation = Conversation.objects.get(pk=large[0].pk)
    assert conversation.last_message_text == "Spring offer"


def test_a_batch_publishes_no_live_event_per_message(
    published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    no_quiet_hours()
    conversations = chats(3)
    with django_capture_on_commit_callbacks(execute=True):
        batch(conversations)
    assert [p for p in published if p.event["type"].startswith("message.")] == []


def test_the_hooks_get_the_batchs_messages_in_one_call() -> None:
    no_quiet_hours()
    conversations = chats(3)
    calls: list[list[Any]] = []
    hooks.on_messages_stored(calls.append)
    try:
        batch(conversations)
    finally:
        hooks._messages_handlers.remove(calls.append)
    assert len(calls) == 1
    assert {m.conversation_id for m in calls[0]} == {c.pk for c in conversations}


def test_a_batch_inside_the_callers_transaction_rolls_back_with_it() -> None:
    no_quiet_hours()
    conversations = chats(2) + chats(1, consent=False)
    with pytest.raises(RuntimeError), transaction.atomic():
        results = batch(conversations)
        assert [type(r).__name__ for r in results] == ["Message", "Message", "Refusal"]
        raise RuntimeError("the caller's own write failed")
    assert not Message.objects.filter(direction="out").exists()
    assert not ComplianceLogEntry.objects.exists()


def test_two_sends_to_one_customer_in_a_batch_are_refused() -> None:
    conversation = chats(1)[0]
    with pytest.raises(ValueError):
        batch([conversation, conversation])
