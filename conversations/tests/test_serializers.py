"""The JSON shapes the API documents are the shapes it sends."""

import datetime as dt

import orjson
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from conversations.models import BusinessCalendar, Conversation, Message
from conversations.serializers import (
    ConversationSerializer,
    MessageSerializer,
    TeamSerializer,
    conversation_payload,
    conversations_json,
    message_payload,
    team_payload,
)
from conversations.tests.factories import (
    ContactFactory,
    ConversationFactory,
    LabelFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_conversation_payload_has_exactly_the_documented_fields() -> None:
    conversation = ConversationFactory(assignee=UserFactory(username="olga"))
    payload = conversation_payload(conversation)
    # ``sla`` is added by analytics to the API's answers, not to live events.
    assert set(payload) | {"sla"} == set(ConversationSerializer().fields)
    assert set(ConversationSerializer(conversation).data) == set(ConversationSerializer().fields)
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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL builds the list's JSON")
def test_postgresql_builds_the_list_exactly_as_conversation_payload_does() -> None:
    now = timezone.now().replace(microsecond=0)
    second = dt.timedelta(seconds=1)
    with time_machine.travel(now, tick=False):
        other_number = NumberFactory(
            phone_number_id="999", display_phone_number="15550001111", name='Sales "EU" <b>'
        )
        team = TeamFactory(name="Support ✓")
        labelled = ConversationFactory(
            team=team,
            assignee=UserFactory(username="olga", first_name="Olga", last_name="Petrova"),
            status=Conversation.Status.PENDING,
            last_inbound_at=now - dt.timedelta(hours=3, microseconds=7),
            last_message_at=now - dt.timedelta(hours=1),
            last_message_text='Line one\nline "two" \\ <script>alert(1)</script> 👍',
            unread_count=4,
            waiting_since=now - dt.timedelta(minutes=20, microseconds=120_500),
            escalated_at=now - dt.timedelta(minutes=5),
            queued_at=now,
            snoozed_until=now + dt.timedelta(days=1),
        )
        labelled.labels.add(
            LabelFactory(name="Zebra", color="#000000"),
            LabelFactory(name="Ärger"),
            LabelFactory(name="Alpha"),
        )
        cases = [
            labelled,
            # The window closed long ago; no assignee, no team, nothing waiting.
            ConversationFactory(
                number=other_number,
                contact=ContactFactory(
                    wa_id="", user_id="US.13491208655302741918", profile_name=""
                ),
                last_inbound_at=now - dt.timedelta(days=3),
                last_message_at=now - dt.timedelta(days=3),
            ),
            # Never written; a template opened a free entry window.
            ConversationFactory(
                last_inbound_at=None,
                last_message_at=None,
                free_entry_until=now + dt.timedelta(hours=72, microseconds=1),
                assignee=UserFactory(username="ivan", first_name=" \t", last_name=""),
            ),
            # The window closes exactly now: closed, as the rule says.
            ConversationFactory(
                last_inbound_at=now - dt.timedelta(hours=24),
                assignee=UserFactory(username="max", first_name="", last_name=" Müller "),
            ),
            ConversationFactory(last_inbound_at=now - dt.timedelta(hours=24) + second),
            # A sender's clock at the end of the calendar cannot overflow.
            ConversationFactory(last_inbound_at=dt.datetime.max.replace(tzinfo=dt.UTC) - second),
        ]
        ids = [c.id for c in reversed(cases)]

        built = orjson.loads(conversations_json(ids))

    read = Conversation.objects.in_bulk(ids)
    with time_machine.travel(now, tick=False):
        expected = [conversation_payload(read[i]) for i in ids]
    assert built == expected
    assert [row["labels"] for row in built][-1] == [
        {"id": label.id, "name": label.name, "color": label.color}
        for label in labelled.labels.order_by("name")
    ]
    assert orjson.loads(conversations_json([])) == []
