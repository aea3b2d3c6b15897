"""Outbound replies: the window rule, the send job, and what WhatsApp answers."""

import datetime as dt
import json

import django_rq
import pytest
import requests
import responses
from django.utils import timezone
from rq import SimpleWorker

from conftest import FIXTURES_DIR
from conversations import services
from conversations.models import Message
from conversations.tests.factories import ConversationFactory, UserFactory, status_webhook

pytestmark = pytest.mark.django_db(transaction=True)

SEND_URL = "https://graph.example.test/v23.0/106540352242922/messages"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES_DIR / name).read_bytes())


def sends(graph: responses.RequestsMock) -> list[str]:
    """The calls that send a message (the clock also reconciles templates)."""
    return [c.request.url for c in graph.calls if c.request.url == SEND_URL]


def run_jobs() -> None:
    """Run what the reply put on the queue in an RQ worker (without forking, so the
    faked Graph API of this process answers)."""
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


@pytest.fixture
def operator():
    return UserFactory(username="olga", role="operator")


def test_reply_inside_the_window_is_queued_then_sent_with_our_id(operator) -> None:
    conversation = ConversationFactory()
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        message = services.message_send_text(
            conversation=conversation, text="On its way!", user=operator
        )
        assert Message.objects.get(pk=message.pk).status == "queued"
        run_jobs()
        sent = json.loads(graph.calls[0].request.body)
    assert sent["to"] == conversation.contact.wa_id
    assert sent["text"]["body"] == "On its way!"
    assert sent["biz_opaque_callback_data"] == str(message.id)
    message.refresh_from_db()
    assert message.status == "accepted"
    assert message.wamid == "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
    assert message.send_attempts == 1


def test_window_runs_from_the_platform_timestamp_not_our_receipt(operator, post_webhook) -> None:
    from conversations.tests.factories import NumberFactory, text_webhook

    NumberFactory()
    # Delivered late: the customer wrote 24h05m ago, we received it just now.
    written = timezone.now() - dt.timedelta(hours=24, minutes=5)
    post_webhook(text_webhook(text="Are you there?", timestamp=written))
    conversation = Message.objects.get().conversation
    assert conversation.window_expires_at() is None
    with pytest.raises(services.WindowClosed):
        services.message_send_text(conversation=conversation, text="Yes!", user=operator)
    assert Message.objects.filter(direction="out").count() == 0


def test_window_open_for_just_under_24_hours(operator) -> None:
    last = timezone.now() - dt.timedelta(hours=23, minutes=59)
    conversation = ConversationFactory(last_inbound_at=last)
    assert conversation.window_expires_at() == last + dt.timedelta(hours=24)
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        services.message_send_text(conversation=conversation, text="Still here", user=operator)
        run_jobs()
    assert Message.objects.get(direction="out").status == "accepted"


def test_re_engagement_error_marks_the_message_failed_with_whatsapps_reason(operator) -> None:
    conversation = ConversationFactory()
    with responses.RequestsMock() as graph:
        graph.post(
            SEND_URL,
            json=fixture("error_131047_re_engagement_response.RECONSTRUCTED.json"),
            status=400,
        )
        services.message_send_text(conversation=conversation, text="Hello?", user=operator)
        run_jobs()
        assert len(graph.calls) == 1
    message = Message.objects.get(direction="out")
    assert message.status == "failed"
    assert message.error_code == 131047
    assert message.error_title.startswith("More than 24 hours have passed")
    assert message.error_details.startswith("Message failed to send because more than 24 hours")


def test_throughput_error_is_retried_and_then_sent_once(operator) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=operator)
    with responses.RequestsMock() as graph:
        graph.post(
            SEND_URL,
            json=fixture("error_130429_rate_limit_response.RECONSTRUCTED.json"),
            status=400,
        )
        attempt = services.message_deliver(message_id=message.pk)
        assert attempt.retry_in == dt.timedelta(seconds=2)
        assert Message.objects.get(pk=message.pk).status == "queued"
        graph.replace(responses.POST, SEND_URL, json=fixture("send_text_response.json"))
        services.message_deliver(message_id=message.pk)
        assert len(graph.calls) == 2
    message.refresh_from_db()
    assert (message.status, message.send_attempts, message.error_code) == ("accepted", 2, None)


def test_retried_job_never_sends_twice(operator) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Once", user=operator)
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        services.message_deliver(message_id=message.pk)
        services.message_deliver(message_id=message.pk)  # the same job delivered twice
        assert len(graph.calls) == 1


def test_timeout_is_never_resent_and_the_status_webhook_settles_it(operator, post_webhook) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Maybe", user=operator)
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, body=requests.ReadTimeout("timed out"))
        attempt = services.message_deliver(message_id=message.pk)
        assert attempt.retry_in is None
        services.message_deliver(message_id=message.pk)
        assert len(graph.calls) == 1
    message.refresh_from_db()
    assert message.status == "sending"
    assert message.error_title == "Not confirmed by WhatsApp yet"
    # WhatsApp did send it: its status webhook carries our id back.
    post_webhook(
        status_webhook(message_id="wamid.LATE", status="delivered", callback_data=str(message.id))
    )
    message.refresh_from_db()
    assert (message.status, message.wamid) == ("delivered", "wamid.LATE")


def test_unreachable_graph_api_is_retried_because_nothing_was_sent(operator, settings) -> None:
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9/v23.0"
    message = services.message_send_text(
        conversation=ConversationFactory(), text="Hi", user=operator
    )
    attempt = services.message_deliver(message_id=message.pk)
    assert attempt.retry_in is not None
    message.refresh_from_db()
    assert message.status == "queued"
    assert message.error_title == "WhatsApp could not be reached"


def test_empty_or_too_long_text_is_refused(operator) -> None:
    conversation = ConversationFactory()
    with pytest.raises(services.ServiceError, match="empty"):
        services.message_send_text(conversation=conversation, text="   ", user=operator)
    with pytest.raises(services.ServiceError, match="4096"):
        services.message_send_text(conversation=conversation, text="x" * 4097, user=operator)
    assert Message.objects.count() == 0


def test_sending_does_not_wait_for_inbound_traffic_on_the_same_number(operator) -> None:
    """An inbound message holds a key-share lock on its number row until it commits;
    a send to another customer of that number must not queue behind it."""
    import psycopg
    from django.db import connection

    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=operator)
    params = connection.get_connection_params()
    with psycopg.connect(
        dbname=connection.settings_dict["NAME"],
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "password")},
    ) as other:
        other.execute(
            "SELECT id FROM conversations_whatsappnumber WHERE id = %s FOR KEY SHARE",
            [conversation.number_id],
        )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            with responses.RequestsMock() as graph:
                graph.post(SEND_URL, json=fixture("send_text_response.json"))
                services.message_deliver(message_id=message.pk)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
    assert Message.objects.get(pk=message.pk).status == "accepted"


def test_a_send_interrupted_midway_fails_with_the_reason_and_is_never_sent_again(
    operator, post_webhook
) -> None:
    from conversations.models import SendAttempt

    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Half", user=operator)
    # What a worker killed during the HTTP call leaves: the message taken, its try open.
    Message.objects.filter(pk=message.pk).update(status="sending", send_attempts=1)
    SendAttempt.objects.create(message=message, number=1)
    soon = timezone.now() + dt.timedelta(seconds=60)
    assert services.timers_run(now=soon).interrupted == 0  # it may still be on its way
    later = timezone.now() + dt.timedelta(minutes=6)
    with responses.RequestsMock() as graph:
        run = services.timers_run(now=later)
        run_jobs()
        assert sends(graph) == []  # nothing is sent again on its own
    assert run.interrupted == 1
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error_title == "Sending was interrupted"
    assert "may or may not have reached the customer" in message.error_details
    assert SendAttempt.objects.get(message=message).outcome == "unconfirmed"
    assert services.timers_run(now=later).interrupted == 0
    # It had reached WhatsApp after all: the status webhook still settles it.
    post_webhook(
        status_webhook(message_id="wamid.HALF", status="delivered", callback_data=str(message.id))
    )
    message.refresh_from_db()
    assert (message.status, message.wamid) == ("delivered", "wamid.HALF")
    assert (message.error_title, message.error_details) == ("", "")


def test_an_unconfirmed_send_fails_once_whatsapp_stayed_silent_for_long(operator) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Maybe", user=operator)
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, body=requests.ReadTimeout("timed out"))
        services.message_deliver(message_id=message.pk)
    services.timers_run(now=timezone.now() + dt.timedelta(minutes=6))
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error_title == "WhatsApp never confirmed this message"


def test_a_queued_reply_whose_job_was_lost_is_queued_again_and_sent_once(
    operator, settings
) -> None:
    import redis

    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Lost", user=operator)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # Redis lost its data: the job is gone
    run_jobs()
    assert Message.objects.get(pk=message.pk).status == "queued"
    assert services.timers_run(now=timezone.now() + dt.timedelta(minutes=5)).requeued == 0
    later = timezone.now() + dt.timedelta(minutes=16)
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        assert services.timers_run(now=later).requeued == 1
        services.timers_run(now=later)  # a second tick queues it again: still sent once
        run_jobs()
        assert len(sends(graph)) == 1
    message.refresh_from_db()
    assert message.status == "accepted"


def test_a_chat_deleted_while_its_reply_is_on_the_way_ends_the_job_quietly(operator) -> None:
    from conversations.models import Conversation

    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Bye", user=operator)

    def answer_after_the_chat_is_gone(request):  # type: ignore[no-untyped-def]
        Conversation.objects.filter(pk=conversation.pk).delete()
        return 200, {}, json.dumps(fixture("send_text_response.json"))

    with responses.RequestsMock() as graph:
        graph.add_callback("POST", SEND_URL, callback=answer_after_the_chat_is_gone)
        attempt = services.message_deliver(message_id=message.pk)
    assert attempt.message is None
    assert not Message.objects.filter(pk=message.pk).exists()


FAILED_131049 = {
    "code": 131049,
    "title": "This message was not delivered to maintain healthy ecosystem engagement.",
    "message": "This message was not delivered to maintain healthy ecosystem engagement.",
    "error_data": {"details": "In order to maintain a healthy ecosystem engagement..."},
}


@pytest.mark.parametrize("reported", ["sent", "delivered", "read", "failed"])
def test_whatsapps_late_answer_never_moves_back_a_status_its_webhook_already_gave(
    operator, post_webhook, reported
) -> None:
    """The status webhook can overtake the answer to the send itself: matched through
    our id (callback data), it is applied first, and the job's own "accepted" must
    not undo it."""
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Fast", user=operator)
    answer = fixture("send_text_response.json")
    wamid = answer["messages"][0]["id"]

    def status_first(request):  # type: ignore[no-untyped-def]
        errors = [FAILED_131049] if reported == "failed" else None
        webhook = status_webhook(
            message_id=wamid, status=reported, callback_data=str(message.id), errors=errors
        )
        assert post_webhook(webhook).status_code == 200
        assert Message.objects.get(pk=message.pk).status == reported
        return 200, {}, json.dumps(answer)

    with responses.RequestsMock() as graph:
        graph.add_callback("POST", SEND_URL, callback=status_first)
        services.message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.wamid) == (reported, wamid)
    if reported == "failed":
        assert (message.error_code, message.error_title) == (131049, FAILED_131049["title"])


def test_whatsapps_answer_after_the_clock_gave_up_on_the_send_makes_it_accepted(
    operator,
) -> None:
    """The clock fails a send that stayed unanswered too long ("it may or may not
    have reached the customer"). When WhatsApp's acceptance comes after all, the
    doubt is gone: the message is accepted, without the clock's reason."""
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Slow", user=operator)

    def answer_late(request):  # type: ignore[no-untyped-def]
        services.timers_run(now=timezone.now() + dt.timedelta(minutes=10))
        assert Message.objects.get(pk=message.pk).error_title == "Sending was interrupted"
        return 200, {}, json.dumps(fixture("send_text_response.json"))

    with responses.RequestsMock() as graph:
        graph.add_callback("POST", SEND_URL, callback=answer_late)
        services.message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.error_title, message.error_details) == ("accepted", "", "")


def test_a_first_send_writes_once_before_the_call_and_once_after(
    operator, django_assert_max_num_queries
) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=operator)
    with responses.RequestsMock() as graph, django_assert_max_num_queries(6) as queries:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        services.message_deliver(message_id=message.pk, publish=False)
    sql = [" ".join(q["sql"].split()) for q in queries.captured_queries]
    # The message read, then one statement before the call (the move to sending
    # with its attempt) and one after it (the outcome with the attempt's end).
    assert len(sql) == 3 and sql[0].startswith("SELECT")
    assert "UPDATE" in sql[1] and 'INSERT INTO "conversations_sendattempt"' in sql[1]
    assert 'UPDATE "conversations_sendattempt"' in sql[2] and "'accepted'" in sql[2]
    message.refresh_from_db()
    attempt = message.attempts.get()
    assert (message.status, message.send_attempts, attempt.outcome, attempt.wamid) == (
        "accepted",
        1,
        "accepted",
        message.wamid,
    )
    assert attempt.finished_at is not None and message.status_at == attempt.finished_at


def test_a_status_report_waiting_for_the_wamid_is_applied_when_the_send_is_accepted(
    operator,
) -> None:
    from conversations.models import StatusReport

    wamid = fixture("send_text_response.json")["messages"][0]["id"]
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=operator)
    # WhatsApp's report came first, without our id: it waits for its wamid.
    StatusReport.objects.create(wamid=wamid, status="delivered", timestamp=timezone.now())
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        services.message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.wamid) == ("delivered", wamid)
    assert message.attempts.get().outcome == "accepted"
    assert StatusReport.objects.get().applied


def test_a_send_asked_not_to_publish_publishes_nothing(operator, published) -> None:
    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=operator)
    published.clear()
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        attempt = services.message_deliver(message_id=message.pk, publish=False)
    assert attempt.message.status == "accepted"
    assert published == []


def test_without_postgresql_the_moves_take_the_orm_path(operator, monkeypatch) -> None:
    """The embedded mode (SQLite) has no data-modifying ``WITH``: the same moves,
    in a transaction each."""
    from django.db import connection

    conversation = ConversationFactory()
    message = services.message_send_text(conversation=conversation, text="Hi", user=operator)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with responses.RequestsMock() as graph:
        graph.post(SEND_URL, json=fixture("send_text_response.json"))
        services.message_deliver(message_id=message.pk)
        services.message_deliver(message_id=message.pk)  # the same job twice
        assert len(graph.calls) == 1
    message.refresh_from_db()
    attempt = message.attempts.get()
    assert (message.status, attempt.outcome) == ("accepted", "accepted")
    assert attempt.wamid == message.wamid and attempt.finished_at is not None
