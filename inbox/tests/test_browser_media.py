# ruff: noqa: RUF001 (the Russian UI strings are Cyrillic on purpose)
"""Every kind of message in a real browser, against the live stack: what customers
send (photos, voice notes, documents, locations, contact cards, choices) shown as
people expect, files the operator sends reaching the simulator by media id,
reactions and quoted replies both ways, and a failed send explained and retried."""

from __future__ import annotations

import hashlib
import re
import struct
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, Page, expect

from conversations import services
from conversations.models import Message, SendAttempt
from inbox.tests.conftest import make_inbox_user
from inbox.tests.test_browser import (
    SEND_TIMEOUT,
    conversation,
    customer_says,
    log_in,
    screenshot,
    thread_message,
)
from inbox.tests.test_browser_workspace import open_chat, sign_in

if TYPE_CHECKING:
    from collections.abc import Callable

    from inbox.tests.conftest import LiveStack, Operator
    from simulator import Simulator

pytestmark = pytest.mark.browser

# Downloads run as jobs in the worker: give them the time a send gets.
MEDIA_TIMEOUT_MS = SEND_TIMEOUT * 1000


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG picture of one colour, so the browser can decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def by_type(page: Page, message_type: str, direction: str = "in") -> Locator:
    return page.get_by_test_id("thread").locator(
        f'[data-testid="message"][data-type="{message_type}"][data-direction="{direction}"]'
    )


def wait_for_picture(page: Page, image: Locator) -> int:
    """Waits until the browser really decoded the picture; returns its width."""
    expect(image).to_be_visible(timeout=MEDIA_TIMEOUT_MS)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=image.element_handle(),
        timeout=MEDIA_TIMEOUT_MS,
    )
    return int(image.evaluate("img => img.naturalWidth"))


def wait_for_receipt(sim: Simulator, matches: Callable[[dict[str, Any]], bool]) -> None:
    """Waits until the simulator received a matching mark-as-read (or typing) request."""
    deadline = time.monotonic() + SEND_TIMEOUT
    while not any(matches(receipt) for receipt in list(sim.read_receipts)):
        if time.monotonic() > deadline:
            pytest.fail(f"no matching read receipt; received {sim.read_receipts}")
        time.sleep(0.1)


def test_every_kind_of_customer_message_is_shown(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    tara = "14155550601"
    photo = png(240, 160, (200, 40, 40))
    voice = b"OggS\x00\x02" + bytes(range(256)) * 8
    receipt = b"%PDF-1.4\n" + b"0" * 1500 + b"\n%%EOF\n"
    customer_says(sim, tara, "Hi, my lamp arrived broken", name="Tara Singh")
    answers = [
        sim.customer_sends_image(tara, photo, "image/png", caption="The broken lid"),
        sim.customer_sends_media(tara, "audio", voice, "audio/ogg; codecs=opus", voice=True),
        sim.customer_sends_document(tara, receipt, filename="receipt-42.pdf"),
        sim.customer_sends(
            tara,
            "location",
            {
                "latitude": 37.44221496582,
                "longitude": -122.16165924072,
                "name": "Philz Coffee",
                "address": "101 Forest Ave, Palo Alto, CA 94301",
            },
        ),
        sim.customer_sends(
            tara,
            "contacts",
            [  # the platform sends a list of cards under "contacts"
                {
                    "name": {"first_name": "Barbara", "formatted_name": "Barbara J. Johnson"},
                    "phones": [{"phone": "+1 (415) 555-0829", "wa_id": "14155550829"}],
                    "emails": [{"email": "barbara@example.com", "type": "WORK"}],
                }
            ],
        ),
        sim.customer_sends(
            tara,
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes, replace it"}},
        ),
    ]
    assert [answer["status_code"] for answer in answers] == [200] * len(answers)

    log_in(page, operator)
    conversation(page, "Tara Singh").click()
    expect(page.get_by_test_id("message")).to_have_count(7)

    # The photo is downloaded by a job, then shown inline and opens full size.
    picture = by_type(page, "image")
    image = picture.get_by_test_id("message-image")
    assert wait_for_picture(page, image) == 240
    expect(image).to_have_attribute("alt", "The broken lid")
    expect(picture.get_by_test_id("media-caption")).to_have_text("The broken lid")
    expect(picture.locator("a.media-link")).to_have_attribute("target", "_blank")

    # The voice note is playable, labelled as one, and its bytes are the customer's.
    note = by_type(page, "audio")
    expect(note.get_by_test_id("voice-label")).to_have_text("Voice message")
    player = note.get_by_test_id("message-audio")
    expect(player).to_have_attribute(
        "src", f"/api/v1/messages/{note.get_attribute('data-message-id')}/media/"
    )
    heard = page.request.get(player.get_attribute("src") or "")
    assert heard.status == 200
    assert heard.body() == voice

    # The document downloads with its name; its size is written for people.
    document = by_type(page, "document").get_by_test_id("message-document")
    expect(document.get_by_test_id("document-name")).to_have_text("receipt-42.pdf")
    expect(document.get_by_test_id("document-size")).to_have_text("1.5 KB")
    with page.expect_download() as download:
        document.click()
    assert download.value.suggested_filename == "receipt-42.pdf"
    assert Path(download.value.path()).read_bytes() == receipt

    place = by_type(page, "location")
    expect(place).to_contain_text("Philz Coffee")
    expect(place).to_contain_text("101 Forest Ave, Palo Alto, CA 94301")
    expect(place.get_by_test_id("location-coordinates")).to_have_text(
        "37.44221496582, -122.16165924072"
    )
    expect(place.get_by_test_id("location-map")).to_have_attribute(
        "href",
        "https://www.openstreetmap.org/?mlat=37.44221496582&mlon=-122.16165924072"
        "#map=16/37.44221496582/-122.16165924072",
    )

    card = by_type(page, "contacts").get_by_test_id("contact-card")
    expect(card).to_contain_text("Barbara J. Johnson")
    expect(card.get_by_test_id("contact-card-phone")).to_have_text("+1 (415) 555-0829")
    expect(card.get_by_test_id("contact-card-email")).to_have_text("barbara@example.com")

    expect(by_type(page, "interactive").get_by_test_id("message-choice")).to_have_text(
        "Chose: Yes, replace it"
    )

    # The customer reacts to their own photo: shown under it, never as a bubble.
    reacted = sim.customer_reacts(tara, answers[0]["wamid"], "😢")
    assert reacted["status_code"] == 200, reacted
    expect(picture.get_by_test_id("reaction")).to_have_text("😢")
    expect(page.get_by_test_id("message")).to_have_count(7)
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement.blur()")
    picture.evaluate("li => li.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)  # the hover actions fade out
    screenshot(page, "thread-media.png")


def test_failed_download_is_explained_and_a_manual_retry_fetches_it(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    photo = png(24, 24, (20, 90, 200))
    sim.fail_media_downloads(1, http_status=500)
    sent = sim.customer_sends_image(
        "14155550604", photo, "image/png", caption="Scratch on the door", name="Omar Haddad"
    )
    assert sent["status_code"] == 200, sent
    message = Message.objects.get(wamid=sent["wamid"])
    deadline = time.monotonic() + SEND_TIMEOUT
    while Message.objects.get(pk=message.pk).media_attempts < 1:
        assert time.monotonic() < deadline, "the first download was never tried"
        time.sleep(0.1)
    # The automatic retries (minutes apart) ran out: the file is marked failed.
    Message.objects.filter(pk=message.pk).update(
        media_state=Message.Media.FAILED,
        media_error="WhatsApp refused the download: WhatsApp answered HTTP 500",
    )

    log_in(page, operator)
    conversation(page, "Omar Haddad").click()
    picture = by_type(page, "image")
    failed = picture.get_by_test_id("media-failed")
    expect(failed).to_contain_text(
        "The download failed: WhatsApp refused the download: WhatsApp answered HTTP 500"
    )
    # The message itself is intact: its caption is still there.
    expect(picture.get_by_test_id("media-caption")).to_have_text("Scratch on the door")
    expect(picture.get_by_test_id("message-image")).to_have_count(0)

    picture.get_by_test_id("media-retry").click()
    assert wait_for_picture(page, picture.get_by_test_id("message-image")) == 24
    expect(picture.get_by_test_id("media-failed")).to_have_count(0)


def test_operator_sends_a_photo_replies_and_reacts(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    ben = "14155550602"
    question = sim.customer_says(ben, "Which colour is the teal one?", name="Ben Ito")
    assert question["status_code"] == 200, question

    log_in(page, operator)
    conversation(page, "Ben Ito").click()
    asked = page.get_by_test_id("thread").locator(f'[data-wamid="{question["wamid"]}"]')
    expect(asked).to_have_text(re.compile("^" + re.escape("Which colour is the teal one?")))
    # Opening the chat marks the customer's message read on WhatsApp.
    wait_for_receipt(sim, lambda r: r["message_id"] == question["wamid"])

    # The operator attaches a photo with a caption: uploaded, then sent by media id.
    swatch = png(40, 40, (0, 128, 128))
    sent_before = len(sim.sent_messages())
    page.get_by_test_id("composer-file").set_input_files(
        files=[{"name": "swatch.png", "mimeType": "image/png", "buffer": swatch}]
    )
    expect(page.get_by_test_id("composer-attachment-name")).to_have_text("swatch.png · 101 bytes")
    composer = page.get_by_test_id("composer-input")
    composer.fill("This is our teal")
    # While the operator types, the customer sees the typing indicator.
    wait_for_receipt(sim, lambda r: r["typing_indicator"] and r["message_id"] == question["wamid"])
    composer.press("Enter")
    expect(page.get_by_test_id("composer-attachment")).to_be_hidden()
    sent = sim.wait_for_sent(
        lambda record: record["to"] == ben and record["type"] == "image",
        timeout=SEND_TIMEOUT,
        since=sent_before,
    )
    assert sent["payload"]["image"]["caption"] == "This is our teal"
    stored = sim.api_media_info(sent["payload"]["image"]["id"]).payload
    assert stored["sha256"] == hashlib.sha256(swatch).hexdigest()
    assert stored["mime_type"] == "image/png"
    shown = by_type(page, "image", "out")
    assert wait_for_picture(page, shown.get_by_test_id("message-image")) == 40
    expect(shown).to_have_attribute("data-status", "read", timeout=MEDIA_TIMEOUT_MS)

    # The customer reacts to the photo: the emoji shows under it, not as a bubble.
    reacted = sim.customer_reacts(ben, sent["wamid"], "❤️")
    assert reacted["status_code"] == 200, reacted
    reaction = shown.get_by_test_id("reaction")
    expect(reaction).to_have_text("❤️")
    expect(reaction).to_have_attribute("data-who", "customer")
    expect(page.get_by_test_id("message")).to_have_count(2)

    # A reply quotes the customer's question, on WhatsApp and on the page.
    asked.hover()
    asked.get_by_test_id("reply-action").click()
    expect(page.get_by_test_id("reply-banner-text")).to_have_text("Which colour is the teal one?")
    composer.fill("The one in the photo above")
    composer.press("Enter")
    expect(page.get_by_test_id("reply-banner")).to_be_hidden()
    quoted = sim.wait_for_sent(
        lambda record: record["to"] == ben and record["type"] == "text",
        timeout=SEND_TIMEOUT,
        since=sent_before,
    )
    assert quoted["payload"]["context"] == {"message_id": question["wamid"]}
    answer = thread_message(page, "The one in the photo above")
    expect(answer.get_by_test_id("message-quote")).to_contain_text("Which colour is the teal one?")

    # The operator reacts to the question; the customer receives the reaction.
    asked.hover()
    asked.get_by_test_id("react-action").click()
    asked.get_by_test_id("reaction-choice").filter(has_text="👍").click()
    thumbs = sim.wait_for_sent(
        lambda record: record["to"] == ben and record["type"] == "reaction",
        timeout=SEND_TIMEOUT,
        since=sent_before,
    )
    assert thumbs["payload"]["reaction"] == {"message_id": question["wamid"], "emoji": "👍"}
    mine = asked.locator('[data-testid="reaction"][data-who="business"]')
    expect(mine).to_have_text("👍")
    expect(page.get_by_test_id("message")).to_have_count(3)


FAILED_TEXT = {
    "en": {
        "reason": "The access token has expired or is invalid; an admin must renew it.",
        "retry": "Retry",
    },
    "ru": {
        "reason": "Токен доступа истёк или недействителен: его должен обновить администратор.",
        "retry": "Повторить",
    },
}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_failed_send_shows_the_reason_and_a_retry_delivers_it(
    open_page: Callable[..., Page], live_stack: LiveStack, transactional_db: None, language: str
) -> None:
    sim = live_stack.sim
    services.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Acme Shop",
    )
    rita = make_inbox_user("rita", first_name="Rita", last_name="Ops", language=language)
    customer_says(sim, "14155550603", "Is my refund through?", name="Rosa Moss")
    page = open_page("ru-RU" if language == "ru" else "en-US")
    sign_in(page, rita, "На связи" if language == "ru" else "Live")
    open_chat(page, "Rosa Moss")

    # WhatsApp refuses: the token had expired. Trying again by hand can help.
    sim.fail_next(190, http_status=401)
    sent_before, refused_before = len(sim.sent_messages()), len(sim.refused)
    composer = page.get_by_test_id("composer-input")
    composer.fill("Yes, it left our bank yesterday")
    composer.press("Enter")
    failed = thread_message(page, "Yes, it left our bank yesterday")
    expect(failed).to_have_attribute("data-status", "failed", timeout=SEND_TIMEOUT * 1000)
    error = failed.get_by_test_id("message-error")
    expect(error).to_contain_text(FAILED_TEXT[language]["reason"])
    expect(error).to_contain_text("190")
    retry = failed.get_by_test_id("retry-send")
    expect(retry).to_have_text(FAILED_TEXT[language]["retry"])
    if language == "en":
        screenshot(page, "failed-send-retry.png")

    # The retry really sends again: the customer gets it once, the same bubble turns read.
    retry.click()
    delivered = sim.wait_for_sent(
        lambda record: record["type"] == "text", timeout=SEND_TIMEOUT, since=sent_before
    )
    assert delivered["payload"]["text"]["body"] == "Yes, it left our bank yesterday"
    expect(failed).to_have_attribute("data-status", "read", timeout=SEND_TIMEOUT * 1000)
    expect(failed.get_by_test_id("message-error")).to_have_count(0)
    expect(failed.get_by_test_id("retry-send")).to_have_count(0)
    expect(page.get_by_test_id("message")).to_have_count(2)
    message = Message.objects.get(direction="out")
    assert SendAttempt.objects.filter(message=message).count() == 2
    assert len([r for r in sim.sent_messages()[sent_before:] if r["type"] == "text"]) == 1
    assert [r["code"] for r in sim.refused[refused_before:]] == [190]
