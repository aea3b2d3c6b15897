"""Automatic replies: a customer who writes when the team is closed, or when
nobody of the team is online, is told when the team is back, at most once per
period, in their language; the reply never counts as an operator's answer."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import django_rq
import pytest
import responses
import time_machine
from rq import SimpleWorker

from conftest import FIXTURES_DIR
from conversations import services
from conversations.models import (
    AgentProfile,
    AutoReply,
    BusinessCalendar,
    BusinessProfile,
    CalendarInterval,
    Conversation,
    Message,
)
from conversations.tests.factories import (
    NumberFactory,
    TeamFactory,
    UserFactory,
    _envelope,
    online,
    text_webhook,
)
from simulator import wire

pytestmark = pytest.mark.django_db

ROME = zoneinfo.ZoneInfo("Europe/Rome")
ANN = "447700900001"  # a British number: English
IVAN = "79161234567"  # a Russian number: Russian
LUCA = "393331234567"  # an Italian number: no Italian reply, the inbox's language
SEND_URL = "https://graph.example.test/v23.0/106540352242922/messages"

CLOSED_EN = (
    "Hello {{name}}, we are closed now. We are back {{opens_at}}. "
    "Write to {{email}}, visit {{website}} or call {{phone}}."
)
CLOSED_RU = "Здравствуйте, {{name}}! Сейчас мы не работаем. Вернёмся: {{opens_at}}."
BUSY_EN = "Hello {{name}}, all our operators are away; one will answer you soon."


def rome(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Local time in Rome; 23 November 2026 is a Monday."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ROME)


@pytest.fixture
def olga():
    return UserFactory(username="olga", role="operator")


@pytest.fixture
def support(olga):
    """Support works Monday to Friday 09:00-18:00 in Rome and answers
    automatically in English and Russian."""
    calendar = BusinessCalendar.objects.create(name="Rome office", time_zone="Europe/Rome")
    for weekday in range(5):
        CalendarInterval.objects.create(
            calendar=calendar, weekday=weekday, opens=dt.time(9), closes=dt.time(18)
        )
    team = TeamFactory(name="Support", members=[olga])
    team.calendar = calendar
    team.save()
    number = NumberFactory(team=team)
    BusinessProfile.objects.create(
        number=number, email="help@shop.example", websites=["https://shop.example", ""]
    )
    AutoReply.objects.create(team=team, kind="closed", language="en", text=CLOSED_EN)
    AutoReply.objects.create(team=team, kind="closed", language="ru", text=CLOSED_RU)
    AutoReply.objects.create(team=team, kind="busy", language="en", text=BUSY_EN)
    return team


def customer_writes(post_webhook, *, wa_id: str = ANN, name: str = "Ann", text: str = "Hi"):
    response = post_webhook(text_webhook(wa_id=wa_id, name=name, text=text))
    assert response.status_code == 200
    return Conversation.objects.get(contact__wa_id=wa_id)


def automatic_replies() -> list[Message]:
    return list(Message.objects.filter(direction="out").order_by("timestamp"))


def test_after_hours_the_customer_is_told_when_the_team_is_back_once_per_period(
    support, post_webhook
) -> None:
    with time_machine.travel(rome(23, 20, 30), tick=False):
        customer_writes(post_webhook, text="Is my parcel on its way?")
        conversation = customer_writes(post_webhook, text="Hello?")

    [reply] = automatic_replies()
    assert reply.text == (
        "Hello Ann, we are closed now. We are back Tuesday 09:00 (Europe/Rome). "
        "Write to help@shop.example, visit https://shop.example or call +1 555-078-3881."
    )
    assert (reply.automatic, reply.status, reply.sent_by, reply.type) == (
        True,
        "queued",
        None,
        "text",
    )
    assert reply.content == {"body": reply.text}
    # Never an operator's answer: the customer still waits, the messages stay unread.
    assert conversation.waiting_since == rome(23, 20, 30)
    assert conversation.unread_count == 2
    assert conversation.escalated_at is None
    assert conversation.auto_reply_period == "closed:2026-11-23T17:00:00+00:00"

    with time_machine.travel(rome(24, 8, 30), tick=False):
        customer_writes(post_webhook, text="Still closed?")
    assert len(automatic_replies()) == 1

    with time_machine.travel(rome(24, 19), tick=False):
        customer_writes(post_webhook, text="And now?")
    assert [m.text.split(". ")[1] for m in automatic_replies()] == [
        "We are back Tuesday 09:00 (Europe/Rome)",
        "We are back Wednesday 09:00 (Europe/Rome)",
    ]


def test_inside_hours_with_nobody_online_the_busy_reply_goes_once_per_waiting_period(
    support, olga, post_webhook
) -> None:
    with time_machine.travel(rome(24, 10), tick=False):
        customer_writes(post_webhook)
        conversation = customer_writes(post_webhook, text="Anyone?")
    [busy] = automatic_replies()
    assert busy.text == "Hello Ann, all our operators are away; one will answer you soon."
    assert conversation.auto_reply_period == "busy:2026-11-24T09:00:00Z"

    with time_machine.travel(rome(24, 10, 5), tick=False):
        services.message_send_text(conversation=conversation, text="Here I am", user=olga)
    with time_machine.travel(rome(24, 11), tick=False):
        customer_writes(post_webhook, text="Thanks, one more thing")

    replies = Message.objects.filter(direction="out", automatic=True)
    assert replies.count() == 2
    assert Conversation.objects.get().auto_reply_period == "busy:2026-11-24T10:00:00Z"


@pytest.mark.parametrize(("presence", "replied"), [("online", False), ("away", True)])
def test_an_online_operator_of_the_team_means_no_automatic_reply(
    support, olga, post_webhook, presence, replied
) -> None:
    AgentProfile.objects.create(user=olga, presence=presence)
    with time_machine.travel(rome(24, 10), tick=False):
        online(olga)
        customer_writes(post_webhook)
    assert Message.objects.filter(direction="out").exists() is replied


def test_the_assignee_online_from_another_team_means_no_busy_reply(support, post_webhook) -> None:
    sam = UserFactory(username="sam", role="supervisor")
    with time_machine.travel(rome(24, 10), tick=False):
        conversation = customer_writes(post_webhook)
        Message.objects.all().delete()
        Conversation.objects.filter(pk=conversation.pk).update(
            assignee=sam, waiting_since=None, auto_reply_period=""
        )
        online(sam)
        customer_writes(post_webhook, text="Hello again")
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.parametrize(
    ("wa_id", "expected"),
    [
        (IVAN, "Здравствуйте, Ivan! Сейчас мы не работаем. Вернёмся: Вторник 09:00 (Europe/Rome)."),
        (LUCA, "Hello Ivan, we are closed now. We are back Tuesday 09:00 (Europe/Rome). "),
    ],
)
def test_the_reply_is_in_the_customers_language_or_the_inboxs(
    support, post_webhook, wa_id, expected
) -> None:
    with time_machine.travel(rome(23, 22), tick=False):
        customer_writes(post_webhook, wa_id=wa_id, name="Ivan")
    [reply] = automatic_replies()
    assert reply.text.startswith(expected)
    # The chat list shows the reply as the latest message.
    assert Conversation.objects.get().last_message_text == reply.text


def test_a_reply_for_any_language_answers_everyone_else(support, post_webhook) -> None:
    support.auto_replies.filter(language="en").update(enabled=False)
    AutoReply.objects.create(
        team=support, kind="closed", language="", text="Closed until {{opens_at}}. {{nope}}"
    )
    with time_machine.travel(rome(27, 19), tick=False):  # a Friday evening
        customer_writes(post_webhook)
    [reply] = automatic_replies()
    assert reply.text == "Closed until Monday 09:00 (Europe/Rome). {{nope}}"


def test_an_opening_more_than_a_week_away_names_the_date(support, post_webhook) -> None:
    support.calendar.holidays.create(date=dt.date(2026, 11, 24))
    for day in range(25, 31):
        support.calendar.holidays.create(date=dt.date(2026, 11, day))
    with time_machine.travel(rome(23, 20), tick=False):
        customer_writes(post_webhook)
    [reply] = automatic_replies()
    assert "We are back Tuesday 1 December 09:00 (Europe/Rome)." in reply.text


def test_no_reply_to_a_reaction_nor_without_replies_nor_outside_the_window(
    support, post_webhook
) -> None:
    with time_machine.travel(rome(23, 20), tick=False):
        reaction = wire.inbound_message(
            wa_id=ANN,
            wamid="wamid.REACTION",
            timestamp=int(rome(23, 20).timestamp()),
            message_type="reaction",
            content={"message_id": "wamid.OURS", "emoji": "👍"},
        )
        contact = {"profile": {"name": "Ann"}, "wa_id": ANN}
        post_webhook(_envelope("106540352242922", {"contacts": [contact], "messages": [reaction]}))
        assert not Message.objects.filter(direction="out").exists()

        # Delivered a day late: the customer's window has closed already.
        late = dt.datetime(2026, 11, 22, 18, tzinfo=dt.UTC)
        post_webhook(text_webhook(wa_id="447700900002", name="Bo", timestamp=late))
        assert not Message.objects.filter(direction="out").exists()

        AutoReply.objects.update(enabled=False)
        customer_writes(post_webhook, wa_id="447700900003", name="Cy")
    assert not Message.objects.filter(direction="out").exists()


def test_no_automatic_reply_for_a_team_without_a_calendar_while_someone_is_online(
    support, olga, post_webhook
) -> None:
    support.calendar = None
    support.save()
    with time_machine.travel(rome(29, 3), tick=False):  # Sunday night
        online(olga)
        customer_writes(post_webhook)
    assert not Message.objects.filter(direction="out").exists()


def test_a_chat_of_a_team_with_replies_takes_the_services_path(
    support, post_webhook, monkeypatch
) -> None:
    """The batched webhook path skips chats whose team answers automatically."""
    with time_machine.travel(rome(23, 20), tick=False):
        customer_writes(post_webhook)  # a new chat: always the services
        seen = []
        original = services.webhook_receive
        monkeypatch.setattr(
            services, "webhook_receive", lambda **kw: seen.append(1) or original(**kw)
        )
        customer_writes(post_webhook, text="again")
    assert seen == [1]
    assert Message.objects.filter(direction="out").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_automatic_reply_reaches_whatsapp_through_the_send_job(support, post_webhook) -> None:
    answer = json.loads((FIXTURES_DIR / "send_text_response.json").read_bytes())
    with time_machine.travel(rome(23, 20), tick=True), responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=answer)
        conversation = customer_writes(post_webhook)
        django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
        sent = json.loads(graph.calls[0].request.body)

    reply = Message.objects.get(direction="out")
    assert sent["to"] == ANN
    assert sent["text"]["body"] == reply.text
    assert sent["biz_opaque_callback_data"] == str(reply.id)
    assert (reply.status, reply.automatic, reply.send_attempts) == ("accepted", True, 1)
    assert reply.wamid == answer["messages"][0]["id"]
    conversation.refresh_from_db()
    assert conversation.waiting_since is not None
    assert conversation.unread_count == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chat", ["a new customer", "an existing chat"])
def test_two_messages_at_once_get_one_automatic_reply(support, chat) -> None:
    """Two webhooks for one customer handled at the same moment (two server
    processes, or two threads of one): the period is checked and recorded under the
    chat's row lock, so exactly one of them answers."""
    import threading

    from django.db import connection
    from django.test import Client

    from conversations.models import Contact
    from conversations.tests.conftest import WebhookPoster

    def both_write(wa_id: str) -> list[int]:
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def write(text: str) -> None:
            try:
                barrier.wait(timeout=5)
                poster = WebhookPoster(Client())
                answer = poster(text_webhook(wa_id=wa_id, name="Ann", text=text))
                statuses.append(answer.status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=write, args=(t,)) for t in ("Hello?", "Anyone?")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return statuses

    with time_machine.travel(rome(23, 20, 30), tick=False):
        for round_ in range(8):  # the race goes either way; the promise must hold every time
            wa_id = f"4477009001{round_:02d}"
            if chat == "an existing chat":
                number = support.numbers.get()
                contact = Contact.objects.create(wa_id=wa_id, profile_name="Ann")
                Conversation.objects.create(number=number, contact=contact, team=support)
            assert both_write(wa_id) == [200, 200]
            conversation = Conversation.objects.get(contact__wa_id=wa_id)
            assert Message.objects.filter(conversation=conversation, direction="in").count() == 2
            replies = Message.objects.filter(conversation=conversation, automatic=True)
            assert replies.count() == 1, f"round {round_}: {replies.count()} automatic replies"
