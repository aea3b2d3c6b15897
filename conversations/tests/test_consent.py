"""The customer's and the platform's word on consent, through the webhook: STOP in
every language the inbox serves and the opt-out button, "stop <category>", the
opt-in link's message, ``user_preferences`` stop and resume, and sends failed with
131050 (marketing stopped) and 131049 (the platform's marketing limit)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone

from conftest import FIXTURES_DIR
from conversations import realtime, services
from conversations.models import (
    ComplianceLogEntry,
    Consent,
    ConsentChange,
    Contact,
    Conversation,
    Message,
)
from conversations.services.consent_messages import OPT_OUT_CONFIRMATION
from conversations.tests.factories import consent_to, status_webhook, text_webhook, wamid

pytestmark = pytest.mark.django_db

WABA = "102290129340398"
SHEENA = "16505551234"  # the fixtures' customer
NOW = dt.datetime(2026, 12, 9, 11, 0, tzinfo=dt.UTC)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES_DIR / name).read_text())


@pytest.fixture
def categories(numbers):
    """Sheena agreed to order updates and to offers."""
    services.contact_create(wa_id=SHEENA, name="Sheena Nelson")
    contact = Contact.objects.get(wa_id=SHEENA)
    orders = consent_to(contact, slug="orders", template_categories=("UTILITY",))
    offers = consent_to(contact, slug="offers", template_categories=("MARKETING",))
    return orders, offers


def states(contact: Contact | None = None) -> dict[str, str]:
    contact = contact or Contact.objects.get(wa_id=SHEENA)
    return {c.category.slug: c.state for c in Consent.objects.filter(contact=contact)}


def confirmation() -> Message:
    return Message.objects.get(direction="out", automatic=True)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("STOP", "en"),
        ("Stop!", "en"),
        ("unsubscribe", "en"),
        ("СТОП", "ru"),
        ("стоп.", "ru"),
        ("Отписаться", "ru"),
        ("Basta", "it"),
        ("disiscriviti", "it"),
        ("Afmeld", "da"),
        ("BAJA", "es"),
        ("parar", "es"),  # Spanish and Portuguese: the first language listed
        ("Descadastrar", "pt"),
        ("Stopp", "de"),
        ("abmelden", "de"),
    ],
)
def test_stop_in_every_language_opts_out_of_marketing_and_is_confirmed(
    post_webhook, categories, text: str, language: str
) -> None:
    assert post_webhook(text_webhook(wa_id=SHEENA, text=text)).status_code == 200
    assert states() == {"orders": "opted_in", "offers": "opted_out"}
    change = ConsentChange.objects.filter(state="opted_out").get()
    assert (change.source, change.wording, change.category.slug) == (
        "whatsapp_message",
        text,
        "offers",
    )
    reply = confirmation()
    assert reply.status == "queued"
    assert reply.text == OPT_OUT_CONFIRMATION[language]


@pytest.mark.parametrize(
    "text", ["Please stop sending the wrong size", "stop by the shop tomorrow?", "Stopwatch"]
)
def test_stop_inside_a_sentence_changes_nothing(post_webhook, categories, text: str) -> None:
    post_webhook(text_webhook(wa_id=SHEENA, text=text))
    assert states() == {"orders": "opted_in", "offers": "opted_in"}
    assert not Message.objects.filter(direction="out").exists()


def test_the_opt_out_button_of_a_marketing_template_opts_out(post_webhook, categories) -> None:
    pressed = fixture("webhook_button_template_quick_reply.json")
    value = pressed["entry"][0]["changes"][0]["value"]
    value["messages"][0]["timestamp"] = str(int(timezone.now().timestamp()))  # just now
    post_webhook(pressed)
    assert states() == {"orders": "opted_in", "offers": "opted_out"}
    assert ConsentChange.objects.get(state="opted_out").wording == "Unsubscribe"
    assert confirmation().text == OPT_OUT_CONFIRMATION["en"]


def test_a_stop_delivered_after_its_window_closed_opts_out_without_a_confirmation(
    post_webhook, categories
) -> None:
    """WhatsApp delivered it late (or again): the opt-out stands, and no confirmation
    is sent that WhatsApp would refuse (131047) outside the window."""
    said = timezone.now() - dt.timedelta(hours=25)
    assert post_webhook(text_webhook(wa_id=SHEENA, text="STOP", timestamp=said)).status_code == 200
    assert states() == {"orders": "opted_in", "offers": "opted_out"}
    assert not Message.objects.filter(direction="out").exists()


def test_stop_with_a_category_opts_out_of_that_category_only(post_webhook, categories) -> None:
    post_webhook(text_webhook(wa_id=SHEENA, text="stop orders"))
    assert states() == {"orders": "opted_out", "offers": "opted_in"}
    assert confirmation().text == "You will no longer receive Orders from us."


def test_the_opt_in_links_message_records_consent_from_the_link(post_webhook, numbers) -> None:
    offers = services.consent_category_create(
        waba_id=WABA,
        slug="offers",
        name="Offers",
        template_categories=["MARKETING"],
        opt_in_text="Yes, send me your offers!",
    )
    post_webhook(text_webhook(wa_id=SHEENA, text="yes, send me your offers"))
    contact = Contact.objects.get(wa_id=SHEENA)
    consent = Consent.objects.get(contact=contact, category=offers)
    assert (consent.state, consent.source, consent.wording) == (
        "opted_in",
        "whatsapp_link",
        "Yes, send me your offers!",
    )


def test_user_preferences_stop_and_resume_set_the_platform_flag(post_webhook, categories) -> None:
    payload = fixture("webhook_user_preferences_resume_marketing.json")
    preference = payload["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    preference["value"] = "stop"
    preference["timestamp"] = 1731705000
    post_webhook(payload)
    contact = Contact.objects.get(wa_id=SHEENA)
    assert contact.marketing_stopped_on_platform is True
    post_webhook(payload)  # delivered again: nothing more
    post_webhook(fixture("webhook_user_preferences_resume_marketing.json"))
    contact.refresh_from_db()
    assert contact.marketing_stopped_on_platform is False
    history = list(
        ConsentChange.objects.filter(contact=contact, source="platform").values_list(
            "state", "category", "wording"
        )
    )
    assert history == [
        ("opted_out", None, "User requested to resume marketing messages"),
        ("opted_in", None, "User requested to resume marketing messages"),
    ]
    # The categories are the customer's own word: untouched.
    assert states(contact) == {"orders": "opted_in", "offers": "opted_in"}


def sent_template(category: str = "MARKETING") -> Message:
    conversation = Conversation.objects.get(contact__wa_id=SHEENA)
    return Message.objects.create(
        conversation=conversation,
        direction="out",
        type="template",
        text="Spring sale",
        content={"name": "spring_sale", "category": category, "path": "api"},
        status="accepted",
        wamid=wamid(),
        timestamp=NOW,
    )


def failed_with(message: Message, code: int, at: dt.datetime) -> dict:
    return status_webhook(
        message_id=message.wamid,
        status="failed",
        timestamp=at,
        recipient=SHEENA,
        errors=[{"code": code, "title": "Refused", "error_data": {"details": "no"}}],
    )


def test_a_send_failed_with_131050_stops_marketing_on_the_platform(
    post_webhook, categories
) -> None:
    post_webhook(text_webhook(wa_id=SHEENA, text="Hello"))
    message = sent_template()
    with time_machine.travel(NOW, tick=False):
        post_webhook(failed_with(message, 131050, NOW))
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", 131050)
    contact = Contact.objects.get(wa_id=SHEENA)
    assert contact.marketing_stopped_on_platform is True
    assert ConsentChange.objects.filter(contact=contact, source="platform").get().state == (
        "opted_out"
    )
    entry = ComplianceLogEntry.objects.get()
    assert (entry.reason, entry.path, entry.template, entry.message_id) == (
        "opted_out",
        "api",
        "spring_sale",
        message.pk,
    )


def test_131049_defers_the_message_a_day_and_sends_it_again_once(post_webhook, categories) -> None:
    post_webhook(text_webhook(wa_id=SHEENA, text="Hello"))
    message = sent_template()
    first_wamid = message.wamid
    with time_machine.travel(NOW, tick=False):
        post_webhook(failed_with(message, 131049, NOW))
    message.refresh_from_db()
    assert (message.status, message.deferred_reason) == ("deferred", "platform_marketing_limit")
    assert message.retry_at == NOW + dt.timedelta(hours=24)
    entry = ComplianceLogEntry.objects.get()
    assert (entry.reason, entry.retry_at) == ("platform_marketing_limit", message.retry_at)

    assert services.sends_deferred_due(now=NOW + dt.timedelta(hours=23)) == 0
    assert services.timers_run(now=NOW + dt.timedelta(hours=24)).deferred == 1
    message.refresh_from_db()
    assert (message.status, message.wamid) == ("queued", None)
    assert services.sends_deferred_due(now=NOW + dt.timedelta(hours=25)) == 0

    # WhatsApp holds it back again: this time it fails, and the log says so.
    Message.objects.filter(pk=message.pk).update(status="accepted", wamid=wamid())
    message.refresh_from_db()
    assert message.wamid != first_wamid
    later = NOW + dt.timedelta(hours=24, minutes=5)
    with time_machine.travel(later, tick=False):
        post_webhook(failed_with(message, 131049, later))
    message.refresh_from_db()
    assert message.status == "failed"
    assert ComplianceLogEntry.objects.count() == 2


def test_a_deferred_message_whose_customer_opted_out_meanwhile_is_not_sent(
    post_webhook, categories
) -> None:
    post_webhook(text_webhook(wa_id=SHEENA, text="Hello"))
    message = sent_template()
    with time_machine.travel(NOW, tick=False):
        post_webhook(failed_with(message, 131049, NOW))
    post_webhook(text_webhook(wa_id=SHEENA, text="STOP"))
    assert services.sends_deferred_due(now=NOW + dt.timedelta(days=1)) == 0
    message.refresh_from_db()
    assert message.status == "failed"
    assert ComplianceLogEntry.objects.filter(reason="opted_out", message=message).exists()


def test_a_stop_is_published_to_whoever_sees_the_customers_chat(
    post_webhook, categories, published, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(text_webhook(wa_id=SHEENA, text="Hello"))
    conversation = Conversation.objects.get(contact__wa_id=SHEENA)
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(text_webhook(wa_id=SHEENA, text="STOP"))
    consent_events = [p for p in published if p.event["type"] == "contact.consent"]
    assert consent_events
    assert consent_events[0].event == {
        "type": "contact.consent",
        "contact_id": conversation.contact_id,
    }
    expected = realtime.groups_for_conversation(
        team_id=conversation.team_id, assignee_id=conversation.assignee_id
    )
    assert set(consent_events[0].groups) == set(expected)


def test_contacts_create_finds_or_creates_each_number_with_a_few_statements(
    django_assert_max_num_queries,
):
    known = Contact.objects.create(
        wa_id="393471230101", phone="+393471230101", profile_name="Giulia"
    )
    numbers = ["393471230101", "4915112345678", "819012345678", "4915112345678"]
    # The known ones read, the new ones inserted and read back: whatever their number.
    with django_assert_max_num_queries(3):
        contacts = services.contacts_create(wa_ids=numbers)
    assert sorted(contacts) == sorted(set(numbers))
    assert contacts["393471230101"].pk == known.pk
    assert contacts["393471230101"].profile_name == "Giulia"
    berliner, tokyoite = contacts["4915112345678"], contacts["819012345678"]
    # The same fields as a contact made one at a time: from the number.
    assert (berliner.phone, berliner.country, berliner.time_zone) == (
        "+4915112345678",
        "DE",
        "Europe/Berlin",
    )
    assert (tokyoite.country, tokyoite.time_zone) == ("JP", "Asia/Tokyo")
    one, created = services.contact_create(wa_id="4915112345678")
    assert (one.pk, created) == (berliner.pk, False)
    again = services.contacts_create(wa_ids=numbers)
    assert {k: c.pk for k, c in again.items()} == {k: c.pk for k, c in contacts.items()}
    assert Contact.objects.count() == 3
