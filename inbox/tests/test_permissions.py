"""Who may do what, over every endpoint of the API and the WebSocket.

One row per endpoint and method, one column per kind of user (anonymous, a user
without a role, an operator of another team, an operator of the chat's team, a
supervisor, an admin): the exact status each gets, and for lists the rows each
sees. A chat (or message, or notification) the user may not see is "not
found", never "forbidden", so its existence does not leak; what the role does
not allow (admins' writes) is 403. A refused request changes nothing.

Every URL of the API must have its rows here: a new endpoint fails
``test_every_endpoint_has_a_row`` until someone decides who may use it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async as sync_to_async
from rest_framework.test import APIClient

from analytics.models import SlaPolicy
from conversations import services
from conversations.models import (
    AgentProfile,
    BusinessProfile,
    CompliancePolicy,
    Consent,
    ConsentCategory,
    ConsentChange,
    ConsentImport,
    Contact,
    Conversation,
    ConversationEvent,
    Label,
    Message,
    Note,
    Notification,
    SendAttempt,
    Team,
    WhatsAppNumber,
)
from inbox.tests.test_consumer import (
    connect,
    connected_as,
    handled,
    heard_before_marker,
    session_cookie,
)
from inbox.tests.world import (
    ADMIN,
    ANONYMOUS,
    JPEG,
    NO_ROLE,
    OPERATOR,
    OUTSIDER,
    ROLES,
    SUPERVISOR,
    World,
    a_campaign,
    build_world,
    graph_simulator,
)
from inbox.urls import api_v1
from templates_app.models import MessageTemplate, TemplateSend

MEMBERS = (OUTSIDER, OPERATOR, SUPERVISOR, ADMIN)


def everyone(ok: int) -> dict[str, int]:
    """An endpoint any inbox user may use."""
    return {ANONYMOUS: 401, NO_ROLE: 403, **dict.fromkeys(MEMBERS, ok)}


def who_may_see_the_chat(ok: int) -> dict[str, int]:
    """An endpoint on Support's chat (or one of its messages): not found to Sales."""
    return {**everyone(ok), OUTSIDER: 404}


def admins_only(ok: int) -> dict[str, int]:
    return {**everyone(403), ADMIN: ok}


def supervisors_only(ok: int) -> dict[str, int]:
    return {**everyone(403), SUPERVISOR: ok, ADMIN: ok}


def own_only(ok: int) -> dict[str, int]:
    """Someone else's row: nobody but its owner (the operator) finds it."""
    return {**everyone(404), OPERATOR: ok}


@dataclass(frozen=True)
class Row:
    name: str  # the URL's name in inbox/urls.py api_v1
    method: str
    path: Callable[[World], str]
    expect: dict[str, int]
    body: Callable[[World], dict[str, Any]] | None = None
    multipart: bool = False
    # For lists: the ids each role gets, from the answer's results.
    visible: Callable[[World], dict[str, set[Any]]] | None = None
    key: str = "id"
    note: str = ""
    setup: Callable[[World], None] | None = field(default=None)

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}{' ' + self.note if self.note else ''}"


def support(w: World) -> str:
    return f"/api/v1/conversations/{w.support_chat.pk}/"


def chats(**by_role: tuple[str, ...]) -> Callable[[World], dict[str, set[Any]]]:
    def visible(w: World) -> dict[str, set[Any]]:
        ids = w.conversation_ids()
        return {role: {ids[name] for name in names} for role, names in by_role.items()}

    return visible


def seen_by_the_team(ids: set[Any]) -> dict[str, set[Any]]:
    """Support's rows: its operator, supervisors and admins see them all (Sales gets 404)."""
    return {role: set(ids) for role in (OPERATOR, SUPERVISOR, ADMIN)}


def messages_of_support(w: World) -> dict[str, set[Any]]:
    ids = {str(pk) for pk in w.support_chat.messages.values_list("pk", flat=True)}
    return seen_by_the_team(ids)


def notes_of_support(w: World) -> dict[str, set[Any]]:
    ids = set(w.support_chat.notes.values_list("pk", flat=True))
    return seen_by_the_team(ids)


def events_of_support(w: World) -> dict[str, set[Any]]:
    ids = set(w.support_chat.events.values_list("pk", flat=True))
    return seen_by_the_team(ids)


def canned(**by_role: tuple[str, ...]) -> Callable[[World], dict[str, set[Any]]]:
    def visible(w: World) -> dict[str, set[Any]]:
        return {role: {w.canned[name].pk for name in names} for role, names in by_role.items()}

    return visible


def agents(w: World) -> dict[str, set[Any]]:
    staff = {w.users[key].pk for key in MEMBERS}
    return {
        OUTSIDER: {w.users[OUTSIDER].pk},
        OPERATOR: {w.users[OPERATOR].pk},
        SUPERVISOR: staff,
        ADMIN: staff,
    }


def own_notifications(w: World) -> dict[str, set[Any]]:
    return {key: {w.notifications[key].pk} for key in MEMBERS}


def all_of(model: Any) -> Callable[[World], dict[str, set[Any]]]:
    return lambda w: {role: set(model.objects.values_list("pk", flat=True)) for role in MEMBERS}


def held_by_a_colleague(w: World) -> None:
    colleague = w.users[SUPERVISOR]
    Conversation.objects.filter(pk=w.support_chat.pk).update(assignee=colleague)


def number_profile(w: World) -> str:
    return f"/api/v1/numbers/{w.number.pk}/profile/"


def photo_upload(w: World) -> dict[str, Any]:
    photo = io.BytesIO(JPEG)
    photo.name = "logo.jpg"
    return {"file": photo}


def customer_photo_reply(w: World) -> dict[str, Any]:
    photo = io.BytesIO(JPEG)
    photo.name = "new-handle.jpg"
    return {"file": photo, "caption": "The new handle"}


def templates(**by_role: tuple[str, ...]) -> Callable[[World], dict[str, set[Any]]]:
    def visible(w: World) -> dict[str, set[Any]]:
        return {role: {w.templates[key].pk for key in keys} for role, keys in by_role.items()}

    return visible


def who_may_use(ok: int) -> dict[str, int]:
    """Support's template: not found to Sales' operator."""
    return {**everyone(ok), OUTSIDER: 404}


def template_path(key: str, rest: str = "") -> Callable[[World], str]:
    return lambda w: f"/api/v1/templates/{w.templates[key].pk}/{rest}"


def new_template(w: World) -> dict[str, Any]:
    return {
        "waba_id": w.number.waba_id,
        "name": "parcel_delayed",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hello {{1}}, your parcel {{2}} is delayed by a day. Sorry!",
                "example": {"body_text": [["Anna", "A-1042"]]},
            }
        ],
    }


def contacts(**by_role: tuple[str, ...]) -> Callable[[World], dict[str, set[Any]]]:
    def visible(w: World) -> dict[str, set[Any]]:
        chats = {"support": w.support_chat, "sales": w.sales_chat, "lobby": w.lobby_chat}
        return {role: {chats[name].contact_id for name in names} for role, names in by_role.items()}

    return visible


def ana(w: World) -> str:
    return f"/api/v1/contacts/{w.support_chat.contact_id}/"


def supervisors_and_admins(ok: int) -> dict[str, int]:
    return {**everyone(403), SUPERVISOR: ok, ADMIN: ok}


def consent_csv(w: World) -> dict[str, Any]:
    upload = io.BytesIO(
        b"wa_id,category,state,source,date,wording\n"
        b"393331234567,everything,opted_in,website_form,2026-11-02,Yes please\n"
    )
    upload.name = "consents.csv"
    return {"file": upload}


ALL_TEMPLATES = ("everyone", "support", "sales", "draft")
ALL_CHATS = ("support", "sales", "lobby")


def campaign(w: World) -> str:
    return f"/api/v1/campaigns/{w.campaign_id}/"  # type: ignore[attr-defined]


ROWS = [
    Row(
        "conversation-list",
        "get",
        lambda w: "/api/v1/conversations/",
        everyone(200),
        visible=chats(
            outsider=("sales", "lobby"),
            operator=("support", "lobby"),
            supervisor=ALL_CHATS,
            admin=ALL_CHATS,
        ),
    ),
    Row(
        "conversation-list",
        "get",
        lambda w: f"/api/v1/conversations/?team={w.support.pk}",
        everyone(200),
        note="filtered by another team",
        visible=chats(
            outsider=(), operator=("support",), supervisor=("support",), admin=("support",)
        ),
    ),
    Row(
        "conversation-list",
        "get",
        lambda w: "/api/v1/conversations/?search=Ana",
        everyone(200),
        note="searching another team's customer",
        visible=chats(
            outsider=(), operator=("support",), supervisor=("support",), admin=("support",)
        ),
    ),
    Row("conversation-detail", "get", support, who_may_see_the_chat(200)),
    Row(
        "conversation-messages",
        "get",
        lambda w: support(w) + "messages/",
        who_may_see_the_chat(200),
        visible=messages_of_support,
    ),
    Row(
        "conversation-messages",
        "post",
        lambda w: support(w) + "messages/",
        who_may_see_the_chat(201),
        body=lambda w: {"text": "A new one is on its way"},
    ),
    Row(
        "conversation-messages",
        "post",
        lambda w: support(w) + "messages/",
        who_may_see_the_chat(201),
        body=customer_photo_reply,
        multipart=True,
        note="upload",
    ),
    Row(
        "conversation-messages",
        "post",
        lambda w: support(w) + "messages/",
        who_may_see_the_chat(201),
        body=lambda w: {
            "template": {
                "id": w.templates["everyone"].pk,
                "parameters": {"body": ["Anna", "A-1042", "Friday"]},
            }
        },
        note="a template",
    ),
    Row(
        "conversation-templates",
        "get",
        lambda w: support(w) + "templates/",
        who_may_see_the_chat(200),
        visible=templates(
            operator=("everyone", "support"),
            supervisor=("everyone", "support", "sales"),
            admin=("everyone", "support", "sales"),
        ),
    ),
    Row(
        "template-list",
        "get",
        lambda w: "/api/v1/templates/",
        everyone(200),
        visible=templates(
            outsider=("everyone", "sales"),
            operator=("everyone", "support"),
            supervisor=ALL_TEMPLATES,
            admin=ALL_TEMPLATES,
        ),
    ),
    Row("template-list", "post", lambda w: "/api/v1/templates/", admins_only(201), new_template),
    Row(
        "template-check",
        "post",
        lambda w: "/api/v1/templates/check/",
        admins_only(200),
        new_template,
    ),
    Row("template-detail", "get", template_path("support"), who_may_use(200)),
    Row(
        "template-detail",
        "patch",
        template_path("support"),
        admins_only(200),
        body=lambda w: {"allowed_teams": [w.sales.pk]},
    ),
    Row("template-detail", "delete", template_path("draft"), admins_only(204)),
    Row("template-submit", "post", template_path("draft", "submit/"), admins_only(202)),
    Row("conversation-read", "post", lambda w: support(w) + "read/", who_may_see_the_chat(200)),
    Row("conversation-typing", "post", lambda w: support(w) + "typing/", who_may_see_the_chat(204)),
    Row(
        "message-reaction",
        "post",
        lambda w: f"/api/v1/messages/{w.inbound.pk}/reaction/",
        who_may_see_the_chat(201),
        body=lambda w: {"emoji": "\N{THUMBS UP SIGN}"},
    ),
    Row(
        "message-retry",
        "post",
        lambda w: f"/api/v1/messages/{w.failed_reply.pk}/retry/",
        who_may_see_the_chat(202),
    ),
    Row("conversation-claim", "post", lambda w: support(w) + "claim/", who_may_see_the_chat(200)),
    Row(
        "conversation-assign",
        "post",
        lambda w: support(w) + "assign/",
        who_may_see_the_chat(200),
        body=lambda w: {"assignee": w.users[OPERATOR].pk},
    ),
    Row(
        "conversation-assign",
        "post",
        lambda w: support(w) + "assign/",
        {**who_may_see_the_chat(200), OPERATOR: 403},
        body=lambda w: {"assignee": w.users[OPERATOR].pk},
        note="held by a colleague",
        setup=held_by_a_colleague,
    ),
    Row(
        "conversation-status",
        "post",
        lambda w: support(w) + "status/",
        who_may_see_the_chat(200),
        body=lambda w: {"status": "pending"},
    ),
    Row(
        "conversation-labels",
        "put",
        lambda w: support(w) + "labels/",
        who_may_see_the_chat(200),
        body=lambda w: {"labels": []},
    ),
    Row(
        "conversation-notes",
        "get",
        lambda w: support(w) + "notes/",
        who_may_see_the_chat(200),
        visible=notes_of_support,
    ),
    Row(
        "conversation-notes",
        "post",
        lambda w: support(w) + "notes/",
        who_may_see_the_chat(201),
        body=lambda w: {"text": "Checked with the warehouse"},
    ),
    Row(
        "conversation-events",
        "get",
        lambda w: support(w) + "events/",
        who_may_see_the_chat(200),
        visible=events_of_support,
    ),
    Row(
        "canned-reply-list",
        "get",
        lambda w: "/api/v1/canned-replies/",
        everyone(200),
        visible=canned(
            outsider=("sales", "everyone"),
            operator=("support", "everyone"),
            supervisor=("support", "sales", "everyone"),
            admin=("support", "sales", "everyone"),
        ),
    ),
    Row(
        "canned-reply-list",
        "get",
        lambda w: f"/api/v1/canned-replies/?conversation={w.support_chat.pk}",
        who_may_see_the_chat(200),
        note="for another team's chat",
    ),
    Row("label-list", "get", lambda w: "/api/v1/labels/", everyone(200), visible=all_of(Label)),
    Row("team-list", "get", lambda w: "/api/v1/teams/", everyone(200), visible=all_of(Team)),
    Row("agent-list", "get", lambda w: "/api/v1/agents/", everyone(200), visible=agents),
    Row("me", "get", lambda w: "/api/v1/me/", everyone(200)),
    Row("me", "patch", lambda w: "/api/v1/me/", everyone(200), body=lambda w: {"language": "ru"}),
    Row(
        "notification-list",
        "get",
        lambda w: "/api/v1/notifications/",
        everyone(200),
        visible=own_notifications,
    ),
    Row(
        "notification-read",
        "post",
        lambda w: f"/api/v1/notifications/{w.notifications[OPERATOR].pk}/read/",
        own_only(200),
    ),
    Row(
        "number-list",
        "get",
        lambda w: "/api/v1/numbers/",
        everyone(200),
        visible=all_of(WhatsAppNumber),
    ),
    Row(
        "number-list",
        "post",
        lambda w: "/api/v1/numbers/",
        admins_only(201),
        body=lambda w: {
            "phone_number_id": "999000111222",
            "display_phone_number": "15550009999",
            "waba_id": "102290129340398",
            "name": "Second line",
        },
    ),
    Row(
        "contact-list",
        "get",
        lambda w: "/api/v1/contacts/",
        everyone(200),
        visible=contacts(
            outsider=("sales", "lobby"),
            operator=("support", "lobby"),
            supervisor=ALL_CHATS,
            admin=ALL_CHATS,
        ),
    ),
    Row(
        "contact-list",
        "post",
        lambda w: "/api/v1/contacts/",
        everyone(201),
        body=lambda w: {"wa_id": "393331234567", "name": "Luca"},
    ),
    Row("contact-detail", "get", ana, who_may_see_the_chat(200)),
    Row("contact-consents", "get", lambda w: ana(w) + "consents/", who_may_see_the_chat(200)),
    Row(
        "contact-consents",
        "post",
        lambda w: ana(w) + "consents/",
        who_may_see_the_chat(201),
        body=lambda w: {"category": "everything", "state": "opted_out", "source": "operator"},
    ),
    Row(
        "consent-category-list",
        "get",
        lambda w: "/api/v1/consent-categories/",
        everyone(200),
    ),
    Row(
        "consent-category-list",
        "post",
        lambda w: "/api/v1/consent-categories/",
        admins_only(201),
        body=lambda w: {
            "slug": "offers",
            "name": "Offers",
            "template_categories": ["MARKETING"],
            "opt_in_text": "Yes, send me your offers",
        },
    ),
    Row("compliance-policy", "get", lambda w: "/api/v1/compliance-policy/", everyone(200)),
    Row(
        "compliance-policy",
        "put",
        lambda w: "/api/v1/compliance-policy/",
        admins_only(200),
        body=lambda w: {
            "quiet_hours": {"start": "22:00", "end": "08:00", "weekend_days": [6]},
            "frequency_cap": {"messages": 1, "days": 7},
            "allowed_countries": ["IT", "RU"],
        },
    ),
    Row(
        "compliance-log",
        "get",
        lambda w: "/api/v1/compliance-log/",
        supervisors_and_admins(200),
    ),
    Row(
        "consent-import-list",
        "post",
        lambda w: "/api/v1/consent-imports/",
        admins_only(202),
        body=consent_csv,
        multipart=True,
    ),
    Row(
        "consent-import-detail",
        "get",
        lambda w: f"/api/v1/consent-imports/{ConsentImport.objects.get().pk}/",
        admins_only(200),
    ),
    Row(
        "message-media",
        "get",
        lambda w: f"/api/v1/messages/{w.photo.pk}/media/",
        who_may_see_the_chat(200),
    ),
    Row(
        "message-media-retry",
        "post",
        lambda w: f"/api/v1/messages/{w.failed_download.pk}/media/retry/",
        who_may_see_the_chat(202),
    ),
    Row("number-profile", "get", number_profile, everyone(200)),
    Row(
        "number-profile",
        "put",
        number_profile,
        admins_only(200),
        body=lambda w: {"about": "Kettles and more"},
    ),
    Row(
        "number-profile",
        "patch",
        number_profile,
        admins_only(200),
        body=lambda w: {"about": "Kettles and more"},
    ),
    Row(
        "number-profile-photo",
        "post",
        lambda w: number_profile(w) + "photo/",
        admins_only(200),
        body=photo_upload,
        multipart=True,
    ),
    Row(
        "number-profile-fetch",
        "post",
        lambda w: number_profile(w) + "fetch/",
        admins_only(200),
    ),
    Row("stats-summary", "get", lambda w: "/api/v1/stats/summary/", supervisors_only(200)),
    Row(
        "stats-summary",
        "get",
        lambda w: "/api/v1/stats/summary/?format=csv",
        supervisors_only(200),
        note="as CSV",
    ),
    Row(
        "stats-breakdown",
        "get",
        lambda w: "/api/v1/stats/breakdown/?by=operator",
        supervisors_only(200),
    ),
    Row("stats-heatmap", "get", lambda w: "/api/v1/stats/heatmap/", supervisors_only(200)),
    Row(
        "stats-distribution",
        "get",
        lambda w: "/api/v1/stats/distribution/",
        supervisors_only(200),
    ),
    Row("sla-policy-list", "get", lambda w: "/api/v1/sla-policies/", supervisors_only(200)),
    Row(
        "sla-policy-list",
        "post",
        lambda w: "/api/v1/sla-policies/",
        supervisors_only(201),
        body=lambda w: {
            "name": "Fast",
            "team": w.support_chat.team_id,
            "first_response_minutes": 5,
        },
    ),
    Row("campaign-list", "get", lambda w: "/api/v1/campaigns/", supervisors_only(200)),
    Row(
        "campaign-list",
        "post",
        lambda w: "/api/v1/campaigns/",
        admins_only(201),
        setup=lambda w: a_campaign(w),
        body=lambda w: {
            "name": "Spring offer",
            "number": w.number.pk,
            "consent_category": "updates",
            "variants": [{"template": w.templates["everyone"].pk, "share": 100}],
            "audience": {"wa_ids": ["393331234567"]},
        },
    ),
    Row("campaign-detail", "get", lambda w: campaign(w), supervisors_only(200), setup=a_campaign),
    Row(
        "campaign-preview",
        "get",
        lambda w: campaign(w) + "preview/",
        supervisors_only(200),
        setup=a_campaign,
    ),
    Row(
        "campaign-recipients",
        "get",
        lambda w: campaign(w) + "recipients/",
        supervisors_only(200),
        setup=a_campaign,
    ),
    Row(
        "campaign-start",
        "post",
        lambda w: campaign(w) + "start/",
        admins_only(202),
        setup=a_campaign,
    ),
    Row(
        "campaign-pause",
        "post",
        lambda w: campaign(w) + "pause/",
        admins_only(200),
        setup=lambda w: a_campaign(w, status="running"),
    ),
    Row(
        "campaign-resume",
        "post",
        lambda w: campaign(w) + "resume/",
        admins_only(200),
        setup=lambda w: a_campaign(w, status="paused"),
    ),
    Row(
        "campaign-cancel",
        "post",
        lambda w: campaign(w) + "cancel/",
        admins_only(200),
        setup=a_campaign,
    ),
    Row("number-health", "get", lambda w: "/api/v1/number-health/", supervisors_only(200)),
]


# --- The matrix -------------------------------------------------------------------

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    with graph_simulator(settings):
        yield build_world()


def client_as(world: World, role: str) -> APIClient:
    client = APIClient()
    if role != ANONYMOUS:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


def state() -> list[Any]:
    """Everything a request could change."""
    return [
        list(model.objects.order_by("pk").values())
        for model in (
            Conversation,
            Message,
            SendAttempt,
            Note,
            ConversationEvent,
            Notification,
            WhatsAppNumber,
            BusinessProfile,
            AgentProfile,
            MessageTemplate,
            TemplateSend,
            Contact,
            ConsentCategory,
            ConsentChange,
            Consent,
            CompliancePolicy,
            ConsentImport,
            SlaPolicy,
        )
    ] + [
        list(Conversation.labels.through.objects.order_by("pk").values()),
        list(MessageTemplate.allowed_teams.through.objects.order_by("pk").values()),
    ]


def result_ids(answer: Any, key: str) -> set[Any]:
    body = answer.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row[key] for row in rows}


CELLS = [pytest.param(row, role, id=f"{row.id} as {role}") for row in ROWS for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CELLS)
def test_each_user_gets_exactly_what_they_may(world: World, row: Row, role: str) -> None:
    if row.setup:
        row.setup(world)
    before = state()
    client = client_as(world, role)
    body = row.body(world) if row.body else None
    answer = getattr(client, row.method)(
        row.path(world), body, format="multipart" if row.multipart else "json"
    )
    expected = row.expect[role]
    assert answer.status_code == expected, answer.content[:300]
    if expected >= 400:
        assert answer["Content-Type"] == "application/json"
        assert {"code", "detail"} <= set(answer.json())
        assert state() == before, "a refused request changed something"
    elif row.visible is not None:
        assert result_ids(answer, row.key) == row.visible(world)[role]


def test_every_endpoint_has_a_row() -> None:
    """Each URL of the API, with each method its view answers, is in the matrix."""
    served = set()
    for pattern in api_v1:
        view = pattern.callback.view_class
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                served.add((pattern.name, method))
    covered = {(row.name, row.method) for row in ROWS}
    assert served - covered == set(), "endpoints nobody decided the permissions of"
    assert covered - served == set(), "rows for endpoints that do not exist"
    assert all(set(row.expect) == set(ROLES) for row in ROWS)


def test_another_operators_notification_cannot_be_read_even_by_admins(world: World) -> None:
    mine = world.notifications[OPERATOR]
    for role in (OUTSIDER, SUPERVISOR, ADMIN):
        answer = client_as(world, role).post(f"/api/v1/notifications/{mine.pk}/read/")
        assert answer.status_code == 404
    mine.refresh_from_db()
    assert mine.read_at is None


def test_another_teams_file_is_not_found(world: World) -> None:
    answer = client_as(world, OPERATOR).get(f"/api/v1/messages/{world.sales_photo.pk}/media/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    own = client_as(world, OUTSIDER).get(f"/api/v1/messages/{world.sales_photo.pk}/media/")
    assert (own.status_code, b"".join(own.streaming_content)) == (200, JPEG)


def test_an_upload_to_a_chat_one_may_not_see_stores_no_file(world: World, settings: Any) -> None:
    answer = client_as(world, OUTSIDER).post(
        support(world) + "messages/", customer_photo_reply(world), format="multipart"
    )
    assert answer.status_code == 404
    stored = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    assert stored == ["catalogue.jpg", "handle.jpg"]


# --- The WebSocket ----------------------------------------------------------------


async def quiet(socket: Any) -> None:
    """Read what the socket has been told so far (colleagues coming online)."""
    while not await socket.receive_nothing(timeout=0.3):
        await socket.receive_json_from()


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("role", [ANONYMOUS, NO_ROLE])
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_socket_refuses_who_may_not_use_the_inbox(media: None, role: str) -> None:
    world = await sync_to_async(build_world)()
    user = world.user(role)
    cookie = await sync_to_async(session_cookie)(user) if user else None
    socket = await connect(cookie)
    connected, code = await socket.connect()
    assert (connected, code) == (False, 4403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_socket_refuses_a_page_of_another_site(media: None) -> None:
    world = await sync_to_async(build_world)()
    cookie = await sync_to_async(session_cookie)(world.users[OPERATOR])
    socket = await connect(cookie, origin=b"https://evil.example")
    connected, _ = await socket.connect()
    assert not connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_chats_events_reach_only_who_may_see_it(media: None) -> None:
    world = await sync_to_async(build_world)()
    sockets = {role: await connected_as(world.users[role]) for role in MEMBERS}
    for socket in sockets.values():
        await quiet(socket)

    await sync_to_async(services.note_create)(
        conversation=world.support_chat, author=world.users[SUPERVISOR], text="Refund approved"
    )
    for role in (OPERATOR, SUPERVISOR, ADMIN):
        event = await sockets[role].receive_json_from(timeout=5)
        assert (event["type"], event["conversation_id"]) == ("note.created", world.support_chat.pk)
        assert event["note"]["text"] == "Refund approved"
    # Nothing else, to anyone (the outsider above all).
    assert await heard_before_marker(*sockets.values()) == [[]] * len(sockets)

    # And the other way round: Sales' chat is none of Support's operator's business.
    await sync_to_async(services.note_create)(
        conversation=world.sales_chat, author=world.users[SUPERVISOR], text="Quote sent"
    )
    for role in (OUTSIDER, SUPERVISOR, ADMIN):
        event = await sockets[role].receive_json_from(timeout=5)
        assert (event["type"], event["conversation_id"]) == ("note.created", world.sales_chat.pk)
    assert await heard_before_marker(*sockets.values()) == [[]] * len(sockets)

    # Viewing a chat one may not see tells nobody anything.
    await sockets[OUTSIDER].send_json_to(
        {"type": "viewing", "conversation_id": world.support_chat.pk}
    )
    await handled(sockets[OUTSIDER])
    assert await heard_before_marker(*sockets.values()) == [[]] * len(sockets)
    for socket in sockets.values():
        await socket.disconnect()
