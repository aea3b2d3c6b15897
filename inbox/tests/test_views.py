"""The pages around the workspace: the icon every page links."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon_every_page_links(client: Client) -> None:
    icon = static("inbox/favicon.svg")
    page = client.get("/accounts/login/")
    assert f'<link rel="icon" href="{icon}" type="image/svg+xml">' in page.content.decode()

    answer = client.get("/favicon.ico")
    assert answer.status_code == 302
    assert answer.headers["Location"] == icon
    stored = finders.find("inbox/favicon.svg")
    assert stored is not None
    with open(stored, encoding="utf-8") as svg:
        assert svg.read().startswith('<svg xmlns="http://www.w3.org/2000/svg"')


@pytest.mark.parametrize(
    ("role", "status", "link", "writes"),
    [
        ("operator", 403, False, False),
        ("supervisor", 200, True, False),
        ("admin", 200, True, True),
    ],
)
def test_the_templates_page_is_for_supervisors_and_admins(
    client: Client, role: str, status: int, link: bool, writes: bool
) -> None:
    from conversations.tests.factories import UserFactory

    assert client.get("/templates/").status_code == 302  # to the sign-in page first
    client.force_login(UserFactory(username=f"{role}-1", role=role))
    page = client.get("/templates/")
    assert page.status_code == status
    inbox = client.get("/").content.decode()
    assert ('data-testid="nav-templates"' in inbox) is link
    if status == 200:
        html = page.content.decode()
        assert ('data-testid="template-new"' in html) is writes
        assert ('data-testid="template-submit"' in html) is writes
        assert f'data-can-edit="{str(writes).lower()}"' in html
        assert "<script>" not in html  # no inline script: the CSP allows none


@pytest.mark.parametrize(
    ("role", "status", "link", "writes"),
    [
        ("operator", 403, False, False),
        ("supervisor", 200, True, False),
        ("admin", 200, True, True),
    ],
)
def test_the_consent_page_is_for_supervisors_and_admins(
    client: Client, role: str, status: int, link: bool, writes: bool
) -> None:
    from conversations.tests.factories import UserFactory

    assert client.get("/consent/").status_code == 302  # to the sign-in page first
    client.force_login(UserFactory(username=f"{role}-1", role=role))
    page = client.get("/consent/")
    assert page.status_code == status
    inbox = client.get("/").content.decode()
    assert ('data-testid="nav-consent"' in inbox) is link
    if status == 200:
        html = page.content.decode()
        for control in ("category-form", "policy-save", "import-form"):
            assert (f'data-testid="{control}"' in html) is writes
        assert 'data-testid="log-filters"' in html  # supervisors read the log too
        assert f'data-can-edit="{str(writes).lower()}"' in html
        assert "<script>" not in html  # no inline script: the CSP allows none
