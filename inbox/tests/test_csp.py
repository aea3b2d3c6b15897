"""Every page carries a strict Content-Security-Policy: scripts only from the site's
own files, no plugins, never framed. (The browser tests check that the pages work
under it: a violation reported in Chromium's console fails them.)"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from conversations.tests.factories import TeamFactory, UserFactory
from inbox.tests.conftest import LiveStack, policy_violations

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


PAGES = [
    "/",
    "/templates/",
    "/consent/",
    "/accounts/login/",
    "/admin/",
    "/admin/conversations/team/add/",
    "/admin/conversations/team/{team}/change/",
    "/admin/auth/user/{user}/change/",
    "/api/docs/",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_allows_scripts_from_the_site_only(admin_client: Client, path: str) -> None:
    team = TeamFactory(name="Support")
    user = UserFactory(username="olga", role="operator")
    response = admin_client.get(path.format(team=team.pk, user=user.pk))
    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["media-src"] == ["'self'", "blob:"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    # Only the API's documentation (Swagger UI) styles itself inline.
    inline_styles = "'unsafe-inline'" in directives["style-src"]
    assert inline_styles == (path == "/api/docs/")


def test_the_operators_page_has_no_inline_script(client: Client) -> None:
    client.force_login(UserFactory(username="olga", role="operator"))
    html = client.get("/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), attributes
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"


# --- In Chromium ----------------------------------------------------------------------


def admin_signed_in(page: Page) -> None:
    User.objects.create_superuser(username="root", password="root-pass-2026", email="")
    page.goto("/admin/login/")
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill("root-pass-2026")
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_site_and_the_api_docs_work_under_the_policy(page: Page) -> None:
    """The ``page`` fixture fails the test on any violation Chromium reports."""
    TeamFactory(name="Support")
    admin_signed_in(page)
    page.goto("/admin/conversations/team/add/")
    # The members' two-list chooser is drawn by the admin's own scripts.
    expect(page.locator("#id_members_add_all")).to_be_visible()
    page.goto("/api/docs/")
    expect(page.get_by_text("/api/v1/conversations/", exact=True).first).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_blocks_an_inline_script_and_says_so(
    browser: Browser, live_stack: LiveStack
) -> None:
    """What the policy is for: a script that got into the page does not run, and the
    console says so (which is what fails the other browser tests)."""
    context = browser.new_context(base_url=live_stack.base_url)
    page = context.new_page()
    reported: list[str] = []
    page.on("console", lambda message: reported.extend(policy_violations(message)))
    page.goto("/accounts/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.ran = true";
            document.body.append(script);
        }"""
    )
    assert page.evaluate("() => window.ran === undefined")
    deadline = time.monotonic() + 5
    while not reported and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert reported and "script-src" in reported[0]
    context.close()
