"""Whatever a customer sends is shown as text: over 150 known XSS payloads as message
text, profile names, document file names and captions, in a real browser; none
runs, none becomes markup."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from inbox.tests.test_browser import conversation, customer_says, log_in
from inbox.tests.xss_payloads import PAYLOADS

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator

pytestmark = pytest.mark.browser

# Every payload calls __xss(n) or alert(1); the page fixture fails on any dialog.
RECORD_EXECUTION = """
window.__xssHits = [];
window.__xss = (n) => window.__xssHits.push(n === undefined ? "?" : String(n));
"""
CUSTOMERS = 10


def test_no_customer_supplied_text_runs_as_script(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    assert len(set(PAYLOADS)) >= 150
    sim = live_stack.sim
    groups = [PAYLOADS[i::CUSTOMERS] for i in range(CUSTOMERS)]
    names = []
    for n, payloads in enumerate(groups):
        wa_id = f"4477009{n:05d}"
        # The profile name is a payload too, and so are a file's name and caption.
        name = payloads[0][:120]
        names.append(name)
        for text in payloads:
            customer_says(sim, wa_id, text, name=name)
        answer = sim.customer_sends_document(
            wa_id, b"%PDF-1.4", filename=payloads[-1][:200], caption=payloads[1], name=name
        )
        assert answer["status_code"] == 200, answer

    page.add_init_script(RECORD_EXECUTION)
    log_in(page, operator)
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(CUSTOMERS)

    for name, payloads in zip(names, groups, strict=True):
        chat = conversation(page, name.strip()[:40])
        expect(chat).to_have_count(1)
        chat.click()
        thread = page.get_by_test_id("thread")
        # Every message of the chat is there, as the literal text the customer sent.
        expect(thread.get_by_test_id("message")).to_have_count(len(payloads) + 1)
        for sample in payloads:
            if sample.isprintable():
                expect(thread).to_contain_text(sample.strip())
        assert_nothing_ran(page)


def assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__xssHits") == []
    # Nothing the customers wrote became an element either.
    injected = page.locator(
        "body img[src='x'], body iframe, body svg[onload], body [onerror], body [onload], "
        "body [onfocus], body [onmouseover], body a[href^='javascript' i]"
    )
    assert injected.count() == 0
