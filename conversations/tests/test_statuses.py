"""A conversation's status set by operators: snoozing and resolving (services)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conversations import services
from conversations.models import ConversationEvent
from conversations.tests.factories import ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga():
    return UserFactory(username="olga", role="operator", first_name="Olga")


def test_snooze_needs_a_future_time(olga):
    conversation = ConversationFactory()
    for until in (None, timezone.now() - dt.timedelta(minutes=1)):
        with pytest.raises(services.InvalidSnooze):
            services.conversation_set_status(
                conversation=conversation, actor=olga, status="snoozed", snoozed_until=until
            )
    until = timezone.now() + dt.timedelta(hours=2)
    snoozed = services.conversation_set_status(
        conversation=conversation, actor=olga, status="snoozed", snoozed_until=until
    )
    assert (snoozed.status, snoozed.snoozed_until) == ("snoozed", until)
    event = ConversationEvent.objects.get()
    assert (event.actor, event.data["from"], event.data["to"]) == (olga, "open", "snoozed")
    assert event.data["snoozed_until"] is not None


def test_resolving_ends_the_wait_and_leaves_the_queue(olga, django_capture_on_commit_callbacks):
    conversation = ConversationFactory(
        waiting_since=timezone.now(), queued_at=timezone.now(), escalated_at=timezone.now()
    )
    with django_capture_on_commit_callbacks() as callbacks:
        resolved = services.conversation_set_status(
            conversation=conversation, actor=olga, status="resolved"
        )
    assert (resolved.waiting_since, resolved.queued_at, resolved.escalated_at) == (None,) * 3
    assert len(callbacks) == 2
    # The same status again changes nothing and records nothing.
    services.conversation_set_status(conversation=conversation, actor=olga, status="resolved")
    assert ConversationEvent.objects.count() == 1
