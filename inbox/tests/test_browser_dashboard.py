"""The supervisors' dashboard in a real browser: its figures come from the
statistics API, a breach that happens while it is open appears live (the clock's
tick publishes it through the channel layer to the page's socket), and it speaks
Russian to a Russian browser."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from analytics import services as analytics_services
from analytics.models import SlaPolicy
from conversations.models import Team, WhatsAppNumber
from inbox.tests.conftest import make_inbox_user
from inbox.tests.test_browser import customer_says

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
