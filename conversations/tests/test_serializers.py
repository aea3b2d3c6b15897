"""The JSON shapes the API documents are the shapes it sends."""

import pytest
from django.utils import timezone

from conversations.models import BusinessCalendar, Message
from conversations.serializers import (
    ConversationSerializer,
    MessageSerializer,
    TeamSerializer,
    conversation_payload,
    message_payload,
    team_payload,
)
from conversations.tests.factories import ConversationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_conversation_payload_has_exactly_the_documented_fields() -> None:
    conversation = ConversationFactory(assignee=UserFactory(username="olga"))
    payload = conversation_payload(conversation)
    assert set(payload) == set(ConversationSerializer().fields)
    assert set(payload["contact"]) == set(ConversationSerializer().fields["contact"].fields)
    assert set(payload["assignee"]) == {"id", "username", "name"}
    assert payload["last_inbound_at"].endswith("Z")


def test_message_payload_has_exactly_the_documented_fields() -> None:
    message = Message.objects.create(
        conversation=ConversationFactory(),
        direction="in",
        type="image",
        content={"id": "1003383421387256", "mime_type": "image/jpeg", "caption": "Taj Mahal"},
        text="Taj Mahal",
        status="failed",
        error_code=131053,
        error_title="Media upload error",
        timestamp=timezone.now(),
    )
    payload = message_payload(message)
    assert set(payload) == set(MessageSerializer().fields)
    assert payload["media"] == {
        "id": "1003383421387256",
        "mime_type": "image/jpeg",
        "filename": "",
        "caption": "Taj Mahal",
        "state": "",
        "size": None,
        "error": "",
        "url": None,
    }
    assert set(payload["media"]) == set(MessageSerializer().fields["media"].fields)
    message.media_state = Message.Media.READY
    message.media_size = 2048
    assert message_payload(message)["media"]["url"] == f"/api/v1/messages/{message.id}/media/"
    assert payload["error"] == {"code": 131053, "title": "Media upload error", "details": ""}
    assert set(payload["error"]) == set(MessageSerializer().fields["error"].fields)


def test_team_payload_has_exactly_the_documented_fields() -> None:
    calendar = BusinessCalendar.objects.create(name="Never open", time_zone="Europe/Rome")
    payload = team_payload(TeamFactory(calendar=calendar))
    assert set(payload) == set(TeamSerializer().fields)
    assert payload["calendar"] == {
        "id": calendar.id,
        "name": "Never open",
        "time_zone": "Europe/Rome",
    }
    assert set(payload["calendar"]) == set(TeamSerializer().fields["calendar"].fields)
    assert (payload["open_now"], payload["opens_at"]) == (False, None)
