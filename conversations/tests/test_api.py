import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.models import Message, WhatsAppNumber
from conversations.tests.factories import ContactFactory, ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory(username="olga", role="operator")


@pytest.fixture
def api(operator) -> APIClient:
    client = APIClient()
    client.force_authenticate(operator)
    return client


def test_anonymous_and_role_less_users_are_refused() -> None:
    assert APIClient().get("/api/v1/conversations/").status_code == 401
    nobody = APIClient()
    nobody.force_authenticate(UserFactory(username="visitor"))
    response = nobody.get("/api/v1/conversations/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_token_from_the_management_command_authenticates(operator, capsys) -> None:
    call_command("create_api_token", "olga")
    token = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/conversations/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/conversations/").status_code == 401


def test_list_is_newest_activity_first_with_window_and_unread(api) -> None:
    now = timezone.now()
    old = ConversationFactory(last_inbound_at=now - dt.timedelta(hours=30))
    recent = ConversationFactory(last_inbound_at=now - dt.timedelta(minutes=1), unread_count=2)
    results = api.get("/api/v1/conversations/").json()["results"]
    assert [c["id"] for c in results] == [recent.id, old.id]
    assert results[0]["unread_count"] == 2
    assert results[0]["window_expires_at"] is not None
    assert results[1]["window_expires_at"] is None
    assert results[0]["contact"]["wa_id"] == recent.contact.wa_id


def test_list_filters_by_status_assignee_and_search(api, operator) -> None:
    mine = ConversationFactory(assignee=operator, contact=ContactFactory(profile_name="Zed Zulu"))
    resolved = ConversationFactory(status="resolved")
    texted = ConversationFactory()
    Message.objects.create(
        conversation=texted,
        direction="in",
        text="where is my parcel?",
        status="received",
        timestamp=timezone.now(),
    )

    def ids(query: str) -> list[int]:
        return [c["id"] for c in api.get("/api/v1/conversations/" + query).json()["results"]]

    assert ids("?status=resolved") == [resolved.id]
    assert ids("?assignee=me") == [mine.id]
    assert mine.id not in ids("?assignee=unassigned")
    assert ids("?search=zulu") == [mine.id]
    assert ids("?search=PARCEL") == [texted.id]
    assert ids(f"?search={mine.contact.wa_id[-6:]}") == [mine.id]
    response = api.get("/api/v1/conversations/?status=bogus")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_list_is_paginated_without_a_total(api) -> None:
    made = [ConversationFactory() for _ in range(3)]
    page = api.get("/api/v1/conversations/?limit=2").json()
    assert "count" not in page
    assert len(page["results"]) == 2
    assert page["previous"] is None
    last = api.get(page["next"]).json()
    assert last["next"] is None
    assert api.get(last["previous"]).json()["results"] == page["results"]
    listed = [c["id"] for c in page["results"] + last["results"]]
    assert sorted(listed) == sorted(c.id for c in made)
    # Exactly a page's worth: no next page to follow.
    assert api.get("/api/v1/conversations/?limit=3").json()["next"] is None


def test_detail_and_messages_oldest_first(api) -> None:
    conversation = ConversationFactory()
    now = timezone.now()
    for i, minutes in enumerate([3, 1, 2]):
        Message.objects.create(
            conversation=conversation,
            direction="in",
            wamid=f"wamid.{i}",
            text=f"m{minutes}",
            status="received",
            timestamp=now - dt.timedelta(minutes=minutes),
        )
    detail = api.get(f"/api/v1/conversations/{conversation.id}/").json()
    assert detail["id"] == conversation.id
    assert detail["status"] == "open"
    messages = api.get(f"/api/v1/conversations/{conversation.id}/messages/").json()["results"]
    assert [m["text"] for m in messages] == ["m3", "m2", "m1"]
    assert set(messages[0]) >= {
        "id",
        "wamid",
        "direction",
        "type",
        "text",
        "media",
        "status",
        "error",
        "timestamp",
    }
    assert api.get("/api/v1/conversations/999999/").status_code == 404


def test_send_returns_201_with_the_queued_message(api, settings) -> None:
    settings.JOBS_INLINE = False  # leave the job on the queue for this test
    conversation = ConversationFactory()
    response = api.post(
        f"/api/v1/conversations/{conversation.id}/messages/", {"text": "Hi!"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["direction"], body["status"], body["text"]) == ("out", "queued", "Hi!")


def test_send_outside_the_window_is_409_window_closed(api) -> None:
    conversation = ConversationFactory(last_inbound_at=timezone.now() - dt.timedelta(hours=25))
    response = api.post(
        f"/api/v1/conversations/{conversation.id}/messages/", {"text": "Hi"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "window_closed"
    assert "24-hour" in response.json()["detail"]
    assert Message.objects.count() == 0


def test_send_validation_error_is_json(api) -> None:
    conversation = ConversationFactory()
    response = api.post(f"/api/v1/conversations/{conversation.id}/messages/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "text" in response.json()["fields"]


def test_admins_register_numbers_operators_may_not(api) -> None:
    body = {
        "phone_number_id": "555",
        "display_phone_number": "15550001111",
        "waba_id": "9",
        "name": "Sales",
    }
    assert api.post("/api/v1/numbers/", body, format="json").status_code == 403
    admin = APIClient()
    admin.force_authenticate(UserFactory(username="ada", role="admin"))
    response = admin.post("/api/v1/numbers/", body, format="json")
    assert response.status_code == 201
    assert WhatsAppNumber.objects.get(phone_number_id="555").name == "Sales"
    again = admin.post("/api/v1/numbers/", body, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"
    assert [n["name"] for n in api.get("/api/v1/numbers/").json()["results"]] == ["Sales"]


def test_superuser_may_do_what_an_admin_may(admin_user) -> None:
    client = APIClient()
    client.force_authenticate(admin_user)
    body = {
        "phone_number_id": "777",
        "display_phone_number": "1555",
        "waba_id": "9",
        "name": "Root",
    }
    assert client.post("/api/v1/numbers/", body, format="json").status_code == 201


def test_openapi_schema_describes_the_api(client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    assert {
        "/api/v1/conversations/",
        "/api/v1/conversations/{id}/",
        "/api/v1/conversations/{id}/messages/",
        "/api/v1/numbers/",
    } <= set(paths)
    assert "409" in paths["/api/v1/conversations/{id}/messages/"]["post"]["responses"]
    assert client.get("/api/docs/").status_code == 200


def test_marking_read_zeroes_the_unread_count_for_the_team(api) -> None:
    conversation = ConversationFactory(unread_count=3)
    response = api.post(f"/api/v1/conversations/{conversation.id}/read/")
    assert response.status_code == 200
    assert response.json()["unread_count"] == 0
    listed = api.get("/api/v1/conversations/").json()["results"][0]
    assert listed["unread_count"] == 0
    assert api.post("/api/v1/conversations/999999/read/").status_code == 404
