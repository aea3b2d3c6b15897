"""The workspace's JSON API: who may see what, and each endpoint's shape."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.models import AgentProfile, Conversation, Message, Notification
from conversations.tests.factories import (
    CannedReplyFactory,
    ContactFactory,
    ConversationFactory,
    LabelFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
    online,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def boris():
    return UserFactory(username="boris", role="operator")


@pytest.fixture
def support(olga):
    return TeamFactory(name="Support", members=[olga])


@pytest.fixture
def sales(boris):
    return TeamFactory(name="Sales", members=[boris])


@pytest.fixture
def api(olga) -> APIClient:
    return client_for(olga)


def ids(client: APIClient, query: str = "") -> list[int]:
    response = client.get("/api/v1/conversations/" + query)
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["results"]]


CONVERSATION_ENDPOINTS = [
    ("get", "", None),
    ("get", "messages/", None),
    ("post", "messages/", {"text": "hi"}),
    ("post", "read/", None),
    ("post", "claim/", None),
    ("post", "assign/", {"assignee": None}),
    ("post", "status/", {"status": "resolved"}),
    ("put", "labels/", {"labels": []}),
    ("get", "notes/", None),
    ("post", "notes/", {"text": "psst"}),
    ("get", "events/", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CONVERSATION_ENDPOINTS)
def test_an_operator_outside_the_team_gets_404_everywhere(api, support, sales, method, path, body):
    foreign = ConversationFactory(team=sales)
    response = getattr(api, method)(
        f"/api/v1/conversations/{foreign.id}/{path}", body, format="json"
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    foreign.refresh_from_db()
    assert (foreign.assignee, foreign.status) == (None, "open")
    assert not foreign.notes.exists()


def test_operators_see_their_teams_teamless_and_their_own_chats(api, olga, support, sales):
    mine = ConversationFactory(team=support)
    loose = ConversationFactory(team=None)
    foreign = ConversationFactory(team=sales)
    held = ConversationFactory(team=sales, assignee=olga)
    assert set(ids(api)) == {mine.id, loose.id, held.id}
    supervisor = client_for(UserFactory(username="sam", role="supervisor"))
    assert set(ids(supervisor)) == {mine.id, loose.id, held.id, foreign.id}
    assert supervisor.get(f"/api/v1/conversations/{foreign.id}/").status_code == 200


def test_users_without_a_role_are_refused_on_workspace_endpoints():
    nobody = client_for(UserFactory(username="visitor"))
    for path in ("conversations/", "labels/", "teams/", "agents/", "me/", "canned-replies/"):
        response = nobody.get(f"/api/v1/{path}")
        assert response.status_code == 403, path


def test_list_filters_by_team_label_number_and_anyone(api, olga, support):
    other_number = NumberFactory(phone_number_id="999", display_phone_number="1999")
    billing = LabelFactory(name="billing")
    in_team = ConversationFactory(team=support)
    labelled = ConversationFactory(assignee=olga)
    labelled.labels.add(billing)
    on_other = ConversationFactory(number=other_number)
    assert ids(api, f"?team={support.id}") == [in_team.id]
    assert ids(api, f"?label={billing.id}") == [labelled.id]
    assert ids(api, f"?number={other_number.id}") == [on_other.id]
    assert set(ids(api, "?assignee=anyone")) == {in_team.id, labelled.id, on_other.id}
    assert api.get("/api/v1/conversations/?team=x").status_code == 400
    assert api.get("/api/v1/conversations/?sort=oldest").status_code == 400


def test_window_sort_lists_unanswered_chats_closing_soonest_first(api):
    now = timezone.now()
    closes_late = ConversationFactory(
        last_inbound_at=now - dt.timedelta(hours=1), waiting_since=now - dt.timedelta(hours=1)
    )
    closes_soon = ConversationFactory(
        last_inbound_at=now - dt.timedelta(hours=23), waiting_since=now - dt.timedelta(hours=23)
    )
    from_ad = ConversationFactory(
        last_inbound_at=now - dt.timedelta(hours=30),
        free_entry_until=now + dt.timedelta(hours=10),
        waiting_since=now - dt.timedelta(hours=30),
    )
    ConversationFactory(last_inbound_at=now - dt.timedelta(hours=2))  # answered
    ConversationFactory(
        last_inbound_at=now - dt.timedelta(hours=25), waiting_since=now - dt.timedelta(hours=25)
    )  # window closed
    assert ids(api, "?sort=window") == [closes_soon.id, from_ad.id, closes_late.id]


def test_list_and_search_stay_within_a_fixed_number_of_queries(
    api, support, django_assert_max_num_queries
):
    labels = [LabelFactory(name=n) for n in ("billing", "delivery")]
    for i in range(20):
        conversation = ConversationFactory(
            team=support if i % 2 else None,
            assignee=UserFactory(username=f"op{i}"),
            contact=ContactFactory(profile_name=f"Customer {i}"),
        )
        conversation.labels.set(labels)
    # The user's roles and teams, the count, the page, one query each for the
    # page's numbers, teams, operators and labels, and three for the SLA clocks
    # (open episodes, open waits, breaches): never one per row.
    with django_assert_max_num_queries(13):
        results = api.get("/api/v1/conversations/").json()["results"]
    assert len(results) == 20
    assert [label["name"] for label in results[0]["labels"]] == ["billing", "delivery"]
    with django_assert_max_num_queries(13):
        assert len(api.get("/api/v1/conversations/?search=customer").json()["results"]) == 20


def test_conversation_payload_has_the_workspace_fields(api, support):
    label = LabelFactory(name="billing", color="#ff0000")
    conversation = ConversationFactory(team=support, queued_at=timezone.now())
    conversation.labels.add(label)
    body = api.get(f"/api/v1/conversations/{conversation.id}/").json()
    assert body["team"] == {"id": support.id, "name": "Support"}
    assert body["labels"] == [{"id": label.id, "name": "billing", "color": "#ff0000"}]
    assert (body["queued"], body["snoozed_until"], body["waiting_since"]) == (True, None, None)
    assert body["escalated_at"] is None


def test_claim_answers_409_with_the_holders_name(api, olga, support):
    conversation = ConversationFactory(team=support)
    response = api.post(f"/api/v1/conversations/{conversation.id}/claim/")
    assert response.status_code == 200
    assert response.json()["assignee"]["username"] == "olga"
    oleg = UserFactory(username="oleg", role="operator")
    support.members.add(oleg)
    again = client_for(oleg).post(f"/api/v1/conversations/{conversation.id}/claim/")
    assert again.status_code == 409
    assert again.json() == {"code": "already_assigned", "detail": "Already taken by Olga Ivanova."}


def test_assign_transfers_or_refuses_with_a_reason(api, olga, support, sales, boris):
    conversation = ConversationFactory(team=support, assignee=olga)
    url = f"/api/v1/conversations/{conversation.id}/assign/"
    refused = api.post(url, {"assignee": boris.id}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_assignee"
    assert api.post(url, {}, format="json").status_code == 400
    moved = api.post(url, {"assignee": boris.id, "team": sales.id}, format="json")
    assert moved.status_code == 200
    assert (moved.json()["assignee"]["id"], moved.json()["team"]["id"]) == (boris.id, sales.id)
    # Now in Sales and held by boris: olga no longer sees it.
    assert api.post(url, {"assignee": None}, format="json").status_code == 404


def test_an_operator_may_not_take_a_colleagues_chat_away(api, support):
    colleague = UserFactory(username="oleg", role="operator")
    support.members.add(colleague)
    conversation = ConversationFactory(team=support, assignee=colleague)
    response = api.post(
        f"/api/v1/conversations/{conversation.id}/assign/", {"assignee": None}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_status_and_snooze(api):
    conversation = ConversationFactory()
    url = f"/api/v1/conversations/{conversation.id}/status/"
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    refused = api.post(url, {"status": "snoozed", "snoozed_until": past}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_snooze")
    future = timezone.now() + dt.timedelta(hours=1)
    body = api.post(
        url, {"status": "snoozed", "snoozed_until": future.isoformat()}, format="json"
    ).json()
    assert body["status"] == "snoozed"
    assert body["snoozed_until"] is not None
    assert api.post(url, {"status": "bogus"}, format="json").status_code == 400


def test_labels_notes_and_events_of_a_chat(api, olga, support):
    colleague = UserFactory(username="oleg", role="operator")
    support.members.add(colleague)
    billing = LabelFactory(name="billing")
    conversation = ConversationFactory(team=support)
    base = f"/api/v1/conversations/{conversation.id}/"
    labelled = api.put(base + "labels/", {"labels": [billing.id]}, format="json")
    assert labelled.json()["labels"] == [
        {"id": billing.id, "name": "billing", "color": billing.color}
    ]
    assert api.put(base + "labels/", {"labels": [12345]}, format="json").json()["code"] == (
        "invalid_label"
    )
    note = api.post(base + "notes/", {"text": "@oleg look"}, format="json")
    assert note.status_code == 201
    assert set(note.json()) == {"id", "conversation_id", "author", "text", "mentions", "created_at"}
    assert note.json()["mentions"] == [{"id": colleague.id, "username": "oleg", "name": "oleg"}]
    notes = api.get(base + "notes/").json()["results"]
    assert [n["text"] for n in notes] == ["@oleg look"]
    api.post(base + "claim/")
    events = api.get(base + "events/").json()["results"]
    assert [e["kind"] for e in events] == ["labels", "assigned"]
    assert set(events[0]) == {"id", "conversation_id", "kind", "actor", "data", "created_at"}
    assert events[1]["actor"]["username"] == "olga"
    # The note never reaches the customer.
    assert not Message.objects.filter(conversation=conversation).exists()


def test_canned_replies_of_my_teams_rendered_for_the_chat(api, support, sales):
    CannedReplyFactory(
        shortcut="hello", title="Greeting", text="Hello {{first_name}}, {{agent}} here"
    )
    CannedReplyFactory(shortcut="hours", title="Opening hours", text="9-17", team=support)
    CannedReplyFactory(shortcut="discount", title="Sales discount", text="10%", team=sales)
    conversation = ConversationFactory(
        team=support, contact=ContactFactory(profile_name="Maria Lopez")
    )
    body = api.get(f"/api/v1/canned-replies/?conversation={conversation.id}").json()
    replies = {r["shortcut"]: r for r in body["results"]}
    assert set(replies) == {"hello", "hours"}
    assert replies["hello"]["rendered"] == "Hello Maria, Olga here"
    assert set(replies["hello"]) == {"id", "shortcut", "title", "text", "rendered"}
    found = api.get("/api/v1/canned-replies/?q=open").json()["results"]
    assert [r["shortcut"] for r in found] == ["hours"]
    foreign = ConversationFactory(team=sales)
    assert api.get(f"/api/v1/canned-replies/?conversation={foreign.id}").status_code == 404


def test_labels_teams_and_agents(api, olga, support, sales, boris):
    LabelFactory(name="returns")
    assert [label["name"] for label in api.get("/api/v1/labels/").json()["results"]] == ["returns"]
    teams = api.get("/api/v1/teams/").json()["results"]
    assert [t["name"] for t in teams] == ["Sales", "Support"]
    assert teams[1]["members"] == [olga.id]

    oleg = UserFactory(username="oleg", role="operator")
    support.members.add(oleg)
    AgentProfile.objects.create(user=oleg, capacity=3, presence="away")
    online(oleg)
    ConversationFactory(team=support, assignee=oleg)
    ConversationFactory(team=support, assignee=oleg, status="pending")
    agents = {a["username"]: a for a in api.get("/api/v1/agents/").json()["results"]}
    assert set(agents) == {"olga", "oleg"}
    assert agents["oleg"] == {
        "id": oleg.id,
        "username": "oleg",
        "name": "oleg",
        "presence": "away",
        "teams": [support.id],
        "active_chats": 1,
        "capacity": 3,
    }
    assert agents["olga"]["presence"] == "offline"
    supervisor = client_for(UserFactory(username="sam", role="supervisor"))
    everyone = {a["username"] for a in supervisor.get("/api/v1/agents/").json()["results"]}
    assert everyone == {"olga", "oleg", "boris", "sam"}


def test_me_shows_and_changes_my_settings(api, olga, support):
    me = api.get("/api/v1/me/").json()
    assert me == {
        "id": olga.id,
        "username": "olga",
        "name": "Olga Ivanova",
        "roles": ["operator"],
        "teams": [{"id": support.id, "name": "Support"}],
        "presence": "offline",
        "presence_choice": "online",
        "language": "",
        "time_zone": "",
        "notify_desktop": True,
        "notify_sound": True,
    }
    online(olga)
    changed = api.patch(
        "/api/v1/me/",
        {
            "presence_choice": "away",
            "language": "ru",
            "time_zone": "Europe/Moscow",
            "notify_sound": False,
        },
        format="json",
    ).json()
    assert (changed["presence"], changed["presence_choice"]) == ("away", "away")
    assert (changed["language"], changed["time_zone"], changed["notify_sound"]) == (
        "ru",
        "Europe/Moscow",
        False,
    )
    assert api.patch("/api/v1/me/", {"presence": "online"}, format="json").json()["presence"] == (
        "online"
    )
    bad = api.patch("/api/v1/me/", {"time_zone": "Mars/Olympus", "language": "de"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"time_zone", "language"}


def test_notifications_list_and_read(api, olga):
    conversation = ConversationFactory()
    mine = Notification.objects.create(
        user=olga, kind="mention", conversation=conversation, text="x"
    )
    other = Notification.objects.create(
        user=UserFactory(username="oleg", role="operator"),
        kind="mention",
        conversation=conversation,
    )
    listed = api.get("/api/v1/notifications/?unread=1").json()["results"]
    assert [n["id"] for n in listed] == [mine.id]
    assert set(listed[0]) == {
        "id",
        "kind",
        "conversation_id",
        "text",
        "data",
        "created_at",
        "read_at",
    }
    read = api.post(f"/api/v1/notifications/{mine.id}/read/")
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert api.get("/api/v1/notifications/?unread=1").json()["results"] == []
    assert len(api.get("/api/v1/notifications/").json()["results"]) == 1
    assert api.post(f"/api/v1/notifications/{other.id}/read/").status_code == 404


def test_the_schema_describes_the_workspace_endpoints(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert {
        "/api/v1/conversations/{id}/claim/",
        "/api/v1/conversations/{id}/assign/",
        "/api/v1/conversations/{id}/status/",
        "/api/v1/conversations/{id}/labels/",
        "/api/v1/conversations/{id}/notes/",
        "/api/v1/conversations/{id}/events/",
        "/api/v1/canned-replies/",
        "/api/v1/labels/",
        "/api/v1/teams/",
        "/api/v1/agents/",
        "/api/v1/me/",
        "/api/v1/notifications/",
        "/api/v1/notifications/{id}/read/",
    } <= set(paths)
    assert "409" in paths["/api/v1/conversations/{id}/claim/"]["post"]["responses"]
    parameters = {p["name"] for p in paths["/api/v1/conversations/"]["get"]["parameters"]}
    assert {"team", "label", "number", "sort"} <= parameters
    assert Conversation.objects.count() == 0
