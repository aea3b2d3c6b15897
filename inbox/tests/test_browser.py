"""The operator's inbox in a real browser, against the live stack (Daphne, an RQ
worker and the WhatsApp simulator): what the operator sees, as it happens."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from conversations.models import Conversation

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator
    from simulator import Simulator

pytestmark = pytest.mark.browser

# `make screenshots` refreshes the README's pictures; other runs leave them alone.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "inbox-screenshots"
)
SEND_TIMEOUT = 15.0


def log_in(page: Page, operator: Operator) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(operator.username)
    page.get_by_label("Password").fill(operator.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_text(operator.full_name)
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")


def conversation(page: Page, text: str) -> Locator:
    return page.get_by_test_id("conversation-item").filter(has_text=text)


def thread_message(page: Page, text: str) -> Locator:
    return page.get_by_test_id("thread").get_by_test_id("message").filter(has_text=text)


def customer_says(sim: Simulator, wa_id: str, text: str, **options: Any) -> None:
    """A customer writes; the webhook has been stored (and published) when this returns."""
    answer = sim.customer_says(wa_id, text, **options)
    assert answer["status_code"] == 200, answer


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def test_operator_follows_customers_live_and_replies(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    sheena, other = "14155550101", "14155550102"

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(operator.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()

    log_in(page, operator)
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(0)
    expect(page.get_by_test_id("conversation-list-empty")).to_be_visible()

    # Customers write: their conversations appear without a reload, newest on top.
    customer_says(sim, sheena, "My parcel arrived damaged", name="Sheena Nelson")
    expect(items).to_have_count(1)
    first = conversation(page, "Sheena Nelson")
    expect(first.get_by_test_id("conversation-preview")).to_have_text("My parcel arrived damaged")
    expect(first.get_by_test_id("unread-count")).to_have_text("1")
    expect(first.get_by_test_id("window-countdown")).to_have_text(
        re.compile(r"^window closes in (23h \d+m|24h 0m)$")
    )

    # Customer text is shown as written, never interpreted as markup.
    hostile_name = '<img src=x onerror="alert(1)"> Bob'
    customer_says(sim, other, "<b>Is anyone there?</b>", name=hostile_name)
    expect(items).to_have_count(2)
    expect(items.first.get_by_test_id("conversation-name")).to_have_text(hostile_name)
    expect(items.first.get_by_test_id("conversation-preview")).to_have_text(
        "<b>Is anyone there?</b>"
    )
    expect(items.nth(1)).to_contain_text("Sheena Nelson")
    expect(page.get_by_test_id("conversation-list").locator("img, b")).to_have_count(0)
    expect(items.first.get_by_test_id("unread-count")).to_have_text("1")
    screenshot(page, "inbox-list.png")

    # Opening a conversation shows its thread; a new message lands in it live.
    first.click()
    expect(page).to_have_url(re.compile(r"#c\d+$"))
    expect(page.get_by_test_id("thread-title")).to_have_text("Sheena Nelson")
    expect(thread_message(page, "My parcel arrived damaged")).to_have_attribute(
        "data-direction", "in"
    )
    customer_says(sim, sheena, "The box was crushed on one side")
    expect(thread_message(page, "The box was crushed on one side")).to_be_visible()
    expect(page.get_by_test_id("message")).to_have_count(2)

    # Every version of the reply's bubble is recorded, to see each tick it goes through.
    page.evaluate(
        """() => {
          const seen = (window.__statuses = []);
          new MutationObserver((records) => {
            for (const record of records)
              for (const node of record.addedNodes)
                if (node.dataset?.direction === "out") seen.push(node.dataset.status);
          }).observe(document.querySelector('[data-testid="thread"]'), {childList: true});
        }"""
    )
    reply = "Sorry to hear that! A replacement is on its way today."
    sent_before = len(sim.sent_messages())
    composer = page.get_by_test_id("composer-input")
    composer.fill(reply)
    composer.press("Enter")
    expect(composer).to_have_value("")
    outbound = thread_message(page, reply)
    expect(outbound).to_have_attribute("data-direction", "out")

    sent = sim.wait_for_sent(
        lambda record: record["to"] == sheena, timeout=SEND_TIMEOUT, since=sent_before
    )
    assert sent["type"] == "text"
    assert sent["payload"]["text"]["body"] == reply

    expect(outbound).to_have_attribute("data-status", "read", timeout=SEND_TIMEOUT * 1000)
    expect(outbound.get_by_test_id("ticks")).to_have_text("✓✓")
    statuses = page.evaluate("window.__statuses")
    assert "delivered" in statuses, statuses
    assert statuses.index("delivered") < statuses.index("read"), statuses
    assert [r for r in sim.sent_messages()[sent_before:] if r["to"] == sheena] == [sent]
    expect(items.first.get_by_test_id("conversation-preview")).to_have_text(reply)
    screenshot(page, "inbox-thread.png")


def test_closed_window_disables_the_composer(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    day_and_more_ago = int(time.time()) - 25 * 3600
    customer_says(
        sim, "14155550201", "Do you ship to Canada?", name="Walter Gray", timestamp=day_and_more_ago
    )
    customer_says(sim, "14155550202", "Thanks, all good", name="Maya Lopez")

    log_in(page, operator)
    expect(page.get_by_test_id("conversation-item")).to_have_count(2)
    stale = conversation(page, "Walter Gray")
    expect(stale.get_by_test_id("window-countdown")).to_have_text("window closed")
    expect(conversation(page, "Maya Lopez").get_by_test_id("window-countdown")).to_have_text(
        re.compile(r"^window closes in ")
    )

    stale.click()
    expect(thread_message(page, "Do you ship to Canada?")).to_be_visible()
    banner = page.get_by_test_id("window-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(
        "The 24-hour window is closed: the customer last wrote more than 24 hours ago. "
        "Only an approved template can be sent."
    )
    expect(page.get_by_test_id("composer-input")).to_be_disabled()
    expect(page.get_by_test_id("composer-send")).to_be_disabled()
    screenshot(page, "inbox-window-closed.png")

    # The other conversation's window is open: the composer is usable there.
    conversation(page, "Maya Lopez").click()
    expect(thread_message(page, "Thanks, all good")).to_be_visible()
    expect(banner).to_be_hidden()
    composer = page.get_by_test_id("composer-input")
    expect(composer).to_be_enabled()

    # The window closes while the page still shows it open: the server's refusal
    # is explained the same way and the composer is disabled.
    Conversation.objects.filter(contact__profile_name="Maya Lopez").update(
        last_inbound_at=timezone.now() - dt.timedelta(hours=25)
    )
    composer.fill("Glad to hear it!")
    composer.press("Enter")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The 24-hour customer service window is closed")
    expect(composer).to_be_disabled()
    expect(composer).to_have_value("Glad to hear it!")
    expect(page.get_by_test_id("message")).to_have_count(1)

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_reconnecting_socket_catches_up_on_missed_messages(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    nora, late = "14155550301", "14155550302"
    customer_says(sim, nora, "Can I change my delivery address?", name="Nora Quinn")

    log_in(page, operator)
    conversation(page, "Nora Quinn").click()
    expect(thread_message(page, "Can I change my delivery address?")).to_be_visible()

    # While the page is disconnected, customers keep writing.
    page.evaluate("window.__inbox.socket.stop()")
    state = page.get_by_test_id("connection-state")
    expect(state).to_have_attribute("data-state", "offline")
    customer_says(sim, nora, "It is 12 Elm Street now")
    customer_says(sim, late, "Hello from a new customer", name="Liam Park")
    expect(page.get_by_test_id("message")).to_have_count(1)
    expect(page.get_by_test_id("conversation-item")).to_have_count(1)

    # Once connected again, the page re-reads the list and the open thread.
    page.evaluate("window.__inbox.socket.start()")
    expect(state).to_have_attribute("data-state", "live")
    expect(thread_message(page, "It is 12 Elm Street now")).to_be_visible()
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Liam Park")
    expect(items.first.get_by_test_id("unread-count")).to_have_text("1")

    # A dropped connection comes back by itself, and live events flow again.
    opened = page.evaluate("window.__inbox.socket.connections")
    page.evaluate("window.__inbox.socket.close()")
    page.wait_for_function("n => window.__inbox.socket.connections > n", arg=opened)
    expect(state).to_have_attribute("data-state", "live")
    customer_says(sim, nora, "Thank you!")
    expect(thread_message(page, "Thank you!")).to_be_visible()
    expect(page.get_by_test_id("message")).to_have_count(3)

    # A reload keeps the open conversation.
    page.reload()
    expect(page.get_by_test_id("thread-title")).to_have_text("Nora Quinn")
    expect(page.get_by_test_id("message")).to_have_count(3)


def test_media_and_failed_sends_are_explained(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    ines = "14155550401"
    answer = sim.customer_sends_image(
        ines, b"\xff\xd8\xff\xe0 not really a photo", caption="Photo of the dent", name="Ines Roy"
    )
    assert answer["status_code"] == 200, answer

    log_in(page, operator)
    conversation(page, "Ines Roy").click()
    photo = thread_message(page, "Photo of the dent")
    expect(photo).to_have_attribute("data-type", "image")
    expect(photo.get_by_test_id("media-caption")).to_have_text("Photo of the dent")

    # WhatsApp refuses the send: the operator sees that it failed, and why, as text.
    sim.fail_next(131026)
    composer = page.get_by_test_id("composer-input")
    composer.fill("We will call you instead")
    page.get_by_test_id("composer-send").click()
    failed = thread_message(page, "We will call you instead")
    expect(failed).to_have_attribute("data-status", "failed", timeout=SEND_TIMEOUT * 1000)
    expect(failed.get_by_test_id("ticks")).to_have_text("!")
    error = failed.get_by_test_id("message-error")
    expect(error).to_contain_text("could not be delivered")
    expect(error).to_contain_text("(error 131026)")
    # Sending the same again would not help: no retry is offered.
    expect(failed.get_by_test_id("retry-send")).to_have_count(0)
    screenshot(page, "inbox-failed-send.png")


def test_a_list_answer_read_before_a_live_chat_arrived_does_not_hide_it(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    customer_says(sim, "14155550311", "First question", name="Olive Grant")
    log_in(page, operator)
    expect(page.get_by_test_id("conversation-item")).to_have_count(1)

    # The next list answer is read now, then held while a new customer writes.
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append((route, route.fetch()))

    page.route(re.compile(r"/api/v1/conversations/\?"), hold)
    opened = page.evaluate("window.__inbox.socket.connections")
    page.evaluate("window.__inbox.socket.close()")
    page.wait_for_function("n => window.__inbox.socket.connections > n", arg=opened)
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    # The page reads the list twice: when its socket dropped (it follows the API
    # while reconnecting), and once the new socket's first pong proves it delivers.
    deadline = time.monotonic() + 10
    while len(held) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(20)  # lets Playwright run the route handler
    assert len(held) == 2, "the page did not re-read the list after reconnecting"
    customer_says(sim, "14155550312", "Just arrived", name="Hugo Lane")
    expect(conversation(page, "Hugo Lane")).to_be_visible()

    expect(page.get_by_test_id("conversation-list")).to_have_attribute("aria-busy", "true")

    # The answers read before Hugo wrote arrive last: his chat stays in the list.
    for route, response in held:
        route.fulfill(response=response)
    page.unroute(re.compile(r"/api/v1/conversations/\?"))
    # The list says it is busy until it has handled every answer it asked for.
    expect(page.get_by_test_id("conversation-list")).to_have_attribute("aria-busy", "false")
    expect(conversation(page, "Hugo Lane")).to_be_visible()
    expect(page.get_by_test_id("conversation-item")).to_have_count(2)


def test_the_pages_have_their_icon(page: Page, live_stack: LiveStack, operator: Operator) -> None:
    log_in(page, operator)
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_attribute("href", "/static/inbox/favicon.svg")
    # Whatever the page links, browsers and crawlers also ask for /favicon.ico.
    for address in ("/static/inbox/favicon.svg", "/favicon.ico"):
        answer = page.request.get(address)
        assert answer.status == 200, address
        assert answer.headers["content-type"] == "image/svg+xml", address
