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
