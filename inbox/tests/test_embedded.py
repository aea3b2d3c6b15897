"""The embedded default end to end: SQLite, in-memory live events, jobs inline.

A real Daphne process with no DATABASE_URL or REDIS_URL, and the simulator as
WhatsApp: a customer writes, an integration reads the chat through the API with
a token and replies, the simulator receives the reply, and its status webhooks
move the reply to read; the clock ticks inside the server; a campaign runs to
done; the server stopped in the middle of traffic ends.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from inbox.tests.conftest import free_port, web_command
from simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
ORDER_LATE = {
    "name": "order_late",
    "language": "en",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Hello {{1}}, your order is late: it arrives on {{2}}.",
            "example": {"body_text": [["Anna", "Friday"]]},
        }
    ],
}
pytestmark = pytest.mark.embedded


@pytest.fixture
def embedded(
    tmp_path: Path,
) -> Iterator[tuple[str, Simulator, str, str, subprocess.Popen[bytes]]]:
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

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    manage("migrate", "-v0")
    manage("demo_setup", "--no-auto-replies")
    token = manage("create_api_token", "operator")
    admin_token = manage("create_api_token", "admin")
    # The account has an approved order update (made in WhatsApp Manager), synced.
    sim.add_template(ORDER_LATE)
    manage("sync_templates")
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
        yield base, sim, token, admin_token, server
    finally:
        server.terminate()
        try:
            _, stderr = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()  # no server left behind: the test fails all the same
            server.communicate()
            raise
        finally:
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
    base, sim, token, _, _ = embedded
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
    base, sim, token, _, _ = embedded
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


def test_a_campaign_runs_to_done_without_any_server(embedded) -> None:
    """The send jobs run inside the server, on SQLite: each batch is stored by the
    job itself, in turn, and every customer who agreed gets one message."""
    base, sim, _, admin_token, _ = embedded
    api = requests.Session()
    api.headers["Authorization"] = f"Token {admin_token}"
    policy = api.put(
        f"{base}/api/v1/compliance-policy/",
        json={"quiet_hours": None, "frequency_cap": None, "allowed_countries": None},
    )
    assert policy.status_code == 200, policy.text
    number = _results(api.get(f"{base}/api/v1/numbers/").json())[0]["id"]
    template = next(
        t["id"]
        for t in _results(api.get(f"{base}/api/v1/templates/").json())
        if t["name"] == "order_late"
    )
    customers = ["16505551234", "447700900123", "4915112345678", "79161234567"]
    made = api.post(
        f"{base}/api/v1/campaigns/",
        json={
            "name": "Late parcels",
            "number": number,
            "consent_category": "order-updates",
            "variants": [{"template": template, "share": 100}],
            "audience": {"wa_ids": customers},
            "parameters": {"body": ["there", "Friday"]},
        },
    )
    assert made.status_code == 201, made.text
    campaign = made.json()["id"]
    assert api.post(f"{base}/api/v1/campaigns/{campaign}/start/").status_code == 202

    def done() -> dict | None:
        current = api.get(f"{base}/api/v1/campaigns/{campaign}/").json()
        return current if current["status"] == "done" else None

    finished = wait_until(done, timeout=20)
    assert finished["counts"]["sent"] == 4
    sent = [m["to"] for m in sim.sent_messages() if m["type"] == "template"]
    assert sorted(sent) == sorted(customers)


def _results(page: dict | list) -> list:
    return page["results"] if isinstance(page, dict) else page


def test_a_server_stopped_while_webhooks_arrive_ends_at_once(embedded) -> None:
    """A restart during traffic: the server stops and its process ends, though a
    request's thread may be publishing a live event when the event loop stops."""
    _, sim, _, _, server = embedded
    answered: list[int] = []
    stop = threading.Event()

    def customers_write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            answer = sim.customer_says(f"3934712{n % 50:05d}", f"Message {n}", name="Client")
            answered.append(answer["status_code"])

    writer = threading.Thread(target=customers_write, daemon=True)
    writer.start()
    try:
        wait_until(lambda: answered.count(200) >= 20)
        server.terminate()
        assert server.wait(timeout=8) == 0
    finally:
        stop.set()
        writer.join(10)
