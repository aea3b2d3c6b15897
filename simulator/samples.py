"""What simulated customers attach: a photo, an invoice, a voice note, a place, a contact.

Every file is built here from a few lines of code (no binary files in the repository, no
imaging library): a PNG photo of a crushed parcel, a one-page PDF invoice and a short Ogg
Opus voice note. Places and contact cards suit the customer's country, guessed from the
calling code of their WhatsApp number.
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass

# --- the photo: a crushed cardboard box, drawn pixel by pixel --------------------------------

PHOTO_WIDTH = 320
PHOTO_HEIGHT = 240

_WALL = (233, 226, 212)
_FLOOR = (178, 160, 138)
_FLOOR_LINE = (160, 142, 120)
_SHADOW = (128, 112, 96)
_BOX_FRONT = (196, 148, 96)
_BOX_TOP = (218, 176, 124)
_BOX_SIDE = (158, 114, 70)
_TAPE = (232, 214, 166)
_DENT = (120, 82, 48)
_TEAR = (74, 48, 28)
_LABEL = (250, 250, 246)
_FRAGILE = (204, 40, 40)


def _photo_pixel(x: int, y: int) -> tuple[int, int, int]:
    """The colour at (x, y): wall, floor, the box's three faces, its tape, label and damage."""
    # The top face is a parallelogram leaning right: front edge y=90 (x 80..240), back
    # edge y=60 (x 110..270). The right side face joins (240, 90..200) to (270, 60..170).
    if 60 <= y < 90:
        shift = 90 - y
        if 80 + shift <= x < 240 + shift:
            # The crushed back-right corner of the lid is caved in.
            if x - shift > 200 and (x - shift - 200) + (y - 60) < 40:
                return _DENT
            if 152 + shift <= x < 168 + shift:
                return _TAPE
            return _BOX_TOP
    if 240 <= x < 270:
        top = 90 - (x - 240)
        if top <= y < top + 110:
            return _BOX_SIDE
    if 80 <= x < 240 and 90 <= y < 200:
        # A tear runs down from the dented corner across the front face.
        if abs((x - 240) + (y - 90) * 0.6) < 1.6 and y < 150:
            return _TEAR
        if x >= 205 and y < 125 and (x - 205) > (y - 90):
            return _DENT
        if 95 <= x < 145 and 118 <= y < 152:
            return _FRAGILE if 128 <= y < 140 else _LABEL
        if 152 <= x < 168:
            return _TAPE
        return _BOX_FRONT
    if y >= 150:
        # A soft shadow to the right of the box, then floorboards.
        if 200 <= y < 212 and 90 <= x < 290:
            return _SHADOW
        return _FLOOR_LINE if y % 18 == 0 else _FLOOR
    return _WALL


@functools.cache
def damaged_parcel_png() -> bytes:
    """A 320x240 RGB PNG of a cardboard box with a crushed corner, as a customer would
    photograph it. Built once, then the same bytes each time."""
    rows = bytearray()
    for y in range(PHOTO_HEIGHT):
        rows.append(0)  # filter type None
        for x in range(PHOTO_WIDTH):
            rows.extend(_photo_pixel(x, y))
    header = struct.pack(">IIBBBBB", PHOTO_WIDTH, PHOTO_HEIGHT, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# --- the document: a one-page invoice --------------------------------------------------------


def invoice_filename(order: str) -> str:
    """The name a customer's invoice for ``order`` carries, e.g. ``invoice-48213.pdf``."""
    return f"invoice-{order}.pdf"


def invoice_pdf(order: str, customer: str) -> bytes:
    """A minimal, valid one-page PDF invoice for ``order`` addressed to ``customer``.

    Uses only the standard Helvetica font, so any viewer shows it; non-Latin-1 characters
    in the name are replaced.
    """
    lines = [
        (24, 740, "Invoice"),
        (12, 710, f"Order #{order}"),
        (12, 692, f"Customer: {customer}"),
        (12, 656, "1 x Ceramic mug, blue            14.90"),
        (12, 638, "1 x Shipping                      4.90"),
        (12, 608, "Total                            19.80"),
    ]
    text = "".join(
        f"BT /F1 {size} Tf 72 {y} Td ({_pdf_string(line)}) Tj ET\n" for size, y, line in lines
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def _pdf_string(text: str) -> str:
    latin = text.encode("latin-1", "replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


# --- the voice note: Opus silence in an Ogg stream -------------------------------------------

# One 20 ms CELT frame of silence (mono, fullband): the packet Opus encoders emit for it.
_OPUS_SILENCE = b"\xf8\xff\xfe"
_OPUS_FRAME_SAMPLES = 960  # 20 ms at 48 kHz
_OPUS_PRE_SKIP = 312
_OGG_SERIAL = 0x5A17


@functools.cache
def voice_note_ogg(seconds: float = 2.0) -> bytes:
    """A voice note of ``seconds`` of quiet, as Ogg Opus (``audio/ogg; codecs=opus``): the
    format WhatsApp records voice notes in, so the inbox's audio player can play it."""
    frames = max(1, round(seconds * 1000 / 20))
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _OPUS_PRE_SKIP, 48000, 0, 0)
    vendor = b"inbox-simulator"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_ogg_page([head], granule=0, sequence=0, flags=0x02)]
    pages.append(_ogg_page([tags], granule=0, sequence=1, flags=0))
    sequence, sent = 2, 0
    per_page = 50  # one second of audio per page
    while sent < frames:
        count = min(per_page, frames - sent)
        sent += count
        flags = 0x04 if sent == frames else 0
        granule = _OPUS_PRE_SKIP + sent * _OPUS_FRAME_SAMPLES
        pages.append(_ogg_page([_OPUS_SILENCE] * count, granule, sequence, flags))
        sequence += 1
    return b"".join(pages)


def _ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    segments = bytearray()
    for packet in packets:
        size = len(packet)
        segments.extend([255] * (size // 255))
        segments.append(size % 255)
    header = (
        b"OggS"
        + struct.pack("<BBqIII", 0, flags, granule, _OGG_SERIAL, sequence, 0)
        + bytes([len(segments)])
        + bytes(segments)
    )
    page = header + b"".join(packets)
    checksum = ogg_crc(page)
    return page[:22] + struct.pack("<I", checksum) + page[26:]


@functools.cache
def _ogg_crc_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return tuple(table)


def ogg_crc(page: bytes) -> int:
    """The checksum of an Ogg page (computed with its checksum field set to zero)."""
    table = _ogg_crc_table()
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) & 0xFF) ^ byte]
    return crc


# --- places and people by country ------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A spot a customer shares: a street corner in a city of their country."""

    city: str
    address: str
    latitude: float
    longitude: float


# Calling code prefix -> places there; the longest matching prefix wins.
PLACES_BY_PREFIX: dict[str, tuple[Place, ...]] = {
    "1": (
        Place("San Francisco", "1 Ferry Building, San Francisco, CA 94111", 37.7955, -122.3937),
        Place("Chicago", "233 S Wacker Dr, Chicago, IL 60606", 41.8789, -87.6359),
    ),
    "44": (
        Place("London", "221B Baker St, London NW1 6XE", 51.5238, -0.1586),
        Place("Manchester", "Piccadilly Gardens, Manchester M1 1RG", 53.4808, -2.2367),
    ),
    "49": (
        Place("Berlin", "Alexanderplatz 1, 10178 Berlin", 52.5219, 13.4132),
        Place("Hamburg", "Jungfernstieg 7, 20354 Hamburg", 53.5530, 9.9929),
    ),
    "43": (Place("Wien", "Stephansplatz 1, 1010 Wien", 48.2085, 16.3731),),
    "7": (
        Place("Moscow", "Tverskaya St 4, Moscow 125009", 55.7579, 37.6136),
        Place("Saint Petersburg", "Nevsky Prospekt 28, St Petersburg", 59.9358, 30.3259),
    ),
    "55": (
        Place("São Paulo", "Av. Paulista 1578, São Paulo - SP", -23.5614, -46.6559),
        Place("Rio de Janeiro", "Av. Atlântica 1702, Rio de Janeiro - RJ", -22.9694, -43.1822),
    ),
    "351": (Place("Lisboa", "Praça do Comércio, 1100-148 Lisboa", 38.7075, -9.1364),),
}
_FALLBACK_PLACES = (Place("Amsterdam", "Dam 1, 1012 JS Amsterdam", 52.3731, 4.8926),)


def places_for(wa_id: str) -> tuple[Place, ...]:
    """Plausible places for the customer ``wa_id``, by their country calling code."""
    for length in (3, 2, 1):
        places = PLACES_BY_PREFIX.get(wa_id[:length])
        if places:
            return places
    return _FALLBACK_PLACES


# Language -> (first name, last name, relation) of people a customer shares as a contact.
CONTACT_PEOPLE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "en": (("Tom", "Baker", "neighbour"), ("Emma", "Clarke", "wife"), ("Jack", "Reed", "son")),
    "de": (("Jonas", "Weber", "Nachbar"), ("Mia", "Schmidt", "Frau")),
    "pt": (("Pedro", "Almeida", "vizinho"), ("Julia", "Costa", "irmã")),
}


def contact_card(wa_id: str, language: str, index: int) -> dict[str, object]:
    """A contact card in the platform's shape: someone close to the customer, with a number
    in the customer's country (``index`` picks the person)."""
    people = CONTACT_PEOPLE.get(language) or CONTACT_PEOPLE["en"]
    first, last, relation = people[index % len(people)]
    digits = wa_id[:-4] + f"{(int(wa_id[-4:] or 0) + 1111 * (index + 1)) % 10000:04d}"
    return {
        "name": {
            "first_name": first,
            "last_name": last,
            "formatted_name": f"{first} {last} ({relation})",
        },
        "phones": [{"phone": f"+{digits}", "wa_id": digits, "type": "MOBILE"}],
    }
