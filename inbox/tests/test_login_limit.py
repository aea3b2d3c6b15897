"""Sign-in is rate limited: wrong passwords for one username from one address
lock that pair for a while, in every server process (counted in the database)."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"


def sign_in(client: Client, username: str, password: str, **headers: str):
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers)


def test_five_wrong_passwords_lock_the_username_for_that_address() -> None:
    UserFactory(username="olga", role="operator")
    client = Client()
    for _ in range(4):
        response = sign_in(client, "olga", "guess")
        assert response.status_code == 200
        assert b"login-error" in response.content
    locked = sign_in(client, "olga", "guess")
    assert locked.status_code == 429
    assert b"Too many attempts" in locked.content

    # Even the right password waits now, from this address.
    assert sign_in(client, "olga", PASSWORD).status_code == 429
    # Another address, or another username, is not held up.
    other = sign_in(Client(REMOTE_ADDR="192.0.2.7"), "olga", PASSWORD)
    assert other.status_code == 302
    UserFactory(username="oleg", role="operator")
    assert sign_in(Client(), "oleg", PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_earlier_mistakes() -> None:
    UserFactory(username="olga", role="operator")
    client = Client()
    for _ in range(4):
        sign_in(client, "olga", "guess")
    assert sign_in(client, "olga", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert sign_in(client, "olga", "guess").status_code == 200
    assert sign_in(client, "olga", PASSWORD).status_code == 302


def test_the_lockout_page_speaks_russian() -> None:
    UserFactory(username="olga", role="operator")
    client = Client()
    for _ in range(5):
        response = sign_in(client, "olga", "guess", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 429
    assert "Слишком много попыток" in response.content.decode()
