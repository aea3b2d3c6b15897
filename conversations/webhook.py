"""``GET|POST /webhooks/whatsapp/``: the platform's only way in.

Two entry points share one implementation:

* ``webhook_asgi``, routed in ``inbox.asgi`` ahead of Django, is what serves the
  platform in production. It skips Django's request stack (middleware,
  sessions, a thread per request): profiling showed that stack, not the
  database, bounded ingest at a few hundred webhooks a second. On PostgreSQL
  it hands the delivery to the process's ``ingest.Ingestor`` (batches, one
  commit each); on SQLite it applies it in the server's thread pool.
* ``whatsapp_webhook``, an ordinary Django view at the same URL, serves the
  test client and WSGI deployments.

Either answers 200 only after the delivery is committed and its events
published; a database failure answers 503 so that WhatsApp delivers again.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from conversations import ingest
from whatsapp.signature import signature_is_valid

# WhatsApp's deliveries are a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


def _json(status: int, payload: dict[str, Any]) -> Answer:
    return Answer(status, orjson.dumps(payload))


def verify_subscription(query: Mapping[str, str]) -> Answer:
    """The subscription handshake: echo ``hub.challenge`` for the right verify token."""
    token = query.get("hub.verify_token", "")
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if (
        query.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(token.encode(), expected.encode())
    ):
        return Answer(200, query.get("hub.challenge", "").encode(), "text/plain")
    return Answer(403, b"Verification failed.", "text/plain")


def signature_refusal(body: bytes, signature: str | None) -> Answer | None:
    """A 403 answer when ``signature`` is not WhatsApp's for these exact bytes."""
    if signature_is_valid(body, signature, settings.WHATSAPP_APP_SECRET):
        return None
    return _json(403, {"code": "bad_signature", "detail": "Invalid or missing signature."})


def receive_delivery(body: bytes) -> Answer:
    """Store and apply a signed delivery (blocking: database and channel layer)."""
    return _answer(ingest.apply_batch([body])[0])


def _answer(outcome: ingest.Outcome) -> Answer:
    if outcome.status == 200:
        return _json(200, {"status": outcome.code})
    return _json(outcome.status, {"code": outcome.code, "detail": outcome.detail})


@csrf_exempt
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        answer = verify_subscription(request.GET)
    elif request.method == "POST":
        body = request.body
        answer = signature_refusal(
            body, request.headers.get("X-Hub-Signature-256")
        ) or receive_delivery(body)
    else:
        answer = _json(405, {"code": "method_not_allowed", "detail": "Use GET or POST."})
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


_receive_in_pool = database_sync_to_async(receive_delivery, thread_sensitive=False)


async def _receive(body: bytes) -> Answer:
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return _answer(await ingest.ingestor().receive(body))
    return await _receive_in_pool(body)


async def webhook_asgi(
    scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    """The same endpoint as a bare ASGI app (see the module docstring)."""
    method = scope["method"]
    if method == "GET":
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        answer = verify_subscription(query)
    elif method == "POST":
        body = await _read_body(receive)
        if body is None:
            answer = _json(413, {"code": "too_large", "detail": "The body is too large."})
        else:
            signature = _header(scope, b"x-hub-signature-256")
            answer = signature_refusal(body, signature) or await _receive(body)
    else:
        answer = _json(405, {"code": "method_not_allowed", "detail": "Use GET or POST."})
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type.encode()),
                (b"content-length", str(len(answer.body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


async def _read_body(receive: Callable[..., Any]) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
