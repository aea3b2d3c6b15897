"""``python -m inbox.serve``, the production web process: a file an operator
uploads arrives whole with Twisted's form parsing off, and the objects made while
starting are left out of later garbage collections."""

from __future__ import annotations

import gc
import hashlib
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token
from twisted.web.test.requesthelper import DummyChannel

from conversations.models import Message
from conversations.tests.factories import ConversationFactory, UserFactory
from inbox import serve
from inbox.tests.conftest import (
    Service,
    answers_health,
    database_url,
    free_port,
    wait_until,
    web_command,
)


def png(width: int, height: int) -> bytes:
    """A real PNG of noise (it does not compress), a few hundred kilobytes."""
    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def served(transactional_db: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if connection.vendor != "postgresql":
        pytest.skip("the web process runs on the test database (PostgreSQL)")
    port = free_port()
    media = tmp_path / "media"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_MEDIA_ROOT": str(media),
        # No queue here: the send job runs in the process, and no Graph API answers.
        "REDIS_URL": "",
        "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{free_port()}/v23.0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    service = Service.start("web", web_command(port), env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers_health(base + "/health/"), "/health/", [service])
        yield base, media
    finally:
        service.stop()


def test_an_operator_uploads_a_photo_through_the_production_server(
    served: tuple[str, Path],
) -> None:
    base, media = served
    conversation = ConversationFactory()  # the customer wrote five minutes ago
    operator = UserFactory(username="olga", role="operator")
    token = Token.objects.create(user=operator).key
    photo = png(300, 300)

    answer = requests.post(
        f"{base}/api/v1/conversations/{conversation.id}/messages/",
        headers={"Authorization": f"Token {token}"},
        files={"file": ("receipt.png", photo, "image/png")},
        data={"caption": "Your receipt"},
        timeout=30,
    )

    assert answer.status_code == 201, answer.text
    sent = answer.json()
    assert (sent["type"], sent["media"]["caption"]) == ("image", "Your receipt")
    stored = media / Message.objects.get(id=sent["id"]).media_file.name
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(photo).digest()


@pytest.mark.parametrize(
    ("request_class", "parsed"),
    [(serve.http_protocol.WebRequest, True), (serve.FormlessRequest, False)],
)
def test_the_server_leaves_a_multipart_body_to_the_application(request_class, parsed) -> None:  # type: ignore[no-untyped-def]
    boundary = b"----inbox"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png(20, 20) + b"\r\n--" + boundary + b"--\r\n"
    )
    channel = DummyChannel()
    channel.factory = SimpleNamespace(server=SimpleNamespace(protocol_connected=lambda _: None))
    request = request_class(channel)
    request.requestHeaders.setRawHeaders(
        b"content-type", [b"multipart/form-data; boundary=" + boundary]
    )
    request.gotLength(len(body))
    request.handleContentChunk(body)
    handed_over = []
    request.process = lambda: handed_over.append(request.content.read())

    request.requestReceived(b"POST", b"/api/v1/conversations/1/messages/", b"HTTP/1.1")

    assert handed_over == [body]  # the application reads the body as it came
    assert (b"file" in request.args) is parsed


def test_what_exists_at_startup_is_left_out_of_later_collections() -> None:
    made_while_starting = [[n] for n in range(3)]  # containers: the collector tracks them
    tracked = {id(o) for o in gc.get_objects()}
    assert all(id(o) in tracked for o in made_while_starting)
    try:
        serve.freeze_startup_objects()
        tracked = {id(o) for o in gc.get_objects()}
        assert not any(id(o) in tracked for o in made_while_starting)
        assert gc.get_freeze_count() >= len(made_while_starting)
    finally:
        gc.unfreeze()
