"""The demo's customers send every kind of message: made-up photos, invoices, places, contact
cards, voice notes and reactions, in chatter and through the control endpoint.

No Django here: the "app" is the stub from ``test_simulator``, which records every webhook.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator import Simulator, samples
from simulator.tests.test_simulator import (
    ACCESS_TOKEN,
    APP_SECRET,
    AppStub,
    documented_message,
    send,
    shape,
    text,
)

CUSTOMERS = [
    ("16505551234", "Sheena Nelson"),
    ("4915112345678", "Lena Müller"),
    ("5511987654321", "Ana Souza"),
]
FIXTURE_OF = {
    "text": "webhook_text_message.json",
    "image": "webhook_image_message.json",
    "document": "webhook_document_message.json",
    "audio": "webhook_audio_message.json",
    "location": "webhook_location_message.json",
    "contacts": "webhook_contacts_message.json",
    "reaction": "webhook_reaction_message.json",
}
BEARER = {"Authorization": f"Bearer {ACCESS_TOKEN}"}


@pytest.fixture
def app() -> Iterator[AppStub]:
    stub = AppStub()
    yield stub
    stub.close()


def make_sim(app: AppStub, seed: int = 5) -> Simulator:
    # Status webhooks are held back long enough never to interleave with what is asserted.
    return Simulator(
        app.url, APP_SECRET, ACCESS_TOKEN, customers=CUSTOMERS, status_delay=60, seed=seed
    )


@pytest.fixture
def sim(app: AppStub) -> Iterator[Simulator]:
    with make_sim(app) as simulator:
        yield simulator


def control(sim: Simulator, wa_id: str, body: Any) -> requests.Response:
    return requests.post(
        f"{sim.base_url}/_sim/customers/{wa_id}/messages",
        data=body if isinstance(body, bytes) else None,
        json=None if isinstance(body, bytes) else body,
        timeout=10,
    )


def download(sim: Simulator, media_id: str) -> bytes:
    info = requests.get(f"{sim.graph_url}/{media_id}", headers=BEARER, timeout=5).json()
    return requests.get(info["url"], headers=BEARER, timeout=5).content


def business_writes_to(sim: Simulator, wa_id: str) -> str:
    """The customer writes, the business answers inside the window; the answer's wamid."""
    sim.customer_says(wa_id, "Hello?")
    answer = send(sim, text(wa_id, "Hi! How can we help?"))
    assert answer.status_code == 200
    return answer.json()["messages"][0]["id"]


def fits(ours: Any, documented: Any) -> bool:
    """Whether ``ours`` uses only keys the documented payload has, with the same shapes
    all the way down (optional fields may be left out)."""
    if isinstance(ours, dict):
        return isinstance(documented, dict) and all(
            key in documented and fits(value, documented[key]) for key, value in ours.items()
        )
    if isinstance(ours, list):
        return isinstance(documented, list) and all(fits(item, documented[0]) for item in ours)
    return type(ours) is type(documented)


def assert_platform_shape(message: dict[str, Any]) -> None:
    documented = documented_message(FIXTURE_OF[message["type"]])
    assert set(message) == set(documented)
    assert fits(message, documented), message
    if message["type"] in ("image", "document", "audio", "reaction"):
        # Nothing optional in these: every documented field is there.
        assert dict(shape(message)) == dict(shape(documented))


# --- the files customers attach -------------------------------------------------------------


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data), f"bad CRC in {kind!r}"
        chunks.append((kind, data))
        at += 12 + length
    assert at == len(png)
    return chunks


def test_the_parcel_photo_is_a_valid_320x240_png_with_several_colours() -> None:
    png = samples.damaged_parcel_png()

    chunks = png_chunks(png)

    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (width, height, depth, colour) == (320, 240, 8, 2)
    raw = zlib.decompress(chunks[1][1])
    stride = 1 + 320 * 3
    assert len(raw) == 240 * stride
    assert {raw[y * stride] for y in range(240)} == {0}
    pixels = Counter(
        raw[y * stride + 1 + x * 3 : y * stride + 4 + x * 3] for y in range(240) for x in range(320)
    )
    assert len(pixels) >= 8
    assert max(pixels.values()) < 320 * 240 // 2  # a picture, not a blank page
    assert len(png) < 20_000


def test_the_invoice_is_a_valid_pdf_whose_xref_points_at_its_objects() -> None:
    pdf = samples.invoice_pdf("48213", "Lena Müller (Berlin)")

    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref\n0 6\n")
    entries = pdf[startxref:].split(b"\n")[2:8]
    assert entries[0] == b"0000000000 65535 f "
    for number, entry in enumerate(entries[1:], start=1):
        offset = int(entry[:10])
        assert entry.endswith(b" 00000 n ")
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number)
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))
    stream = pdf.split(b"stream\n", 1)[1]
    assert stream[length:].startswith(b"endstream")
    assert b"(Order #48213)" in stream
    assert "(Customer: Lena Müller \\(Berlin\\))".encode("latin-1") in stream
    assert samples.invoice_filename("48213") == "invoice-48213.pdf"


def reference_ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def test_the_voice_note_is_an_ogg_opus_stream_with_valid_pages() -> None:
    ogg = samples.voice_note_ogg(2.0)

    pages, at = [], 0
    while at < len(ogg):
        assert ogg[at : at + 4] == b"OggS"
        flags, granule, _, sequence, crc, count = struct.unpack("<xBqIIIB", ogg[at + 4 : at + 27])
        lacing = ogg[at + 27 : at + 27 + count]
        end = at + 27 + count + sum(lacing)
        zeroed = ogg[at : at + 22] + b"\0\0\0\0" + ogg[at + 26 : end]
        assert crc == reference_ogg_crc(zeroed)
        pages.append((flags, granule, sequence, ogg[at + 27 + count : end]))
        at = end

    assert [page[2] for page in pages] == list(range(len(pages)))
    assert pages[0][0] == 0x02 and pages[0][3].startswith(b"OpusHead\x01\x01")
    assert pages[1][3].startswith(b"OpusTags")
    assert pages[-1][0] == 0x04
    pre_skip = struct.unpack("<H", pages[0][3][10:12])[0]
    assert (pages[-1][1] - pre_skip) / 48000 == 2.0


# --- chatter --------------------------------------------------------------------------------


def chatter(sim: Simulator, ticks: int) -> list[dict[str, Any]]:
    return [sim.chatter_once()["body"]["entry"][0]["changes"][0]["value"] for _ in range(ticks)]


def test_chatter_with_a_seed_sends_every_kind_now_and_then(sim: Simulator, app: AppStub) -> None:
    replies = {wa_id: business_writes_to(sim, wa_id) for wa_id, _ in CUSTOMERS}
    app.deliveries.clear()

    values = chatter(sim, 80)

    messages = [value["messages"][0] for value in values]
    kinds = Counter(message["type"] for message in messages)
    assert set(kinds) == {"text", "image", "location", "document", "contacts", "reaction"}
    assert 10 <= 80 - kinds["text"] <= 35  # about one in four
    assert len(app.deliveries) == 80
    assert all(delivery.signature_is_valid for delivery in app.deliveries)
    for delivery, message in zip(app.deliveries, messages, strict=True):
        assert delivery.value["messages"][0] == message
        assert_platform_shape(message)
        if message["type"] == "reaction":
            assert message["reaction"]["message_id"] == replies[message["from"]]
            assert message["reaction"]["emoji"] in ("👍", "❤️")
        if message["type"] == "image":
            assert message["image"]["mime_type"] == "image/png"
            assert download(sim, message["image"]["id"]) == samples.damaged_parcel_png()
        if message["type"] == "document":
            document = message["document"]
            assert re.fullmatch(r"invoice-\d{5}\.pdf", document["filename"])
            assert document["filename"][8:13] in document["caption"]
            assert download(sim, document["id"]).startswith(b"%PDF-")


def test_chatter_speaks_the_customers_language(sim: Simulator) -> None:
    messages = [value["messages"][0] for value in chatter(sim, 80)]

    german = [
        m for m in messages if m["from"] == "4915112345678" and m["type"] in ("image", "location")
    ]
    assert german, "Lena sent no photo or place in 80 lines"
    for message in german:
        if message["type"] == "location":
            assert message["location"]["name"] == "Hier bin ich"
            # Berlin or Hamburg, give or take a few hundred metres
            assert 52.4 < message["location"]["latitude"] < 53.6
            assert 9.9 < message["location"]["longitude"] < 13.5
        else:
            caption = message["image"]["caption"]
            assert caption == "So ist das Paket bei mir angekommen" or caption.startswith(
                "Bestellung #"
            )


def test_chatter_never_reacts_when_the_business_has_not_written(
    sim: Simulator, app: AppStub
) -> None:
    kinds = Counter(value["messages"][0]["type"] for value in chatter(sim, 80))

    assert kinds["reaction"] == 0
    assert {"image", "location", "document", "contacts"} <= set(kinds)


def test_the_same_seed_gives_the_same_chatter(app: AppStub) -> None:
    def run() -> list[tuple[Any, ...]]:
        with make_sim(app, seed=11) as sim:
            values = chatter(sim, 30)
        lines = []
        for value in values:
            message = value["messages"][0]
            content = dict(message[message["type"]]) if message["type"] != "contacts" else {}
            for key in ("id", "url", "sha256"):
                content.pop(key, None)
            lines.append((message["from"], message["type"], sorted(content.items())))
        return lines

    first, second = run(), run()

    assert first == second
    assert len({line[1] for line in first}) > 1


def test_chatter_can_stay_text_only(app: AppStub) -> None:
    with make_sim(app) as sim:
        sim.start_chatter((3600, 3600), non_text_share=0)
        kinds = {value["messages"][0]["type"] for value in chatter(sim, 30)}

    assert kinds == {"text"}


# --- the control endpoint -------------------------------------------------------------------


def posted(app: AppStub, answer: requests.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    (delivery,) = app.wait_for(lambda d: "messages" in d.value)
    message = delivery.value["messages"][0]
    assert message["id"] == answer.json()["wamid"]
    assert delivery.signature_is_valid
    assert_platform_shape(message)
    return message


def test_control_endpoint_sends_the_photo_with_the_given_caption(
    sim: Simulator, app: AppStub
) -> None:
    image = posted(app, control(sim, "16505551234", {"type": "image", "caption": "Broken box"}))

    assert image["type"] == "image"
    assert image["image"]["caption"] == "Broken box"
    assert image["image"]["mime_type"] == "image/png"
    photo = download(sim, image["image"]["id"])
    assert photo == samples.damaged_parcel_png()
    assert image["image"]["sha256"] == base64.b64encode(hashlib.sha256(photo).digest()).decode()


def test_control_endpoint_makes_up_what_is_left_out(sim: Simulator, app: AppStub) -> None:
    image = posted(app, control(sim, "5511987654321", {"type": "image"}))

    assert image["image"]["caption"] == "A caixa chegou assim" or image["image"][
        "caption"
    ].startswith("O pedido #")


def test_control_endpoint_sends_an_invoice(sim: Simulator, app: AppStub) -> None:
    message = posted(
        app, control(sim, "4915112345678", {"type": "document", "filename": "rechnung.pdf"})
    )

    document = message["document"]
    assert document["filename"] == "rechnung.pdf"
    assert document["mime_type"] == "application/pdf"
    assert document["caption"].startswith("Hier ist die Rechnung zu Bestellung #")
    pdf = download(sim, document["id"])
    assert pdf.startswith(b"%PDF-") and b"Lena M\xfcller" in pdf


def test_control_endpoint_sends_a_location_given_or_made_up(sim: Simulator, app: AppStub) -> None:
    given = posted(
        app,
        control(
            sim,
            "16505551234",
            {"type": "location", "latitude": 40.7128, "longitude": -74.006, "place": "Home"},
        ),
    )
    app.deliveries.clear()
    made_up = posted(app, control(sim, "5511987654321", {"type": "location"}))

    assert given["location"] == {"latitude": 40.7128, "longitude": -74.006, "name": "Home"}
    assert made_up["location"]["name"] == "Estou aqui"
    assert made_up["location"]["address"].endswith(("São Paulo - SP", "Rio de Janeiro - RJ"))
    assert -23.6 < made_up["location"]["latitude"] < -22.9


def test_control_endpoint_shares_a_contact_card(sim: Simulator, app: AppStub) -> None:
    default = posted(app, control(sim, "16505551234", {"type": "contacts"}))
    app.deliveries.clear()
    card = {"name": {"formatted_name": "Ana Souza", "first_name": "Ana"}}
    own = posted(app, control(sim, "16505551234", {"type": "contacts", "cards": [card]}))

    (shared,) = default["contacts"]
    assert shared["phones"][0]["wa_id"].startswith("1650555")
    assert shared["phones"][0]["wa_id"] != "16505551234"
    assert shared["name"]["formatted_name"].startswith(shared["name"]["first_name"])
    assert own["contacts"] == [card]


def test_control_endpoint_sends_a_voice_note(sim: Simulator, app: AppStub) -> None:
    message = posted(app, control(sim, "16505551234", {"type": "voice"}))

    assert message["type"] == "audio"
    assert message["audio"]["voice"] is True
    assert message["audio"]["mime_type"] == "audio/ogg; codecs=opus"
    assert download(sim, message["audio"]["id"]) == samples.voice_note_ogg()


def test_control_endpoint_reacts_to_the_business_latest_message(
    sim: Simulator, app: AppStub
) -> None:
    business_writes_to(sim, "16505551234")
    latest = business_writes_to(sim, "16505551234")
    app.deliveries.clear()

    message = posted(app, control(sim, "16505551234", {"type": "reaction", "emoji": "❤️"}))

    assert message["reaction"] == {"message_id": latest, "emoji": "❤️"}
    assert sim.latest_business_message("+1 650 555 1234") == latest


def test_a_send_that_never_reached_the_customer_is_not_reacted_to(
    sim: Simulator, app: AppStub
) -> None:
    # The window is closed: the platform accepts the text, then it fails with 131047.
    assert send(sim, text("16505551234")).status_code == 200

    answer = control(sim, "16505551234", {"type": "reaction"})

    assert answer.status_code == 409
    assert "nothing to react to" in answer.json()["error"]
    assert not [d for d in app.deliveries if "messages" in d.value]


def test_control_endpoint_sends_the_customer_own_file(sim: Simulator, app: AppStub) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"my own photo" * 10
    body = {"type": "image", "data_base64": base64.b64encode(jpeg).decode(), "caption": "Mine"}

    message = posted(app, control(sim, "16505551234", body))

    assert message["image"]["mime_type"] == "image/jpeg"
    assert download(sim, message["image"]["id"]) == jpeg


def test_control_endpoint_still_takes_a_plain_text(sim: Simulator, app: AppStub) -> None:
    message = posted(app, control(sim, "16505551234", {"text": "Hello!", "name": "Sheena N."}))

    assert message["text"] == {"body": "Hello!"}
    assert sim.customers["16505551234"] == "Sheena N."


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"type": "gif"}, '"type" must be one of text, image, document'),
        ({"type": "image", "captoin": "x"}, "an image message takes no 'captoin'"),
        ({"type": "image", "caption": 5}, '"caption" must be a string'),
        ({"type": "text"}, '"text" must be a non-empty string'),
        ({"type": "location", "latitude": 91, "longitude": 0}, "between -90 and 90"),
        ({"type": "location", "latitude": 1.5}, "give both or neither"),
        ({"type": "location", "latitude": "52", "longitude": 13}, '"latitude" must be a number'),
        ({"type": "image", "data_base64": "not base64!"}, '"data_base64" must be the file'),
        ({"type": "image", "data_base64": "", "mime_type": "image/png"}, "an empty file"),
        (
            {"type": "image", "data_base64": "R0lGODlh", "mime_type": "image/gif"},
            "an image must be one of image/jpeg, image/png",
        ),
        ({"type": "image", "mime_type": "image/png"}, '"mime_type" goes with "data_base64"'),
        ({"type": "video"}, 'a video message needs the file as "data_base64"'),
        ({"type": "contacts", "cards": []}, '"cards" must be a non-empty list'),
        ({"type": "reaction", "context_wamid": "wamid.X"}, "takes no 'context_wamid'"),
        ({"type": "reaction", "message_wamid": ""}, '"message_wamid" must be a non-empty'),
        (b"{not json", "not valid JSON"),
        (["image"], "must be a JSON object"),
    ],
)
def test_control_endpoint_refuses_bad_input_and_sends_nothing(
    sim: Simulator, app: AppStub, body: Any, error: str
) -> None:
    answer = control(sim, "16505551234", body)

    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert app.deliveries == []
    assert sim.webhook_log == []
