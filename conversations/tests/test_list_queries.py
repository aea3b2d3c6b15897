"""Search over contacts and messages, and pages of a long thread, through the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.api import ConversationList
from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username="olga", role="operator"))
    return client


def _message(conversation: Conversation, text: str, at: dt.datetime) -> Message:
    return Message.objects.create(
        conversation=conversation, direction="in", text=text, status="received", timestamp=at
    )


def test_search_matches_name_phone_and_text_once_each(api: APIClient) -> None:
    now = timezone.now()
    both = ConversationFactory(contact=ContactFactory(profile_name="Refund Rita", phone="+4471"))
    _message(both, "I want a REFUND", now)
    _message(both, "refund please", now)
    by_phone = ConversationFactory(contact=ContactFactory(phone="+447700900123"))
    by_text = ConversationFactory()
    _message(by_text, "where is my refund?", now)
    ConversationFactory(contact=ContactFactory(profile_name="Someone Else"))

    def found(search: str) -> tuple[int, list[int]]:
        page = api.get("/api/v1/conversations/", {"search": search}).json()
        ids = sorted(c["id"] for c in page["results"])
        return len(ids), ids

    assert found("refund") == (2, sorted([both.id, by_text.id]))
    assert found("0900123") == (1, [by_phone.id])
    assert found(both.contact.wa_id[-5:]) == (1, [both.id])
    assert found("nothing like it") == (0, [])


def test_thread_pages_keep_the_thread_order(api: APIClient) -> None:
    conversation = ConversationFactory()
    start = timezone.now() - dt.timedelta(hours=1)
    # Two messages share a timestamp: the one stored first comes first.
    times = [start + dt.timedelta(seconds=i // 2) for i in range(25)]
    messages = [_message(conversation, f"m{i}", at) for i, at in enumerate(times)]
    url = f"/api/v1/conversations/{conversation.id}/messages/"

    texts = []
    for offset in range(0, 25, 10):
        page = api.get(url, {"limit": 10, "offset": offset}).json()
        assert page["count"] == 25
        texts += [m["text"] for m in page["results"]]
    assert texts == [m.text for m in messages]
    newest = api.get(url, {"limit": 10, "offset": 20}).json()["results"]
    assert [m["text"] for m in newest] == [f"m{i}" for i in range(20, 25)]


@pytest.mark.parametrize("sort", ["activity", "window"])
def test_a_search_lists_the_same_pages_whether_its_matches_are_many_or_few(
    api: APIClient, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    """A search first looks among the list's first conversations (here 8) and
    covers them all when those do not fill the page: either way, the same pages."""
    now = timezone.now()
    chats = []
    for i in range(14):
        at = now - dt.timedelta(minutes=i)
        chat = ConversationFactory(
            contact=ContactFactory(profile_name="Refund Rob" if i == 9 else f"Customer {i}"),
            last_message_at=at,
            last_inbound_at=at,
            waiting_since=at,
        )
        if i % 3 != 1:
            _message(chat, f"my REFUND for order {i}?", at)
        if i in (11, 12):
            _message(chat, "the zeppelin arrived", at)
        chats.append(chat)

    def pages(search: str) -> list[list[int]]:
        found = []
        url = f"/api/v1/conversations/?search={search}&limit=3&sort={sort}"
        while url:
            page = api.get(url).json()
            found.append([c["id"] for c in page["results"]])
            url = page["next"]
        return found

    monkeypatch.setattr(ConversationList, "SEARCH_AMONG", 0)  # every search covers all
    everything = {word: pages(word) for word in ("refund", "zeppelin", "Rob", "nobody")}
    monkeypatch.setattr(ConversationList, "SEARCH_AMONG", 8)

    assert {word: pages(word) for word in everything} == everything
    matching = [c.id for i, c in enumerate(chats) if i % 3 != 1 or i == 9]
    if sort == "window":  # the soonest-closing window first: the oldest message first
        matching.reverse()
    assert [chat for page in everything["refund"] for chat in page] == matching
    zeppelin = [chats[11].id, chats[12].id]  # found beyond the first eight only
    assert everything["zeppelin"] == [zeppelin if sort == "activity" else zeppelin[::-1]]
    assert everything["nobody"] == [[]]
