"""The embedded default end to end: SQLite, in-memory live events, jobs inline.

A real Daphne process with no DATABASE_URL or REDIS_URL, and the simulator as
WhatsApp: a customer writes, an integration reads the chat through the API with
a token and replies, the simulator receives the reply, and its status webhooks
move the reply to read.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from inbox.tests.conftest import free_port, web_command
from simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.embedded


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[str, Simulator, str]]:
    port = free_port()
    sim = Simulator(
        f"http://127.0.0.1:{port}/webhooks/whatsapp/",
        app_secret="embedded-secret",
        access_token="embedded-token",
        status_delay=0.05,
    ).start()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_DEBUG="1",
        SQLITE_PATH=str(tmp_path / "inbox.sqlite3"),
        WHATSAPP_APP_SECRET="embedded-secret",
        WHATSAPP_ACCESS_TOKEN="embedded-token",
        WHATSAPP_GRAPH_URL=sim.graph_url,
        INBOX_TIMERS_EVERY="0.5",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [*manage, "demo_setup", "--no-auto-replies"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [*manage, "create_api_token", "operator"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    server = subprocess.Popen(
        web_command(port),
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{base}/health/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base, sim, token
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
        sim.stop()
    assert b"Traceback" not in stderr, stderr.decode()


def wait_until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_customer_message_reply_and_read_receipt_without_any_server(embedded) -> None:
    base, sim, token = embedded
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"

    assert (
        sim.customer_says("16505551234", "Is the blue one in stock?", name="Sheena")["status_code"]
        == 200
    )
    conversations = api.get(f"{base}/api/v1/conversations/").json()["results"]
    assert [c["contact"]["name"] for c in conversations] == ["Sheena"]
    conversation = conversations[0]
    assert conversation["window_expires_at"] is not None
    assert conversation["last_message_text"] == "Is the blue one in stock?"

    url = f"{base}/api/v1/conversations/{conversation['id']}/messages/"
    reply = api.post(url, json={"text": "Yes, in every size."})
    assert reply.status_code == 201
    sent = sim.wait_for_sent(lambda m: m["to"] == "16505551234", timeout=10)
    assert sent["payload"]["text"]["body"] == "Yes, in every size."
    assert sent["payload"]["biz_opaque_callback_data"] == reply.json()["id"]

    def reply_status() -> str | None:
        messages = api.get(url).json()["results"]
        status = messages[-1]["status"]
        return status if status == "read" else None

    assert wait_until(reply_status) == "read"


def test_the_workspace_clock_ticks_inside_the_server(embedded) -> None:
    """No run_timers process here: a snoozed chat wakes by the server's own clock."""
    base, sim, token = embedded
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    sim.customer_says("16505551234", "Call me back after lunch", name="Sheena")
    conversation = api.get(f"{base}/api/v1/conversations/").json()["results"][0]
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    snoozed = api.post(
        f"{base}/api/v1/conversations/{conversation['id']}/status/",
        json={"status": "snoozed", "snoozed_until": until.isoformat()},
    )
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["status"] == "snoozed"

    def status() -> str | None:
        current = api.get(f"{base}/api/v1/conversations/{conversation['id']}/").json()
        return current["status"] if current["status"] == "open" else None

    assert wait_until(status, timeout=10) == "open"
