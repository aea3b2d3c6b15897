"""What simulated customers say: support openers for chatter, short answers for auto-replies.

Lines are grouped by language; a customer writes in the language of their country calling
code when there are lines for it, otherwise in English. ``{order}`` is replaced by an order
number, so repeated lines still read like different requests.
"""

from __future__ import annotations

import random

DEFAULT_CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("16505551234", "Sheena Nelson"),
    ("447700900123", "Oliver Smith"),
    ("4915112345678", "Lena Müller"),
    ("79161234567", "Ivan Petrov"),
    ("5511987654321", "Ana Souza"),
)

# Country calling code prefix -> language of the lines a customer from there writes.
LANGUAGE_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("49", "de"),
    ("43", "de"),
    ("55", "pt"),
    ("351", "pt"),
)

OPENERS: dict[str, tuple[str, ...]] = {
    "en": (
        "Hi! Where is my order #{order}? It said it would arrive yesterday.",
        "Hello, my package arrived today but the box was crushed and the mug inside is broken.",
        "Can I still change the delivery address for order #{order}? I'm moving this week.",
        "Hi, I returned a jacket two weeks ago and haven't seen the refund yet. Order #{order}.",
        "What are your store hours on Sunday?",
        "Do you ship to Ireland? And how long does it usually take?",
        "I was charged twice for order #{order}, can you check please?",
        "Is the blue hoodie in size M coming back in stock?",
        "Hi there, the tracking link for #{order} doesn't work for me.",
        "Can I cancel order #{order}? I ordered the wrong size.",
        "My discount code WELCOME10 says it's invalid, any idea why?",
        "Hello! Could you send me an invoice with my company name for order #{order}?",
    ),
    "de": (
        "Hallo, wo bleibt meine Bestellung #{order}? Sie sollte gestern ankommen.",
        "Guten Tag, das Paket kam heute an, aber die Vase ist zerbrochen.",
        "Kann ich die Lieferadresse für Bestellung #{order} noch ändern?",
        "Ich habe vor zwei Wochen etwas zurückgeschickt. Wann bekomme ich mein Geld zurück?",
        "Wie lange haben Sie am Samstag geöffnet?",
        "Hallo! Kann ich bei Bestellung #{order} noch die Größe ändern?",
    ),
    "pt": (
        "Oi! Meu pedido #{order} ainda não chegou, podem verificar?",
        "Olá, o produto chegou com a embalagem danificada e a tampa quebrada.",
        "Consigo mudar o endereço de entrega do pedido #{order}?",
        "Fiz a devolução há 10 dias e ainda não recebi o reembolso.",
        "Qual o horário de funcionamento da loja no sábado?",
        "Vocês entregam em Campinas? Quanto tempo demora?",
    ),
}

REPLIES: dict[str, tuple[str, ...]] = {
    "en": (
        "Thanks, that helps!",
        "Great, thank you 🙏",
        "Ok, I'll wait for the update.",
        "Perfect 👍",
        "Thanks for the quick answer!",
        "Got it, have a nice day!",
        "Sounds good, thanks.",
        "Alright, I'll check and get back to you.",
    ),
    "de": (
        "Danke, das hilft mir weiter!",
        "Super, vielen Dank 🙏",
        "Alles klar, ich warte dann.",
        "Perfekt 👍",
    ),
    "pt": (
        "Obrigada, ajudou muito!",
        "Ótimo, valeu 🙏",
        "Certo, vou aguardar.",
        "Perfeito 👍",
    ),
}


def language_of(wa_id: str) -> str:
    """The language a customer writes in, guessed from their country calling code."""
    for prefix, language in LANGUAGE_BY_PREFIX:
        if wa_id.startswith(prefix):
            return language
    return "en"


class Script:
    """Hands out lines so each customer goes through them in their own order.

    A customer repeats a line only after saying all the others; two customers rarely start
    with the same one. Not thread-safe: the simulator calls it under its own lock.
    """

    def __init__(self, lines: dict[str, tuple[str, ...]], rng: random.Random) -> None:
        self._lines = lines
        self._rng = rng
        self._queues: dict[str, list[str]] = {}

    def next_line(self, wa_id: str) -> str:
        """The next line for ``wa_id``, with any ``{order}`` filled in."""
        queue = self._queues.get(wa_id)
        if not queue:
            lines = self._lines.get(language_of(wa_id)) or self._lines["en"]
            queue = list(lines)
            self._rng.shuffle(queue)
            self._queues[wa_id] = queue
        return queue.pop().format(order=self._rng.randint(10000, 99999))


# --- words that go with what customers send besides text -------------------------------------

PHOTO_CAPTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "The box arrived like this",
        "This is how order #{order} arrived, the corner is completely crushed.",
        "Look at the box 😞",
    ),
    "de": (
        "So ist das Paket bei mir angekommen",
        "Bestellung #{order} kam so an, die Ecke ist völlig eingedrückt.",
    ),
    "pt": (
        "A caixa chegou assim",
        "O pedido #{order} chegou desse jeito, a caixa está amassada.",
    ),
}

DOCUMENT_CAPTIONS: dict[str, tuple[str, ...]] = {
    "en": ("Here is the invoice for order #{order}", "Invoice attached, order #{order}"),
    "de": ("Hier ist die Rechnung zu Bestellung #{order}",),
    "pt": ("Segue a nota fiscal do pedido #{order}",),
}

# The name on the pin when a customer shares where they are.
LOCATION_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("This is where I am",),
    "de": ("Hier bin ich",),
    "pt": ("Estou aqui",),
}

REACTIONS: tuple[str, ...] = ("👍", "❤️")


def pick(lines: dict[str, tuple[str, ...]], wa_id: str, rng: random.Random, order: str) -> str:
    """One of ``lines`` in the language of ``wa_id``, with ``{order}`` filled in."""
    choices = lines.get(language_of(wa_id)) or lines["en"]
    return rng.choice(choices).format(order=order)
