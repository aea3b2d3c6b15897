"""The supervisors' dashboard in a real browser: its figures come from the
statistics API, a breach that happens while it is open appears live (the clock's
tick publishes it through the channel layer to the page's socket), and it speaks
Russian to a Russian browser."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from analytics import services as analytics_services
from analytics.models import SlaPolicy
from conversations.models import Conversation, Team, WhatsAppNumber
from inbox.tests.conftest import make_inbox_user
from inbox.tests.test_browser import customer_says, log_in

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator

pytestmark = pytest.mark.browser


def log_in_to_dashboard(page: Page, user: Operator) -> None:
    page.goto("/accounts/login/?next=/dashboard/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(user.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")


def test_a_breach_appears_live_on_the_dashboard(
    open_page: Any, live_stack: LiveStack, operator: Operator
) -> None:
    support = Team.objects.create(name="Support")
    WhatsAppNumber.objects.update(team=support)
    SlaPolicy.objects.create(
        name="Fast", team=support, first_response_minutes=1, business_hours=False
    )
    sam = make_inbox_user("sam", first_name="Sam", last_name="Supervisor", role="supervisor")
    # Written two minutes ago (the webhook arrives only now): its one-minute target passed.
    written = int(time.time()) - 120
    customer_says(live_stack.sim, "14155550141", "Where is my parcel?", timestamp=written)

    page = open_page()
    log_in_to_dashboard(page, sam)
    expect(page.get_by_test_id("figure-new")).to_have_text("1")
    expect(page.get_by_test_id("figure-unanswered")).to_have_text("1")
    expect(page.get_by_test_id("figure-missed")).to_have_text("1")
    expect(page.get_by_test_id("breach")).to_have_count(0)
    expect(page.get_by_test_id("trend-chart")).to_be_visible()
    expect(page.get_by_test_id("heatmap").locator("tbody tr")).to_have_count(7)
    # Nothing answered yet: the histogram of answer times is drawn, empty.
    expect(page.get_by_test_id("histogram-chart")).to_have_attribute("data-total", "0")
    expect(page.get_by_test_id("export-distribution")).to_have_attribute(
        "href", re.compile(r"^/api/v1/stats/distribution/\?.*format=csv")
    )
    expect(page.get_by_test_id("export-summary")).to_have_attribute(
        "href", re.compile(r"^/api/v1/stats/summary/\?.*format=csv")
    )

    # The clock ticks: the breach is recorded and published while the page is open.
    assert analytics_services.sla_breaches_record(timezone.now()) == 2  # warning and breach
    breach = page.get_by_test_id("breach").filter(has_text="Breached")
    expect(breach).to_have_count(1)
    expect(breach).to_contain_text("first response")

    # The filters are in the address: the same view opens from a shared link.
    page.get_by_test_id("filter-days").select_option("30")
    expect(page).to_have_url(re.compile(r"days=30"))
    again = open_page()
    log_in_to_dashboard(again, sam)
    again.goto(page.url)
    expect(again.get_by_test_id("filter-days")).to_have_value("30")
    expect(again.get_by_test_id("breach").filter(has_text="Breached")).to_have_count(1)


def test_the_operator_sees_the_chat_clock_run_out_live(
    open_page: Any, live_stack: LiveStack, operator: Operator
) -> None:
    """The list and the thread show the SLA clock; the breach the clock records
    while the page is open turns it overdue, the list sorts by it, and the
    assignee is notified."""
    support = Team.objects.create(name="Support")
    olga = User.objects.get(username=operator.username)
    support.members.add(olga)
    WhatsAppNumber.objects.update(team=support)
    SlaPolicy.objects.create(
        name="Fast", team=support, first_response_minutes=1, business_hours=False
    )
    # Written 45 seconds ago: fifteen seconds of its one-minute target are left.
    written = int(time.time()) - 45
    customer_says(live_stack.sim, "14155550142", "Is my order late?", timestamp=written)
    Conversation.objects.update(assignee=olga)
    due = written + 60

    page = open_page()
    log_in(page, operator)
    row = page.get_by_test_id("conversation-item").filter(has_text="Is my order late?")
    clock = row.get_by_test_id("sla-clock")
    expect(clock).to_have_attribute("data-overdue", "false")
    expect(clock).to_have_attribute("data-breached", "false")
    expect(clock).to_contain_text("SLA")
    row.click()
    expect(page.get_by_test_id("thread-sla")).to_have_attribute("data-overdue", "false")

    # Its due time passes; the clock's tick records the breach and tells the page.
    while time.time() < due + 1:
        time.sleep(0.2)
    assert analytics_services.sla_breaches_record(timezone.now()) == 2  # warning and breach
    expect(clock).to_have_attribute("data-breached", "true")  # told by the socket
    expect(clock).to_have_attribute("data-overdue", "true")
    expect(clock).to_contain_text("overdue")
    expect(page.get_by_test_id("thread-sla")).to_have_attribute("data-overdue", "true")
    expect(page.get_by_test_id("notifications-count")).to_have_text("2")

    # "SLA due soonest": the overdue chat first, before one whose minute has just begun.
    customer_says(live_stack.sim, "14155550143", "Just asking")
    page.get_by_test_id("filter-sort").select_option("sla")
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Is my order late?")
    expect(items.nth(1).get_by_test_id("sla-clock")).to_have_attribute("data-overdue", "false")


def test_operators_do_not_get_the_dashboard(
    open_page: Any, live_stack: LiveStack, operator: Operator
) -> None:
    page = open_page()
    page.goto("/accounts/login/?next=/dashboard/")
    page.locator("input[name=username]").fill(operator.username)
    page.locator("input[name=password]").fill(operator.password)
    page.get_by_test_id("login-submit").click()
    expect(page.locator("body")).not_to_contain_text("Response times and SLA")
    page.goto("/")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    expect(page.get_by_test_id("dashboard-link")).to_have_count(0)


def test_the_dashboard_in_russian(
    open_page: Any, live_stack: LiveStack, operator: Operator
) -> None:
    sam = make_inbox_user("sam", first_name="Sam", last_name="Supervisor", role="supervisor")
    page = open_page("ru-RU")
    log_in_to_dashboard(page, sam)
    expect(page.locator("h1")).to_have_text("Время ответа и SLA")
    expect(page.get_by_test_id("dashboard-link")).to_have_text("Панель")
    expect(page.get_by_test_id("heatmap").locator("tbody th").first).to_have_text("Пн")
