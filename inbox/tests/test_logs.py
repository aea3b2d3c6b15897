"""Tokens and secrets never appear in logs: not in the web process's access log
and error output, nor in what the inbox logs while it receives webhooks, signs
people in and sends to WhatsApp."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from conversations import services
from conversations.tests.factories import ConversationFactory, body, text_webhook
from inbox.serve import redact
from inbox.tests.conftest import (
    Service,
    answers_health,
    database_url,
    free_port,
    wait_until,
    web_command,
)
from whatsapp.signature import sign

PASSWORD = "correct-horse-battery-2026"


def test_secret_query_parameters_are_redacted_and_the_rest_kept() -> None:
    path = "/webhooks/whatsapp/?hub.mode=subscribe&hub.verify_token=s3cr3t&hub.challenge=42"
    assert redact(path) == (
        "/webhooks/whatsapp/?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=42"
    )
    assert redact("/api/v1/conversations/?search=a&status=open") == (
        "/api/v1/conversations/?search=a&status=open"
    )
    assert "abc" not in redact("/x/?access_token=abc&Token=abc")


@pytest.fixture
def web(transactional_db: None, tmp_path: Path) -> Iterator[tuple[str, Service, dict[str, str]]]:
    if connection.vendor != "postgresql":
        pytest.skip("the web process runs on the test database (PostgreSQL)")
    port = free_port()
    secrets_used = {
        "verify": secrets.token_urlsafe(16),
        "app": os.environ["WHATSAPP_APP_SECRET"],
        "graph": os.environ["WHATSAPP_ACCESS_TOKEN"],
    }
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "WHATSAPP_VERIFY_TOKEN": secrets_used["verify"],
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    service = Service.start("web", web_command(port), env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers_health(base + "/health/"), "/health/", [service])
        yield base, service, secrets_used
    finally:
        service.stop()


def test_the_web_process_logs_requests_but_no_token(web) -> None:  # type: ignore[no-untyped-def]
    base, service, used = web
    handshake = requests.get(
        base + "/webhooks/whatsapp/",
        params={"hub.mode": "subscribe", "hub.verify_token": used["verify"], "hub.challenge": "7"},
        timeout=10,
    )
    assert handshake.text == "7"
    raw = body(text_webhook())
    requests.post(
        base + "/webhooks/whatsapp/",
        data=raw,
        headers={"X-Hub-Signature-256": sign(raw, used["app"])},
        timeout=10,
    )
    user = User.objects.create_user(username="olga", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    key = Token.objects.create(user=user).key
    assert requests.get(
        base + "/api/v1/conversations/", headers={"Authorization": f"Token {key}"}, timeout=10
    ).ok
    requests.get(base + f"/api/v1/conversations/?token={key}", timeout=10)
    session = requests.Session()
    session.get(base + "/accounts/login/", timeout=10)
    session.post(
        base + "/accounts/login/",
        data={
            "username": "olga",
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": base + "/accounts/login/"},
        timeout=10,
    )
    service.stop()
    logs = service.stdout.read_text() + service.errors()
    assert "GET /webhooks/whatsapp/?hub.mode=subscribe&hub.verify_token=[redacted]" in logs
    assert "/api/v1/conversations/?token=[redacted]" in logs
    for name, secret in {**used, "api token": key, "password": PASSWORD}.items():
        assert secret not in logs, f"the {name} is in the web process's log"
    assert session.cookies["sessionid"] not in logs


def test_what_the_inbox_logs_while_working_holds_no_secret(
    caplog: pytest.LogCaptureFixture, transactional_db: None
) -> None:
    caplog.set_level(logging.DEBUG)
    services.number_register(
        phone_number_id="106540352242922",
        display_phone_number="15550783881",
        waba_id="102290129340398",
        name="Acme Shop",
    )
    raw = body(text_webhook())
    client = Client()
    client.post(
        "/webhooks/whatsapp/",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(raw, settings.WHATSAPP_APP_SECRET),
    )
    client.post(
        "/webhooks/whatsapp/",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=" + "0" * 64,
    )
    user = User.objects.create_user(username="olga", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    client.post("/accounts/login/", {"username": "olga", "password": "wrong-" + PASSWORD})
    client.post("/accounts/login/", {"username": "olga", "password": PASSWORD})
    conversation = ConversationFactory()
    url = f"{settings.WHATSAPP_GRAPH_URL}/{conversation.number.phone_number_id}/messages"
    message = services.message_send_text(conversation=conversation, text="Hi", user=user)
    with responses.RequestsMock() as graph:
        graph.post(
            url,
            status=401,
            json={"error": {"message": "Invalid OAuth access token.", "code": 190}},
        )
        services.message_deliver(message_id=message.pk)
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.__dict__}"
        for record in caplog.records
    )
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for name, secret in {
        "Graph API token": settings.WHATSAPP_ACCESS_TOKEN,
        "app secret": settings.WHATSAPP_APP_SECRET,
        "password": PASSWORD,
    }.items():
        assert secret not in logged, f"the {name} was logged"
