"""Consent in real browsers, against the live stack: an operator records a customer's
opt-in in the contact panel and sends them a marketing template; the customer
writes СТОП and the panel shows the opt-out live, and the composer's picker refuses
the next marketing template, saying why. Admins keep the consent categories (with
their opt-in link and QR code), the send rules, the import and the compliance log
on the consent page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from conversations import services
from conversations.models import (
    CompliancePolicy,
    Consent,
    ConsentChange,
    Contact,
    Conversation,
)
from conversations.tests.factories import consent_to
from inbox.tests.conftest import make_inbox_user
from inbox.tests.test_browser import SEND_TIMEOUT, conversation, customer_says, screenshot
from inbox.tests.test_browser_templates import approved_template, sign_in

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Page]

MARIA = "393471230001"  # an Italian mobile number
SALE_BODY = "Hello {{1}}, everything is 20% off this week!"
AGREED = "Yes, send me your offers on WhatsApp"


def sale_template(live_stack: LiveStack) -> None:
    approved_template(
        live_stack,
        name="spring_sale",
        category="MARKETING",
        components=[
            {"type": "BODY", "text": SALE_BODY, "example": {"body_text": [["Anna"]]}},
        ],
    )


def offers_category(live_stack: LiveStack) -> None:
    services.consent_category_create(
        waba_id=live_stack.sim.waba_id,
        slug="offers",
        name="Offers",
        template_categories=["MARKETING"],
        opt_in_text="Yes, send me offers",
    )


def test_operator_records_an_opt_in_sends_an_offer_and_the_customers_stop_shows_live(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    offers_category(live_stack)
    sale_template(live_stack)
    customer_says(sim, MARIA, "Ciao! Any offers this week?", name="Maria Rossi")

    page = open_page()
    sign_in(page, operator)
    conversation(page, "Maria Rossi").click()

    # The panel beside the thread: who she is, where, her time, her chats, her consent.
    panel = page.get_by_test_id("contact-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("contact-name")).to_have_text("Maria Rossi")
    expect(panel.get_by_test_id("contact-phone")).to_have_text("+393471230001")
    expect(panel.get_by_test_id("contact-country")).to_contain_text("Italy")
    expect(panel.get_by_test_id("contact-local-time")).to_have_attribute(
        "data-time-zone", "Europe/Rome"
    )
    expect(panel.get_by_test_id("contact-conversation")).to_have_count(1)
    expect(panel.get_by_test_id("contact-conversation")).to_have_attribute("data-current", "true")
    offers = panel.locator('[data-testid="consent-row"][data-category="offers"]')
    expect(offers).to_have_attribute("data-state", "unknown")
    expect(offers.get_by_test_id("consent-category-name")).to_have_text("Offers")

    # Without her consent the picker refuses the offer, saying why.
    page.get_by_test_id("composer-template-button").click()
    choice = page.locator('[data-testid="template-choice"][data-name="spring_sale"]')
    expect(choice).to_be_disabled()
    expect(choice.get_by_test_id("template-refusal")).to_contain_text("not opted in")
    page.get_by_test_id("template-picker-close").click()

    # She agreed on the phone: the operator records it with her words.
    offers.get_by_test_id("consent-opt-in").click()
    page.get_by_test_id("consent-opt-in-submit").click()
    expect(page.get_by_test_id("consent-form-error")).to_be_visible()  # the words are needed
    page.get_by_test_id("consent-wording").fill(AGREED)
    page.get_by_test_id("consent-opt-in-submit").click()
    expect(offers).to_have_attribute("data-state", "opted_in")
    expect(offers.get_by_test_id("consent-wording-shown")).to_have_text(AGREED)
    expect(page.get_by_test_id("consent-opt-in-form")).to_be_hidden()
    contact = Contact.objects.get(wa_id=MARIA)
    consent = Consent.objects.get(contact=contact, category__slug="offers")
    assert (consent.state, consent.source, consent.wording) == ("opted_in", "operator", AGREED)
    panel.get_by_test_id("consent-history-box").locator("summary").click()
    expect(panel.locator('[data-testid="consent-change"][data-source="operator"]')).to_have_count(1)

    # Now the offer goes, and WhatsApp (the simulator) receives it.
    page.get_by_test_id("composer-template-button").click()
    expect(choice).to_be_enabled()
    choice.click()
    page.get_by_test_id("template-value-body-1").fill("Maria")
    sent_before = len(sim.sent_messages())
    page.get_by_test_id("template-send").click()
    expect(page.get_by_test_id("template-picker")).to_be_hidden()
    sent = sim.wait_for_sent(lambda r: r["to"] == MARIA, timeout=SEND_TIMEOUT, since=sent_before)
    assert sent["type"] == "template"
    assert sent["payload"]["template"]["name"] == "spring_sale"

    # She writes СТОП while the operator has the picker open: the panel shows the
    # opt-out as it happens, without a reload, and the picker now refuses the next
    # offer before the operator presses Send, with the reason.
    page.evaluate("window.__sameDocument = true")
    page.get_by_test_id("composer-template-button").click()
    expect(page.get_by_test_id("template-picker")).to_have_attribute("data-loaded", "true")
    expect(choice).to_be_enabled()
    customer_says(sim, MARIA, "СТОП")
    expect(offers).to_have_attribute("data-state", "opted_out")
    expect(choice).to_be_disabled()
    expect(choice.get_by_test_id("template-refusal")).to_contain_text("opted out")
    page.get_by_test_id("template-picker-close").click()
    expect(
        panel.locator(
            '[data-testid="consent-change"][data-source="whatsapp_message"][data-state="opted_out"]'
        )
    ).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True
    offers.scroll_into_view_if_needed()
    screenshot(page, "contact-panel.png")

    # Opened again, the picker still refuses it.
    page.get_by_test_id("composer-template-button").click()
    expect(page.get_by_test_id("template-picker")).to_have_attribute("data-loaded", "true")
    expect(choice).to_be_disabled()
    expect(choice.get_by_test_id("template-refusal")).to_contain_text("opted out")


def test_operator_records_an_opt_out_and_the_panel_gives_way_to_the_thread(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    offers_category(live_stack)
    customer_says(sim, MARIA, "Please no more offers", name="Maria Rossi")
    contact = Contact.objects.get(wa_id=MARIA)
    services.consent_record(
        contact=contact,
        category=services.category_for(waba_id=sim.waba_id, slug="offers"),
        state="opted_in",
        source="website_form",
        wording="Send me offers",
    )

    page = open_page()
    sign_in(page, operator)
    conversation(page, "Maria Rossi").click()
    offers = page.locator('[data-testid="consent-row"][data-category="offers"]')
    expect(offers).to_have_attribute("data-state", "opted_in")
    expect(offers.get_by_test_id("consent-source")).to_contain_text("website form")

    # An opt-out asks for a second click, then is recorded as the operator's.
    opt_out = offers.get_by_test_id("consent-opt-out")
    opt_out.click()
    expect(opt_out).to_have_text("Click again to opt out")
    assert Consent.objects.get(contact=contact).state == "opted_in"
    opt_out.click()
    expect(offers).to_have_attribute("data-state", "opted_out")
    change = ConsentChange.objects.filter(contact=contact).latest("at")
    assert (change.state, change.source) == ("opted_out", "operator")

    # WhatsApp's own stop of her marketing shows live too, above the categories.
    stop = page.get_by_test_id("contact-platform-stop")
    expect(stop).to_be_hidden()
    services.platform_marketing_set(contact=contact, waba_id=sim.waba_id, stopped=True)
    expect(stop).to_be_visible()
    page.get_by_test_id("consent-history-box").locator("summary").click()
    expect(page.locator('[data-testid="consent-change"][data-source="platform"]')).to_contain_text(
        "Marketing stopped on WhatsApp"
    )

    # The panel closes and stays closed; on a narrow screen it lies over the thread.
    thread = page.get_by_test_id("thread")
    wide = thread.bounding_box()
    page.get_by_test_id("contact-panel-close").click()
    expect(page.get_by_test_id("contact-panel")).to_be_hidden()
    expect(page.get_by_test_id("contact-panel-button")).to_have_attribute("aria-expanded", "false")
    assert wide is not None and thread.bounding_box()["width"] > wide["width"]  # type: ignore[index]
    page.reload()
    expect(page.get_by_test_id("contact-panel-button")).to_be_visible()
    expect(page.get_by_test_id("contact-panel")).to_be_hidden()
    page.set_viewport_size({"width": 900, "height": 800})
    narrow = thread.bounding_box()
    page.get_by_test_id("contact-panel-button").click()
    expect(page.get_by_test_id("contact-panel")).to_be_visible()
    expect(offers).to_have_attribute("data-state", "opted_out")
    assert thread.bounding_box() == narrow


def test_admin_keeps_categories_rules_imports_and_reads_the_compliance_log(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    admin = make_inbox_user("ada", first_name="Ada", last_name="Admin", role="admin")
    sale_template(live_stack)
    customer_says(sim, MARIA, "Hello", name="Maria Rossi")

    page = open_page()
    sign_in(page, admin)
    page.get_by_test_id("nav-consent").click()
    expect(page).to_have_url(re.compile(r"/consent/$"))
    expect(page.get_by_test_id("category-list-empty")).to_be_visible()

    # A category with its opt-in message: the wa.me link, its QR code, the button.
    page.get_by_test_id("category-name").fill("Offers")
    page.get_by_test_id("category-slug").fill("offers")
    page.get_by_test_id("category-covers-marketing").check()
    page.get_by_test_id("category-opt-in-text").fill("Yes, send me offers")
    page.get_by_test_id("category-create").click()
    item = page.locator('[data-testid="category"][data-slug="offers"]')
    digits = re.sub(r"\D", "", sim.display_phone_number)
    link = f"https://wa.me/{digits}?text=Yes%2C%20send%20me%20offers"
    expect(item.get_by_test_id("category-link")).to_have_attribute("href", link)
    qr = item.get_by_test_id("category-qr")
    expect(qr).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    expect(item.get_by_test_id("category-snippet")).to_have_value(re.compile("Chat on WhatsApp"))
    screenshot(page, "consent-page.png")
    assert services.category_for(waba_id=sim.waba_id, slug="offers").template_categories == [
        "MARKETING"
    ]

    # The send rules: quiet 22:00-08:00 and Sundays, 3 offers in 10 days, two countries.
    expect(page.get_by_test_id("policy-form")).to_have_attribute("data-loaded", "true")
    page.get_by_test_id("policy-quiet-start").fill("22:00")
    page.get_by_test_id("policy-quiet-end").fill("08:00")
    page.get_by_test_id("policy-weekend-days").locator('input[value="5"]').uncheck()
    page.get_by_test_id("policy-cap-messages").fill("3")
    page.get_by_test_id("policy-cap-days").fill("10")
    page.get_by_test_id("policy-countries-enabled").check()
    page.get_by_test_id("policy-countries").fill("it, ru")
    page.get_by_test_id("policy-save").click()
    expect(page.get_by_test_id("policy-saved")).to_be_visible()
    policy = CompliancePolicy.objects.get()
    assert (policy.quiet_start, policy.quiet_end) == (dt.time(22), dt.time(8))
    assert list(policy.weekend_days) == [6]
    assert (policy.cap_messages, policy.cap_days) == (3, 10)
    assert policy.allowed_countries == ["IT", "RU"]

    # A small import: one used, two refused, one quarantined for review.
    rows = [
        "wa_id,category,state,source,date,wording",
        "393471230002,offers,opted_in,website_form,2026-11-02,Yes to offers",
        "12,offers,opted_in,website_form,2026-11-02,Yes",
        "393471230003,reminders,opted_in,website_form,2026-11-02,Yes",
        "393471230004,offers,opted_in,,,Yes",
    ]
    page.get_by_test_id("import-file").set_input_files(
        {"name": "consents.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}
    )
    page.get_by_test_id("import-submit").click()
    summary = page.get_by_test_id("import-summary")
    expect(summary).to_have_text("1 imported, 2 refused, 1 quarantined for review.")
    expect(page.get_by_test_id("import-progress")).to_have_attribute("value", "4")
    quarantined = page.get_by_test_id("import-quarantine").get_by_test_id("import-report-row")
    expect(quarantined).to_have_count(1)
    expect(quarantined).to_contain_text("393471230004")
    expect(quarantined).to_contain_text("no proof of consent")
    report = page.get_by_test_id("import-report").get_by_test_id("import-report-row")
    expect(report).to_have_count(4)
    expect(report.filter(has_text="unknown category")).to_have_count(1)
    expect(report.filter(has_text="invalid number")).to_have_count(1)
    assert Consent.objects.filter(contact__wa_id="393471230002", state="opted_in").exists()
    assert not Consent.objects.filter(contact__wa_id="393471230004").exists()

    # A marketing template to a customer who never agreed is refused, and logged.
    chat = Conversation.objects.get(contact__wa_id=MARIA)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    answer = page.request.post(
        f"/api/v1/conversations/{chat.pk}/messages/",
        data={
            "template": {
                "id": _template_id("spring_sale"),
                "parameters": {"body": {"1": "Maria"}},
            }
        },
        headers={"X-CSRFToken": token},
    )
    assert answer.status == 409, answer.text()
    assert answer.json()["code"] == "no_consent"
    page.get_by_test_id("log-filter-reason").select_option("no_consent")
    entry = page.get_by_test_id("log-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_have_attribute("data-path", "composer")
    expect(entry).to_contain_text("spring_sale")
    expect(entry).to_contain_text("+393471230001")
    export = page.get_by_test_id("log-export")
    href = export.get_attribute("href") or ""
    assert "reason=no_consent" in href and "format=csv" in href
    csv = page.request.get(href)
    assert csv.headers["content-type"].startswith("text/csv")
    assert "393471230001" in csv.text() and "no_consent" in csv.text()
    page.get_by_test_id("log-filter-reason").select_option("quiet_hours")
    expect(page.get_by_test_id("log-empty")).to_be_visible()
    expect(entry).to_have_count(0)
    page.get_by_test_id("log-filter-reason").select_option("no_consent")
    expect(entry).to_have_count(1)


def _template_id(name: str) -> int:
    from templates_app.models import MessageTemplate

    return MessageTemplate.objects.get(name=name).pk


def test_supervisors_read_the_consent_page_and_operators_get_none(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    offers_category(live_stack)
    sam = make_inbox_user("sam", first_name="Sam", last_name="Supervisor", role="supervisor")
    page = open_page("ru-RU")  # in Russian, the page's and the module's words alike
    sign_in(page, sam)
    expect(page.get_by_test_id("nav-consent")).to_have_text("Согласия")
    page.get_by_test_id("nav-consent").click()
    offers = page.locator('[data-testid="category"][data-slug="offers"]')
    expect(offers).to_contain_text("покрывает шаблоны: Маркетинговый")
    expect(page.get_by_test_id("read-only-note")).to_have_text(
        "Только чтение: это меняют администраторы."
    )
    expect(page.get_by_test_id("policy-form")).to_have_attribute("data-loaded", "true")
    expect(page.get_by_test_id("policy-quiet-start")).to_be_disabled()
    for control in ("category-form", "policy-save", "import-form"):
        expect(page.get_by_test_id(control)).to_have_count(0)
    expect(page.get_by_test_id("log-empty")).to_have_text("Ничего не отклонено и не отложено.")

    olga = open_page()
    sign_in(olga, operator)
    expect(olga.get_by_test_id("nav-consent")).to_have_count(0)
    answer = olga.goto("/consent/")
    assert answer is not None and answer.status == 403


def test_an_offer_whatsapp_holds_back_shows_when_it_goes_again(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    """131049 (WhatsApp's limit of marketing messages per customer) defers the message a
    day: the thread says so, with the time it goes again, instead of a failure."""
    sim = live_stack.sim
    luca = "393471230002"
    offers_category(live_stack)
    sale_template(live_stack)
    customer_says(sim, luca, "Any offers?", name="Luca Bianchi")
    consent_to(Contact.objects.get(wa_id=luca), waba_id=sim.waba_id, slug="offers")

    page = open_page()
    sign_in(page, operator)
    conversation(page, "Luca Bianchi").click()
    sim.fail_next(131049)
    page.get_by_test_id("composer-template-button").click()
    page.locator('[data-testid="template-choice"][data-name="spring_sale"]').click()
    page.get_by_test_id("template-value-body-1").fill("Luca")
    page.get_by_test_id("template-send").click()

    held = page.get_by_test_id("message").filter(has_text="everything is 20% off")
    expect(held).to_have_attribute("data-status", "deferred", timeout=SEND_TIMEOUT * 1000)
    expect(held.get_by_test_id("ticks")).to_have_text("◷")
    deferred = held.get_by_test_id("message-deferred")
    expect(deferred).to_contain_text("goes again")
    chat = Contact.objects.get(wa_id=luca).conversations.get()
    message = chat.messages.get(direction="out", type="template")
    assert message.retry_at is not None
    expect(deferred.locator("time")).to_have_attribute(
        "datetime", message.retry_at.isoformat().replace("+00:00", "Z")
    )
