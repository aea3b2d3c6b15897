"""The live stack the browser tests drive: real processes, as in production.

* the WhatsApp simulator, serving the Graph API and posting signed webhooks,
  runs in a thread of the test process;
* a Daphne process serves the pages, the API, the webhook and the WebSocket;
* an RQ worker process runs the send jobs (they go through Redis);
* both processes use the test database (rows the tests commit are visible to
  them, hence ``transactional_db``) and the suite's Redis database.

The processes live for the whole module; every test gets the business number
and an operator again because the database is emptied after each test.
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import override_settings
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from rq import Queue, Worker

from conversations import services
from conversations.models import AgentConnection
from simulator import Simulator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 30.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 800}
OPERATOR_PASSWORD = "operator-pass-2026"


@dataclass
class Service:
    """A child process with its output in files (a pipe nobody reads could fill up)."""

    name: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @classmethod
    def start(cls, name: str, command: list[str], env: dict[str, str], logs: Path) -> Service:
        stdout, stderr = logs / f"{name}.out.log", logs / f"{name}.err.log"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err)
        return cls(name=name, process=process, stdout=stdout, stderr=stderr)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")

    def describe(self) -> str:
        return (
            f"{self.name} (exit code {self.process.poll()})\n--- stdout\n"
            f"{self.stdout.read_text(errors='replace')}\n--- stderr\n{self.errors()}"
        )


@dataclass
class LiveStack:
    base_url: str
    sim: Simulator
    daphne: Service
    worker: Service

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass(frozen=True)
class Operator:
    username: str
    password: str
    full_name: str


def web_command(port: int) -> list[str]:
    """The production web process (``python -m inbox.serve``) on ``port``."""
    command = [str(BIN / "python"), "-m", "inbox.serve", "-b", "127.0.0.1", "-p", str(port)]
    return [*command, "inbox.asgi:application"]


# Ports the kernel never hands out as the local end of an outgoing connection
# (below Linux's ephemeral range, 32768-60999).
SERVER_PORTS = range(20000, 32768)


def free_port() -> int:
    """A port to start a server on. Asking the kernel for one (bind to 0) gives a
    port of the ephemeral range, which any outgoing connection (a keep-alive
    client of the simulator, a database connection) may take as its own before
    the server binds it; a free port below that range can only be taken by
    another server."""
    for _ in range(100):
        port = random.choice(SERVER_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port to start a server on")


def database_url(settings: dict[str, Any]) -> str:
    """The URL of the database Django is using now (the test database, once created)."""
    user = quote(str(settings.get("USER") or ""), safe="")
    password = quote(str(settings.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(str(settings.get("HOST") or "localhost"), safe="")
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(str(settings['NAME']), safe='')}"


def wait_until(condition: Any, what: str, services: list[Service]) -> None:
    """Poll ``condition`` until it is true; fail early if a service died meanwhile."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not condition():
        for service in services:
            if not service.running():
                pytest.fail(
                    f"{service.name} exited while waiting for {what}:\n{service.describe()}"
                )
        if time.monotonic() > deadline:
            details = "\n".join(service.describe() for service in services)
            pytest.fail(f"timed out waiting for {what}\n{details}")
        time.sleep(0.1)


def answers_health(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def live_stack(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    redis_url = os.environ.get("REDIS_URL", "")
    if connection.vendor != "postgresql" or not redis_url:
        pytest.skip("the live stack needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    logs = tmp_path_factory.mktemp("live-stack")
    # This run's own channel-layer prefix, in the test process and in the stack's
    # processes alike: another run on the same Redis then cannot cross-talk.
    prefix = f"inbox-test-{uuid.uuid4().hex[:12]}"
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"].setdefault("CONFIG", {})["prefix"] = prefix
    isolated = override_settings(CHANNEL_LAYERS=layers)
    isolated.enable()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    sim = Simulator(
        app_webhook_url=f"{base_url}/webhooks/whatsapp/",
        app_secret=os.environ["WHATSAPP_APP_SECRET"],
        access_token=os.environ["WHATSAPP_ACCESS_TOKEN"],
    ).start()
    env = {
        **os.environ,
        "CHANNEL_LAYER_PREFIX": prefix,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_url,
        "WHATSAPP_GRAPH_URL": sim.graph_url,
        "WHATSAPP_APP_SECRET": os.environ["WHATSAPP_APP_SECRET"],
        "WHATSAPP_ACCESS_TOKEN": os.environ["WHATSAPP_ACCESS_TOKEN"],
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    started: list[Service] = []
    try:
        started.append(
            Service.start(
                "daphne",
                web_command(port),
                env,
                logs,
            )
        )
        started.append(
            Service.start(
                "rqworker",
                [str(BIN / "python"), "manage.py", "rqworker", "default", "--with-scheduler"],
                env,
                logs,
            )
        )
        daphne, worker = started
        stack = LiveStack(base_url=base_url, sim=sim, daphne=daphne, worker=worker)
        wait_until(lambda: answers_health(stack.url("/health/")), "/health/", started)
        workers = redis.Redis.from_url(redis_url)
        wait_until(lambda: workers.scard("rq:workers") > 0, "the RQ worker", started)
        yield stack
    finally:
        sim.stop()
        for service in reversed(started):
            service.stop()
        isolated.disable()
    for service in started:
        assert "Traceback" not in service.errors(), service.describe()


# The browser contexts a test opened, so the database teardown can quiet them first.
BROWSER_CONTEXTS = pytest.StashKey[list[BrowserContext]]()


def settle_stack(stack: LiveStack, request: pytest.FixtureRequest) -> None:
    """Quiet everything that could still write to the database as a test ends: the
    pages, the simulator's pending webhooks, and the worker's jobs. The flush that
    empties the database between tests would otherwise race them (and PostgreSQL may
    pick the flush as a deadlock's victim)."""
    for context in request.node.stash.get(BROWSER_CONTEXTS, []):
        for open_page in context.pages:
            # A page that is already gone writes nothing either.
            with contextlib.suppress(PlaywrightError):
                open_page.goto("about:blank")
    # Their sockets' goodbyes (presence, in the database) are handled by the server
    # after the pages left: wait for those too.
    deadline = time.monotonic() + 10
    while AgentConnection.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stack.sim.settle()
    workers = redis.Redis.from_url(os.environ["REDIS_URL"])
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        busy = any(worker.get_state() == "busy" for worker in Worker.all(connection=workers))
        if not busy and not Queue("default", connection=workers).count:
            break
        time.sleep(0.05)
    stack.sim.settle()  # whatever the last jobs sent starts no more webhooks


@pytest.fixture
def transactional_db(transactional_db: None, request: pytest.FixtureRequest) -> Iterator[None]:
    """pytest-django's, with the live stack quieted before the database is emptied."""
    yield
    if "live_stack" in request.fixturenames:
        settle_stack(request.getfixturevalue("live_stack"), request)


@pytest.fixture
def operator(live_stack: LiveStack, transactional_db: None) -> Operator:
    """The simulator's number registered and an operator who may use the inbox."""
    sim = live_stack.sim
    services.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Acme Shop",
    )
    # The role groups come from a data migration, which the flush between tests undoes.
    group, _ = Group.objects.get_or_create(name="operator")
    user = User.objects.create_user(
        username="olga", password=OPERATOR_PASSWORD, first_name="Olga", last_name="Operator"
    )
    user.groups.add(group)
    return Operator(username="olga", password=OPERATOR_PASSWORD, full_name="Olga Operator")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # tests and pytest-django make between browser steps are still synchronous.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()


def policy_violations(message: ConsoleMessage) -> list[str]:
    """Chromium reports what the Content-Security-Policy blocked in the console."""
    if message.type == "error" and "Content Security Policy" in message.text:
        return [f"blocked by the Content-Security-Policy: {message.text}"]
    return []


@pytest.fixture
def page(browser: Browser, live_stack: LiveStack, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser profile per test; a JavaScript error fails the test."""
    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport=VIEWPORT, base_url=live_stack.base_url)
    request.node.stash.setdefault(BROWSER_CONTEXTS, []).append(context)
    page = context.new_page()
    errors: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        # Customer text must never run as code: an alert() from it would land here.
        errors.append(f"unexpected dialog: {dialog.message}")
        dialog.dismiss()

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.extend(policy_violations(message)))
    page.on("dialog", on_dialog)
    yield page
    context.close()
    assert not errors, errors


# --- The operator workspace: several people, each in their own browser ------------

# Desktop notifications are recorded instead of shown: a page's Notification is
# replaced before any of its scripts run, with permission already granted.
FAKE_DESKTOP_NOTIFICATIONS = """
(() => {
  const shown = (window.__desktopNotifications = []);
  class RecordedNotification {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options = {}) { shown.push({ title, body: options.body || "" }); }
    close() {}
  }
  window.Notification = RecordedNotification;
})();
"""


def make_inbox_user(
    username: str,
    *,
    first_name: str,
    last_name: str,
    role: str = "operator",
    teams: tuple[Any, ...] = (),
    language: str = "",
    time_zone: str = "",
) -> Operator:
    """A user with a role, teams and an agent profile (language, time zone)."""
    from conversations.models import AgentProfile

    group, _ = Group.objects.get_or_create(name=role)
    user = User.objects.create_user(
        username=username, password=OPERATOR_PASSWORD, first_name=first_name, last_name=last_name
    )
    user.groups.add(group)
    for team in teams:
        team.members.add(user)
    AgentProfile.objects.update_or_create(
        user=user, defaults={"language": language, "time_zone": time_zone}
    )
    return Operator(
        username=username, password=OPERATOR_PASSWORD, full_name=f"{first_name} {last_name}"
    )


@pytest.fixture
def open_page(
    browser: Browser, live_stack: LiveStack, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """Opens a page in a fresh browser profile with the given locale (Accept-Language);
    a JavaScript error in any of them fails the test."""
    expect.set_options(timeout=10_000)
    contexts = request.node.stash.setdefault(BROWSER_CONTEXTS, [])
    errors: list[str] = []

    def open_one(locale: str = "en-US") -> Page:
        context = browser.new_context(
            viewport=VIEWPORT, base_url=live_stack.base_url, locale=locale
        )
        context.add_init_script(FAKE_DESKTOP_NOTIFICATIONS)
        contexts.append(context)
        page = context.new_page()

        def on_dialog(dialog: Dialog) -> None:
            errors.append(f"unexpected dialog: {dialog.message}")
            dialog.dismiss()

        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.extend(policy_violations(message)))
        page.on("dialog", on_dialog)
        return page

    yield open_one
    for context in contexts:
        context.close()
    assert not errors, errors
