"""Message templates in real browsers, against the live stack: an admin writes one
with the checks beside each field, submits it, sees WhatsApp's review arrive live;
an operator sends it in a chat whose window has closed. Supervisors only read;
operators never see the page."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
from playwright.sync_api import Page, Route, expect

from conversations.models import Contact
from conversations.tests.factories import consent_to, no_quiet_hours
from inbox.tests.conftest import make_inbox_user
from inbox.tests.test_browser import SEND_TIMEOUT, conversation, customer_says, screenshot
from templates_app.models import MessageTemplate

if TYPE_CHECKING:
    from inbox.tests.conftest import LiveStack, Operator
    from simulator import Simulator

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Page]

DISCOUNT_BODY = (
    "Hello {{1}}, your order {{2}} has shipped. Enjoy 20% off your next order with the code SAVE20!"
)
FIXED_BODY = "Hello {{1}}, your order {{2}} has shipped and will arrive on {{3}}."
REVIEW_TIMEOUT_MS = 20_000


def sign_in(page: Page, user: Operator, path: str = "/") -> None:
    """Signs in by field ids (whatever the page's language) and lands on ``path``."""
    page.goto(f"/accounts/login/?next={path}")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(user.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_text(user.full_name)
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")


def template_row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="template-row"][data-name="{name}"]')


def finding(page: Page, list_testid: str, code: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id(list_testid).locator(f'[data-testid="finding"][data-code="{code}"]')


def agreed(sim: Simulator, wa_id: str) -> None:
    """The customer agreed to every kind of message (on the shop's form), and the
    policy sends at any hour: these tests are about templates, not the send rules."""
    consent_to(Contact.objects.get(wa_id=wa_id), waba_id=sim.waba_id)
    no_quiet_hours()


def approved_template(live_stack: LiveStack, **changes: object) -> MessageTemplate:
    """An approved template of the simulator's account (in the inbox and the simulator)."""
    sim = live_stack.sim
    fields: dict[str, object] = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": FIXED_BODY,
                "example": {"body_text": [["Anna", "A-1042", "Friday"]]},
            }
        ],
    }
    fields.update(changes)
    # The simulator lives for the module: an earlier test may have given it the template.
    known = [t for t in sim.templates if (t["name"], t["language"]) == (fields["name"], "en_US")]
    added = known[0] if known else sim.add_template({**fields})
    return MessageTemplate.objects.create(
        waba_id=sim.waba_id,
        status=MessageTemplate.Status.APPROVED,
        platform_id=str(added.get("id", "")),
        **fields,  # type: ignore[arg-type]
    )


def test_admin_writes_checks_submits_and_an_operator_sends_it_in_a_closed_chat(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    sim.set_review_rules([])  # WhatsApp approves what it is given, a moment later
    admin = make_inbox_user("ada", first_name="Ada", last_name="Admin", role="admin")
    walter = "14155550301"
    customer_says(
        sim,
        walter,
        "Where is my order?",
        name="Walter Gray",
        timestamp=int(time.time()) - 25 * 3600,
    )
    agreed(sim, walter)

    # The admin finds the page in the top bar.
    page = open_page()
    sign_in(page, admin)
    page.get_by_test_id("nav-templates").click()
    expect(page).to_have_url(re.compile(r"/templates/$"))
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("template-list-empty")).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # A UTILITY template that promises a discount: the check says so beside the body.
    page.get_by_test_id("template-new").click()
    page.get_by_test_id("template-name").fill("order_shipped")
    expect(page.get_by_test_id("template-category")).to_have_value("UTILITY")
    page.get_by_test_id("template-body").fill(DISCOUNT_BODY)
    page.get_by_test_id("example-body-1").fill("Anna")
    page.get_by_test_id("example-body-2").fill("A-1042")
    page.get_by_test_id("template-footer").fill("Acme Shop")
    promotional = finding(page, "findings-body", "promotional_content")
    expect(promotional).to_be_visible()
    expect(promotional).to_have_attribute("data-severity", "error")
    expect(page.get_by_test_id("preview-body")).to_have_text(
        "Hello Anna, your order A-1042 has shipped. Enjoy 20% off your next order with the "
        "code SAVE20!"
    )
    expect(page.get_by_test_id("preview-footer")).to_have_text("Acme Shop")
    promotional.scroll_into_view_if_needed()
    screenshot(page, "templates-editor.png")

    # Submitting over an error is refused: the findings stay beside the field.
    page.get_by_test_id("template-submit").click()
    expect(page.get_by_test_id("template-error")).to_contain_text("fix the errors")
    template_id = MessageTemplate.objects.get(name="order_shipped").pk
    assert MessageTemplate.objects.get(pk=template_id).status == MessageTemplate.Status.DRAFT
    expect(template_row(page, "order_shipped").get_by_test_id("template-status")).to_have_attribute(
        "data-status", "DRAFT"
    )

    # Fixed: the finding goes, the new variable asks for its example.
    page.get_by_test_id("template-body").fill(FIXED_BODY)
    page.get_by_test_id("example-body-3").fill("Friday")
    expect(promotional).to_have_count(0)
    expect(page.get_by_test_id("findings-body").get_by_test_id("finding")).to_have_count(0)
    expect(page.get_by_test_id("preview-body")).to_have_text(
        "Hello Anna, your order A-1042 has shipped and will arrive on Friday."
    )

    # Submitted, reviewed by WhatsApp (the simulator), APPROVED on the page live.
    page.get_by_test_id("template-submit").click()
    status = template_row(page, "order_shipped").get_by_test_id("template-status")
    expect(status).to_have_attribute("data-status", "APPROVED", timeout=REVIEW_TIMEOUT_MS)
    expect(status).to_have_text("Approved")
    expect(
        page.get_by_test_id("template-editor-status").get_by_test_id("template-status")
    ).to_have_attribute("data-status", "APPROVED")
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_test_id("template-history-box").locator("summary").click()
    expect(page.get_by_test_id("history-item").filter(has_text="APPROVED")).to_have_count(1)
    assert [t["status"] for t in sim.templates] == ["APPROVED"]

    # An operator opens the chat whose window closed and sends the template.
    olga = open_page()
    sign_in(olga, operator)
    conversation(olga, "Walter Gray").click()
    expect(olga.get_by_test_id("window-banner")).to_be_visible()
    expect(olga.get_by_test_id("composer-input")).to_be_disabled()
    olga.get_by_test_id("composer-template-button").click()
    choice = olga.locator('[data-testid="template-choice"][data-name="order_shipped"]')
    expect(choice).to_be_enabled()
    choice.click()
    first = olga.get_by_test_id("template-value-body-1")
    first.fill("Walter")
    olga.get_by_test_id("template-value-body-2").fill("A-2077")
    olga.get_by_test_id("template-value-body-3").fill("Monday")
    expect(
        olga.get_by_test_id("template-picker-preview").get_by_test_id("preview-body")
    ).to_have_text("Hello Walter, your order A-2077 has shipped and will arrive on Monday.")
    screenshot(olga, "composer-template-picker.png")
    sent_before = len(sim.sent_messages())
    olga.get_by_test_id("template-send").click()
    expect(olga.get_by_test_id("template-picker")).to_be_hidden()

    sent = sim.wait_for_sent(
        lambda record: record["to"] == walter, timeout=SEND_TIMEOUT, since=sent_before
    )
    assert sent["type"] == "template"
    payload = sent["payload"]["template"]
    assert payload["name"] == "order_shipped"
    assert payload["language"]["code"] == "en_US"
    assert payload["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Walter"},
                {"type": "text", "text": "A-2077"},
                {"type": "text", "text": "Monday"},
            ],
        }
    ]
    bubble = (
        olga.get_by_test_id("thread")
        .get_by_test_id("message")
        .filter(has_text="Hello Walter, your order A-2077 has shipped and will arrive on Monday.")
    )
    expect(bubble).to_have_attribute("data-direction", "out")


def test_operators_get_no_templates_page(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    sign_in(page, operator)
    expect(page.get_by_test_id("nav-templates")).to_have_count(0)
    answer = page.goto("/templates/")
    assert answer is not None and answer.status == 403
    # Nor does the API let an operator write one.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    refused = requests.post(
        live_stack.url("/api/v1/templates/check/"),
        json={},
        cookies=cookies,
        headers={"X-CSRFToken": cookies.get("csrftoken", ""), "Referer": live_stack.base_url},
        timeout=10,
    )
    assert refused.status_code == 403


def test_supervisors_read_templates_but_cannot_edit(
    page: Page, live_stack: LiveStack, operator: Operator
) -> None:
    approved_template(live_stack)
    sam = make_inbox_user("sam", first_name="Sam", last_name="Supervisor", role="supervisor")
    sign_in(page, sam)
    page.get_by_test_id("nav-templates").click()
    row = template_row(page, "order_update")
    expect(row.get_by_test_id("template-status")).to_have_text("Approved")
    expect(row.get_by_test_id("template-usage-cell")).to_contain_text("0 sent")
    expect(page.get_by_test_id("read-only-note")).to_be_visible()
    expect(page.get_by_test_id("template-new")).to_have_count(0)

    row.get_by_test_id("template-open").click()
    expect(page.get_by_test_id("template-body")).to_have_value(FIXED_BODY)
    expect(page.get_by_test_id("template-body")).to_be_disabled()
    expect(page.get_by_test_id("template-category")).to_be_disabled()
    expect(page.get_by_test_id("example-body-1")).to_be_disabled()
    for control in ("template-save", "template-submit", "template-delete"):
        expect(page.get_by_test_id(control)).to_have_count(0)
    expect(page.get_by_test_id("preview-body")).to_have_text(
        "Hello Anna, your order A-1042 has shipped and will arrive on Friday."
    )

    # WhatsApp's verdicts reach the supervisor's page live: rejected with its reason,
    # then rated low.
    sim = live_stack.sim
    assert (
        sim.set_template_status("order_update", "en_US", "REJECTED", "PROMOTIONAL")["status_code"]
        == 200
    )
    expect(row.get_by_test_id("template-status")).to_have_attribute("data-status", "REJECTED")
    expect(row.get_by_test_id("template-reason")).to_have_text("PROMOTIONAL")
    expect(page.get_by_test_id("template-rejection")).to_contain_text("PROMOTIONAL")
    assert sim.set_template_quality("order_update", "en_US", "RED")["status_code"] == 200
    expect(row.get_by_test_id("template-quality")).to_have_attribute("data-quality", "RED")
    expect(row.get_by_test_id("template-quality")).to_have_text("Low")

    # The filters: by status, then by category.
    status_filter = page.get_by_test_id("template-filter-status")
    status_filter.select_option("APPROVED")
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("template-list-empty")).to_have_text(
        "No templates match these filters."
    )
    status_filter.select_option("REJECTED")
    expect(row).to_have_count(1)
    page.get_by_test_id("template-filter-category").select_option("MARKETING")
    expect(row).to_have_count(0)
    page.get_by_test_id("template-filter-category").select_option("UTILITY")
    expect(row).to_have_count(1)


def test_the_templates_page_speaks_russian(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    approved_template(live_stack)
    admin = make_inbox_user("ada", first_name="Ada", last_name="Admin", role="admin", language="ru")
    page = open_page("ru-RU")
    sign_in(page, admin, "/templates/")
    expect(page.get_by_test_id("nav-templates")).to_have_text("Шаблоны")
    expect(page.locator("#tpl-list-title")).to_have_text("Шаблоны сообщений")
    expect(page.get_by_test_id("template-new")).to_have_text("Новый шаблон")
    row = template_row(page, "order_update")
    expect(row.get_by_test_id("template-status")).to_have_text("Одобрен")  # from the JS catalog
    expect(row.get_by_test_id("template-category-cell")).to_have_text("Служебный")
    page.get_by_test_id("template-new").click()
    expect(page.get_by_test_id("template-editor-title")).to_have_text("Новый шаблон")
    expect(page.get_by_test_id("template-save")).to_have_text("Сохранить черновик")
    expect(page.get_by_test_id("template-submit")).to_have_text("Отправить на проверку")
    page.get_by_test_id("template-name").fill("skidka")
    page.get_by_test_id("template-language").select_option("ru")
    page.get_by_test_id("template-body").fill("Здравствуйте, {{1}}! Скидка 20% на всё до пятницы.")
    page.get_by_test_id("example-body-1").fill("Анна")
    promotional = finding(page, "findings-body", "promotional_content")
    expect(promotional).to_be_visible()
    expect(promotional).to_contain_text("Ошибка")


def test_a_template_that_may_not_be_sent_now_is_shown_with_why(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    approved_template(live_stack)
    approved_template(live_stack, name="spring_sale", category="MARKETING")
    customer_says(sim, "14155550302", "Hi there", name="Maya Lopez")
    agreed(sim, "14155550302")
    page = open_page()

    # The server may refuse one ("sendable": false, with its refusal): greyed, with why.
    def with_a_refusal(route: Route) -> None:
        answer = route.fetch()
        items = answer.json()
        for item in items:
            if item["name"] == "spring_sale":
                item["sendable"] = False
                item["refusal"] = {
                    "code": "marketing_opt_out",
                    "detail": "The customer opted out of <b>marketing</b> messages.",
                    "retry_at": None,
                }
        route.fulfill(response=answer, body=json.dumps(items))

    page.route(re.compile(r"/api/v1/conversations/\d+/templates/$"), with_a_refusal)
    sign_in(page, operator)
    conversation(page, "Maya Lopez").click()
    expect(page.get_by_test_id("composer-input")).to_be_enabled()  # inside the window
    page.get_by_test_id("composer-template-button").click()
    refused = page.locator('[data-testid="template-choice"][data-name="spring_sale"]')
    expect(refused).to_be_disabled()
    # As text, never as markup.
    expect(refused.get_by_test_id("template-refusal")).to_have_text(
        "The customer opted out of <b>marketing</b> messages."
    )
    expect(page.get_by_test_id("template-choices").locator("b")).to_have_count(0)
    allowed = page.locator('[data-testid="template-choice"][data-name="order_update"]')
    expect(allowed).to_be_enabled()
    expect(allowed.get_by_test_id("template-refusal")).to_have_count(0)

    # An API refusal of the send is shown in the picker; nothing reaches WhatsApp.
    allowed.click()
    page.get_by_test_id("template-value-body-1").fill("Maya")
    page.get_by_test_id("template-value-body-2").fill("tab\there")
    page.get_by_test_id("template-value-body-3").fill("Friday")
    sent_before = len(sim.sent_messages())
    page.get_by_test_id("template-send").click()
    expect(page.get_by_test_id("template-send-error")).to_contain_text("Not sent:")
    expect(page.get_by_test_id("template-picker")).to_be_visible()
    assert sim.idle()
    assert len(sim.sent_messages()) == sent_before


def test_the_editor_draws_headers_buttons_and_named_variables_and_places_each_finding(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    admin = make_inbox_user("ada", first_name="Ada", last_name="Admin", role="admin")
    page = open_page()
    sign_in(page, admin, "/templates/")
    page.get_by_test_id("template-new").click()
    page.get_by_test_id("template-name").fill("delivery_slot")
    page.get_by_test_id("template-parameter-format").select_option("NAMED")
    page.get_by_test_id("template-header-format").select_option("TEXT")
    page.get_by_test_id("template-header-text").fill("Order {{order_id}}")
    page.get_by_test_id("example-header-order_id").fill("A-1042")
    page.get_by_test_id("template-body").fill(
        "Hello {{first_name}}, choose a delivery slot for your order with the link below."
    )
    page.get_by_test_id("example-body-first_name").fill("Anna")
    page.get_by_test_id("template-button-kind").select_option("URL")
    page.get_by_test_id("template-button-add").click()
    link = page.get_by_test_id("template-button").nth(0)
    link.get_by_test_id("button-text").fill("Choose a slot")
    link.get_by_test_id("button-url").fill("https://shop.example.com/slots/{{1}}")
    page.get_by_test_id("template-button-kind").select_option("QUICK_REPLY")
    page.get_by_test_id("template-button-add").click()
    page.get_by_test_id("template-button").nth(1).get_by_test_id("button-text").fill("Call me")

    # The preview: the header and body with their examples, the buttons under the bubble.
    expect(page.get_by_test_id("preview-header")).to_have_text("Order A-1042")
    expect(page.get_by_test_id("preview-body")).to_have_text(
        "Hello Anna, choose a delivery slot for your order with the link below."
    )
    expect(page.get_by_test_id("preview-button")).to_have_text(["↗ Choose a slot", "↩ Call me"])

    # The link's variable has no example yet: said beside that button, not elsewhere.
    missing = link.locator('[data-testid="finding"][data-code="missing_example"]')
    expect(missing).to_be_visible()
    expect(missing).to_have_attribute("data-field", re.compile(r"^buttons\[0\]"))
    link.get_by_test_id("button-example").fill("A-1042")
    expect(missing).to_have_count(0)

    page.get_by_test_id("template-save").click()
    expect(page.get_by_test_id("template-saved")).to_have_text("Draft saved.")
    saved = MessageTemplate.objects.get(name="delivery_slot")
    assert saved.parameter_format == "NAMED"
    assert saved.components[0] == {
        "type": "HEADER",
        "format": "TEXT",
        "text": "Order {{order_id}}",
        "example": {"header_text_named_params": [{"param_name": "order_id", "example": "A-1042"}]},
    }
    assert saved.components[-1]["buttons"] == [
        {
            "type": "URL",
            "text": "Choose a slot",
            "url": "https://shop.example.com/slots/{{1}}",
            "example": ["A-1042"],
        },
        {"type": "QUICK_REPLY", "text": "Call me"},
    ]

    # Deleting a draft takes two clicks and no dialog.
    page.get_by_test_id("template-delete").click()
    expect(page.get_by_test_id("template-delete")).to_have_text("Click again to delete it")
    page.get_by_test_id("template-delete").click()
    expect(template_row(page, "delivery_slot")).to_have_count(0)
    assert not MessageTemplate.objects.filter(name="delivery_slot").exists()


def test_an_edit_of_an_approved_template_goes_to_review_as_it_is_saved(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    sim.set_review_rules([])
    template = approved_template(live_stack)
    admin = make_inbox_user("ada", first_name="Ada", last_name="Admin", role="admin")
    page = open_page()
    sign_in(page, admin, "/templates/")
    template_row(page, template.name).get_by_test_id("template-open").click()
    expect(page).to_have_url(re.compile(rf"#t{template.pk}$"))
    expect(page.get_by_test_id("template-body")).to_have_value(FIXED_BODY)
    save = page.get_by_test_id("template-save")
    expect(save).to_have_text("Save and submit the edit")
    expect(page.get_by_test_id("template-submit")).to_be_hidden()
    expect(page.get_by_test_id("template-name")).to_be_disabled()  # its identity stays

    edited = "Hello {{1}}, your order {{2}} is on its way and arrives on {{3}}."
    page.get_by_test_id("template-body").fill(edited)
    save.click()
    expect(page.get_by_test_id("template-saved")).to_have_text(
        "Saved and submitted: WhatsApp reviews the edit."
    )
    status = template_row(page, "order_update").get_by_test_id("template-status")
    expect(status).to_have_attribute("data-status", "APPROVED", timeout=REVIEW_TIMEOUT_MS)
    page.get_by_test_id("template-history-box").locator("summary").click()
    expect(page.get_by_test_id("version-item")).to_have_count(1)
    expect(page.get_by_test_id("version-item").get_by_test_id("preview-body")).to_have_text(
        "Hello Anna, your order A-1042 is on its way and arrives on Friday."
    )
    on_whatsapp = next(t for t in sim.templates if t["name"] == "order_update")
    body = next(c for c in on_whatsapp["components"] if c["type"] == "BODY")
    assert body["text"] == edited


def test_the_picker_fills_headers_and_buttons_and_proposes_the_contacts_fields(
    open_page: OpenPage, live_stack: LiveStack, operator: Operator
) -> None:
    sim = live_stack.sim
    approved_template(
        live_stack,
        name="slot_ready",
        components=[
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Order {{1}}",
                "example": {"header_text": ["A-1042"]},
            },
            {
                "type": "BODY",
                "text": "Hello {{1}}, your delivery slot is ready to choose.",
                "example": {"body_text": [["Anna"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Choose a slot",
                        "url": "https://shop.example.com/slots/{{1}}",
                        "example": ["A-1042"],
                    },
                ],
            },
        ],
    )
    approved_template(
        live_stack,
        name="named_hello",
        parameter_format="NAMED",
        components=[
            {
                "type": "BODY",
                "text": "Hello {{first_name}}, your parcel left our warehouse.",
                "example": {
                    "body_text_named_params": [{"param_name": "first_name", "example": "Anna"}]
                },
            },
        ],
    )
    maya = "14155550303"
    customer_says(sim, maya, "Any news?", name="Maya Lopez")
    agreed(sim, maya)
    page = open_page()
    sign_in(page, operator)
    conversation(page, "Maya Lopez").click()
    page.get_by_test_id("composer-template-button").click()

    # A variable named after a contact's field starts with its value.
    page.locator('[data-testid="template-choice"][data-name="named_hello"]').click()
    expect(page.get_by_test_id("template-value-body-first_name")).to_have_value("Maya")
    expect(page.get_by_test_id("template-picker-preview")).to_contain_text(
        "Hello Maya, your parcel left our warehouse."
    )

    # The others propose the contact's name and phone.
    page.locator('[data-testid="template-choice"][data-name="slot_ready"]').click()
    body = page.get_by_test_id("template-value-body-1")
    proposals = page.locator(f"datalist#{body.get_attribute('list')} option")
    expect(proposals).to_have_count(3)
    assert [o.get_attribute("value") for o in proposals.all()] == [
        "Maya Lopez",
        "Maya",
        "+14155550303",
    ]
    page.get_by_test_id("template-value-header-1").fill("A-2077")
    body.fill("Maya")
    page.get_by_test_id("template-value-buttons-0").fill("A-2077")
    preview = page.get_by_test_id("template-picker-preview")
    expect(preview.get_by_test_id("preview-header")).to_have_text("Order A-2077")
    expect(preview.get_by_test_id("preview-button")).to_have_text("↗ Choose a slot")
    sent_before = len(sim.sent_messages())
    page.get_by_test_id("template-send").click()
    sent = sim.wait_for_sent(lambda r: r["to"] == maya, timeout=SEND_TIMEOUT, since=sent_before)
    payload = sent["payload"]["template"]
    assert payload["name"] == "slot_ready"
    assert payload["components"] == [
        {"type": "header", "parameters": [{"type": "text", "text": "A-2077"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Maya"}]},
        {
            "type": "button",
            "sub_type": "url",
            "index": 0,
            "parameters": [{"type": "text", "text": "A-2077"}],
        },
    ]
    expect(page.get_by_test_id("template-picker")).to_be_hidden()
