"""Campaigns in a real browser, against the live stack: an admin builds a campaign
from a label, sees the preview with its exclusions and cost, starts it, watches the
progress bar reach done, and a customer's reply lands in the inbox tagged with the
campaign. Supervisors only read the page; operators get 403."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.apps import apps
from playwright.sync_api import Page, expect

from conversations import services
from conversations.models import Contact, Conversation, Label
from conversations.tests.factories import consent_to, no_quiet_hours
from inbox.tests.conftest import make_inbox_user
from inbox.tests.test_browser import conversation, customer_says
from inbox.tests.test_browser_templates import approved_template, sign_in

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Page]
CUSTOMERS = {
    "393471230101": "Giulia Bianchi",
    "393471230102": "Marco Verdi",
    "393471230103": "Luca Neri",  # never agreed: excluded
}
PROGRESS_TIMEOUT_MS = 60_000


def late_orders(live_stack: LiveStack) -> Label:
    """Three customers wrote about late orders and carry the label; two of them
    agreed to order updates."""
    sim = live_stack.sim
    label = Label.objects.create(name="Late orders")
    for wa_id, name in CUSTOMERS.items():
        customer_says(sim, wa_id, "Where is my order?", name=name)
        Conversation.objects.get(contact__wa_id=wa_id).labels.add(label)
    services.consent_category_create(
        waba_id=sim.waba_id, slug="orders", name="Order updates", template_categories=["UTILITY"]
    )
    for wa_id in list(CUSTOMERS)[:2]:
        consent_to(Contact.objects.get(wa_id=wa_id), waba_id=sim.waba_id, slug="orders")
    no_quiet_hours()
    importlib.import_module("campaigns.migrations.0002_prices").seed(apps, None)
    return label


def new_campaign(open_page: OpenPage, live_stack: LiveStack, name: str) -> Page:
    """An admin on the campaigns page, the form's first steps done: ``name``, order
    updates as the consent, the approved ``order_update`` template (the customers
    of ``late_orders`` and the template are made first)."""
    late_orders(live_stack)
    approved_template(live_stack)
    admin = make_inbox_user("ada", first_name="Ada", last_name="Admin", role="admin")
    page = open_page()
    sign_in(page, admin)
    page.get_by_test_id("nav-campaigns").click()
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    page.get_by_test_id("campaign-name").fill(name)
    page.get_by_test_id("campaign-consent").select_option("orders")
    page.get_by_test_id("campaign-template").select_option(label="order_update (en_US, UTILITY)")
    return page


def test_admin_builds_previews_starts_and_a_reply_is_tagged_with_the_campaign(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    page = new_campaign(open_page, live_stack, "Delivery delay")
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("campaign-list-empty")).to_be_visible()
    page.get_by_test_id("campaign-label").select_option(label="Late orders")
    page.get_by_test_id("campaign-variables").fill("friend, your order, Friday")
    page.get_by_test_id("campaign-create").click()

    # The preview: two will receive it, one has not agreed; the cost by country.
    expect(page.get_by_test_id("campaign-preview")).to_be_visible()
    expect(page.get_by_test_id("preview-eligible")).to_have_text("2")
    no_consent = page.locator('[data-testid="preview-excluded-reason"][data-reason="no_consent"]')
    expect(no_consent).to_contain_text("1")
    expect(page.get_by_test_id("preview-cost")).to_have_text("0.0600 USD")
    expect(page.locator('[data-testid="preview-country"][data-country="IT"]')).to_be_visible()
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "draft")

    page.get_by_test_id("campaign-start").click()
    progress = page.get_by_test_id("campaign-progress")
    expect(page.get_by_test_id("campaign-status")).to_have_attribute(
        "data-status", "done", timeout=PROGRESS_TIMEOUT_MS
    )
    expect(progress).to_have_attribute("data-percent", "100")
    counts = page.get_by_test_id("campaign-counts").get_by_test_id("counts-row").first
    expect(counts.get_by_test_id("count-sent")).to_have_text("2")
    expect(counts.get_by_test_id("count-excluded")).to_have_text("1")
    sent_to = {m["to"] for m in sim.sent_messages() if m["type"] == "template"}
    assert sent_to == set(list(CUSTOMERS)[:2])

    # Giulia answers: her chat shows which campaign she answers.
    customer_says(sim, "393471230101", "Thanks, Friday is fine", name="Giulia Bianchi")
    inbox = open_page()
    sign_in(inbox, operator)
    row = conversation(inbox, "Giulia Bianchi")
    expect(row.get_by_test_id("conversation-labels")).to_contain_text("Campaign: Delivery delay")
    page.reload()
    page.get_by_test_id("campaign-open").first.click()
    counts = page.get_by_test_id("campaign-counts").get_by_test_id("counts-row").first
    expect(counts.get_by_test_id("count-replied")).to_have_text("1")


def test_supervisors_read_and_operators_get_403(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    supervisor = make_inbox_user("sam", first_name="Sam", last_name="Super", role="supervisor")
    page = open_page()
    sign_in(page, supervisor)
    page.get_by_test_id("nav-campaigns").click()
    expect(page.get_by_test_id("read-only-note")).to_be_visible()
    expect(page.get_by_test_id("campaign-form")).to_have_count(0)

    other = open_page()
    sign_in(other, operator)
    expect(other.get_by_test_id("nav-campaigns")).to_have_count(0)
    answer = other.goto("/campaigns/")
    assert answer is not None and answer.status == 403


def test_admin_builds_a_campaign_from_a_csv_file_with_each_customers_variables(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    from campaigns.models import Recipient

    page = new_campaign(open_page, live_stack, "From the shop's export")
    page.get_by_test_id("audience-csv-choice").check()

    # A file without a wa_id column: the server says what is wrong, nothing is made.
    page.get_by_test_id("campaign-csv").set_input_files(
        files=[{"name": "export.csv", "mimeType": "text/csv", "buffer": b"phone,name\n1,2\n"}]
    )
    page.get_by_test_id("campaign-create").click()
    expect(page.get_by_test_id("campaign-form-error")).to_contain_text("wa_id")

    rows = "wa_id,name,order,day\n393471230101,Giulia,A-1,Friday\n393471230102,Marco,A-2,Monday\n"
    page.get_by_test_id("campaign-csv").set_input_files(
        files=[{"name": "export.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_test_id("campaign-create").click()
    expect(page.get_by_test_id("preview-eligible")).to_have_text("2")
    assert dict(Recipient.objects.values_list("wa_id", "parameters")) == {
        "393471230101": {"body": ["Giulia", "A-1", "Friday"]},
        "393471230102": {"body": ["Marco", "A-2", "Monday"]},
    }


def test_admin_builds_a_campaign_from_the_inbox_lists_filters(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    from campaigns.models import Recipient

    page = new_campaign(open_page, live_stack, "Marco's late order")
    page.get_by_test_id("campaign-variables").fill("Marco, A-2, Monday")
    page.get_by_test_id("audience-filter-choice").check()
    page.get_by_test_id("campaign-filter-status").select_option("open")
    page.get_by_test_id("campaign-filter-label").select_option(label="Late orders")
    page.get_by_test_id("campaign-filter-search").fill("Marco")
    page.get_by_test_id("campaign-create").click()

    # Of the three open chats with the label, the search keeps Marco's.
    expect(page.get_by_test_id("preview-eligible")).to_have_text("1")
    assert list(Recipient.objects.values_list("wa_id", flat=True)) == ["393471230102"]
