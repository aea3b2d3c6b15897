"""The conversation list in a real browser while customers keep writing: its rows
are updated in place, so a click always opens the chat it landed on, however
many live events arrive meanwhile."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from inbox.tests.test_browser import customer_says, log_in

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator
    from simulator import Simulator

pytestmark = pytest.mark.browser

# Records when each live message reaches the page's socket, to measure the rate.
COUNT_LIVE_MESSAGES = """
(() => {
  const arrivals = (window.__liveMessages = []);
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (message) => {
        if (JSON.parse(message.data).type === "message.created") arrivals.push(performance.now());
      });
    }
  };
})();
"""

# Customers who keep writing: each message is the newest, so it moves its chat to
# the top of the list (the busy rows reorder with every message).
BUSY = [
    ("14155551001", "Avery Busy"),
    ("14155551002", "Blake Busy"),
    ("14155551003", "Casey Busy"),
    ("14155551004", "Devon Busy"),
]
# The chats the operator clicks. Their customers keep writing too, with messages
# sent earlier and delivered late (older than their chat's last message): their
# rows change (unread counts) all the time but keep their place below the busy ones.
CLICKED = [
    ("14155551101", "Edith Lane"),
    ("14155551102", "Felix Moore"),
    ("14155551103", "Greta Nash"),
    ("14155551104", "Hugo Ortiz"),
    ("14155551105", "Iris Park"),
]
BUSY_PER_SECOND = 24
LATE_PER_SECOND = 10
LEAST_PER_SECOND = 20  # what the page must receive while the operator clicks
CLICKING_FOR = 10.0  # seconds
CLICK_EVERY = 0.4  # seconds
PRESS_MS = 100  # a person's click holds the button down about this long
OPENS_WITHIN_MS = 2_000


class Customer(threading.Thread):
    """A customer writing `rate` messages a second until stopped: signed webhooks
    posted to the live server, as WhatsApp posts them. Every customer writes from
    their own thread, so a slow answer holds back no one else."""

    def __init__(
        self, sim: Simulator, wa_id: str, *, rate: float, timestamps: Iterator[int]
    ) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.wa_id = wa_id
        self.rate = rate
        self.timestamps = timestamps
        self.answered = 0
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        due = time.monotonic()
        for n in itertools.count():
            if self.halt.is_set():
                return
            answer = self.sim.customer_says(
                self.wa_id, f"Update {n}", timestamp=next(self.timestamps)
            )
            if answer["status_code"] == 200:
                self.answered += 1
            else:
                self.errors.append(f"webhook answered {answer['status_code']}")
            due += 1 / self.rate
            self.halt.wait(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=30)


def test_every_click_opens_its_chat_while_the_list_updates_live(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    now = int(time.time())
    for i, (wa_id, name) in enumerate(CLICKED):
        customer_says(sim, wa_id, "Where is my order?", name=name, timestamp=now - 3 * 3600 + i)
    busy_since = now - 3600
    for wa_id, name in BUSY:
        customer_says(sim, wa_id, "Hello?", name=name, timestamp=busy_since)

    page.context.add_init_script(COUNT_LIVE_MESSAGES)
    log_in(page, operator)
    rows = page.get_by_test_id("conversation-item")
    expect(rows).to_have_count(len(BUSY) + len(CLICKED))
    title = page.get_by_test_id("thread-title")

    newest = itertools.count(busy_since + 1)  # every busy message is the newest yet
    customers = [
        Customer(sim, wa_id, rate=BUSY_PER_SECOND / len(BUSY), timestamps=newest)
        for wa_id, _ in BUSY
    ] + [
        Customer(
            sim,
            wa_id,
            rate=LATE_PER_SECOND / len(CLICKED),
            timestamps=itertools.repeat(now - 4 * 3600),
        )
        for wa_id, _ in CLICKED
    ]
    for customer in customers:
        customer.start()
    try:
        page.wait_for_timeout(1_000)  # the stream is flowing before the first click
        started = page.evaluate("performance.now()")
        clicks: list[str] = []
        lost: list[str] = []
        deadline = time.monotonic() + CLICKING_FOR
        for _, name in itertools.cycle(CLICKED):
            if time.monotonic() >= deadline:
                break
            due = time.monotonic() + CLICK_EVERY
            rows.filter(has_text=name).click(delay=PRESS_MS)
            clicks.append(name)
            try:
                expect(title).to_have_text(name, timeout=OPENS_WITHIN_MS)
            except AssertionError:
                lost.append(name)
            page.wait_for_timeout(max(0.0, due - time.monotonic()) * 1000)
        ended = page.evaluate("performance.now()")
    finally:
        for customer in customers:
            customer.stop()

    assert [error for customer in customers for error in customer.errors] == []
    arrivals = page.evaluate("window.__liveMessages")
    during = [at for at in arrivals if started <= at <= ended]
    seconds = (ended - started) / 1000
    rate = len(during) / seconds
    answered = sum(customer.answered for customer in customers)
    print(
        f"{len(during)} live messages in {seconds:.1f} s ({rate:.1f}/s), {answered} webhooks "
        f"answered; {len(clicks)} clicks, {len(lost)} lost"
    )
    assert lost == [], f"{len(lost)} of {len(clicks)} clicks opened nothing: {lost}"
    assert seconds >= CLICKING_FOR
    assert rate >= LEAST_PER_SECOND, f"only {rate:.1f} live messages a second"
    assert len(clicks) >= CLICKING_FOR / CLICK_EVERY * 0.8, clicks
