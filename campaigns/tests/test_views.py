"""The campaigns page: supervisors and admins only, in English and Russian."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from inbox.tests.conftest import make_inbox_user

pytestmark = pytest.mark.django_db


def signed_in(role: str) -> Client:
    user = make_inbox_user(f"{role}1", first_name=role.title(), last_name="One", role=role)
    client = Client()
    client.force_login(User.objects.get(username=user.username))
    return client


def test_operators_get_403_and_no_link() -> None:
    client = signed_in("operator")
    assert client.get("/campaigns/").status_code == 403
    assert b'data-testid="nav-campaigns"' not in client.get("/").content


def test_supervisors_read_admins_get_the_form() -> None:
    page = signed_in("supervisor").get("/campaigns/")
    assert page.status_code == 200
    assert b'data-testid="read-only-note"' in page.content
    assert b'data-testid="campaign-form"' not in page.content
    page = signed_in("admin").get("/campaigns/")
    assert b'data-testid="campaign-form"' in page.content
    assert b'data-testid="nav-campaigns"' in page.content


def test_the_page_speaks_russian() -> None:
    admin = signed_in("admin")
    page = admin.get("/campaigns/", HTTP_ACCEPT_LANGUAGE="ru")
    text = page.content.decode()
    assert "Рассылки" in text and "Сохранить и посмотреть" in text
    catalog = admin.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "нет согласия" in catalog or "\\u043d\\u0435\\u0442" in catalog
