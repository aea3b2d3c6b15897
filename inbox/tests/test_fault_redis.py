"""Redis restarts, loses its data, or its connections are cut while an operator's
page is open.

The pub/sub channel layer keeps no messages: whatever is published while the
server's subscriptions are down is gone, and redis-py reconnects and subscribes
again without a word. The layer tells its sockets when that happened, and the page
re-reads at once; its ping (answered through the layer) is far slower here than the
recovery the test waits for, so it is the resync that shows what arrived meanwhile.
This runs against its own Redis server, which the test kills and starts again, with
Daphne and the simulator as real processes, in Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import Group, User
from django.db import connection
from playwright.sync_api import Browser, Page, expect

from conversations import services
from inbox.tests.conftest import (
    OPERATOR_PASSWORD,
    VIEWPORT,
    Service,
    answers_health,
    database_url,
    free_port,
    wait_until,
    web_command,
)
from inbox.tests.tcp_proxy import TcpProxy
from simulator import Simulator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
]

# Slower than every wait below: a recovery the test sees is not the heartbeat's.
PING_EVERY = "60"


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@dataclass
class Stack:
    base_url: str
    redis: RedisServer
    proxy: TcpProxy
    sim: Simulator
    daphne: Service


@pytest.fixture
def stack(transactional_db: None, tmp_path: Path) -> Iterator[Stack]:
    if connection.vendor != "postgresql":
        pytest.skip("the live stack needs PostgreSQL")
    server = RedisServer(port=free_port(), workdir=tmp_path)
    server.start()
    # Daphne reaches Redis through a proxy the test can cut.
    proxy = TcpProxy("127.0.0.1", server.port).start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    sim = Simulator(
        app_webhook_url=f"{base_url}/webhooks/whatsapp/",
        app_secret=os.environ["WHATSAPP_APP_SECRET"],
        access_token=os.environ["WHATSAPP_ACCESS_TOKEN"],
        webhook_retries=0,
    ).start()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0",
        "CHANNEL_LAYER_PREFIX": f"inbox-redis-{uuid.uuid4().hex[:12]}",
        "WHATSAPP_GRAPH_URL": sim.graph_url,
        "INBOX_PING_EVERY": PING_EVERY,
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    daphne = Service.start(
        "daphne",
        web_command(port),
        env,
        tmp_path,
    )
    try:
        wait_until(lambda: answers_health(f"{base_url}/health/"), "/health/", [daphne])
        services.number_register(
            phone_number_id=sim.phone_number_id,
            display_phone_number=sim.display_phone_number,
            waba_id=sim.waba_id,
            name="Acme Shop",
        )
        user = User.objects.create_user(
            username="olga", password=OPERATOR_PASSWORD, first_name="Olga", last_name="Operator"
        )
        user.groups.add(Group.objects.get_or_create(name="operator")[0])
        yield Stack(base_url=base_url, redis=server, proxy=proxy, sim=sim, daphne=daphne)
    finally:
        sim.stop()
        daphne.stop()
        proxy.stop()
        server.kill()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport=VIEWPORT, base_url=stack.base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def says(stack: Stack, wa_id: str, text: str) -> None:
    answer = stack.sim.customer_says(wa_id, text, name="Ana")
    assert answer["status_code"] == 200, answer


@pytest.mark.parametrize("loss", ["restart", "flush", "cut", "unreachable"])
def test_after_redis_loses_its_data_the_page_recovers_and_shows_what_arrived_meanwhile(
    stack: Stack, page: Page, loss: str
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_test_id("login-submit").click()
    state = page.get_by_test_id("connection-state")
    expect(state).to_have_attribute("data-state", "live")

    says(stack, "16505550171", "Before the restart")
    item = page.get_by_test_id("conversation-item").filter(has_text="Ana")
    expect(item).to_contain_text("Before the restart")
    item.click()
    thread = page.get_by_test_id("thread")
    expect(thread.get_by_test_id("message").filter(has_text="Before the restart")).to_be_visible()

    # A restart breaks the layer's connections and loses what is published until
    # the server has subscribed again; so does a cut (a proxy or a network that drops
    # idle connections); a flush (a failover to an empty replica) must lose nothing.
    # While Redis is unreachable from the server, every publish fails: the customers'
    # messages are stored all the same, and nothing is live until it is back.
    if loss == "restart":
        stack.redis.kill()
        stack.redis.start()
    elif loss == "cut":
        redis.Redis.from_url(stack.redis.url).client_kill_filter(_type="pubsub")
    elif loss == "unreachable":
        stack.proxy.refuse()
    else:
        redis.Redis.from_url(stack.redis.url).flushall()
    says(stack, "16505550171", "While the groups were lost")
    says(stack, "16505550172", "A new customer meanwhile")
    if loss == "unreachable":
        time.sleep(2)
        stack.proxy.restore()

    # The server's subscriptions come back and it tells the page, which re-reads.
    expect(
        thread.get_by_test_id("message").filter(has_text="While the groups were lost")
    ).to_be_visible(timeout=10_000)
    expect(
        page.get_by_test_id("conversation-item").filter(has_text="A new customer meanwhile")
    ).to_be_visible()
    expect(state).to_have_attribute("data-state", "live")

    # And it is live again: the next message arrives without any reload.
    says(stack, "16505550171", "After the recovery")
    expect(thread.get_by_test_id("message").filter(has_text="After the recovery")).to_be_visible(
        timeout=5_000
    )
    assert stack.daphne.running()
