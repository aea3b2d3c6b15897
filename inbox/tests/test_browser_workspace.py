# ruff: noqa: RUF001 (the Russian UI strings are Cyrillic on purpose)
"""The operator workspace in real browsers: two operators (and a supervisor) in
separate browser profiles against the live stack, seeing each other's work live,
in English and in Russian."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Locator, Page, expect

from conversations import services
from conversations.models import CannedReply, Conversation, Label, Team
from inbox.tests.conftest import make_inbox_user
from inbox.tests.test_browser import customer_says, screenshot

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Page]

# What the page says, per language: the Russian run checks that the UI is really
# translated, not only that the same steps pass.
TEXT = {
    "en": {
        "live": "Live",
        "unassigned": "Unassigned",
        "claim": "Claim",
        "assigned_to_olga": "Assigned to Olga Operator",
        "assigned_to_you": "Assigned to you",
        "already_taken": "Already taken by Olga Operator.",
        "viewing": "Ivan Petrov is viewing this chat",
        "typing": "Ivan Petrov is typing…",
        "took": "Olga Operator took the chat",
        "labels_added": "Olga Operator changed the labels: added Billing",
        "private_note": "Private note",
        "mentioned": "You were mentioned",
        "mention_text": "Olga Operator mentioned you: @ivan can you check the refund?",
        "window": "window closes in",
        "help": "Keyboard shortcuts",
        "resolved": "Resolved",
        "resolved_event": "Olga Operator set the status to Resolved",
        "filtered_empty": "No conversations match these filters.",
    },
    "ru": {
        "live": "На связи",
        "unassigned": "Не назначен",
        "claim": "Взять",
        "assigned_to_olga": "Назначен: Olga Operator",
        "assigned_to_you": "Назначен вам",
        "already_taken": "Уже взял(а) Olga Operator.",
        "viewing": "Ivan Petrov смотрит этот чат",
        "typing": "Ivan Petrov печатает…",
        "took": "Olga Operator: взял(а) чат",
        "labels_added": "Olga Operator: метки — добавлено: Billing",
        "private_note": "Внутренняя заметка",
        "mentioned": "Вас упомянули",
        "mention_text": "Olga Operator упоминает вас: @ivan can you check the refund?",
        "window": "окно закроется через",
        "help": "Горячие клавиши",
        "resolved": "Решён",
        "resolved_event": "Olga Operator: статус «Решён»",
        "filtered_empty": "Нет чатов под эти фильтры.",
    },
}


@dataclass
class Workspace:
    team: Team
    olga: Operator
    ivan: Operator
    billing: Label


def workspace(live_stack: LiveStack, *, olga_language: str) -> Workspace:
    """A support team of two on the simulator's number, labels and a canned reply."""
    sim = live_stack.sim
    team = Team.objects.create(name="Support")
    number = services.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Acme Shop",
    )
    number.team = team
    number.save(update_fields=["team"])
    olga = make_inbox_user(
        "olga",
        first_name="Olga",
        last_name="Operator",
        teams=(team,),
        language=olga_language,
        time_zone="Asia/Tokyo",
    )
    # Ivan chose no language: the browser's Accept-Language decides.
    ivan = make_inbox_user("ivan", first_name="Ivan", last_name="Petrov", teams=(team,))
    billing = Label.objects.create(name="Billing", color="#1e88e5")
    Label.objects.create(name="Delivery", color="#8e24aa")
    CannedReply.objects.create(
        shortcut="thanks",
        title="Thanks for writing",
        text="Thank you, {{first_name}}! {{agent}} here, happy to help.",
        team=team,
    )
    CannedReply.objects.create(
        shortcut="hours", title="Opening hours", text="We answer from 9 to 18, Monday to Friday."
    )
    return Workspace(team=team, olga=olga, ivan=ivan, billing=billing)


def sign_in(page: Page, user: Operator, live: str) -> None:
    """Signs in by field ids, whatever language the sign-in page is in."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(user.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_text(user.full_name)
    connection = page.get_by_test_id("connection-state")
    expect(connection).to_have_attribute("data-state", "live")
    expect(connection).to_have_text(live)


def item(page: Page, text: str) -> Locator:
    return page.get_by_test_id("conversation-item").filter(has_text=text)


def open_chat(page: Page, name: str) -> None:
    item(page, name).click()
    expect(page.get_by_test_id("thread-title")).to_have_text(name)


def time_in(zone: str, when: dt.datetime, language: str) -> str:
    """How the page writes a time of day: 4:05 (PM left out) in English, 16:05 in Russian."""
    local = when.astimezone(zoneinfo.ZoneInfo(zone))
    hour = local.hour if language == "ru" else local.hour % 12 or 12
    return f"{hour}:{local.minute:02d}"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_two_operators_share_a_chat_live(
    open_page: OpenPage, live_stack: LiveStack, transactional_db: None, language: str
) -> None:
    text = TEXT[language]
    team = workspace(live_stack, olga_language=language)
    olga, ivan = team.olga, team.ivan
    sim = live_stack.sim
    customer_says(sim, "14155550501", "Where is my order?", name="Sheena Nelson")
    customer_says(sim, "14155550502", "Do you have it in blue?", name="Marco Rossi")

    # Olga's language comes from her profile; Ivan's from his browser.
    olga_page = open_page("en-US")
    ivan_page = open_page("ru-RU" if language == "ru" else "en-US")
    sign_in(olga_page, olga, text["live"])
    sign_in(ivan_page, ivan, text["live"])
    for page in (olga_page, ivan_page):
        expect(page.get_by_test_id("conversation-item")).to_have_count(2)
        expect(item(page, "Sheena Nelson").get_by_test_id("conversation-assignee")).to_have_text(
            text["unassigned"]
        )
        expect(item(page, "Sheena Nelson").get_by_test_id("window-countdown")).to_contain_text(
            text["window"]
        )
        expect(item(page, "Sheena Nelson").get_by_test_id("conversation-team")).to_have_text(
            "Support"
        )
        # Unread counts per chat and for the whole list (also in the tab's title).
        expect(page.get_by_test_id("list-unread")).to_have_text("2")
        expect(page).to_have_title(re.compile(r"^\(2\) "))

    # Both open the same chat: each sees the other there, and Ivan's typing.
    open_chat(olga_page, "Sheena Nelson")
    open_chat(ivan_page, "Sheena Nelson")
    collision = olga_page.get_by_test_id("collision")
    expect(collision).to_have_text(text["viewing"])
    expect(ivan_page.get_by_test_id("collision")).to_contain_text("Olga Operator")
    ivan_page.get_by_test_id("composer-input").press_sequentially("Let me chec", delay=30)
    expect(collision).to_have_text(text["typing"])
    ivan_page.get_by_test_id("composer-input").fill("")

    # Times are in Olga's zone (Tokyo), not the browser's (UTC).
    first = Conversation.objects.get(contact__profile_name="Sheena Nelson")
    first_message = first.messages.get()
    expect(
        olga_page.get_by_test_id("message").filter(has_text="Where is my order?").locator("time")
    ).to_contain_text(time_in("Asia/Tokyo", first_message.timestamp, language))

    # Olga claims it; Ivan sees it taken at once, without reloading.
    claim = olga_page.get_by_test_id("claim-button")
    expect(claim).to_have_text(text["claim"])
    claim.click()
    expect(olga_page.get_by_test_id("thread-assignee")).to_have_text(text["assigned_to_you"])
    expect(ivan_page.get_by_test_id("thread-assignee")).to_have_text(text["assigned_to_olga"])
    expect(ivan_page.get_by_test_id("claim-button")).to_be_hidden()
    expect(item(ivan_page, "Sheena Nelson").get_by_test_id("conversation-assignee")).to_have_text(
        "Olga Operator"
    )
    expect(
        olga_page.get_by_test_id("event").filter(has_text=text["took"]).locator(".event-text")
    ).to_have_text(text["took"])
    assert Conversation.objects.get(pk=first.pk).assignee.username == "olga"

    # A claim that loses says who won: Ivan's page has not heard of Olga's claim.
    ivan_page.evaluate("window.__inbox.socket.stop()")
    open_chat(ivan_page, "Marco Rossi")
    open_chat(olga_page, "Marco Rossi")
    olga_page.get_by_test_id("claim-button").click()
    expect(olga_page.get_by_test_id("thread-assignee")).to_have_text(text["assigned_to_you"])
    ivan_page.get_by_test_id("claim-button").click()
    expect(ivan_page.get_by_test_id("action-error")).to_have_text(text["already_taken"])
    expect(ivan_page.get_by_test_id("thread-assignee")).to_have_text(text["assigned_to_olga"])
    second = Conversation.objects.get(contact__profile_name="Marco Rossi")
    assert second.assignee.username == "olga"
    ivan_page.evaluate("window.__inbox.socket.start()")
    expect(ivan_page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    open_chat(ivan_page, "Sheena Nelson")
    open_chat(olga_page, "Sheena Nelson")

    # A label put on by Olga shows on Ivan's list live, and in the activity.
    olga_page.get_by_test_id("labels-button").click()
    olga_page.locator(f'[data-testid="label-option"][value="{team.billing.pk}"]').check()
    expect(olga_page.get_by_test_id("thread-labels")).to_have_text("Billing")
    expect(item(ivan_page, "Sheena Nelson").get_by_test_id("conversation-labels")).to_have_text(
        "Billing"
    )
    expect(olga_page.get_by_test_id("event").filter(has_text=text["labels_added"])).to_have_count(1)
    olga_page.keyboard.press("Escape")

    # A private note with a mention: picked from the suggestions, shown apart from
    # the messages, never sent; Ivan is told live (panel count and desktop).
    sent_before = len(sim.sent_messages())
    olga_page.get_by_test_id("composer-mode-note").click()
    composer = olga_page.get_by_test_id("composer-input")
    composer.press_sequentially("@iv", delay=20)
    expect(olga_page.get_by_test_id("mention-item")).to_have_count(1)
    expect(olga_page.get_by_test_id("mention-item")).to_contain_text("@ivan")
    composer.press("Enter")
    expect(composer).to_have_value("@ivan ")
    composer.press_sequentially("can you check the refund?")
    composer.press("Enter")
    note = olga_page.get_by_test_id("note").filter(has_text="can you check the refund?")
    expect(note).to_contain_text(text["private_note"])
    expect(note.get_by_test_id("mention")).to_have_text("@ivan")
    expect(olga_page.get_by_test_id("message")).to_have_count(1)
    expect(ivan_page.get_by_test_id("note")).to_contain_text("@ivan can you check the refund?")
    expect(ivan_page.get_by_test_id("notifications-count")).to_have_text("1")
    ivan_page.wait_for_function("window.__desktopNotifications.length > 0")
    desktop = ivan_page.evaluate("window.__desktopNotifications")
    assert {"title": text["mentioned"], "body": text["mention_text"]} in desktop, desktop
    assert len(sim.sent_messages()) == sent_before
    if language == "en":
        screenshot(olga_page, "workspace-notes.png")

    ivan_page.get_by_test_id("notifications-button").click()
    mention = ivan_page.get_by_test_id("notification")
    expect(mention).to_have_count(1)
    expect(mention).to_contain_text(text["mention_text"])
    open_chat(ivan_page, "Marco Rossi")
    ivan_page.get_by_test_id("notifications-button").click()
    mention.click()
    expect(ivan_page.get_by_test_id("thread-title")).to_have_text("Sheena Nelson")
    expect(ivan_page.get_by_test_id("notifications-count")).to_be_hidden()

    # A canned reply: "/" opens the search, Enter inserts it with the variables filled.
    olga_page.get_by_test_id("composer-mode-reply").click()
    composer.fill("")
    composer.press_sequentially("/than", delay=20)
    suggestion = olga_page.get_by_test_id("canned-item")
    expect(suggestion).to_have_count(1)
    expect(suggestion).to_contain_text("/thanks")
    if language == "en":
        screenshot(olga_page, "workspace-canned-replies.png")
    composer.press("Enter")
    reply = "Thank you, Sheena! Olga here, happy to help."
    expect(composer).to_have_value(reply)
    composer.press("Enter")
    expect(olga_page.get_by_test_id("message").filter(has_text=reply)).to_have_attribute(
        "data-direction", "out"
    )
    sim.wait_for_sent(lambda record: record["to"] == "14155550501", since=sent_before)
    screenshot(olga_page, "workspace-thread.png" if language == "en" else "workspace-thread-ru.png")

    # The keyboard: leave the composer, the help, move down the list, resolve.
    composer.press("Escape")
    olga_page.keyboard.press("?")
    expect(olga_page.get_by_test_id("help-overlay")).to_be_visible()
    expect(olga_page.get_by_test_id("help-overlay")).to_contain_text(text["help"])
    olga_page.keyboard.press("Escape")
    expect(olga_page.get_by_test_id("help-overlay")).to_be_hidden()
    olga_page.keyboard.press("e")
    expect(olga_page.get_by_test_id("thread-status")).to_have_text(text["resolved"])
    expect(olga_page.get_by_test_id("event").filter(has_text=text["resolved_event"])).to_have_count(
        1
    )
    # The list shows open chats: the resolved one leaves it, for Ivan too.
    expect(olga_page.get_by_test_id("conversation-item")).to_have_count(1)
    expect(ivan_page.get_by_test_id("conversation-item")).to_have_count(1)
    assert Conversation.objects.get(pk=first.pk).status == Conversation.Status.RESOLVED
    olga_page.keyboard.press("k")
    olga_page.keyboard.press("Enter")
    expect(olga_page.get_by_test_id("thread-title")).to_have_text("Marco Rossi")
    olga_page.keyboard.press("r")
    expect(olga_page.get_by_test_id("composer-input")).to_be_focused()

    # Filters: Ivan's own chats are none; the resolved ones hold Sheena's.
    ivan_page.get_by_test_id("filter-assignee").select_option("me")
    expect(ivan_page.get_by_test_id("conversation-item")).to_have_count(0)
    expect(ivan_page.get_by_test_id("conversation-list-empty")).to_have_text(text["filtered_empty"])
    ivan_page.get_by_test_id("filter-assignee").select_option("anyone")
    ivan_page.get_by_test_id("filter-status").select_option("resolved")
    ivan_page.get_by_test_id("filter-label").select_option(str(team.billing.pk))
    expect(ivan_page.get_by_test_id("conversation-item")).to_have_count(1)
    expect(item(ivan_page, "Sheena Nelson")).to_be_visible()
    if language == "en":
        screenshot(ivan_page, "workspace-filters.png")


def test_list_filters_search_and_window_sort(
    open_page: OpenPage, live_stack: LiveStack, transactional_db: None
) -> None:
    team = workspace(live_stack, olga_language="en")
    sim = live_stack.sim
    now = int(dt.datetime.now(dt.UTC).timestamp())
    customer_says(
        sim, "14155550601", "Hello, anyone?", name="Early Bird", timestamp=now - 20 * 3600
    )
    customer_says(
        sim, "14155550602", "My invoice is wrong", name="Late Comer", timestamp=now - 3600
    )
    customer_says(sim, "14155550603", "Thanks, solved", name="Quiet One", timestamp=now - 2 * 3600)
    # Quiet One got an answer: not waiting, so not in the "window closes soonest" list.
    Conversation.objects.filter(contact__profile_name="Quiet One").update(waiting_since=None)

    page = open_page()
    sign_in(page, team.olga, TEXT["en"]["live"])
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Late Comer")

    page.get_by_test_id("filter-sort").select_option("window")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Early Bird")
    expect(items.nth(1)).to_contain_text("Late Comer")
    expect(items.nth(0).get_by_test_id("window-countdown")).to_have_text(
        re.compile(r"^window closes in [34]h \d+m$")
    )
    page.get_by_test_id("filter-sort").select_option("activity")

    page.get_by_test_id("filter-search").fill("invoice")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Late Comer")
    page.get_by_test_id("filter-search").fill("")
    expect(items).to_have_count(3)

    page.get_by_test_id("filter-assignee").select_option("unassigned")
    page.get_by_test_id("filter-team").select_option(str(team.team.pk))
    expect(items).to_have_count(3)
    # A chat taken by someone else leaves the "unassigned" list live.
    late = Conversation.objects.get(contact__profile_name="Late Comer")
    services.conversation_claim(conversation=late, user=User.objects.get(username="ivan"))
    expect(items).to_have_count(2)
    expect(item(page, "Late Comer")).to_have_count(0)
    screenshot(page, "workspace-list.png")


def test_supervisor_sees_presence_live(
    open_page: OpenPage, live_stack: LiveStack, transactional_db: None
) -> None:
    team = workspace(live_stack, olga_language="")
    boss = make_inbox_user(
        "sara", first_name="Sara", last_name="Supervisor", role="supervisor", language="ru"
    )
    supervisor = open_page()
    sign_in(supervisor, boss, "На связи")
    panel = supervisor.get_by_test_id("presence-panel")
    expect(panel).to_be_visible()
    olga_row = panel.get_by_test_id("agent").filter(has_text="Olga Operator")
    expect(olga_row).to_have_attribute("data-presence", "offline")
    expect(olga_row.get_by_test_id("agent-presence")).to_have_text("Не в сети")

    olga_page = open_page()
    sign_in(olga_page, team.olga, "Live")
    expect(olga_page.get_by_test_id("presence-panel")).to_be_hidden()
    expect(olga_page.get_by_test_id("my-presence")).to_have_attribute("data-presence", "online")
    expect(olga_row).to_have_attribute("data-presence", "online")
    expect(olga_row.get_by_test_id("agent-presence")).to_have_text("В сети")

    # Olga's own switch: away, as the supervisor sees it live.
    olga_page.get_by_test_id("presence-switch").select_option("away")
    expect(olga_page.get_by_test_id("my-presence")).to_have_attribute("data-presence", "away")
    expect(olga_row).to_have_attribute("data-presence", "away")
    expect(olga_row.get_by_test_id("agent-presence")).to_have_text("Отошёл")

    # She closes the inbox: offline once her socket is gone.
    olga_page.close()
    expect(olga_row).to_have_attribute("data-presence", "offline")


def test_transfer_snooze_and_unassign(
    open_page: OpenPage, live_stack: LiveStack, transactional_db: None
) -> None:
    team = workspace(live_stack, olga_language="en")
    sim = live_stack.sim
    customer_says(sim, "14155550701", "Can I return these shoes?", name="Nina Berg")
    olga_page, ivan_page = open_page(), open_page()
    sign_in(olga_page, team.olga, "Live")
    sign_in(ivan_page, team.ivan, "Live")
    open_chat(olga_page, "Nina Berg")
    olga_page.get_by_test_id("claim-button").click()
    expect(olga_page.get_by_test_id("thread-assignee")).to_have_text("Assigned to you")

    # Transfer to Ivan: his list shows the chat as his at once.
    olga_page.get_by_test_id("transfer-button").click()
    ivan_id = User.objects.get(username="ivan").pk
    olga_page.get_by_test_id("transfer-target").select_option(f"user:{ivan_id}")
    olga_page.get_by_test_id("transfer-submit").click()
    expect(olga_page.get_by_test_id("thread-assignee")).to_have_text("Assigned to Ivan Petrov")
    expect(item(ivan_page, "Nina Berg").get_by_test_id("conversation-assignee")).to_have_text("Me")
    expect(
        olga_page.get_by_test_id("event").filter(
            has_text="Olga Operator assigned the chat to Ivan Petrov"
        )
    ).to_have_count(1)

    # Ivan snoozes it for an hour; it leaves the open list and comes back under "Snoozed".
    open_chat(ivan_page, "Nina Berg")
    ivan_page.get_by_test_id("snooze-button").click()
    ivan_page.locator("[data-snooze-hours='1']").click()
    ivan_page.get_by_test_id("snooze-submit").click()
    expect(ivan_page.get_by_test_id("thread-status")).to_have_text(re.compile(r"^Snoozed until "))
    conversation = Conversation.objects.get(contact__profile_name="Nina Berg")
    assert conversation.status == Conversation.Status.SNOOZED
    remaining = conversation.snoozed_until - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=55) < remaining <= dt.timedelta(hours=1), remaining
    expect(olga_page.get_by_test_id("conversation-item")).to_have_count(0)
    olga_page.get_by_test_id("filter-status").select_option("snoozed")
    expect(item(olga_page, "Nina Berg").get_by_test_id("conversation-status")).to_have_text(
        "Snoozed"
    )

    # The customer writes: the chat wakes up, for both, and Ivan unassigns it.
    customer_says(sim, "14155550701", "Hello again?")
    expect(ivan_page.get_by_test_id("thread-status")).to_have_text("Open")
    expect(olga_page.get_by_test_id("conversation-item")).to_have_count(0)
    ivan_page.get_by_test_id("unassign-button").click()
    expect(ivan_page.get_by_test_id("thread-assignee")).to_have_text("Unassigned")
    expect(ivan_page.get_by_test_id("claim-button")).to_be_visible()
    assert Conversation.objects.get(pk=conversation.pk).assignee is None
