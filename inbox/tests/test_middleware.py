"""The operator's language and time zone: their profile first, else the browser's."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from conversations.models import AgentProfile

pytestmark = pytest.mark.django_db


def signed_in(client: Client, *, language: str = "", time_zone: str = "") -> User:
    user = User.objects.create_user(username="olga", password="x", first_name="Olga")
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    AgentProfile.objects.create(user=user, language=language, time_zone=time_zone)
    client.force_login(user)
    return user


def test_signed_out_page_follows_accept_language(client: Client) -> None:
    response = client.get("/accounts/login/", headers={"accept-language": "ru-RU,ru;q=0.9"})
    assert response.headers["Content-Language"] == "ru"
    assert "Вход во «Входящие»" in response.content.decode()


def test_profile_language_wins_over_the_browser(client: Client) -> None:
    signed_in(client, language="ru")
    response = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert response.headers["Content-Language"] == "ru"
    assert '<html lang="ru">' in response.content.decode()


def test_no_profile_language_falls_back_to_the_browser(client: Client) -> None:
    signed_in(client, language="")
    english = client.get("/", headers={"accept-language": "en-US"})
    assert english.headers["Content-Language"] == "en"
    russian = client.get("/", headers={"accept-language": "ru"})
    assert russian.headers["Content-Language"] == "ru"


def test_unsupported_profile_language_is_ignored(client: Client) -> None:
    signed_in(client, language="de")
    response = client.get("/", headers={"accept-language": "en"})
    assert response.headers["Content-Language"] == "en"


def test_profile_time_zone_is_active_for_the_page(client: Client) -> None:
    signed_in(client, time_zone="Asia/Tokyo")
    page = client.get("/").content.decode()
    assert 'data-server-zone="Asia/Tokyo"' in page


def test_unknown_time_zone_keeps_the_default(client: Client) -> None:
    signed_in(client, time_zone="Mars/Olympus_Mons")
    page = client.get("/").content.decode()
    assert 'data-server-zone="UTC"' in page


def test_javascript_catalog_speaks_the_operators_language(client: Client) -> None:
    user = signed_in(client, language="ru")
    translated = f"{json.dumps('window closed')}: {json.dumps('окно закрыто')}"
    assert translated in client.get("/jsi18n/").content.decode()
    AgentProfile.objects.filter(user=user).update(language="en")
    assert translated not in client.get("/jsi18n/").content.decode()
