import datetime as dt
import json
import random
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from conftest import FIXTURES_DIR
from conversations.models import (
    Contact,
    Conversation,
    Message,
    PlatformEvent,
    StatusReport,
    WebhookDelivery,
)
from conversations.tests.factories import ConversationFactory, status_webhook, text_webhook, wamid

pytestmark = pytest.mark.django_db

WEBHOOK_FIXTURES = sorted(p.name for p in FIXTURES_DIR.glob("webhook_*.json"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES_DIR / name).read_bytes()


# --- Verification handshake -------------------------------------------------


def handshake_query() -> dict[str, str]:
    request_line = (
        (FIXTURES_DIR / "webhook_verification_get_request.http").read_text().splitlines()[0]
    )
    return dict(parse_qsl(urlsplit(request_line.split()[1]).query))


def test_handshake_echoes_the_challenge(client) -> None:
    response = client.get("/webhooks/whatsapp/", handshake_query())
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_handshake_with_a_wrong_token_is_forbidden(client) -> None:
    query = handshake_query() | {"hub.verify_token": "guess"}
    response = client.get("/webhooks/whatsapp/", query)
    assert response.status_code == 403
    assert b"1158201444" not in response.content


# --- Signature ----------------------------------------------------------------


def test_the_published_signature_vector_is_accepted(post_webhook, numbers) -> None:
    vector = json.loads(fixture_bytes("signature_test_vector.GENERATED.json"))
    response = post_webhook(fixture_bytes(vector["file"]), signature=vector["X-Hub-Signature-256"])
    assert response.status_code == 200
    assert Message.objects.get().text == "Does it come in another color?"


@pytest.mark.parametrize("signature", [None, "", "sha256=00", "sha1=abc"])
def test_bad_or_missing_signature_is_403_and_stores_nothing(
    post_webhook, numbers, signature
) -> None:
    response = post_webhook(fixture_bytes("webhook_text_message.json"), signature=signature)
    assert response.status_code == 403
    assert WebhookDelivery.objects.count() == 0
    assert Message.objects.count() == 0


def test_signature_over_a_different_body_is_rejected(post_webhook, numbers) -> None:
    vector = json.loads(fixture_bytes("signature_test_vector.GENERATED.json"))
    other = fixture_bytes("webhook_image_message.json")
    assert post_webhook(other, signature=vector["X-Hub-Signature-256"]).status_code == 403
    assert Message.objects.count() == 0


# --- Every fixture ------------------------------------------------------------


@pytest.mark.parametrize("name", WEBHOOK_FIXTURES)
def test_every_fixture_is_accepted_and_applied(post_webhook, numbers, name) -> None:
    response = post_webhook(fixture_bytes(name))
    assert response.status_code == 200
    assert response.json() == {"status": "applied"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.body == fixture_bytes(name).decode()
    assert delivery.event_count >= 1


@pytest.mark.parametrize(
    ("name", "msg_type"),
    [
        ("webhook_text_message.json", "text"),
        ("webhook_image_message.json", "image"),
        ("webhook_video_message.json", "video"),
        ("webhook_audio_message.json", "audio"),
        ("webhook_document_message.json", "document"),
        ("webhook_sticker_message.json", "sticker"),
        ("webhook_location_message.json", "location"),
        ("webhook_contacts_message.json", "contacts"),
        ("webhook_interactive_button_reply.json", "interactive"),
        ("webhook_interactive_list_reply.json", "interactive"),
        ("webhook_button_template_quick_reply.json", "button"),
        ("webhook_reaction_message.json", "reaction"),
        ("webhook_order_message.json", "order"),
        ("webhook_system_user_changed_number.json", "system"),
        ("webhook_unsupported_message_131051.json", "unsupported"),
        ("webhook_text_ctwa_ad_referral.json", "text"),
        ("webhook_text_reply_with_context.json", "text"),
        ("webhook_text_product_inquiry_context.json", "text"),
    ],
)
def test_every_inbound_fixture_becomes_a_message_row(post_webhook, numbers, name, msg_type) -> None:
    post_webhook(fixture_bytes(name))
    # (The quick-reply fixture is an "Unsubscribe" button: its confirmation goes out.)
    message = Message.objects.select_related("conversation__contact").get(direction="in")
    payload = json.loads(fixture_bytes(name))["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message.type == msg_type
    assert message.wamid == payload["id"]
    assert message.direction == "in"
    assert int(message.timestamp.timestamp()) == int(payload["timestamp"])
    latest = message.conversation.messages.order_by("-timestamp").first()
    assert message.conversation.last_message_at == latest.timestamp


def test_all_fixtures_together_store_every_message_with_fresh_ids(post_webhook, numbers) -> None:
    # Documentation examples reuse ids across unrelated files; give each a fresh one.
    count = 0
    for name in WEBHOOK_FIXTURES:
        payload = json.loads(fixture_bytes(name))
        for entry in payload["entry"]:
            for change in entry["changes"]:
                for message in change["value"].get("messages", []):
                    message["id"] = wamid()
                    count += 1
        assert post_webhook(payload).status_code == 200
    assert Message.objects.filter(direction="in").count() == count
    assert count >= 18


def test_contact_details_and_country_come_from_the_number(post_webhook, numbers) -> None:
    post_webhook(fixture_bytes("webhook_text_message.json"))
    contact = Contact.objects.get()
    assert (contact.wa_id, contact.profile_name) == ("16505551234", "Sheena Nelson")
    assert (contact.phone, contact.country) == ("+16505551234", "US")


def test_contact_with_business_scoped_user_id_and_no_phone(post_webhook, numbers) -> None:
    payload = text_webhook(wa_id="", user_id="US.1234567890", name="Private Person")
    payload["entry"][0]["changes"][0]["value"]["messages"][0].pop("from")
    assert post_webhook(payload).status_code == 200
    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.country) == ("", "US.1234567890", "")
    # Later the same person arrives with both ids: one contact, now complete.
    post_webhook(text_webhook(wa_id="447700900123", user_id="US.1234567890", name="Private Person"))
    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.country) == (
        "447700900123",
        "US.1234567890",
        "GB",
    )
    assert Conversation.objects.count() == 1


def test_template_and_account_updates_are_kept_for_later(post_webhook, numbers) -> None:
    post_webhook(fixture_bytes("webhook_template_status_rejected_invalid_format.json"))
    post_webhook(fixture_bytes("webhook_account_update_violation.json"))
    template = PlatformEvent.objects.get(field="message_template_status_update")
    assert (template.template_name, template.event) == ("abandoned_cart", "REJECTED")
    assert "parameters placed next to each other" in template.reason
    assert PlatformEvent.objects.get(field="account_update").event == "ACCOUNT_VIOLATION"


def test_several_changes_in_one_post_are_all_applied(post_webhook, numbers) -> None:
    first = text_webhook(text="one")
    second = text_webhook(text="two", wa_id="447700900123")
    first["entry"][0]["changes"] += second["entry"][0]["changes"]
    first["entry"].append(
        json.loads(fixture_bytes("webhook_template_status_approved.json"))["entry"][0]
    )
    assert post_webhook(first).status_code == 200
    assert sorted(Message.objects.values_list("text", flat=True)) == ["one", "two"]
    assert PlatformEvent.objects.filter(template_name="order_confirmation").count() == 1


# --- Duplicates and order -----------------------------------------------------


@pytest.fixture(params=["services", "batched"])
def webhook_path(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[int]]:
    """Deliveries go through the services one by one (as in the embedded mode), or
    plain messages of a known chat take the batched path (PostgreSQL). Returns the
    path's name and a list that grows with each delivery the services apply."""
    from conversations import ingest, services

    if request.param == "batched" and not ingest.batches():
        pytest.skip("the batched path needs PostgreSQL")
    if request.param == "services":
        monkeypatch.setattr(ingest, "batches", lambda: False)
    through_services: list[int] = []
    receive = services.webhook_receive
    monkeypatch.setattr(
        services, "webhook_receive", lambda **kw: through_services.append(1) or receive(**kw)
    )
    return request.param, through_services


def test_duplicate_delivery_creates_one_message(post_webhook, numbers, webhook_path) -> None:
    raw = fixture_bytes("webhook_text_message.json")
    for _ in range(3):
        assert post_webhook(raw).status_code == 200
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1
    # The first delivery makes the chat; the repeats took the path under test.
    path, through_services = webhook_path
    assert len(through_services) == {"services": 3, "batched": 1}[path]


def test_the_first_delivery_of_a_message_id_stands(post_webhook, numbers, webhook_path) -> None:
    message_id = wamid()
    for text in ("original", "changed", "changed again"):
        assert post_webhook(text_webhook(message_id=message_id, text=text)).status_code == 200
    assert Message.objects.get().text == "original"
    assert Conversation.objects.get().last_message_text == "original"
    path, through_services = webhook_path
    assert len(through_services) == {"services": 3, "batched": 1}[path]


def test_older_message_arriving_late_does_not_move_the_window_back(post_webhook, numbers) -> None:
    now = timezone.now().replace(microsecond=0)
    post_webhook(text_webhook(text="newer", timestamp=now))
    post_webhook(text_webhook(text="older", timestamp=now - dt.timedelta(hours=3)))
    conversation = Conversation.objects.get()
    assert conversation.last_inbound_at == now
    assert conversation.last_message_text == "newer"


def outbound(conversation: Conversation, status: str = "accepted") -> Message:
    return Message.objects.create(
        conversation=conversation,
        direction="out",
        wamid=wamid(),
        text="Your order shipped",
        status=status,
        timestamp=timezone.now(),
    )


def test_statuses_never_move_backward_whatever_their_order(post_webhook, numbers) -> None:
    message = outbound(ConversationFactory(number=numbers[0]))
    t0 = timezone.now().replace(microsecond=0)
    for status, offset in [("read", 3), ("sent", 1), ("delivered", 2)]:
        post_webhook(
            status_webhook(
                message_id=message.wamid, status=status, timestamp=t0 + dt.timedelta(seconds=offset)
            )
        )
    message.refresh_from_db()
    assert message.status == "read"
    assert StatusReport.objects.filter(message=message, applied=True).count() == 3


def test_failed_status_keeps_whatsapps_code_and_reason(post_webhook, numbers) -> None:
    message = outbound(ConversationFactory(number=numbers[0]))
    error = json.loads(fixture_bytes("error_object_131047_re_engagement.json"))
    post_webhook(status_webhook(message_id=message.wamid, status="failed", errors=[error]))
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error_code == 131047
    assert message.error_title == "Re-engagement message"
    assert message.error_details.startswith("Message failed to send because more than 24 hours")


def test_status_for_an_unknown_message_waits_and_applies_when_it_appears(
    post_webhook, numbers
) -> None:
    from conversations.services.delivery import _accepted

    message = outbound(ConversationFactory(number=numbers[0]), status="sending")
    future_wamid = message.wamid
    Message.objects.filter(pk=message.pk).update(wamid=None)
    post_webhook(status_webhook(message_id=future_wamid, status="delivered"))
    report = StatusReport.objects.get()
    assert report.applied is False
    message.refresh_from_db()
    assert message.status == "sending"

    _accepted(message, future_wamid)  # the send job records WhatsApp's answer
    message.refresh_from_db()
    assert message.status == "delivered"
    report.refresh_from_db()
    assert report.applied is True


def test_status_matched_by_callback_data_when_the_wamid_was_never_saved(
    post_webhook, numbers
) -> None:
    message = outbound(ConversationFactory(number=numbers[0]), status="sending")
    Message.objects.filter(pk=message.pk).update(wamid=None)
    post_webhook(
        status_webhook(
            message_id="wamid.FROMPLATFORM", status="sent", callback_data=str(message.id)
        )
    )
    message.refresh_from_db()
    assert (message.wamid, message.status) == ("wamid.FROMPLATFORM", "sent")


def test_repeated_status_report_is_stored_once(post_webhook, numbers) -> None:
    message = outbound(ConversationFactory(number=numbers[0]))
    payload = status_webhook(message_id=message.wamid, status="delivered")
    for _ in range(3):
        assert post_webhook(payload).status_code == 200
    assert StatusReport.objects.count() == 1


def test_shuffled_triple_delivery_equals_one_ordered_delivery(post_webhook, numbers) -> None:
    conversation = ConversationFactory(number=numbers[0])
    messages = [outbound(conversation) for _ in range(3)]
    t0 = timezone.now().replace(microsecond=0)
    payloads = [text_webhook(text=f"customer {i}", message_id=f"wamid.IN{i}") for i in range(3)]
    for message in messages:
        for i, status in enumerate(["sent", "delivered", "read"]):
            payloads.append(
                status_webhook(
                    message_id=message.wamid, status=status, timestamp=t0 + dt.timedelta(seconds=i)
                )
            )
    shuffled = payloads * 3
    random.Random(7).shuffle(shuffled)
    for payload in shuffled:
        assert post_webhook(payload).status_code == 200
    assert Message.objects.filter(direction="in").count() == 3
    assert set(Message.objects.filter(direction="out").values_list("status", flat=True)) == {"read"}
    assert StatusReport.objects.count() == 9


# --- Bad input ----------------------------------------------------------------


def test_invalid_json_is_400_and_kept_as_a_dead_letter(post_webhook) -> None:
    response = post_webhook(b'{"object": "whatsapp_business_account", "entry": [')
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "dead_letter"
    assert delivery.reason.startswith("invalid JSON")


def test_json_that_is_not_understood_is_a_dead_letter_answered_200(post_webhook) -> None:
    response = post_webhook({"object": "instagram", "entry": []})
    assert response.status_code == 200
    assert response.json() == {"status": "dead_letter"}
    delivery = WebhookDelivery.objects.get()
    assert delivery.reason == "object is 'instagram', not 'whatsapp_business_account'"


def test_webhook_for_an_unregistered_number_is_a_dead_letter(post_webhook) -> None:
    response = post_webhook(fixture_bytes("webhook_text_message.json"))
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "dead_letter"
    assert delivery.reason == "no registered number for phone_number_id 106540352242922"
    assert Message.objects.count() == 0


def test_dead_letters_are_visible_to_admins(post_webhook, admin_client) -> None:
    post_webhook({"object": "instagram", "entry": []})
    page = admin_client.get("/admin/conversations/webhookdelivery/?outcome__exact=dead_letter")
    assert page.status_code == 200
    assert b"not &#x27;whatsapp_business_account&#x27;" in page.content


@pytest.mark.django_db(transaction=True)
def test_database_unavailable_answers_5xx_and_stores_nothing(post_webhook, numbers) -> None:
    settings_dict = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("needs a database server to take away")
    original_port = settings_dict.get("PORT")
    original_options = settings_dict["OPTIONS"]
    connection.close()
    connection.close_pool()
    settings_dict["PORT"] = "1"  # nothing listens there
    settings_dict["OPTIONS"] = {**original_options, "pool": {"timeout": 1}}
    try:
        response = post_webhook(fixture_bytes("webhook_text_message.json"))
    finally:
        connection.close()
        connection.close_pool()
        settings_dict["PORT"] = original_port
        settings_dict["OPTIONS"] = original_options
    assert response.status_code == 503
    assert Message.objects.count() == 0
    assert post_webhook(fixture_bytes("webhook_text_message.json")).status_code == 200
    assert Message.objects.count() == 1
