"""Hostile filters and searches on the conversation list: never a server error,
only 200 or 400, and never a chat the user may not see.

Hypothesis combines the list's query parameters (status, assignee, team, label,
number, search, sort, limit, offset) with SQL metacharacters, NUL bytes, huge
and non-ASCII numbers, control and right-to-left characters, and long strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from inbox.tests.world import (
    ADMIN,
    OPERATOR,
    OUTSIDER,
    SUPERVISOR,
    World,
    build_world,
)

pytestmark = pytest.mark.django_db

PARAMETERS = ("status", "assignee", "team", "label", "number", "search", "sort", "limit", "offset")
HOSTILE = [
    "' OR '1'='1",
    "1 OR 1=1",
    "1; DROP TABLE conversations_conversation; --",
    '") OR ("a"="a',
    "%",
    "_",
    "%_%",
    "\\",
    "\\%",
    "\x00",
    "1\x00",
    "open\x00' --",
    "-1",
    "0",
    "9" * 30,
    "-" + "9" * 30,
    "1e309",
    "NaN",
    "0x10",
    " 1",
    "1.5",
    "²",  # a digit to str.isdigit(), not to int()
    "١٢",  # Arabic-Indic digits
    "\U0001d7d9",  # a mathematical digit one
    "\u202eneddih",
    "\t\r\n",
    "null",
    "[]",
    "{}",
    "me",
    "unassigned",
    "anyone",
    "window",
    "activity",
    "open",
    "resolved",
    "Ana",
    "x" * 5000,
]


def parameter_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=8).map(lambda s: s + "\x00"),
    )


queries = st.dictionaries(st.sampled_from(PARAMETERS), parameter_values(), max_size=5)


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Iterator[World]:
    settings.MEDIA_ROOT = tmp_path / "media"
    yield build_world()


# What each user may see of the world's chats (support, sales, lobby).
VISIBLE = {
    OUTSIDER: {"sales", "lobby"},
    OPERATOR: {"support", "lobby"},
    SUPERVISOR: {"support", "sales", "lobby"},
    ADMIN: {"support", "sales", "lobby"},
}


@pytest.mark.parametrize("role", [OUTSIDER, OPERATOR, SUPERVISOR])
def test_hostile_filters_answer_200_or_400_within_what_the_user_may_see(
    world: World, role: str
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    ids = world.conversation_ids()
    allowed = {ids[name] for name in VISIBLE[role]}
    answered: dict[int, int] = {}

    @settings(
        max_examples=150,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(query=queries)
    def check(query: dict[str, str]) -> None:
        answer = client.get("/api/v1/conversations/", query)
        answered[answer.status_code] = answered.get(answer.status_code, 0) + 1
        assert answer.status_code in (200, 400), (query, answer.content[:300])
        body = answer.json()
        if answer.status_code == 400:
            assert body["code"] == "invalid"
            return
        listed = {row["id"] for row in body["results"]}
        assert listed <= allowed, query
        assert len(listed) == len(body["results"]), query  # each chat once

    check()
    # Both kinds of answer were exercised, not only refusals.
    assert answered.get(200, 0) > 0 and answered.get(400, 0) > 0, answered


def test_without_filters_each_user_lists_exactly_their_chats(world: World) -> None:
    ids = world.conversation_ids()
    for role, names in VISIBLE.items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
        listed = {row["id"] for row in client.get("/api/v1/conversations/").json()["results"]}
        assert listed == {ids[name] for name in names}, role


# --- What the fuzzing found, kept as plain examples --------------------------------


@pytest.fixture
def operator_api(world: World) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[OPERATOR]}")
    return client


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/conversations/", {"search": "Ana\x00"}),
        ("/api/v1/canned-replies/", {"q": "\x00refund"}),
    ],
)
def test_a_nul_character_in_a_search_is_refused(operator_api: APIClient, path, query) -> None:
    # PostgreSQL refuses NUL in a query: this was a server error.
    answer = operator_api.get(path, query)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert set(answer.json()["fields"]) == set(query)


@pytest.mark.parametrize("name", ["team", "label", "number"])
def test_a_non_ascii_digit_is_no_id(operator_api: APIClient, name: str) -> None:
    # "²" passes str.isdigit() and made int() fail: this was a server error.
    answer = operator_api.get("/api/v1/conversations/", {name: "\u00b2"})
    assert answer.status_code == 400
    assert answer.json()["fields"] == {name: [f"{name} must be an id."]}


def test_a_non_ascii_digit_as_assignee_filters_nothing(
    operator_api: APIClient, world: World
) -> None:
    answer = operator_api.get("/api/v1/conversations/", {"assignee": "\u00b2"})
    assert answer.status_code == 200
    listed = {row["id"] for row in answer.json()["results"]}
    assert listed == {world.support_chat.pk, world.lobby_chat.pk}


def test_ids_and_pages_beyond_any_row_list_nothing(operator_api: APIClient) -> None:
    huge = "9" * 30
    for query in ({"team": huge}, {"assignee": huge}, {"offset": huge}):
        answer = operator_api.get("/api/v1/conversations/", query)
        assert (answer.status_code, answer.json()["results"]) == (200, []), query
