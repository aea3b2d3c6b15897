"""The lean ASGI entry of the webhook, as Daphne serves it in production."""

import pytest
from channels.testing import HttpCommunicator
from django.conf import settings

from conftest import FIXTURES_DIR
from conversations.models import Message, WebhookDelivery
from conversations.tests.factories import NumberFactory
from inbox.asgi import application
from whatsapp.signature import sign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def request(method: str, path: str, body: bytes = b"", headers=()) -> dict:
    communicator = HttpCommunicator(application, method, path, body=body, headers=list(headers))
    return await communicator.get_response(timeout=10)


async def test_handshake_through_asgi() -> None:
    query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=vibecoding"
    response = await request("GET", f"/webhooks/whatsapp/?{query}")
    assert (response["status"], response["body"]) == (200, b"1158201444")
    wrong = await request("GET", "/webhooks/whatsapp/?hub.mode=subscribe&hub.verify_token=x")
    assert wrong["status"] == 403


async def test_signed_fixture_is_committed_before_the_200() -> None:
    from channels.db import database_sync_to_async

    await database_sync_to_async(NumberFactory)()
    raw = (FIXTURES_DIR / "webhook_text_message.json").read_bytes()
    signature = sign(raw, settings.WHATSAPP_APP_SECRET).encode()
    response = await request(
        "POST", "/webhooks/whatsapp/", raw, [(b"x-hub-signature-256", signature)]
    )
    assert response["status"] == 200
    texts = await database_sync_to_async(
        lambda: list(Message.objects.values_list("text", flat=True))
    )()
    assert texts == ["Does it come in another color?"]


async def test_unsigned_post_is_refused_and_nothing_is_stored() -> None:
    from channels.db import database_sync_to_async

    raw = (FIXTURES_DIR / "webhook_text_message.json").read_bytes()
    response = await request("POST", "/webhooks/whatsapp/", raw)
    assert response["status"] == 403
    assert await database_sync_to_async(WebhookDelivery.objects.count)() == 0


async def test_oversized_body_is_refused() -> None:
    response = await request("POST", "/webhooks/whatsapp/", b"x" * (1024 * 1024 + 1))
    assert response["status"] == 413


async def test_other_paths_still_reach_django() -> None:
    response = await request("GET", "/health/", headers=[(b"host", b"localhost")])
    assert (response["status"], response["body"]) == (200, b"ok")


def forged(raw: bytes) -> dict[str, tuple[bytes, str | None]]:
    """Ways a POST can claim to come from WhatsApp without being signed by it."""
    # A new message of the same customer, and a new name: applied, it would change rows.
    other = (
        raw.replace(b"Does it come in another color?", b"Send me your password")
        .replace(b"Sheena Nelson", b"Mallory")
        .replace(b"wamid.HBgLMTY1MDM4Nzk0Mzk", b"wamid.FORGEDMTY1MDM4Nzk0Mzk")
    )
    return {
        "no signature": (other, None),
        "signed with another secret": (other, sign(other, "not-the-app-secret")),
        "the signature of another body": (other, sign(raw, settings.WHATSAPP_APP_SECRET)),
        "not a sha256 signature": (other, "sha1=" + "0" * 40),
        "an empty signature": (other, "sha256="),
    }


FORGED_CASES = list(forged(b"Does it come in another color?"))


@pytest.mark.parametrize("case", FORGED_CASES)
async def test_a_forged_post_for_a_registered_number_changes_nothing(case: str) -> None:
    from channels.db import database_sync_to_async

    from conversations.models import Contact, Conversation

    await database_sync_to_async(NumberFactory)()
    raw = (FIXTURES_DIR / "webhook_text_message.json").read_bytes()
    genuine = sign(raw, settings.WHATSAPP_APP_SECRET).encode()
    response = await request(
        "POST", "/webhooks/whatsapp/", raw, [(b"x-hub-signature-256", genuine)]
    )
    assert response["status"] == 200

    def rows() -> list:
        return [
            list(WebhookDelivery.objects.values_list("id", "outcome")),
            list(Contact.objects.values()),
            list(Conversation.objects.values()),
            list(Message.objects.values()),
        ]

    before = await database_sync_to_async(rows)()
    body, signature = forged(raw)[case]
    assert body != raw
    headers = [] if signature is None else [(b"x-hub-signature-256", signature.encode())]
    response = await request("POST", "/webhooks/whatsapp/", body, headers)
    assert response["status"] == 403
    assert await database_sync_to_async(rows)() == before
