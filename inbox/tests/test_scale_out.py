"""Scale-out, as the Procfile runs it: two Daphne processes and two RQ workers (plus
the clock) on one PostgreSQL and one Redis, in production mode.

An operator logged in on web #1 holds a WebSocket there; a customer's webhook is
posted to web #2, and the frame reaches the operator live. The operator's reply,
posted through web #1's API, is sent to WhatsApp exactly once, by one of the two
workers, and its delivery ticks (status webhooks on web #2) reach web #1's socket.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import override_settings

from conversations import services
from inbox.tests.conftest import (
    BIN,
    PROJECT_ROOT,
    Service,
    database_url,
    free_port,
    wait_until,
)
from simulator import Simulator

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
REDIS = os.environ.get("REDIS_URL", "").startswith(("redis://", "rediss://", "unix://"))
pytestmark = pytest.mark.skipif(
    not (POSTGRES and REDIS),
    reason="scale-out needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)",
)

PROCFILE = PROJECT_ROOT / "Procfile"
FRAME_TIMEOUT = 15.0
RELEASE_TIMEOUT = 180.0
PASSWORD = "scale-out-pass-2026"
# What the reverse proxy adds in production: the request came in over HTTPS.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """Process type -> command, read the way honcho and foreman read a Procfile."""
    commands: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            commands[match.group(1)] = match.group(2).strip()
    return commands


# --- A minimal WebSocket client (RFC 6455): enough for an operator's socket -------


class WebSocketClosed(Exception):
    pass


@dataclass
class WebSocket:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)

    @classmethod
    def connect(cls, port: int, path: str, headers: dict[str, str], timeout: float) -> WebSocket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        ws = cls(sock)
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in ws.buffer:
            ws._recv(deadline)
        head, _, rest = bytes(ws.buffer).partition(b"\r\n\r\n")
        ws.buffer = bytearray(rest)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            sock.close()
            raise WebSocketClosed(f"the handshake was refused: {lines[0]}")
        answer = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        digest = hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()  # noqa: S324 (RFC 6455)
        assert answer.get("sec-websocket-accept") == base64.b64encode(digest).decode()
        return ws

    def _recv(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("nothing arrived on the WebSocket in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("nothing arrived on the WebSocket in time") from None
        if not chunk:
            raise WebSocketClosed("the server closed the connection")
        self.buffer += chunk

    def _need(self, size: int, deadline: float) -> None:
        while len(self.buffer) < size:
            self._recv(deadline)

    def _frame(self, deadline: float) -> tuple[bool, int, bytes]:
        """One frame: (final, opcode, payload); bytes stay buffered until it is whole."""
        self._need(2, deadline)
        first, second = self.buffer[0], self.buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            self._need(4, deadline)
            length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif length == 127:
            self._need(10, deadline)
            length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
        mask = b""
        if second & 0x80:
            self._need(offset + 4, deadline)
            mask, offset = bytes(self.buffer[offset : offset + 4]), offset + 4
        self._need(offset + length, deadline)
        payload = bytes(self.buffer[offset : offset + length])
        del self.buffer[: offset + length]
        if mask:
            payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        return bool(first & 0x80), first & 0x0F, payload

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, content: Any) -> None:
        self._send(0x1, json.dumps(content).encode())

    def receive_json(self, timeout: float = FRAME_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        message = b""
        while True:
            final, opcode, payload = self._frame(deadline)
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WebSocketClosed(f"the server closed the socket (code {code})")
            elif opcode in (0x0, 0x1):
                message += payload
                if final:
                    return json.loads(message)

    def receive_until(
        self, matches: Callable[[dict[str, Any]], bool], timeout: float = FRAME_TIMEOUT
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The first frame that ``matches`` and the frames that came before it."""
        deadline = time.monotonic() + timeout
        before: list[dict[str, Any]] = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                frame = self.receive_json(timeout=remaining)
            except TimeoutError:
                raise TimeoutError(f"no matching frame in {timeout} s; got {before}") from None
            if matches(frame):
                return frame, before
            before.append(frame)

    def close(self) -> None:
        try:
            self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


# --- The stack ----------------------------------------------------------------------


@dataclass
class ScaleOut:
    sim: Simulator
    web_ports: tuple[int, int]
    services: list[Service]

    def url(self, web: int, path: str) -> str:
        return f"http://127.0.0.1:{self.web_ports[web]}{path}"

    def origin(self, web: int) -> str:
        return f"https://127.0.0.1:{self.web_ports[web]}"

    def named(self, prefix: str) -> list[Service]:
        return [service for service in self.services if service.name.startswith(prefix)]

    def logs(self) -> str:
        return "\n".join(service.describe() for service in self.services)


@pytest.fixture
def scale_out(
    transactional_db: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScaleOut]:
    if connection.vendor != "postgresql":
        pytest.skip("scale-out needs PostgreSQL (DATABASE_URL)")
    redis_url = os.environ["REDIS_URL"]
    logs = tmp_path_factory.mktemp("scale-out")
    commands = procfile_commands()
    missing = {"web", "worker", "timers"} - commands.keys()
    assert not missing, f"the Procfile has no {', '.join(sorted(missing))} line"
    # This run's own channel-layer prefix: other runs on the same Redis cannot cross-talk.
    prefix = f"inbox-scale-{uuid.uuid4().hex[:12]}"
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"].setdefault("CONFIG", {})["prefix"] = prefix
    isolated = override_settings(CHANNEL_LAYERS=layers)
    isolated.enable()
    ports = (free_port(), free_port())
    sim = Simulator(
        app_webhook_url=f"http://127.0.0.1:{ports[1]}/webhooks/whatsapp/",
        app_secret=os.environ["WHATSAPP_APP_SECRET"],
        access_token=os.environ["WHATSAPP_ACCESS_TOKEN"],
    ).start()
    env = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        # The Procfile's commands resolve daphne and python from the project's environment.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_STATIC_ROOT": str(logs / "static"),
        "DATABASE_URL": database_url(connection.settings_dict),
        "DATABASE_POOL_MAX": "5",
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER_PREFIX": prefix,
        "WHATSAPP_GRAPH_URL": sim.graph_url,
        "PYTHONUNBUFFERED": "1",
    }
    started: list[Service] = []
    stack = ScaleOut(sim=sim, web_ports=ports, services=started)
    try:
        # A release's one-off steps, as docs/deploy.md runs them before the processes.
        for step in (["migrate", "--no-input", "-v0"], ["collectstatic", "--no-input", "-v0"]):
            done = subprocess.run(
                [str(BIN / "python"), "manage.py", *step],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=RELEASE_TIMEOUT,
                check=False,
            )
            assert done.returncode == 0, f"{step[0]} failed:\n{done.stdout}\n{done.stderr}"

        def start(name: str, process_type: str, port: int | None = None) -> None:
            # As a process manager runs a Procfile line: through the shell, $PORT set.
            process_env = env if port is None else {**env, "PORT": str(port)}
            command = ["/bin/sh", "-c", f"exec {commands[process_type]}"]
            started.append(Service.start(name, command, process_env, logs))

        start("web1", "web", ports[0])
        start("web2", "web", ports[1])
        start("worker1", "worker")
        start("worker2", "worker")
        start("timers", "timers")
        for web in (0, 1):
            wait_until(
                lambda web=web: answers_health_over_https(stack.url(web, "/health/")),
                f"web #{web + 1}",
                started,
            )
        workers = redis.Redis.from_url(redis_url)
        wait_until(lambda: workers.scard("rq:workers") >= 2, "both RQ workers", started)
        yield stack
    except BaseException:
        print(stack.logs())
        raise
    finally:
        sim.stop()
        for service in reversed(started):
            service.stop()
        isolated.disable()
    for service in started:
        assert "Traceback" not in service.errors(), service.describe()


def answers_health_over_https(url: str) -> bool:
    """/health/ answers as it does behind the proxy (plain HTTP is redirected to HTTPS)."""
    try:
        return requests.get(url, headers=PROXY_HEADERS, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Browser:
    """An operator's cookies against one web process, sent as the browser would behind
    TLS (the cookies are Secure, so they are kept here rather than in a cookie jar)."""

    stack: ScaleOut
    web: int
    cookies: dict[str, str] = field(default_factory=dict)

    def headers(self, **extra: str) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {**PROXY_HEADERS, "Cookie": cookie, **extra}

    def remember(self, response: requests.Response) -> None:
        self.cookies.update({cookie.name: str(cookie.value) for cookie in response.cookies})

    def write_headers(self) -> dict[str, str]:
        return self.headers(
            Origin=self.stack.origin(self.web),
            Referer=self.stack.origin(self.web) + "/",
            **{"X-CSRFToken": self.cookies.get("csrftoken", "")},
        )

    def log_in(self, username: str, password: str) -> None:
        url = self.stack.url(self.web, "/accounts/login/")
        page = requests.get(url, headers=self.headers(), timeout=10)
        assert page.status_code == 200, page.text[:500]
        self.remember(page)
        response = requests.post(
            url,
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            },
            headers=self.write_headers(),
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:500]
        self.remember(response)
        assert "sessionid" in self.cookies

    def post_json(self, path: str, payload: dict[str, Any]) -> requests.Response:
        return requests.post(
            self.stack.url(self.web, path),
            json=payload,
            headers=self.write_headers(),
            timeout=10,
        )

    def websocket(self) -> WebSocket:
        return WebSocket.connect(
            self.stack.web_ports[self.web],
            "/ws/inbox/",
            {
                "Origin": self.stack.origin(self.web),
                "Cookie": self.headers()["Cookie"],
                **PROXY_HEADERS,
            },
            timeout=FRAME_TIMEOUT,
        )


def test_two_web_processes_and_two_workers_share_one_inbox(scale_out: ScaleOut) -> None:
    sim = scale_out.sim
    services.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Acme Shop",
    )
    group, _ = Group.objects.get_or_create(name="operator")
    olga = User.objects.create_user(
        username="olga", password=PASSWORD, first_name="Olga", last_name="Operator"
    )
    olga.groups.add(group)

    browser = Browser(scale_out, web=0)
    browser.log_in("olga", PASSWORD)
    ws = browser.websocket()
    try:
        assert ws.receive_json() == {"type": "hello", "user_id": olga.pk}

        # The customer's webhook goes to web #2; the operator's socket is on web #1.
        delivered = sim.customer_says("16505550101", "Is my order shipped?", name="Ana")
        assert delivered["status_code"] == 200
        created, _ = ws.receive_until(
            lambda frame: (
                frame["type"] == "message.created"
                and frame["message"]["text"] == "Is my order shipped?"
            )
        )
        assert created["conversation"]["contact"]["name"] == "Ana"
        conversation_id = created["conversation_id"]

        # The reply goes through web #1's API and out through one of the workers.
        reply = "Yes, it left the warehouse this morning."
        already_sent = len(sim.sent_messages())
        response = browser.post_json(
            f"/api/v1/conversations/{conversation_id}/messages/", {"text": reply}
        )
        assert response.status_code == 201, response.text
        message_id = str(response.json()["id"])
        sim.wait_for_sent(
            lambda record: record["payload"].get("text", {}).get("body") == reply,
            timeout=FRAME_TIMEOUT,
            since=already_sent,
        )

        # Its ticks come back as status webhooks to web #2 and reach web #1's socket.
        ws.receive_until(
            lambda frame: (
                frame["type"] == "message.updated"
                and str(frame["message"]["id"]) == message_id
                and frame["message"]["status"] == "read"
            )
        )
        ws.close()
    except BaseException:
        ws.close()
        print(scale_out.logs())
        raise

    sent = [
        record
        for record in sim.sent_messages()
        if record["payload"].get("text", {}).get("body") == reply
    ]
    assert len(sent) == 1, sent
    assert sent[0]["to"] == "16505550101"
    workers_that_sent = [
        worker.name
        for worker in scale_out.named("worker")
        if message_id in worker.stdout.read_text(errors="replace") + worker.errors()
    ]
    assert len(workers_that_sent) == 1, scale_out.logs()
    assert all(service.running() for service in scale_out.services), scale_out.logs()
