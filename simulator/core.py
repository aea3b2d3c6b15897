"""The simulated WhatsApp Cloud API: a business phone number, its customers and their phones.

A ``Simulator`` plays the platform's side of both directions of the wire. It answers the
Graph API calls a business app makes (sends, mark-as-read, media) and it posts signed
webhooks to the app: messages its customers write, and the delivery statuses of what the
business sent. It keeps what it saw so tests can assert on it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
import logging
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import requests

from simulator import samples, scripts, template_content, template_sends, templates, wire
from simulator.server import SimulatorHTTPServer

logger = logging.getLogger("simulator")

WINDOW_SECONDS = 24 * 60 * 60
"""How long after a customer's last message the business may send free-form messages."""

# What a customer sends, besides text, when the chatter picks something else.
CHATTER_KINDS = ("image", "location", "document", "contacts", "reaction")
# What ``customer_sends_sample`` can make up on its own.
SAMPLE_KINDS = ("text", "image", "document", "location", "contacts", "voice", "reaction")

# Upload limits by the top-level part of the mime type; anything else is a document.
MEDIA_SIZE_LIMITS = {"image": 5 * 2**20, "audio": 16 * 2**20, "video": 16 * 2**20}
DOCUMENT_SIZE_LIMIT = 100 * 2**20


@dataclass(frozen=True)
class Media:
    """A stored media object: uploaded by the business or sent by a customer."""

    data: bytes
    mime_type: str
    filename: str
    token: str

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def sha256_base64(self) -> str:
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


@dataclass(frozen=True)
class ApiAnswer:
    """What a Graph API endpoint answers; ``after`` runs once the answer has been written."""

    status: int
    payload: Any
    after: Callable[[], None] | None = None


@dataclass(frozen=True)
class _Outbound:
    """A message the business sent, with what its status webhooks must carry."""

    wamid: str
    wa_id: str
    message_type: str
    callback_data: str | None
    conversation: dict[str, Any]
    pricing: dict[str, Any]
    error: dict[str, Any] | None


@dataclass(frozen=True)
class _Failure:
    code: int
    http_status: int
    title: str
    details: str


class Simulator:
    """A local stand-in for the WhatsApp Cloud API serving one business phone number.

    ``app_webhook_url`` receives the webhooks, signed with ``app_secret``; Graph API calls
    must carry ``access_token`` as a bearer token. ``status_delay`` is the pause before each
    status webhook (sent, delivered, read) of a message the business sent. ``customers`` are
    ``(wa_id, profile name)`` pairs known from the start (they have not written yet, so their
    service windows are closed); other numbers become customers on first contact.

    ``auto_reply`` makes a customer answer each text the business sends them, a random
    ``auto_reply_delay`` (seconds, as ``(low, high)``) after it was read. A template the
    business submits is reviewed ``template_review_delay`` seconds later (None: it stays
    PENDING until ``set_template_status``). A webhook the app does not answer with 200 is
    posted again up to ``webhook_retries`` times, after ``webhook_backoff``, then twice that,
    and so on. ``seed`` makes the customers' choice of
    words repeatable; ``clock`` (epoch seconds) replaces the wall clock.

    Thread-safe. ``start()`` serves HTTP in a background thread; ``stop()`` ends the server
    and every pending timer. Usable as a context manager.
    """

    def __init__(
        self,
        app_webhook_url: str,
        app_secret: str,
        access_token: str,
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "15550783881",
        waba_id: str = "102290129340398",
        host: str = "127.0.0.1",
        port: int = 0,
        status_delay: float = 0.3,
        customers: list[tuple[str, str]] | None = None,
        *,
        auto_reply: bool = False,
        auto_reply_delay: tuple[float, float] = (2.0, 5.0),
        template_review_delay: float | None = 1.0,
        webhook_retries: int = 3,
        webhook_backoff: float = 0.5,
        webhook_timeout: float = 10.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_webhook_url = app_webhook_url
        self.app_secret = app_secret
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.host = host
        self.port = port
        self.status_delay = status_delay
        self.auto_reply = auto_reply
        self.auto_reply_delay = auto_reply_delay
        self.template_review_delay = template_review_delay
        self.webhook_retries = webhook_retries
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout
        self.clock = clock

        self.customers: dict[str, str] = dict(
            scripts.DEFAULT_CUSTOMERS if customers is None else customers
        )
        """Known customers: wa_id -> WhatsApp profile name."""
        self.customer_last_message_at: dict[str, float] = {}
        """wa_id -> epoch seconds of the customer's last message; set it to move a window."""
        self.read_receipts: list[dict[str, Any]] = []
        """Mark-as-read requests: ``{"message_id", "typing_indicator", "received_at"}``
        (a typing indicator marks the message read too; see ``typing_indicators``)."""
        self.refused: list[dict[str, Any]] = []
        """Sends refused by a failure from ``fail_next``: ``{"to", "type", "payload",
        "code", "received_at"}``, oldest first."""
        self.webhook_log: list[tuple[str, str, int | None]] = []
        """One ``(kind, wamid, app's HTTP status or None if unreachable)`` per delivery
        attempt; kind is "message" or a status ("sent", "delivered", "read", "failed"), or
        "template" for a template's status update (with the template id for the wamid)."""
        self.business_profile: dict[str, Any] = {
            "about": "",
            "address": "",
            "description": "",
            "email": "",
            "websites": [],
            "vertical": "",
            "profile_picture_url": "",
        }
        """The number's business profile as the platform keeps it (an empty ``vertical``
        reads as UNDEFINED)."""
        self.profile_updates: list[dict[str, Any]] = []
        """Every accepted profile update request body, oldest first."""

        self._lock = threading.RLock()
        self._sent_changed = threading.Condition(self._lock)
        self._sent: list[dict[str, Any]] = []
        self._media: dict[str, Media] = {}
        # Ids of the messages customers sent to the number: the ones it may mark read.
        self._received: set[str] = set()
        self._templates = templates.TemplateBook()
        # How review ends for the next templates submitted: (status, reason); then the rules.
        self._review_outcomes: deque[tuple[str, str | None]] = deque()
        self._review_rules = templates.ReviewRules()
        # Queued download failures: an HTTP status, or None for damaged bytes.
        self._media_failures: deque[int | None] = deque()
        self._uploads: dict[str, tuple[str, int, str]] = {}
        self._handles: dict[str, Media] = {}
        self._profile_pictures: dict[str, Media] = {}
        self._failures: deque[_Failure] = deque()
        self._conversations: dict[tuple[str, str], tuple[str, int]] = {}
        self._timers: set[threading.Timer] = set()
        self._running_timers = 0
        self._answers_pending = (
            0  # answers whose follow-up (statuses, a review) is not yet scheduled
        )
        self._timers_idle = threading.Condition(self._lock)
        self._settling = False
        self._stopping = threading.Event()
        # Set while stopping or settling: a webhook waiting to be posted again gives up.
        self._hush = threading.Event()
        self._rng = random.Random(seed)
        self._openers = scripts.Script(scripts.OPENERS, self._rng)
        self._replies = scripts.Script(scripts.REPLIES, self._rng)
        self._chatter: tuple[float, float] | None = None
        self._chatter_generation = 0
        self._chatter_non_text_share = 0.25
        self._chatter_kinds: list[str] = []
        # wa_id -> the business's latest message that reached the customer.
        self._latest_delivered: dict[str, str] = {}
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Serve HTTP on ``host:port`` (port 0 picks a free one) in a daemon thread."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("the simulator is already running")
            self._stopping.clear()
            self._hush.clear()
            self._server = SimulatorHTTPServer((self.host, self.port), self)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"whatsapp-simulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop chatter, pending status and reply timers, webhook retries and the server.

        A webhook being posted at that moment is allowed to finish its current attempt.
        Calling it twice is harmless.
        """
        self._stopping.set()
        self._hush.set()
        with self._lock:
            self._chatter = None
            self._chatter_generation += 1
            timers, self._timers = self._timers, set()
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
        for timer in timers:
            timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def idle(self, timeout: float = 15.0) -> bool:
        """Wait, cancelling nothing, until the simulator has nothing left to post:
        every status webhook, reply, review and retry it scheduled has been posted.
        Then whatever a test expected not to arrive provably did not. (Chatter keeps
        scheduling: stop it first.) Returns whether it became idle in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._timers or self._running_timers or self._answers_pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._timers_idle.wait(min(left, 0.05))
            return True

    def settle(self, timeout: float = 15.0) -> bool:
        """Drop pending status webhooks, replies and chatter, and wait for those under
        way to finish; the server keeps answering. Afterwards the simulator posts nothing
        until told to again. Returns whether everything under way finished in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._settling = True
            self._hush.set()
            self._chatter = None
            self._chatter_generation += 1
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        with self._lock:
            try:
                while self._running_timers:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._timers_idle.wait(left)
                return True
            finally:
                self._settling = False
                if not self._stopping.is_set():
                    self._hush.clear()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (a wildcard host reads as 127.0.0.1)."""
        if self._server is None and not self.port:
            raise RuntimeError("the simulator has no port until it is started")
        host = self.host
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and address.is_unspecified:
            host = "127.0.0.1"
        elif address is not None and address.version == 6:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def graph_url(self) -> str:
        """The Graph API base an app uses (its ``WHATSAPP_GRAPH_URL``), version included."""
        return self.base_url + "/v23.0"

    # --- customers writing to the business ---------------------------------------------------

    def customer_says(
        self,
        wa_id: str,
        text: str,
        name: str | None = None,
        timestamp: int | None = None,
        context_wamid: str | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a text the customer ``wa_id`` writes, and wait for the app.

        ``name`` sets the customer's profile name; ``timestamp`` (epoch seconds) defaults to
        now; ``context_wamid`` makes the message a reply to that business message. Opens the
        customer's service window. Returns ``{"wamid", "status_code", "body"}``: the new
        message id, the app's final HTTP status (None if unreachable) and the payload posted.
        """
        return self.customer_sends(
            wa_id,
            "text",
            {"body": text},
            name=name,
            timestamp=timestamp,
            context_wamid=context_wamid,
        )

    def customer_sends(
        self,
        wa_id: str,
        message_type: str,
        content: dict[str, Any] | list[Any],
        *,
        name: str | None = None,
        timestamp: int | None = None,
        context_wamid: str | None = None,
        wamid: str | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of any message type; ``content`` is the object under its type key
        (for ``contacts``, the list of cards). ``wamid`` gives the message a chosen id (a
        documented example's, say) instead of a fresh one.

        ``customer_says`` and the media helpers are built on this; see ``customer_says`` for
        the other arguments and the result.
        """
        wa_id = wire.wa_id_from(wa_id)
        if not wa_id:
            raise ValueError("a customer's wa_id must contain digits")
        wamid = wamid or wire.inbound_wamid(wa_id)
        with self._lock:
            profile_name = self._remember_customer(wa_id, name)
            sent_at = int(self.clock()) if timestamp is None else int(timestamp)
            previous = self.customer_last_message_at.get(wa_id, float("-inf"))
            self.customer_last_message_at[wa_id] = max(previous, float(sent_at))
            self._received.add(wamid)
        context = (
            {"from": self.display_phone_number, "id": context_wamid} if context_wamid else None
        )
        message = wire.inbound_message(
            wa_id=wa_id,
            wamid=wamid,
            timestamp=sent_at,
            message_type=message_type,
            content=content,
            context=context,
        )
        payload = self._webhook(
            {
                "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
                "messages": [message],
            }
        )
        status_code = self._deliver("message", wamid, payload)
        return {"wamid": wamid, "status_code": status_code, "body": payload}

    def customer_sends_media(
        self,
        wa_id: str,
        kind: str,
        data: bytes,
        mime_type: str,
        *,
        caption: str = "",
        filename: str = "",
        voice: bool = False,
        name: str | None = None,
        timestamp: int | None = None,
        context_wamid: str | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a media message (``kind`` is image, video, audio, document or
        sticker). The bytes are stored so the app can fetch them through the media endpoints.

        ``caption`` applies to image, video and document; ``filename`` to documents; ``voice``
        marks audio as a voice note. Returns what ``customer_says`` returns.
        """
        if kind not in wire.MEDIA_TYPES:
            raise ValueError(f"{kind!r} is not one of {', '.join(wire.MEDIA_TYPES)}")
        media_id, media = self._store_media(data, mime_type, filename)
        content: dict[str, Any] = {}
        if caption and kind in ("image", "video", "document"):
            content["caption"] = caption
        if kind == "document":
            content["filename"] = filename or "document"
        content.update({"mime_type": mime_type, "sha256": media.sha256_base64, "id": media_id})
        if self._server is not None:
            content["url"] = self._media_url(media_id, media)
        if kind == "audio":
            content["voice"] = voice
        if kind == "sticker":
            content["animated"] = False
        return self.customer_sends(
            wa_id, kind, content, name=name, timestamp=timestamp, context_wamid=context_wamid
        )

    def customer_sends_image(
        self,
        wa_id: str,
        data: bytes,
        mime_type: str = "image/jpeg",
        caption: str = "",
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a photo the customer sends; see ``customer_sends_media``."""
        return self.customer_sends_media(
            wa_id, "image", data, mime_type, caption=caption, name=name, timestamp=timestamp
        )

    def customer_sends_document(
        self,
        wa_id: str,
        data: bytes,
        filename: str,
        mime_type: str = "application/pdf",
        caption: str = "",
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a file the customer sends; see ``customer_sends_media``."""
        return self.customer_sends_media(
            wa_id,
            "document",
            data,
            mime_type,
            caption=caption,
            filename=filename,
            name=name,
            timestamp=timestamp,
        )

    def customer_reacts(
        self, wa_id: str, message_wamid: str, emoji: str, *, timestamp: int | None = None
    ) -> dict[str, Any]:
        """Post the webhook of a reaction to ``message_wamid`` (an empty emoji removes it)."""
        return self.customer_sends(
            wa_id, "reaction", {"message_id": message_wamid, "emoji": emoji}, timestamp=timestamp
        )

    def customer_sends_video(
        self,
        wa_id: str,
        data: bytes,
        mime_type: str = "video/mp4",
        caption: str = "",
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a video the customer sends; see ``customer_sends_media``."""
        return self.customer_sends_media(
            wa_id, "video", data, mime_type, caption=caption, name=name, timestamp=timestamp
        )

    def customer_sends_audio(
        self,
        wa_id: str,
        data: bytes,
        mime_type: str = "audio/mpeg",
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of an audio file the customer sends (not a voice note)."""
        return self.customer_sends_media(
            wa_id, "audio", data, mime_type, name=name, timestamp=timestamp
        )

    def customer_sends_voice(
        self,
        wa_id: str,
        data: bytes,
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a voice note: Opus audio in Ogg, marked ``"voice": true``."""
        return self.customer_sends_media(
            wa_id,
            "audio",
            data,
            "audio/ogg; codecs=opus",
            voice=True,
            name=name,
            timestamp=timestamp,
        )

    def customer_sends_sticker(
        self,
        wa_id: str,
        data: bytes,
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a (still) WebP sticker the customer sends."""
        return self.customer_sends_media(
            wa_id, "sticker", data, "image/webp", name=name, timestamp=timestamp
        )

    def customer_sends_location(
        self,
        wa_id: str,
        latitude: float,
        longitude: float,
        *,
        place: str = "",
        address: str = "",
        url: str = "",
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a location pin; ``place`` is the pin's name (a shop, say),
        ``name`` the customer's profile name as elsewhere."""
        content: dict[str, Any] = {}
        if address:
            content["address"] = address
        content.update({"latitude": latitude, "longitude": longitude})
        if place:
            content["name"] = place
        if url:
            content["url"] = url
        return self.customer_sends(wa_id, "location", content, name=name, timestamp=timestamp)

    def customer_shares_contacts(
        self,
        wa_id: str,
        cards: list[dict[str, Any]],
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of contact cards the customer shares, each in the platform's
        shape (``{"name": {"formatted_name", "first_name", ...}, "phones": [...], ...}``)."""
        return self.customer_sends(wa_id, "contacts", list(cards), name=name, timestamp=timestamp)

    def customer_taps_reply_button(
        self,
        wa_id: str,
        context_wamid: str,
        button_id: str,
        title: str,
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a tap on a reply button of the business's interactive
        message ``context_wamid``."""
        return self.customer_sends(
            wa_id,
            "interactive",
            {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
            name=name,
            timestamp=timestamp,
            context_wamid=context_wamid,
        )

    def customer_picks_from_list(
        self,
        wa_id: str,
        context_wamid: str,
        row_id: str,
        title: str,
        description: str = "",
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a row the customer picks in the business's list message."""
        row = {"id": row_id, "title": title}
        if description:
            row["description"] = description
        return self.customer_sends(
            wa_id,
            "interactive",
            {"type": "list_reply", "list_reply": row},
            name=name,
            timestamp=timestamp,
            context_wamid=context_wamid,
        )

    def customer_taps_quick_reply(
        self,
        wa_id: str,
        context_wamid: str,
        text: str,
        payload: str | None = None,
        *,
        name: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a tap on a template's quick-reply button."""
        return self.customer_sends(
            wa_id,
            "button",
            {"payload": text if payload is None else payload, "text": text},
            name=name,
            timestamp=timestamp,
            context_wamid=context_wamid,
        )

    def fail_media_downloads(
        self, count: int = 1, *, http_status: int = 500, corrupt: bool = False
    ) -> None:
        """Make the next ``count`` downloads of a media file go wrong: answered with
        ``http_status``, or, with ``corrupt``, served with damaged bytes (so the checksum
        does not match). The downloads after those succeed again."""
        with self._lock:
            for _ in range(count):
                self._media_failures.append(None if corrupt else http_status)

    # --- what the business did ---------------------------------------------------------------

    def sent_messages(self) -> list[dict[str, Any]]:
        """Every message the business sent and the API accepted, oldest first.

        Each is ``{"wamid", "to" (the wa_id), "type", "payload" (the request body),
        "received_at" (epoch seconds)}``. Refused requests are not listed.
        """
        with self._lock:
            return [dict(record) for record in self._sent]

    def wait_for_sent(
        self,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> dict[str, Any]:
        """The oldest sent message from index ``since`` on that matches ``predicate``.

        Messages already sent count; otherwise waits for one. Pass
        ``since=len(sim.sent_messages())`` to wait for a new one. Raises ``TimeoutError``.
        """
        deadline = time.monotonic() + timeout
        with self._sent_changed:
            while True:
                for record in self._sent[since:]:
                    if predicate is None or predicate(record):
                        return dict(record)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching message was sent within {timeout} s")
                self._sent_changed.wait(remaining)

    @property
    def typing_indicators(self) -> list[dict[str, Any]]:
        """The mark-as-read requests that showed the customer the typing indicator."""
        with self._lock:
            return [dict(receipt) for receipt in self.read_receipts if receipt["typing_indicator"]]

    def fail_next(
        self,
        code: int,
        http_status: int = 400,
        title: str | None = None,
        details: str | None = None,
    ) -> None:
        """Make the next valid send request (or business profile update) fail with this
        Graph error.

        ``title`` and ``details`` default to the platform's wording for known codes. Each call
        queues one failure; the sends after the queue is used up succeed again. A failed send
        is not recorded and posts no status webhook.
        """
        known_title, known_details = wire.KNOWN_ERRORS.get(code, ("Error", "Request failed."))
        with self._lock:
            self._failures.append(
                _Failure(code, http_status, title or known_title, details or known_details)
            )

    # --- chatter -----------------------------------------------------------------------------

    def start_chatter(
        self,
        interval: tuple[float, float] = (20.0, 45.0),
        *,
        first_after: float | None = None,
        non_text_share: float = 0.25,
    ) -> None:
        """Let a random known customer write a support request every ``interval`` seconds.

        The pause is drawn anew each time between ``interval[0]`` and ``interval[1]``; the
        first message comes after ``first_after`` seconds when given. About
        ``non_text_share`` of the messages are something else than text (see
        ``chatter_once``). Calling it again replaces the previous rhythm. Ends with
        ``stop_chatter()`` or ``stop()``.
        """
        low, high = interval
        if not 0 <= low <= high:
            raise ValueError("interval must be (low, high) with 0 <= low <= high")
        if not 0 <= non_text_share <= 1:
            raise ValueError("non_text_share must be between 0 and 1")
        with self._lock:
            self._chatter_non_text_share = non_text_share
            self._chatter = (low, high)
            self._chatter_generation += 1
            generation = self._chatter_generation
            delay = self._rng.uniform(low, high) if first_after is None else first_after
        self._later(delay, self._chatter_tick, generation)

    def stop_chatter(self) -> None:
        """End chatter; a message being posted at that moment still arrives."""
        with self._lock:
            self._chatter = None
            self._chatter_generation += 1

    def chatter_once(self) -> dict[str, Any] | None:
        """One line of chatter, now: a random known customer writes a support request or,
        about one time in four (``start_chatter``'s ``non_text_share``), sends something
        else: a photo of a damaged parcel, where they are, an invoice, a contact card, or a
        reaction to the business's latest message to them.

        The other kinds come in turn, in an order shuffled anew each round; a reaction is
        skipped for a customer the business has not written to. Repeatable under ``seed``.
        Returns what ``customer_says`` returns, or None when no customer is known.
        """
        with self._lock:
            if not self.customers:
                return None
            wa_id = self._rng.choice(sorted(self.customers))
            kind = "text"
            if self._rng.random() < self._chatter_non_text_share:
                kind = self._next_chatter_kind(wa_id)
        return self.customer_sends_sample(wa_id, kind)

    def _next_chatter_kind(self, wa_id: str) -> str:
        """The next kind of non-text message for ``wa_id``; needs the lock."""
        for _ in range(2 * len(CHATTER_KINDS)):
            if not self._chatter_kinds:
                self._chatter_kinds = list(CHATTER_KINDS)
                self._rng.shuffle(self._chatter_kinds)
            kind = self._chatter_kinds.pop()
            if kind != "reaction" or wa_id in self._latest_delivered:
                return kind
        return "text"

    # --- customers sending sample content (demo and control endpoint) ------------------------

    def latest_business_message(self, wa_id: str) -> str | None:
        """The wamid of the business's latest message that reached ``wa_id``, or None.

        Sends that failed (the service window was closed) and reactions do not count.
        """
        with self._lock:
            return self._latest_delivered.get(wire.wa_id_from(wa_id))

    def customer_sends_sample(
        self,
        wa_id: str,
        kind: str,
        *,
        text: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        place: str | None = None,
        address: str | None = None,
        emoji: str | None = None,
        message_wamid: str | None = None,
        name: str | None = None,
        context_wamid: str | None = None,
    ) -> dict[str, Any]:
        """Post the webhook of a message of ``kind`` (one of ``SAMPLE_KINDS``), making up
        whatever is not given, in the customer's language:

        * ``text``: the next support request (``text``);
        * ``image``: a PNG photo of a crushed parcel (``caption``);
        * ``document``: a one-page PDF invoice ``invoice-<order>.pdf`` (``filename``,
          ``caption``);
        * ``location``: a spot in a city of the customer's country (``latitude``,
          ``longitude``, ``place``, ``address``);
        * ``contacts``: the card of someone close to the customer;
        * ``voice``: a two-second voice note, Ogg Opus;
        * ``reaction``: 👍 or ❤️ (``emoji``; an empty one removes a reaction) to
          ``message_wamid``, by default the business's latest message to them.

        Raises ``ValueError`` for an unknown kind and ``LookupError`` for a reaction when
        the business has sent the customer nothing to react to. Returns what
        ``customer_says`` returns.
        """
        if kind not in SAMPLE_KINDS:
            raise ValueError(f"{kind!r} is not one of {', '.join(SAMPLE_KINDS)}")
        wa_id = wire.wa_id_from(wa_id)
        if not wa_id:
            raise ValueError("a customer's wa_id must contain digits")
        sending = {"name": name, "context_wamid": context_wamid}
        with self._lock:
            order = str(self._rng.randint(10000, 99999))
            if kind == "text":
                text = self._openers.next_line(wa_id) if text is None else text
            elif kind == "image" and caption is None:
                caption = scripts.pick(scripts.PHOTO_CAPTIONS, wa_id, self._rng, order)
            elif kind == "document":
                if caption is None:
                    caption = scripts.pick(scripts.DOCUMENT_CAPTIONS, wa_id, self._rng, order)
                filename = filename or samples.invoice_filename(order)
            elif kind == "location":
                spot = self._rng.choice(samples.places_for(wa_id))
                if latitude is None or longitude is None:
                    # A few hundred metres around the spot, so pins do not all overlap.
                    latitude = round(spot.latitude + self._rng.uniform(-0.004, 0.004), 6)
                    longitude = round(spot.longitude + self._rng.uniform(-0.004, 0.004), 6)
                    address = spot.address if address is None else address
                if place is None:
                    place = scripts.pick(scripts.LOCATION_NAMES, wa_id, self._rng, order)
            elif kind == "contacts":
                language = scripts.language_of(wa_id)
                card = samples.contact_card(wa_id, language, self._rng.randrange(100))
            elif kind == "reaction":
                if message_wamid is None:
                    message_wamid = self._latest_delivered.get(wa_id)
                if emoji is None:
                    emoji = self._rng.choice(scripts.REACTIONS)
            customer = name or self.customers.get(wa_id) or f"Customer {wa_id[-4:]}"
        if kind == "text":
            return self.customer_says(wa_id, text or "", name=name, context_wamid=context_wamid)
        if kind == "image":
            return self.customer_sends_media(
                wa_id,
                "image",
                samples.damaged_parcel_png(),
                "image/png",
                caption=caption or "",
                **sending,
            )
        if kind == "document":
            return self.customer_sends_media(
                wa_id,
                "document",
                samples.invoice_pdf(order, customer),
                "application/pdf",
                caption=caption or "",
                filename=filename or "",
                **sending,
            )
        if kind == "voice":
            return self.customer_sends_media(
                wa_id,
                "audio",
                samples.voice_note_ogg(),
                "audio/ogg; codecs=opus",
                voice=True,
                **sending,
            )
        if kind == "location":
            assert latitude is not None and longitude is not None
            return self.customer_sends(
                wa_id,
                "location",
                _location(latitude, longitude, place or "", address or ""),
                **sending,
            )
        if kind == "contacts":
            return self.customer_sends(wa_id, "contacts", [card], **sending)
        if message_wamid is None:
            raise LookupError("the business has sent this customer nothing to react to yet")
        return self.customer_sends(
            wa_id, "reaction", {"message_id": message_wamid, "emoji": emoji or ""}, name=name
        )

    # --- the Graph API (called by the HTTP layer) --------------------------------------------

    def authorize(self, authorization: str | None, query_token: str | None = None) -> None:
        """Check a request's access token (bearer header or ``access_token`` query value).

        Raises ``wire.GraphFault`` (401, code 190) when it is missing or wrong.
        """
        token = query_token or ""
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            # The Resumable Upload API documents the ``OAuth`` scheme; both are accepted.
            token = value.strip() if scheme.lower() in ("bearer", "oauth") else ""
        if not token or not secrets.compare_digest(token, self.access_token):
            raise wire.invalid_token()

    def api_send(self, phone_number_id: str, body: Any) -> ApiAnswer:
        """``POST /{version}/{phone_number_id}/messages``: a send or a mark-as-read.

        A send is answered at once; its status webhooks start from ``ApiAnswer.after``, which
        the caller runs after writing the answer. Raises ``wire.GraphFault`` on refusal.
        """
        if phone_number_id != self.phone_number_id:
            raise wire.unknown_object(phone_number_id, "post")
        if isinstance(body, dict) and body.get("status") == "read":
            return self._mark_read(body)
        message_type = wire.validate_send(body)
        to = body["to"]
        wa_id = wire.wa_id_from(to)
        # Not in Meta's send schema, but documented and echoed by the platform in statuses.
        callback_data = body.get("biz_opaque_callback_data")
        with self._lock:
            template = self._check_references(message_type, body)
            if self._failures:
                failure = self._failures.popleft()
                self.refused.append(
                    {
                        "to": wa_id,
                        "type": message_type,
                        "payload": body,
                        "code": failure.code,
                        "received_at": self.clock(),
                    }
                )
                raise wire.GraphFault(
                    failure.http_status,
                    wire.injected_error(failure.code, failure.title, failure.details),
                )
            self._remember_customer(wa_id, None)
            now = self.clock()
            last = self.customer_last_message_at.get(wa_id)
            window_open = last is not None and now - last <= WINDOW_SECONDS
            error = None
            if message_type != "template" and not window_open:
                error = wire.error_object(131047, *wire.KNOWN_ERRORS[131047])
            category = template.category.lower() if template is not None else "service"
            conversation, pricing = self._pricing(wa_id, category, window_open, now)
            wamid = wire.outbound_wamid(wa_id)
            self._sent.append(
                {
                    "wamid": wamid,
                    "to": wa_id,
                    "type": message_type,
                    "payload": body,
                    "received_at": now,
                }
            )
            self._sent_changed.notify_all()
            if error is None and message_type != "reaction":
                self._latest_delivered[wa_id] = wamid
        outbound = _Outbound(
            wamid=wamid,
            wa_id=wa_id,
            message_type=message_type,
            callback_data=str(callback_data) if callback_data not in (None, "") else None,
            conversation=conversation,
            pricing=pricing,
            error=error,
        )
        message: dict[str, Any] = {"id": wamid}
        if message_type == "template":
            message["message_status"] = "accepted"
        payload = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [message],
        }
        return ApiAnswer(
            200, payload, after=self._afterwards(lambda: self._start_statuses(outbound))
        )

    def api_media_upload(self, phone_number_id: str, content_type: str, body: bytes) -> ApiAnswer:
        """``POST /{version}/{phone_number_id}/media``: store an uploaded file, answer its id."""
        if phone_number_id != self.phone_number_id:
            raise wire.unknown_object(phone_number_id, "post")
        usage = "Upload media as multipart/form-data with the fields messaging_product, type, file."
        if not content_type.lower().startswith("multipart/form-data"):
            raise wire.invalid_parameter("Invalid parameter", usage)
        try:
            fields = wire.parse_multipart(content_type, body)
        except ValueError as exc:
            raise wire.invalid_parameter("Invalid parameter", usage) from exc
        product = fields.get("messaging_product")
        if product is None:
            raise wire.required("", "messaging_product")
        if product[0].decode("utf-8", "replace").strip() != "whatsapp":
            raise wire.invalid_parameter(
                "Param messaging_product must be one of {WHATSAPP}.",
                'messaging_product must be "whatsapp".',
            )
        if "file" not in fields:
            raise wire.required("", "file")
        if "type" not in fields:
            raise wire.required("", "type")
        data, part_type, filename = fields["file"]
        mime_type = fields["type"][0].decode("utf-8", "replace").strip() or part_type
        limit = MEDIA_SIZE_LIMITS.get(mime_type.split("/")[0], DOCUMENT_SIZE_LIMIT)
        if len(data) > limit:
            raise wire.GraphFault(
                400,
                wire.injected_error(
                    131053,
                    "Media upload error",
                    f"{mime_type} files may be at most {limit // 2**20} MB; "
                    f"this one has {len(data)} bytes.",
                ),
            )
        media_id, _ = self._store_media(data, mime_type, filename)
        return ApiAnswer(200, {"id": media_id})

    def api_media_info(self, media_id: str) -> ApiAnswer:
        """``GET /{version}/{media_id}``: the download URL and facts of a stored file."""
        with self._lock:
            media = self._media.get(media_id)
        if media is None:
            raise wire.unknown_object(media_id, "get")
        return ApiAnswer(
            200,
            {
                "url": self._media_url(media_id, media),
                "mime_type": media.mime_type,
                "sha256": media.sha256_hex,
                "file_size": len(media.data),
                "id": media_id,
                "messaging_product": "whatsapp",
            },
        )

    def api_media_delete(self, media_id: str) -> ApiAnswer:
        """``DELETE /{version}/{media_id}``: forget a stored file."""
        with self._lock:
            media = self._media.pop(media_id, None)
        if media is None:
            raise wire.unknown_object(media_id, "delete")
        return ApiAnswer(200, {"success": True})

    def api_media_download(self, media_id: str, token: str | None) -> Media:
        """``GET /media-download/{media_id}?token=...``: the file behind a media URL.

        The caller has already checked the bearer token. Raises ``wire.GraphFault`` (404)
        when the file is unknown or the URL's token does not match.
        """
        with self._lock:
            media = self._media.get(media_id)
            valid = media is not None and secrets.compare_digest(token or "", media.token)
            failure = self._media_failures.popleft() if valid and self._media_failures else 0
        if media is None or not valid:
            raise wire.GraphFault(
                404, wire.graph_error(100, "The media URL is not valid or has expired.")
            )
        if failure is None:
            return dataclasses.replace(media, data=media.data[::-1] + b"\x00")
        if failure:
            raise wire.GraphFault(failure, wire.graph_error(2, "Service temporarily unavailable"))
        return media

    # --- the Graph API: business profile and resumable uploads ------------------------------

    def api_business_profile_get(self, phone_number_id: str, fields: str | None) -> ApiAnswer:
        """``GET /{version}/{phone_number_id}/whatsapp_business_profile?fields=...``.

        Answers every field asked for (all of them when none are), those without a value
        too: ``""``, ``[]`` for websites, and UNDEFINED for a vertical never set, as the
        platform reads an empty one. Meta's schema wraps each entry in ``business_profile``;
        its documentation and the platform answer the fields themselves, as here.
        """
        if phone_number_id != self.phone_number_id:
            raise wire.unknown_object(phone_number_id, "get")
        wanted = [f.strip() for f in (fields or "").split(",") if f.strip()]
        for name in wanted:
            if name not in wire.PROFILE_READ_FIELDS and name != "messaging_product":
                raise wire.nonexisting_field(name, "WhatsAppBusinessProfile")
        with self._lock:
            profile = dict(self.business_profile)
        entry: dict[str, Any] = {}
        for name in wanted or wire.PROFILE_READ_FIELDS:
            if name == "messaging_product":
                continue
            value = profile.get(name)
            if isinstance(value, list):
                entry[name] = list(value)
            elif name == "vertical":
                entry[name] = value or "UNDEFINED"
            else:
                entry[name] = value if value is not None else ""
        entry["messaging_product"] = "whatsapp"
        return ApiAnswer(200, {"data": [entry]})

    def api_business_profile_update(self, phone_number_id: str, body: Any) -> ApiAnswer:
        """``POST /{version}/{phone_number_id}/whatsapp_business_profile``: change the given
        fields; ``profile_picture_handle`` sets the photo uploaded under that handle, served
        from then on at a new ``profile_picture_url``. A failure queued with ``fail_next``
        refuses it."""
        if phone_number_id != self.phone_number_id:
            raise wire.unknown_object(phone_number_id, "post")
        changes = wire.validate_business_profile(body)
        with self._lock:
            if self._failures:
                failure = self._failures.popleft()
                raise wire.GraphFault(
                    failure.http_status,
                    wire.injected_error(failure.code, failure.title, failure.details),
                )
            handle = changes.pop("profile_picture_handle", None)
            if handle is not None:
                photo = self._handles.get(handle)
                if photo is None or photo.mime_type not in ("image/jpeg", "image/png"):
                    raise wire.invalid_parameter(
                        "Param profile_picture_handle is not a valid handle.",
                        "The handle must come from a resumable upload of a JPEG or PNG image.",
                    )
                self._profile_pictures[photo.token] = photo
                extension = "png" if photo.mime_type == "image/png" else "jpg"
                changes["profile_picture_url"] = (
                    f"{self.base_url}/pps/{photo.token}.{extension}" if self._server else ""
                )
            self.business_profile.update(
                {k: list(v) if isinstance(v, list) else v for k, v in changes.items()}
            )
            self.profile_updates.append(dict(body))
        return ApiAnswer(200, {"success": True})

    def api_upload_session(self, query: dict[str, list[str]]) -> ApiAnswer:
        """``POST /{version}/{app_id}/uploads?file_length=&file_type=``: open an upload
        session (``app`` stands for the app of the access token, as on the platform)."""
        length_text = (query.get("file_length") or [""])[0]
        file_type = (query.get("file_type") or [""])[0].strip().lower()
        if not length_text:
            raise wire.required("", "file_length")
        if not wire.is_digits(length_text) or int(length_text) <= 0:
            raise wire.invalid_parameter(
                "Param file_length must be a positive integer.",
                "file_length is the file's size in bytes.",
            )
        if not file_type:
            raise wire.required("", "file_type")
        if file_type not in wire.UPLOAD_FILE_TYPES:
            raise wire.invalid_parameter(
                f"Param file_type must be one of {{{', '.join(wire.UPLOAD_FILE_TYPES)}}} "
                f'- got "{file_type}".',
                f"Files of type {file_type} cannot be uploaded.",
            )
        session = wire.upload_session_id()
        key, _, sig = session.partition("?sig=")
        with self._lock:
            self._uploads[key] = (sig, int(length_text), file_type)
        return ApiAnswer(200, {"id": session})

    def api_upload_data(
        self, upload_id: str, sig: str | None, file_offset: str | None, body: bytes
    ) -> ApiAnswer:
        """``POST /{version}/upload:...?sig=...`` with header ``file_offset: 0``: the file's
        bytes, answered with the handle that names the file from then on."""
        with self._lock:
            session = self._uploads.get(upload_id)
        if session is None or not secrets.compare_digest(sig or "", session[0]):
            raise wire.unknown_object(upload_id, "post")
        expected, file_type = session[1], session[2]
        if file_offset is None:
            raise wire.required("", "file_offset")
        if file_offset.strip() != "0":
            raise wire.invalid_parameter(
                "Param file_offset must be 0.", "This session has received no bytes yet."
            )
        if len(body) != expected:
            raise wire.invalid_parameter(
                "The uploaded file does not match file_length.",
                f"The session expects {expected} bytes; {len(body)} arrived.",
            )
        mime_type = "image/jpeg" if file_type == "image/jpg" else file_type
        handle = wire.file_handle(mime_type)
        photo = Media(data=body, mime_type=mime_type, filename="", token=secrets.token_urlsafe(16))
        with self._lock:
            self._uploads.pop(upload_id, None)
            self._handles[handle] = photo
        return ApiAnswer(200, {"h": handle})

    def profile_picture(self, token: str) -> Media | None:
        """The photo served at a ``profile_picture_url``, or None."""
        with self._lock:
            return self._profile_pictures.get(token)

    # --- message templates: what tests see and set ------------------------------------------

    @property
    def templates(self) -> list[dict[str, Any]]:
        """The account's templates with every field the Graph API shows (``rejected_reason``
        too), oldest first."""
        with self._lock:
            return [
                t.view((*templates.FIELDS, *templates.EXTRA_FIELDS)) for t in self._templates.all()
            ]

    def add_template(self, body: dict[str, Any], *, status: str = "APPROVED") -> dict[str, Any]:
        """Give the account a template that has been through review already: ``body`` is
        what ``POST /{WABA-ID}/message_templates`` takes, checked the same way (raises
        ``wire.GraphFault`` when the platform would refuse it). Posts no webhook. Returns the
        template as ``templates`` lists it."""
        reason = templates.check_status(status, None) if status != "PENDING" else "NONE"
        submission = template_content.parse_submission(body)
        with self._lock:
            template = self._templates.add(
                submission, template_id=self._fresh_object_id(), now=self.clock()
            )
            template.status, template.reason = status, reason
            return template.view((*templates.FIELDS, *templates.EXTRA_FIELDS))

    def set_template_status(
        self, name: str, language: str, status: str, reason: str | None = None
    ) -> dict[str, Any]:
        """Move a template to ``status`` as review or its quality rating would, and post the
        ``message_template_status_update`` webhook (event ``status``, with ``reason``).

        ``status`` is APPROVED, REJECTED, PAUSED or DISABLED; ``reason`` defaults to
        INVALID_FORMAT for a rejection and NONE otherwise. A review under way is forgotten.
        Raises ``LookupError`` for a template the account does not have and ``ValueError``
        for another status or a reason that does not fit it. Returns ``{"template_id",
        "status_code", "body"}``: the app's final HTTP status and the payload posted.
        """
        reason = templates.check_status(status, reason)
        return self._template_webhook(
            name,
            language,
            "message_template_status_update",
            lambda template, now: templates.apply_status(template, status, reason, now=now),
        )

    def set_template_quality(self, name: str, language: str, quality: str) -> dict[str, Any]:
        """Rate a template GREEN, YELLOW, RED or UNKNOWN and post the
        ``message_template_quality_update`` webhook (previous and new score). Raises
        ``LookupError`` and ``ValueError`` (another score, or the one it has) and returns
        what ``set_template_status`` does."""
        return self._template_webhook(
            name,
            language,
            "message_template_quality_update",
            lambda template, now: templates.quality_update(template, quality, now=now),
        )

    def set_template_category(
        self, name: str, language: str, category: str, *, impending: bool = False
    ) -> dict[str, Any]:
        """Recategorize a template and post the ``template_category_update`` webhook
        (previous and new category); with ``impending``, only post the notice that it will
        be recategorized in a day (``correct_category``), keeping its category. Raises and
        returns as ``set_template_quality``."""
        return self._template_webhook(
            name,
            language,
            "template_category_update",
            lambda template, now: templates.category_update(
                template, category, impending=impending, now=now
            ),
        )

    def set_review_rules(
        self, reject_words: list[str], reason: str = "PROMOTIONAL", *, delay: float | None = None
    ) -> None:
        """From now on review rejects, with ``reason``, a template whose body has a word
        starting with one of ``reject_words`` (in any case), and approves the others; an
        outcome queued with ``set_review_outcome`` still comes first. ``delay`` (seconds)
        replaces ``template_review_delay``. No words: every template is approved. Raises
        ``ValueError`` for words that are not strings or a reason a rejection cannot have."""
        rules = templates.ReviewRules.parse(reject_words, reason)
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int | float) or not delay >= 0
        ):
            raise ValueError("delay must be a number of seconds, 0 or more")
        with self._lock:
            self._review_rules = rules
            if delay is not None:
                self.template_review_delay = float(delay)

    @property
    def review_rules(self) -> dict[str, Any]:
        """The review rules in force: ``{"reject_words", "reason", "delay"}``."""
        with self._lock:
            rules = self._review_rules
            return {
                "reject_words": list(rules.reject_words),
                "reason": rules.reason,
                "delay": self.template_review_delay,
            }

    def set_review_outcome(
        self, status: str = "APPROVED", reason: str | None = None, *, count: int = 1
    ) -> None:
        """Decide how review ends for the next ``count`` templates submitted (created or
        edited): APPROVED, or REJECTED with ``reason`` (default INVALID_FORMAT). Those after
        them are approved again."""
        if status not in ("APPROVED", "REJECTED"):
            raise ValueError("review ends with APPROVED or REJECTED")
        reason = templates.check_status(status, reason)
        with self._lock:
            self._review_outcomes.extend([(status, reason)] * count)

    def upload_media(
        self, data: bytes, mime_type: str, filename: str = "", *, media_id: str | None = None
    ) -> str:
        """Store a file as if the business had uploaded it (``POST .../media``) and return its
        id; ``media_id`` keeps it under a chosen id (a documented example's, say)."""
        return self._store_media(data, mime_type, filename, media_id)[0]

    # --- the Graph API: message templates ----------------------------------------------------

    def api_template_create(self, waba_id: str, body: Any) -> ApiAnswer:
        """``POST /{version}/{waba_id}/message_templates``: submit a template for review.

        Answers ``{"id", "status": "PENDING", "category"}``; review ends after
        ``template_review_delay`` with a status webhook (see ``set_review_outcome``). Meta's
        schema shows APPROVED in the answer; every example of it, and the platform, say
        PENDING.
        """
        if waba_id != self.waba_id:
            raise wire.unknown_object(waba_id, "post")
        submission = template_content.parse_submission(body)
        with self._lock:
            template = self._templates.add(
                submission, template_id=self._fresh_object_id(), now=self.clock()
            )
            self._submit_for_review(template)
            revision = template.revision
        answer = {"id": template.id, "status": template.status, "category": template.category}
        return ApiAnswer(
            200, answer, after=self._afterwards(lambda: self._schedule_review(template, revision))
        )

    def api_template_list(self, waba_id: str, query: dict[str, list[str]]) -> ApiAnswer:
        """``GET /{version}/{waba_id}/message_templates?name=&status=&language=&fields=&limit=``,
        paged with ``after``/``before`` cursors."""
        if waba_id != self.waba_id:
            raise wire.unknown_object(waba_id, "get")
        params = {key: values[0] for key, values in query.items() if values}
        params.pop("access_token", None)

        def page_url(page_params: dict[str, str]) -> str:
            return f"{self.graph_url}/{waba_id}/message_templates?{urlencode(page_params)}"

        with self._lock:
            return ApiAnswer(200, self._templates.page(params, page_url))

    def api_template_delete(self, waba_id: str, query: dict[str, list[str]]) -> ApiAnswer:
        """``DELETE /{version}/{waba_id}/message_templates?name=...[&hsm_id=...]``: every
        language of the name, or only the template ``hsm_id``."""
        if waba_id != self.waba_id:
            raise wire.unknown_object(waba_id, "delete")
        name = (query.get("name") or [""])[0]
        if not name:
            raise wire.required("", "name")
        hsm_id = (query.get("hsm_id") or [None])[0]
        with self._lock:
            self._templates.delete(name, hsm_id, now=self.clock())
        return ApiAnswer(200, {"success": True})

    def api_object_get(self, object_id: str, query: dict[str, list[str]]) -> ApiAnswer:
        """``GET /{version}/{id}``: a template (``fields`` as in the list) or a media file."""
        with self._lock:
            template = self._templates.get(object_id)
            if template is not None:
                fields = templates.parse_fields((query.get("fields") or [None])[0])
                return ApiAnswer(200, template.view(fields))
        return self.api_media_info(object_id)

    def api_template_edit(self, template_id: str, body: Any) -> ApiAnswer:
        """``POST /{version}/{template_id}``: new components and/or category; the template
        is reviewed again."""
        with self._lock:
            template = self._templates.get(template_id)
            if template is None:
                raise wire.unknown_object(template_id, "post")
            self._templates.edit(template, body, now=self.clock())
            self._submit_for_review(template)
            revision = template.revision
        return ApiAnswer(
            200,
            {"success": True},
            after=self._afterwards(lambda: self._schedule_review(template, revision)),
        )

    def _submit_for_review(self, template: templates.Template) -> None:
        """Decide how this submission's review ends; needs the lock."""
        if self._review_outcomes:
            outcome = self._review_outcomes.popleft()
        else:
            outcome = self._review_rules.outcome(template)
        template.review = (outcome[0], templates.check_status(*outcome))

    def _schedule_review(self, template: templates.Template, revision: int) -> None:
        if self.template_review_delay is not None:
            self._later(self.template_review_delay, self._review, template, revision)

    def _review(self, template: templates.Template, revision: int) -> None:
        with self._lock:
            if template.revision != revision or template.id not in self._templates:
                return  # edited, deleted or decided by hand meanwhile
            now = int(self.clock())
            value = templates.apply_status(template, *template.review, now=now)
            payload = wire.account_webhook(
                waba_id=self.waba_id, field="message_template_status_update", value=value, time=now
            )
        self._deliver("template", template.id, payload)

    def _template_webhook(
        self,
        name: str,
        language: str,
        field: str,
        change: Callable[[templates.Template, int], dict[str, Any]],
    ) -> dict[str, Any]:
        """Apply ``change`` to the template ``name`` in ``language`` and post the ``field``
        webhook with the value it returns. Returns ``{"template_id", "status_code",
        "body"}``: the app's final HTTP status and the payload posted."""
        with self._lock:
            template = self._templates.find(name, language)
            if template is None:
                raise LookupError(f"the account has no template {name!r} in {language!r}")
            now = int(self.clock())
            value = change(template, now)
            payload = wire.account_webhook(waba_id=self.waba_id, field=field, value=value, time=now)
        status_code = self._deliver("template", template.id, payload)
        return {"template_id": template.id, "status_code": status_code, "body": payload}

    # --- internals ---------------------------------------------------------------------------

    def _remember_customer(self, wa_id: str, name: str | None) -> str:
        """The customer's profile name, registering them on first contact. Needs the lock."""
        if name:
            self.customers[wa_id] = name
        elif wa_id not in self.customers:
            self.customers[wa_id] = f"Customer {wa_id[-4:]}"
        return self.customers[wa_id]

    def _check_references(
        self, message_type: str, body: dict[str, Any]
    ) -> templates.Template | None:
        """Refuse a send that names media or a template the account does not have (or a
        template it may not send); returns the template of a template send. Needs the lock.
        """
        for where, media_ref in wire.media_references(body, message_type):
            if media_ref not in self._media:
                raise wire.not_a_media_id(where)
        if message_type != "template":
            return None
        request = body["template"]
        template = self._templates.find(str(request["name"]), str(request["language"]["code"]))
        template_sends.check_send(template, request, self._media.__contains__)
        return template

    def _mark_read(self, body: dict[str, Any]) -> ApiAnswer:
        message_id = wire.validate_mark_read(body)
        with self._lock:
            if message_id not in self._received:
                # The platform's documented answer to an id that is not a received message
                # (the business's own messages included): 131009.
                raise wire.invalid_value(
                    f"Message {message_id} is not a message this phone number received."
                )
            self.read_receipts.append(
                {
                    "message_id": message_id,
                    "typing_indicator": body.get("typing_indicator") is not None,
                    "received_at": self.clock(),
                }
            )
        return ApiAnswer(200, {"success": True})

    def _pricing(
        self, wa_id: str, category: str, window_open: bool, now: float
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Conversation and pricing objects for a message; needs the lock.

        Per-message pricing: free-form replies inside the window and utility templates sent
        while the window is open are free; other templates are charged.
        """
        key = (wa_id, category)
        current = self._conversations.get(key)
        if current is None or current[1] <= now:
            current = (wire.conversation_id(), int(now) + WINDOW_SECONDS)
            self._conversations[key] = current
        free = category == "service" or (category == "utility" and window_open)
        conversation = {
            "id": current[0],
            "expiration_timestamp": str(current[1]),
            "origin": {"type": category},
        }
        pricing = {
            "billable": not free,
            "pricing_model": "PMP",
            "category": category,
            "type": "free_customer_service" if free else "regular",
        }
        return conversation, pricing

    def _start_statuses(self, outbound: _Outbound) -> None:
        if outbound.error:
            steps: tuple[str, ...] = ("failed",)
        elif outbound.message_type == "reaction":
            steps = ("sent",)  # the platform reports only that a reaction was sent
        else:
            steps = ("sent", "delivered", "read")
        self._later(self.status_delay, self._post_status, outbound, steps, 0)

    def _post_status(self, outbound: _Outbound, steps: tuple[str, ...], index: int) -> None:
        """Post one status webhook, then schedule the next; statuses of a message stay in
        order because the next one is scheduled only after this one was delivered."""
        name = steps[index]
        status: dict[str, Any] = {
            "id": outbound.wamid,
            "status": name,
            "timestamp": str(int(self.clock())),
            "recipient_id": outbound.wa_id,
        }
        if outbound.callback_data is not None:
            status["biz_opaque_callback_data"] = outbound.callback_data
        if outbound.error is not None:
            status["errors"] = [outbound.error]
        else:
            conversation = dict(outbound.conversation)
            if name != "sent":
                # The platform states the conversation's expiry only with the "sent" status.
                conversation.pop("expiration_timestamp")
            status["conversation"] = conversation
            status["pricing"] = dict(outbound.pricing)
        self._deliver(name, outbound.wamid, self._webhook({"statuses": [status]}))
        if index + 1 < len(steps):
            self._later(self.status_delay, self._post_status, outbound, steps, index + 1)
        elif name == "read" and self.auto_reply and outbound.message_type == "text":
            low, high = self.auto_reply_delay
            self._later(self._rng.uniform(low, high), self._reply, outbound.wa_id)

    def _reply(self, wa_id: str) -> None:
        with self._lock:
            line = self._replies.next_line(wa_id)
        self.customer_says(wa_id, line)

    def _chatter_tick(self, generation: int) -> None:
        with self._lock:
            if self._chatter is None or generation != self._chatter_generation:
                return
            delay = self._rng.uniform(*self._chatter)
        # Schedule the next line first, so a slow app does not stretch the rhythm.
        self._later(delay, self._chatter_tick, generation)
        self.chatter_once()

    def _store_media(
        self, data: bytes, mime_type: str, filename: str, media_id: str | None = None
    ) -> tuple[str, Media]:
        media = Media(
            data=data, mime_type=mime_type, filename=filename, token=secrets.token_urlsafe(16)
        )
        with self._lock:
            media_id = media_id or self._fresh_object_id()
            self._media[media_id] = media
        return media_id, media

    def _fresh_object_id(self) -> str:
        """An id no media file or template has; needs the lock."""
        while True:
            object_id = wire.object_id()
            if object_id not in self._media and object_id not in self._templates:
                return object_id

    def _media_url(self, media_id: str, media: Media) -> str:
        return f"{self.base_url}/media-download/{media_id}?token={media.token}"

    def _webhook(self, value: dict[str, Any]) -> dict[str, Any]:
        return wire.webhook(
            waba_id=self.waba_id,
            display_phone_number=self.display_phone_number,
            phone_number_id=self.phone_number_id,
            value=value,
        )

    def _deliver(self, kind: str, wamid: str, payload: dict[str, Any]) -> int | None:
        """POST a signed webhook to the app, retrying like the platform until it answers 200.

        Returns the app's last HTTP status, or None when it could not be reached.
        """
        body = wire.encode(payload)
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": wire.sign(body, self.app_secret),
            "User-Agent": "facebookexternalua",
        }
        status: int | None = None
        for attempt in range(self.webhook_retries + 1):
            if attempt and self._hush.wait(self.webhook_backoff * 2 ** (attempt - 1)):
                break
            try:
                response = requests.post(
                    self.app_webhook_url, data=body, headers=headers, timeout=self.webhook_timeout
                )
                status = response.status_code
                outcome = str(status)
            except requests.RequestException as exc:
                status = None
                outcome = f"unreachable ({type(exc).__name__})"
            with self._lock:
                self.webhook_log.append((kind, wamid, status))
            retry_note = f" (attempt {attempt + 1})" if attempt else ""
            logger.info("webhook %-9s %s -> %s%s", kind, wamid, outcome, retry_note)
            if status == 200:
                break
        return status

    def _afterwards(self, function: Callable[[], None]) -> Callable[[], None]:
        """``function``, for the server to run once an answer is written; ``idle()``
        counts it as work to do from now until it has run."""
        with self._lock:
            self._answers_pending += 1

        def run() -> None:
            try:
                function()
            finally:
                with self._lock:
                    self._answers_pending -= 1
                    self._timers_idle.notify_all()

        return run

    def _later(self, delay: float, function: Callable[..., None], *args: Any) -> None:
        """Run ``function(*args)`` after ``delay`` seconds on its own thread, unless stopped."""
        if self._stopping.is_set() or self._settling:
            return
        timer = threading.Timer(max(delay, 0.0), self._run_timer, args=(function, args))
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _run_timer(self, function: Callable[..., None], args: tuple[Any, ...]) -> None:
        current = threading.current_thread()
        if isinstance(current, threading.Timer):
            with self._lock:
                if current not in self._timers:
                    return  # cancelled by settle() or stop() just as it fired
                self._timers.discard(current)
                self._running_timers += 1
        else:
            with self._lock:
                self._running_timers += 1
        try:
            if not self._stopping.is_set():
                function(*args)
        except Exception:
            logger.exception("the simulator failed while running %s", function.__name__)
        finally:
            with self._lock:
                self._running_timers -= 1
                self._timers_idle.notify_all()


def _location(latitude: float, longitude: float, place: str, address: str) -> dict[str, Any]:
    """A location message's content, keys in the platform's order."""
    content: dict[str, Any] = {}
    if address:
        content["address"] = address
    content.update({"latitude": latitude, "longitude": longitude})
    if place:
        content["name"] = place
    return content
