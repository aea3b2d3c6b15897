"""The send rules on the one send service, with a fixed clock: consent per
category, the platform's stop, quiet hours in the customer's own time zone, the
marketing cap across paths, countries; a refusal sends nothing and is logged."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from conversations import services
from conversations.models import ComplianceLogEntry, Contact, Message
from conversations.tests.factories import ContactFactory, ConversationFactory, consent_to

pytestmark = pytest.mark.django_db

WABA = "102290129340398"
LUCA = "393331234567"  # Rome
IVAN = "79161234567"  # Moscow
NED = "12125551234"  # New York
# Wednesday 9 December 2026, 20:30 UTC: 21:30 in Rome, 23:30 in Moscow, 15:30 in New York.
WEDNESDAY_EVENING = dt.datetime(2026, 12, 9, 20, 30, tzinfo=dt.UTC)
WEDNESDAY_NOON = dt.datetime(2026, 12, 9, 11, 0, tzinfo=dt.UTC)
SATURDAY_NOON = dt.datetime(2026, 12, 12, 11, 0, tzinfo=dt.UTC)


def chat(wa_id: str, *, window_open: bool = False, now: dt.datetime = WEDNESDAY_NOON):
    last = now - (dt.timedelta(minutes=5) if window_open else dt.timedelta(days=3))
    contact = ContactFactory(wa_id=wa_id)
    return ConversationFactory(contact=contact, last_inbound_at=last, last_message_at=last)


def send(conversation, category: str = "UTILITY", *, path: str = "composer", name: str = "t"):
    return services.message_send_template(
        conversation=conversation,
        user=None,
        name=name,
        language="en_US",
        components=[],
        text="Hello",
        category=category,
        path=path,
    )


def refused(conversation, category: str = "UTILITY", **kwargs) -> services.SendRefused:
    before = Message.objects.count()
    with pytest.raises(services.SendRefused) as caught:
        send(conversation, category, **kwargs)
    assert Message.objects.count() == before, "a refused message was stored"
    return caught.value


def test_a_template_needs_consent_to_a_category_covering_its_category() -> None:
    conversation = chat(LUCA)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        assert refused(conversation).code == "no_consent"
        consent_to(conversation.contact, slug="orders", template_categories=("UTILITY",))
        assert send(conversation).status == "queued"
        assert refused(conversation, "MARKETING").code == "no_consent"
        consent_to(conversation.contact, slug="offers", template_categories=("MARKETING",))
        assert send(conversation, "MARKETING").content["category"] == "MARKETING"


def test_an_opt_out_of_the_category_refuses_with_opted_out_and_keeps_the_others() -> None:
    conversation = chat(LUCA)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        consent_to(conversation.contact, slug="orders", template_categories=("UTILITY",))
        offers = consent_to(conversation.contact, slug="offers", template_categories=("MARKETING",))
        services.consent_record(
            contact=conversation.contact, category=offers, state="opted_out", source="operator"
        )
        assert refused(conversation, "MARKETING").code == "opted_out"
        assert send(conversation, "UTILITY").status == "queued"


def test_a_refusal_is_in_the_compliance_log_with_its_path_and_template() -> None:
    conversation = chat(LUCA)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        refused(conversation, "MARKETING", path="api", name="spring_sale")
    entry = ComplianceLogEntry.objects.get()
    assert (entry.contact_id, entry.wa_id, entry.path, entry.reason, entry.template) == (
        conversation.contact_id,
        LUCA,
        "api",
        "no_consent",
        "spring_sale",
    )
    assert entry.at == WEDNESDAY_NOON


def test_the_platforms_stop_refuses_marketing_whatever_the_categories_say() -> None:
    conversation = chat(LUCA)
    consent_to(conversation.contact)
    Contact.objects.filter(pk=conversation.contact_id).update(marketing_stopped_on_platform=True)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        assert refused(conversation, "MARKETING").code == "opted_out"
        assert send(conversation, "UTILITY").status == "queued"


@pytest.mark.parametrize(
    ("wa_id", "retry_at"),
    [
        # 21:30 in Rome: it may go at 09:00 Rome on Thursday, 08:00 UTC.
        (LUCA, dt.datetime(2026, 12, 10, 8, 0, tzinfo=dt.UTC)),
        # 23:30 in Moscow: 09:00 Moscow, 06:00 UTC.
        (IVAN, dt.datetime(2026, 12, 10, 6, 0, tzinfo=dt.UTC)),
    ],
)
def test_quiet_hours_run_in_the_customers_own_time_zone(wa_id: str, retry_at) -> None:
    conversation = chat(wa_id, now=WEDNESDAY_EVENING)
    consent_to(conversation.contact)
    with time_machine.travel(WEDNESDAY_EVENING, tick=False):
        refusal = refused(conversation)
    assert refusal.code == "quiet_hours"
    assert refusal.retry_at == retry_at
    assert ComplianceLogEntry.objects.get().retry_at == retry_at


def test_the_same_instant_is_afternoon_in_new_york_and_the_template_goes() -> None:
    conversation = chat(NED, now=WEDNESDAY_EVENING)
    consent_to(conversation.contact)
    with time_machine.travel(WEDNESDAY_EVENING, tick=False):
        assert send(conversation).status == "queued"


def test_a_weekend_is_quiet_all_day_until_monday_morning() -> None:
    conversation = chat(LUCA, now=SATURDAY_NOON)
    consent_to(conversation.contact)
    with time_machine.travel(SATURDAY_NOON, tick=False):
        refusal = refused(conversation)
    assert refusal.code == "quiet_hours"
    # Monday 14 December, 09:00 in Rome.
    assert refusal.retry_at == dt.datetime(2026, 12, 14, 8, 0, tzinfo=dt.UTC)


def test_an_operator_answering_inside_the_window_is_never_held_by_quiet_hours() -> None:
    conversation = chat(LUCA, window_open=True, now=WEDNESDAY_EVENING)
    consent_to(conversation.contact)
    with time_machine.travel(WEDNESDAY_EVENING, tick=False):
        assert send(conversation).status == "queued"
        # A campaign's message is proactive even then.
        assert refused(conversation, path="campaign").code == "quiet_hours"


def test_the_marketing_cap_counts_every_path_and_says_when_it_frees_up() -> None:
    conversation = chat(LUCA)
    consent_to(conversation.contact)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        send(conversation, "MARKETING", path="composer")
    with time_machine.travel(WEDNESDAY_NOON + dt.timedelta(hours=1), tick=False):
        send(conversation, "MARKETING", path="api")
        send(conversation, "UTILITY", path="api")  # not marketing: not counted
        refusal = refused(conversation, "MARKETING", path="campaign")
    assert refusal.code == "frequency_cap"
    assert refusal.retry_at == WEDNESDAY_NOON + dt.timedelta(days=7)
    # Another number of the business reaches the same customer: the cap holds.
    other = ConversationFactory(
        contact=conversation.contact,
        number__phone_number_id="222",
        last_inbound_at=WEDNESDAY_NOON - dt.timedelta(days=3),
    )
    with time_machine.travel(WEDNESDAY_NOON + dt.timedelta(days=6), tick=False):
        assert refused(other, "MARKETING").code == "frequency_cap"
    with time_machine.travel(WEDNESDAY_NOON + dt.timedelta(days=7, minutes=1), tick=False):
        assert send(other, "MARKETING").status == "queued"


def test_countries_outside_the_policy_are_refused() -> None:
    services.compliance_policy_update(
        quiet_hours=None, frequency_cap=None, allowed_countries=["it", "DE"]
    )
    italy, russia = chat(LUCA), chat(IVAN)
    consent_to(italy.contact)
    consent_to(russia.contact)
    with time_machine.travel(WEDNESDAY_EVENING, tick=False):
        assert send(italy).status == "queued"  # no quiet hours in this policy either
        refusal = refused(russia)
    assert refusal.code == "country_not_allowed"
    assert "RU" in str(refusal)


def test_the_contacts_zone_comes_from_the_phone_number() -> None:
    zones = {
        wa_id: services.contact_time_zone(Contact(wa_id=wa_id)).key
        for wa_id in (LUCA, IVAN, NED, "447700900001", "34612345678")
    }
    assert zones == {
        LUCA: "Europe/Rome",
        IVAN: "Europe/Moscow",
        NED: "America/New_York",
        "447700900001": "Europe/London",
        "34612345678": "Europe/Madrid",
    }
    assert services.contact_time_zone(Contact(wa_id=LUCA)) == zoneinfo.ZoneInfo("Europe/Rome")


def test_a_failed_template_sent_again_by_hand_passes_the_rules_again() -> None:
    conversation = chat(LUCA, window_open=True)
    category = consent_to(conversation.contact)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        message = send(conversation, "MARKETING")
    Message.objects.filter(pk=message.pk).update(status="failed", error_code=131016)
    services.consent_record(
        contact=conversation.contact, category=category, state="opted_out", source="operator"
    )
    with (
        time_machine.travel(WEDNESDAY_NOON + dt.timedelta(minutes=1), tick=False),
        pytest.raises(services.SendRefused) as caught,
    ):
        services.message_retry(message=message, user=None)
    assert caught.value.code == "opted_out"
    message.refresh_from_db()
    assert message.status == "failed"
    assert ComplianceLogEntry.objects.get().message_id == message.pk


def test_a_batch_refuses_each_customer_for_the_rule_they_break_and_queues_the_rest() -> None:
    services.compliance_policy_update(
        quiet_hours={"start": "21:00", "end": "09:00", "weekend_days": [5, 6]},
        frequency_cap={"messages": 2, "days": 7},
        allowed_countries=["IT", "US"],
    )
    ok, quiet, no_consent, opted_out, stopped, german, capped = [
        chat(wa_id, now=WEDNESDAY_EVENING)
        for wa_id in (
            NED,
            LUCA,
            "12125550001",
            "12125550002",
            "12125550003",
            "4915112345678",
            "12125550004",
        )
    ]
    for conversation in (ok, quiet, opted_out, stopped, german, capped):
        consent_to(conversation.contact)
    services.consent_record(
        contact=opted_out.contact,
        category=consent_to(opted_out.contact),
        state="opted_out",
        source="operator",
    )
    Contact.objects.filter(pk=stopped.contact_id).update(marketing_stopped_on_platform=True)
    for days in (2, 1):
        Message.objects.create(
            conversation=capped,
            direction="out",
            type="template",
            content={"category": "MARKETING"},
            status="delivered",
            timestamp=WEDNESDAY_EVENING - dt.timedelta(days=days),
        )
    chats = [ok, quiet, no_consent, opted_out, stopped, german, capped]
    with time_machine.travel(WEDNESDAY_EVENING, tick=False):
        singles = [
            services.send_verdict(
                contact=Contact.objects.get(pk=c.contact_id),
                waba_id=WABA,
                template_category="MARKETING",
                path="campaign",
                window_open=False,
            )
            for c in chats
        ]
        results = services.message_send_template_batch(
            sends=[
                services.TemplateMessage(c, "spring_sale", "en", [], "Hello", "MARKETING", "7")
                for c in chats
            ],
            path="campaign",
        )
    assert isinstance(results[0], Message) and results[0].status == "queued"
    codes = [getattr(r, "code", None) for r in results]
    assert codes == [
        None,
        "quiet_hours",
        "no_consent",
        "opted_out",
        "opted_out",
        "country_not_allowed",
        "frequency_cap",
    ]
    # The same verdicts, with the same details and times, as one send at a time.
    assert results[1:] == singles[1:] and singles[0] is None
    assert results[1].retry_at == dt.datetime(2026, 12, 10, 8, 0, tzinfo=dt.UTC)
    log = list(ComplianceLogEntry.objects.order_by("pk").values_list("wa_id", "reason", "campaign"))
    expected = zip(chats[1:], codes[1:], strict=True)
    assert log == [(c.contact.wa_id, code, "7") for c, code in expected]
    assert Message.objects.filter(conversation=ok, content__campaign="7").count() == 1
    assert not Message.objects.filter(content__campaign="7").exclude(conversation=ok).exists()
