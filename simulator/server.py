"""The simulator's HTTP face: Graph API routes, media downloads and the control endpoints.

Graph API paths take any version prefix (``/v23.0/...``). Control endpoints under ``/_sim/``
let a demo or a test in any language drive the customers and read what the business sent:

* ``GET /_sim/health`` -> ``{"ok": true}``
* ``GET /_sim/sent`` -> the sent messages (``Simulator.sent_messages()``)
* ``GET /_sim/webhooks`` -> the webhook log as ``[{"kind", "wamid", "status_code"}]``
* ``GET /_sim/read-receipts`` -> the mark-as-read requests received
* ``GET /_sim/business-profile`` -> the number's business profile as the platform keeps it
* ``POST /_sim/customers/{wa_id}/messages`` ``{"text", "name"?, "context_wamid"?}`` -> the
  result of ``Simulator.customer_says``
* ``POST /_sim/fail-next`` ``{"code", "http_status"?, "title"?, "details"?}`` -> queues a
  failure like ``Simulator.fail_next``
* ``POST /_sim/fail-media-downloads`` ``{"count"?, "http_status"?, "corrupt"?}`` -> the next
  media downloads go wrong, like ``Simulator.fail_media_downloads``
"""

from __future__ import annotations

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
        elif method == "GET" and len(segments) == 1:
            answer = self.simulator.api_media_info(segments[0])
        elif method == "DELETE" and len(segments) == 1:
            answer = self.simulator.api_media_delete(segments[0])
        elif len(segments) == 2 and segments[1] == "whatsapp_business_profile":
            if method == "GET":
                fields = (query.get("fields") or [None])[0]
                answer = self.simulator.api_business_profile_get(segments[0], fields)
            elif method == "POST":
                answer = self.simulator.api_business_profile_update(segments[0], _json_body(body))
        elif method == "POST" and segments == ["app", "uploads"]:
            answer = self.simulator.api_upload_session(query)
        elif method == "POST" and len(segments) == 1 and segments[0].startswith("upload:"):
            answer = self.simulator.api_upload_data(
                segments[0],
                (query.get("sig") or [None])[0],
                self.headers.get("file_offset"),
                body,
            )
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
        elif method == "POST" and (match := CUSTOMER_MESSAGES_PATH.match(path)):
            data = _control_body(body)
            text = data.get("text")
            if not isinstance(text, str) or not text:
                raise ControlError(400, '"text" must be a non-empty string')
            wa_id = unquote(match.group("wa_id"))
            if not wire.wa_id_from(wa_id):
                raise ControlError(400, "the customer's wa_id must contain digits")
            result = sim.customer_says(
                wa_id, text, name=data.get("name"), context_wamid=data.get("context_wamid")
            )
            self._write_json(200, result)
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
