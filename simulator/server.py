"""The simulator's HTTP face: Graph API routes, media downloads and the control endpoints.

Graph API paths take any version prefix (``/v23.0/...``). Control endpoints under ``/_sim/``
let a demo or a test in any language drive the customers and read what the business sent:

* ``GET /_sim/health`` -> ``{"ok": true}``
* ``GET /_sim/sent`` -> the sent messages (``Simulator.sent_messages()``)
* ``GET /_sim/webhooks`` -> the webhook log as ``[{"kind", "wamid", "status_code"}]``
* ``GET /_sim/read-receipts`` -> the mark-as-read requests received
* ``GET /_sim/business-profile`` -> the number's business profile as the platform keeps it
* ``GET /_sim/templates`` -> the account's message templates (``Simulator.templates``)
* ``POST /_sim/template-status`` ``{"name", "language", "status", "reason"?}`` -> moves a
  template to APPROVED, REJECTED, PAUSED or DISABLED and posts the
  ``message_template_status_update`` webhook, like ``Simulator.set_template_status``
  (404 for a template the account does not have)
* ``POST /_sim/template-review`` ``{"status"?, "reason"?, "count"?}`` -> how review ends for
  the next templates submitted, like ``Simulator.set_review_outcome``
* ``POST /_sim/template-review-rules`` ``{"reject_words", "reason"?, "delay"?}`` -> from now on
  review rejects a template whose body has one of the words (reason PROMOTIONAL unless
  given) and approves the rest, ``delay`` seconds after submission, like
  ``Simulator.set_review_rules``; answers the rules in force, as ``GET`` does
* ``POST /_sim/template-quality`` ``{"name", "language", "quality"}`` -> rates a template and
  posts the ``message_template_quality_update`` webhook, like ``Simulator.set_template_quality``
* ``POST /_sim/template-category`` ``{"name", "language", "category", "impending"?}`` ->
  recategorizes a template (or, with ``impending``, only announces it) and posts the
  ``template_category_update`` webhook, like ``Simulator.set_template_category``
* ``POST /_sim/customers/{wa_id}/messages`` ``{"text", "name"?, "context_wamid"?}`` -> the
  result of ``Simulator.customer_says``. With ``"type"`` the customer sends any kind of
  message, made up where fields are left out (see ``CUSTOMER_MESSAGE_FIELDS``):
  ``{"type": "image", "caption"?}`` the photo of a crushed parcel, ``{"type": "document",
  "filename"?, "caption"?}`` a PDF invoice, ``{"type": "location", "latitude"?,
  "longitude"?, "place"?, "address"?}``, ``{"type": "contacts", "cards"?}``, ``{"type":
  "voice"}``, ``{"type": "reaction", "emoji"?, "message_wamid"?}`` (by default to the
  business's latest message to them; 409 when there is none). Image, document, voice,
  audio, video and sticker also take the customer's own file as ``"data_base64"`` (with
  ``"mime_type"``); audio, video and sticker need one.
* ``POST /_sim/fail-next`` ``{"code", "http_status"?, "title"?, "details"?}`` -> queues a
  failure like ``Simulator.fail_next``
* ``POST /_sim/fail-media-downloads`` ``{"count"?, "http_status"?, "corrupt"?}`` -> the next
  media downloads go wrong, like ``Simulator.fail_media_downloads``
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from simulator import wire

if TYPE_CHECKING:
    from simulator.core import Simulator

logger = logging.getLogger("simulator.http")

GRAPH_PATH = re.compile(r"^/v\d+\.\d+(?P<rest>/.*)?$")
CUSTOMER_MESSAGES_PATH = re.compile(r"^/_sim/customers/(?P<wa_id>[^/]+)/messages/?$")
GRAPH_API_VERSION = "v23.0"
# Control route -> what it sets on a template (each posts that change's webhook).
TEMPLATE_CHANGES = {
    "/_sim/template-status": "status",
    "/_sim/template-quality": "quality",
    "/_sim/template-category": "category",
}

# Message type -> the fields a control request may give for it (besides type, name and
# context_wamid); ``CUSTOMER_MESSAGE_DEFAULT_MIME`` names the file each makes up, if any.
CUSTOMER_MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "image": ("caption", "data_base64", "mime_type"),
    "document": ("caption", "filename", "data_base64", "mime_type"),
    "voice": ("data_base64",),
    "audio": ("data_base64", "mime_type"),
    "video": ("caption", "data_base64", "mime_type"),
    "sticker": ("data_base64",),
    "location": ("latitude", "longitude", "place", "address"),
    "contacts": ("cards",),
    "reaction": ("emoji", "message_wamid"),
}
CUSTOMER_MESSAGE_MIME: dict[str, tuple[str, ...]] = {
    "image": ("image/jpeg", "image/png"),
    "audio": ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"),
    "video": ("video/mp4", "video/3gpp"),
}
CUSTOMER_MESSAGE_DEFAULT_MIME = {
    "image": "image/jpeg",
    "document": "application/pdf",
    "audio": "audio/mpeg",
    "video": "video/mp4",
}


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose handlers reach the ``Simulator`` that owns it."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, SimulatorRequestHandler)


class ControlError(Exception):
    """A malformed control request; answered as ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    """Routes one request to the simulator and writes its answer."""

    server: SimulatorHTTPServer
    server_version = "WhatsAppCloudAPISimulator/1.0"
    # Keep-alive, as graph.facebook.com does: a client with a session (the send
    # jobs, a campaign's job) sends many requests on one connection. Every answer
    # carries its Content-Length; without Nagle's algorithm the headers and the
    # body, written separately, leave at once instead of waiting for an ACK.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    @property
    def simulator(self) -> Simulator:
        return self.server.simulator

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path
        query = parse_qs(url.query)
        # Read the whole body first so a refusal never leaves it unread on the socket.
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            if path.startswith("/_sim/"):
                self._control(method, path, body)
            elif path.startswith("/media-download/"):
                self._download(method, path, query)
            elif path.startswith("/pps/"):
                self._profile_picture(method, path)
            elif match := GRAPH_PATH.match(path):
                self._graph(method, match.group("rest") or "/", query, body)
            else:
                raise wire.unknown_path(path)
        except wire.GraphFault as fault:
            self._write_graph(fault.http_status, fault.envelope)
        except ControlError as exc:
            self._write_json(exc.status, {"error": str(exc)})
        except Exception:
            logger.exception("%s %s failed", method, self.path)
            self._write_graph(500, wire.graph_error(1, "An unknown error has occurred."))

    # --- Graph API ---------------------------------------------------------------------------

    def _graph(self, method: str, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        self.simulator.authorize(
            self.headers.get("Authorization"), (query.get("access_token") or [None])[0]
        )
        segments = [unquote(part) for part in rest.split("/") if part]
        answer = None
        if method == "POST" and len(segments) == 2 and segments[1] == "messages":
            answer = self.simulator.api_send(segments[0], _json_body(body))
        elif method == "POST" and len(segments) == 2 and segments[1] == "media":
            content_type = self.headers.get("Content-Type", "")
            answer = self.simulator.api_media_upload(segments[0], content_type, body)
        elif len(segments) == 2 and segments[1] == "message_templates":
            if method == "POST":
                answer = self.simulator.api_template_create(segments[0], _json_body(body))
            elif method == "GET":
                answer = self.simulator.api_template_list(segments[0], query)
            elif method == "DELETE":
                answer = self.simulator.api_template_delete(segments[0], query)
        elif method == "GET" and len(segments) == 1:
            answer = self.simulator.api_object_get(segments[0], query)
        elif method == "DELETE" and len(segments) == 1:
            answer = self.simulator.api_media_delete(segments[0])
        elif len(segments) == 2 and segments[1] == "whatsapp_business_profile":
            if method == "GET":
                fields = (query.get("fields") or [None])[0]
                answer = self.simulator.api_business_profile_get(segments[0], fields)
            elif method == "POST":
                answer = self.simulator.api_business_profile_update(segments[0], _json_body(body))
        elif (
            method == "POST"
            and len(segments) == 2
            and segments[1] == "uploads"
            and (segments[0] == "app" or wire.is_digits(segments[0]))
        ):
            # The Resumable Upload API's path names the app by id; "app" is Graph's alias
            # for the app of the access token.
            answer = self.simulator.api_upload_session(query)
        elif method == "POST" and len(segments) == 1 and segments[0].startswith("upload:"):
            answer = self.simulator.api_upload_data(
                segments[0],
                (query.get("sig") or [None])[0],
                self.headers.get("file_offset"),
                body,
            )
        elif method == "POST" and len(segments) == 1:
            answer = self.simulator.api_template_edit(segments[0], _json_body(body))
        if answer is None:
            raise wire.unknown_path(rest)
        try:
            self._write_graph(answer.status, answer.payload)
        except OSError:
            # The caller went away before reading the answer (a killed worker); the
            # platform carries on with what it accepted all the same.
            logger.info("%s %s: the caller left before the answer", method, self.path)
        if answer.after is not None:
            answer.after()

    def _download(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if method != "GET":
            raise wire.unknown_path(path)
        self.simulator.authorize(self.headers.get("Authorization"))
        media_id = unquote(path.removeprefix("/media-download/").strip("/"))
        media = self.simulator.api_media_download(media_id, (query.get("token") or [None])[0])
        self.send_response(200)
        self.send_header("Content-Type", media.mime_type)
        self.send_header("Content-Length", str(len(media.data)))
        if media.filename:
            self.send_header("Content-Disposition", f'attachment; filename="{media.filename}"')
        self.end_headers()
        self.wfile.write(media.data)

    def _profile_picture(self, method: str, path: str) -> None:
        # Served without a token, like the platform's public picture host.
        name = unquote(path.removeprefix("/pps/").strip("/"))
        photo = self.simulator.profile_picture(name.rsplit(".", 1)[0])
        if method != "GET" or photo is None:
            raise wire.unknown_path(path)
        self.send_response(200)
        self.send_header("Content-Type", photo.mime_type)
        self.send_header("Content-Length", str(len(photo.data)))
        self.end_headers()
        self.wfile.write(photo.data)

    # --- control endpoints -------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> None:
        sim = self.simulator
        route = path.rstrip("/")
        if method == "GET" and route == "/_sim/health":
            self._write_json(200, {"ok": True})
        elif method == "GET" and route == "/_sim/sent":
            self._write_json(200, sim.sent_messages())
        elif method == "GET" and route == "/_sim/webhooks":
            log = list(sim.webhook_log)  # a copy taken in one step; appends may continue
            entries = [{"kind": k, "wamid": w, "status_code": s} for k, w, s in log]
            self._write_json(200, entries)
        elif method == "GET" and route == "/_sim/read-receipts":
            self._write_json(200, [dict(receipt) for receipt in list(sim.read_receipts)])
        elif method == "GET" and route == "/_sim/business-profile":
            self._write_json(200, dict(sim.business_profile))
        elif method == "GET" and route == "/_sim/templates":
            self._write_json(200, sim.templates)
        elif method == "POST" and route in TEMPLATE_CHANGES:
            data = _control_body(body)
            setting = TEMPLATE_CHANGES[route]
            for field in ("name", "language", setting):
                if not isinstance(data.get(field), str) or not data[field]:
                    raise ControlError(400, f'"{field}" must be a non-empty string')
            _optional_text(data, "reason", allow_empty=False)
            impending = data.get("impending", False)
            if setting == "category" and not isinstance(impending, bool):
                raise ControlError(400, '"impending" must be true or false')
            try:
                if setting == "status":
                    result = sim.set_template_status(
                        data["name"], data["language"], data["status"], data.get("reason")
                    )
                elif setting == "quality":
                    result = sim.set_template_quality(data["name"], data["language"], data[setting])
                else:
                    result = sim.set_template_category(
                        data["name"], data["language"], data[setting], impending=impending
                    )
            except LookupError as exc:
                raise ControlError(404, str(exc)) from exc
            except ValueError as exc:
                raise ControlError(400, str(exc)) from exc
            self._write_json(
                200, {"template_id": result["template_id"], "status_code": result["status_code"]}
            )
        elif method == "GET" and route == "/_sim/template-review-rules":
            self._write_json(200, sim.review_rules)
        elif method == "POST" and route == "/_sim/template-review-rules":
            data = _control_body(body)
            if "reject_words" not in data:
                raise ControlError(400, '"reject_words" is required (an empty list approves all)')
            _optional_text(data, "reason", allow_empty=False)
            try:
                sim.set_review_rules(
                    data["reject_words"], data.get("reason", "PROMOTIONAL"), delay=data.get("delay")
                )
            except ValueError as exc:
                raise ControlError(400, str(exc)) from exc
            self._write_json(200, sim.review_rules)
        elif method == "POST" and route == "/_sim/template-review":
            data = _control_body(body)
            count = data.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ControlError(400, '"count" must be a positive integer')
            _optional_text(data, "reason", allow_empty=False)
            try:
                sim.set_review_outcome(
                    data.get("status", "APPROVED"), data.get("reason"), count=count
                )
            except ValueError as exc:
                raise ControlError(400, str(exc)) from exc
            self._write_json(200, {"queued": count})
        elif method == "POST" and (match := CUSTOMER_MESSAGES_PATH.match(path)):
            data = _control_body(body)
            wa_id = unquote(match.group("wa_id"))
            if not wire.wa_id_from(wa_id):
                raise ControlError(400, "the customer's wa_id must contain digits")
            self._write_json(200, _customer_message(sim, wa_id, data))
        elif method == "POST" and route == "/_sim/fail-next":
            data = _control_body(body)
            code = data.get("code")
            if not isinstance(code, int):
                raise ControlError(400, '"code" must be an integer error code')
            sim.fail_next(
                code,
                http_status=int(data.get("http_status", 400)),
                title=data.get("title"),
                details=data.get("details"),
            )
            self._write_json(200, {"queued": True})
        elif method == "POST" and route == "/_sim/fail-media-downloads":
            data = _control_body(body)
            count, http_status = data.get("count", 1), data.get("http_status", 500)
            if not isinstance(count, int) or not isinstance(http_status, int):
                raise ControlError(400, '"count" and "http_status" must be integers')
            sim.fail_media_downloads(
                count, http_status=http_status, corrupt=bool(data.get("corrupt", False))
            )
            self._write_json(200, {"queued": count})
        else:
            raise ControlError(404, f"no control endpoint {method} {path}")

    # --- writing answers ---------------------------------------------------------------------

    def _write_graph(self, status: int, payload: Any) -> None:
        body = wire.encode(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("facebook-api-version", GRAPH_API_VERSION)
        self.send_header("x-fb-trace-id", wire.fbtrace_id())
        if status == 401:
            self.send_header(
                "WWW-Authenticate",
                'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"',
            )
        self.end_headers()
        self.wfile.write(body)

    def _write_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise wire.invalid_parameter(
            "Invalid parameter", "The request body is not valid JSON."
        ) from exc


def _control_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ControlError(400, "the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ControlError(400, "the request body must be a JSON object")
    return data


def _customer_message(sim: Simulator, wa_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check a ``POST /_sim/customers/{wa_id}/messages`` body and have the customer send it.

    Raises ``ControlError`` (400) naming the first field that is wrong, or (409) for a
    reaction when the business has sent the customer nothing to react to.
    """
    kind = data.get("type", "text")
    if kind not in CUSTOMER_MESSAGE_FIELDS:
        raise ControlError(
            400, f'"type" must be one of {", ".join(CUSTOMER_MESSAGE_FIELDS)}; got {kind!r}'
        )
    allowed = {"type", "name", *CUSTOMER_MESSAGE_FIELDS[kind]}
    if kind != "reaction":
        allowed.add("context_wamid")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ControlError(
            400,
            f"{_a(kind)} message takes no {', '.join(repr(u) for u in unknown)}; "
            f"it takes {', '.join(sorted(allowed))}",
        )
    for field in ("name", "context_wamid", "caption", "filename", "place", "address"):
        _optional_text(data, field)
    _optional_text(data, "message_wamid", allow_empty=False)
    _optional_text(data, "emoji", allow_empty=True)
    sending = {"name": data.get("name") or None, "context_wamid": data.get("context_wamid")}

    if kind == "text":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ControlError(400, '"text" must be a non-empty string')
        if len(text) > wire.TEXT_BODY_MAX:
            raise ControlError(400, f'"text" may have at most {wire.TEXT_BODY_MAX} characters')
        return sim.customer_says(wa_id, text, **sending)

    if "data_base64" in data:
        media_kind = "audio" if kind == "voice" else kind
        file, mime_type = _own_file(kind, data)
        return sim.customer_sends_media(
            wa_id,
            media_kind,
            file,
            mime_type,
            caption=data.get("caption") or "",
            filename=data.get("filename") or "",
            voice=kind == "voice",
            **sending,
        )
    if kind in ("audio", "video", "sticker"):
        raise ControlError(
            400, f'{_a(kind)} message needs the file as "data_base64"; the simulator makes none up'
        )
    if "mime_type" in data:
        raise ControlError(400, '"mime_type" goes with "data_base64", the file it describes')

    options: dict[str, Any] = {}
    if kind == "location":
        options.update(_coordinates(data))
        options.update(place=data.get("place"), address=data.get("address"))
    elif kind == "contacts" and "cards" in data:
        cards = data["cards"]
        if (
            not isinstance(cards, list)
            or not cards
            or not all(
                isinstance(card, dict) and isinstance(card.get("name"), dict) for card in cards
            )
        ):
            raise ControlError(
                400,
                '"cards" must be a non-empty list of contact cards, each with a "name" object '
                '(e.g. {"name": {"formatted_name": "Ana Souza", "first_name": "Ana"}, '
                '"phones": [{"phone": "+55 11 98765-4321", "type": "MOBILE"}]})',
            )
        return sim.customer_sends(wa_id, "contacts", cards, **sending)
    elif kind == "reaction":
        options.update(emoji=data.get("emoji"), message_wamid=data.get("message_wamid"))
    else:
        options.update(caption=data.get("caption"), filename=data.get("filename"))
    try:
        return sim.customer_sends_sample(wa_id, kind, **options, **sending)
    except LookupError as exc:
        raise ControlError(
            409, f'{exc}; send them a message first, or give "message_wamid"'
        ) from exc


def _optional_text(data: dict[str, Any], field: str, *, allow_empty: bool = True) -> None:
    if field not in data:
        return
    value = data[field]
    if not isinstance(value, str) or (not allow_empty and not value):
        kind = "a string" if allow_empty else "a non-empty string"
        raise ControlError(400, f'"{field}" must be {kind}')


def _own_file(kind: str, data: dict[str, Any]) -> tuple[bytes, str]:
    """The customer's own file from ``data_base64`` and its mime type, checked for ``kind``."""
    encoded = data["data_base64"]
    try:
        if not isinstance(encoded, str):
            raise ValueError
        file = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ControlError(400, '"data_base64" must be the file encoded as base64') from exc
    if not file:
        raise ControlError(400, '"data_base64" holds an empty file')
    if kind == "voice":
        return file, "audio/ogg; codecs=opus"
    if kind == "sticker":
        return file, "image/webp"
    mime_type = data.get("mime_type", CUSTOMER_MESSAGE_DEFAULT_MIME[kind])
    if not isinstance(mime_type, str) or "/" not in mime_type:
        raise ControlError(400, '"mime_type" must be a mime type such as "image/jpeg"')
    accepted = CUSTOMER_MESSAGE_MIME.get(kind)
    if accepted and mime_type.split(";")[0].strip().lower() not in accepted:
        raise ControlError(
            400, f"{_a(kind)} must be one of {', '.join(accepted)}; got {mime_type!r}"
        )
    return file, mime_type


def _coordinates(data: dict[str, Any]) -> dict[str, float]:
    """``latitude`` and ``longitude`` when given: both or neither, numbers within range."""
    given = [field for field in ("latitude", "longitude") if field in data]
    if not given:
        return {}
    if len(given) == 1:
        raise ControlError(400, '"latitude" and "longitude" go together; give both or neither')
    coordinates = {}
    for field, limit in (("latitude", 90), ("longitude", 180)):
        value = data[field]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ControlError(400, f'"{field}" must be a number')
        if not -limit <= value <= limit:
            raise ControlError(400, f'"{field}" must be between -{limit} and {limit}')
        coordinates[field] = float(value)
    return coordinates


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
