"""An operator sends a template in a chat, window open or closed, against the
simulated Cloud API: only an approved template their team may use, with every
variable filled; the customer gets a valid template message."""

from __future__ import annotations

import datetime as dt

import django_rq
import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rq import SimpleWorker

from conversations.models import Conversation, Message
from conversations.tests.factories import (
    ConversationFactory,
    TeamFactory,
    UserFactory,
    consent_to,
    no_quiet_hours,
)
from simulator import Simulator
from templates_app.models import TemplateSend
from templates_app.tests.factories import ORDER_SHIPPED, make_template

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = "16505551234"
VALUES = {"body": ["Anna", "A-1042", "Friday"]}


def run_jobs() -> None:
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


@pytest.fixture
def support():
    return TeamFactory(name="Support")


@pytest.fixture
def olga(support):
    user = UserFactory(username="olga", role="operator")
    support.members.add(user)
    return user


@pytest.fixture
def api(olga) -> APIClient:
    client = APIClient()
    client.force_authenticate(olga)
    return client


def closed_chat(sim: Simulator, support) -> Conversation:
    """A customer who last wrote two days ago."""
    sim.customer_says(CUSTOMER, "Where is my order?")
    conversation = Conversation.objects.get(contact__wa_id=CUSTOMER)
    two_days_ago = timezone.now() - dt.timedelta(days=2)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=two_days_ago, team=support
    )
    return conversation


def send(api: APIClient, conversation: Conversation, template, values=VALUES):  # type: ignore[no-untyped-def]
    return api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {"template": {"id": template.pk, "parameters": values}},
        format="json",
    )


def test_a_template_reaches_a_customer_whose_window_closed(sim, api, support) -> None:
    conversation = closed_chat(sim, support)
    consent_to(conversation.contact, template_categories=("UTILITY",))
    no_quiet_hours()
    sim.add_template(
        {
            "name": "order_shipped",
            "language": "en_US",
            "category": "UTILITY",
            "components": ORDER_SHIPPED,
        }
    )
    template = make_template()
    text = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/", {"text": "Hi"}, format="json"
    )
    assert (text.status_code, text.json()["code"]) == (409, "window_closed")

    answer = send(api, conversation, template)
    assert answer.status_code == 201, answer.json()
    message = answer.json()
    assert (message["type"], message["status"]) == ("template", "queued")
    assert message["text"] == (
        "Hello Anna, your order A-1042 has shipped and will arrive on Friday.\n\nAcme Shop"
    )
    run_jobs()
    sent = sim.wait_for_sent()
    assert sent["type"] == "template"
    assert sent["payload"]["template"] == {
        "name": "order_shipped",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Anna"},
                    {"type": "text", "text": "A-1042"},
                    {"type": "text", "text": "Friday"},
                ],
            }
        ],
    }
    stored = Message.objects.get(pk=message["id"])
    assert stored.status in ("accepted", "sent", "delivered", "read")
    assert TemplateSend.objects.get(message=stored).parameters == VALUES
    conversation.refresh_from_db()
    assert conversation.window_expires_at() is None  # only the customer's answer opens it


@pytest.mark.parametrize("status", ["DRAFT", "PENDING", "REJECTED", "PAUSED", "DISABLED"])
def test_only_an_approved_template_is_sent(sim, api, support, status) -> None:
    conversation = closed_chat(sim, support)
    template = make_template(status=status)
    answer = send(api, conversation, template)
    assert (answer.status_code, answer.json()["code"]) == (409, "template_not_approved")
    assert not Message.objects.filter(direction="out").exists()


def test_a_template_of_another_team_or_account_is_not_the_operators_to_send(
    sim, api, support
) -> None:
    conversation = closed_chat(sim, support)
    sales_only = make_template(allowed_teams=[TeamFactory(name="Sales")])
    answer = send(api, conversation, sales_only)
    assert (answer.status_code, answer.json()["code"]) == (409, "template_not_allowed")
    elsewhere = make_template(name="other_account", waba_id="999")
    answer = send(api, conversation, elsewhere)
    assert (answer.status_code, answer.json()["code"]) == (409, "template_not_allowed")
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.parametrize(
    "values", [{"body": ["Anna", "A-1042"]}, {"body": ["Anna", "A-1042", "Friday", "x"]}, {}]
)
def test_every_variable_needs_its_value_and_no_more(sim, api, support, values) -> None:
    conversation = closed_chat(sim, support)
    answer = send(api, conversation, make_template(), values)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_parameters")
    assert not Message.objects.filter(direction="out").exists()


def test_the_composer_offers_the_customers_language_first(api, olga, support) -> None:
    from conversations.tests.factories import ContactFactory, NumberFactory

    number = NumberFactory()
    chat = ConversationFactory(
        number=number, team=support, contact=ContactFactory(wa_id="79161234567", country="RU")
    )
    make_template(name="order_shipped", language="en_US")
    make_template(name="order_shipped", language="ru")
    make_template(name="a_draft", status="DRAFT")
    make_template(name="sales_only", allowed_teams=[TeamFactory(name="Sales")])
    offered = api.get(f"/api/v1/conversations/{chat.pk}/templates/").json()
    assert [(t["name"], t["language"]) for t in offered] == [
        ("order_shipped", "ru"),
        ("order_shipped", "en_US"),
    ]
    other = ConversationFactory(team=TeamFactory(name="Sales"))
    assert api.get(f"/api/v1/conversations/{other.pk}/templates/").status_code == 404
