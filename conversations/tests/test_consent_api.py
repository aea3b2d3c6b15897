"""The consent API's shapes: contacts, consent categories with their opt-in links,
a contact's consents, the compliance policy, the compliance log (filters, CSV),
template sends refused by the rules (409 with the code, logged with the path), the
composer's template list, and the CSV import."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversations import services
from conversations.models import ComplianceLogEntry, Consent, ConsentImport, Contact
from conversations.tests.factories import (
    ContactFactory,
    ConversationFactory,
    NumberFactory,
    TeamFactory,
    UserFactory,
    consent_to,
)
from templates_app.models import TemplateSend
from templates_app.tests.factories import make_template

pytestmark = pytest.mark.django_db

WABA = "102290129340398"
LUCA = "393331234567"
WEDNESDAY_NOON = dt.datetime(2026, 12, 9, 11, 0, tzinfo=dt.UTC)
WEDNESDAY_NIGHT = dt.datetime(2026, 12, 9, 22, 0, tzinfo=dt.UTC)


@pytest.fixture
def number():
    return NumberFactory()


@pytest.fixture
def support():
    return TeamFactory(name="Support")


@pytest.fixture
def olga(support):
    user = UserFactory(username="olga", role="operator")
    support.members.add(user)
    return user


@pytest.fixture
def ada():
    return UserFactory(username="ada", role="admin")


def session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def token(user) -> APIClient:
    client = APIClient()
    key = Token.objects.get_or_create(user=user)[0].key
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_contact_is_created_once_and_found_by_number(number, olga) -> None:
    api = session(olga)
    created = api.post("/api/v1/contacts/", {"wa_id": "+39 333 123 4567", "name": "Luca"})
    assert created.status_code == 201
    body = created.json()
    assert (body["wa_id"], body["name"], body["country"], body["time_zone"]) == (
        LUCA,
        "Luca",
        "IT",
        "Europe/Rome",
    )
    assert body["marketing_stopped_on_platform"] is False
    again = api.post("/api/v1/contacts/", {"wa_id": LUCA, "name": "Someone else"})
    assert (again.status_code, again.json()["id"], again.json()["name"]) == (
        200,
        body["id"],
        "Luca",
    )
    found = api.get(f"/api/v1/contacts/?wa_id={LUCA}").json()["results"]
    assert [c["id"] for c in found] == [body["id"]]
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        detail = api.get(f"/api/v1/contacts/{body['id']}/").json()
    assert detail["local_time"] == "2026-12-09T12:00+01:00"
    assert detail["conversations"] == []
    chat = ConversationFactory(contact_id=body["id"], number=number)
    (listed,) = api.get(f"/api/v1/contacts/{body['id']}/").json()["conversations"]
    assert (listed["id"], listed["status"], listed["labels"]) == (chat.pk, "open", [])
    bad = api.post("/api/v1/contacts/", {"wa_id": "12"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_wa_id")


def test_categories_carry_their_opt_in_link_qr_code_and_button(number, ada, olga) -> None:
    answer = session(ada).post(
        "/api/v1/consent-categories/",
        {
            "slug": "offers",
            "name": "Offers",
            "template_categories": ["MARKETING"],
            "opt_in_text": "Yes, send me your offers!",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["waba_id"], body["slug"], body["template_categories"]) == (
        WABA,
        "offers",
        ["MARKETING"],
    )
    link = "https://wa.me/15550783881?text=Yes%2C%20send%20me%20your%20offers%21"
    assert body["opt_in"]["link"] == link
    assert body["opt_in"]["qr_svg"].startswith("<svg")
    assert f'href="{link}"' in body["opt_in"]["button_html"]
    listed = session(olga).get("/api/v1/consent-categories/").json()
    assert [c["slug"] for c in listed] == ["offers"]
    duplicate = session(ada).post(
        "/api/v1/consent-categories/",
        {"slug": "offers", "name": "Again", "template_categories": ["UTILITY"]},
        format="json",
    )
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "duplicate")
    assert session(olga).post("/api/v1/consent-categories/", {}).status_code == 403


def test_a_contacts_consents_in_the_shape_the_issue_gives(number, olga) -> None:
    contact = ContactFactory(wa_id=LUCA)
    orders = services.consent_category_create(
        waba_id=WABA, slug="orders", name="Orders", template_categories=["UTILITY"]
    )
    services.consent_category_create(
        waba_id=WABA, slug="offers", name="Offers", template_categories=["MARKETING"]
    )
    api = session(olga)
    url = f"/api/v1/contacts/{contact.pk}/consents/"
    missing = api.post(url, {"category": "orders", "state": "opted_in"}, format="json")
    assert (missing.status_code, list(missing.json()["fields"])) == (400, ["wording"])
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        answer = api.post(
            url,
            {"category": "orders", "state": "opted_in", "wording": "Text me order updates"},
            format="json",
        )
    assert answer.status_code == 201
    body = api.get(url).json()
    assert body == {
        "categories": [
            {
                "category": "offers",
                "state": "unknown",
                "changed_at": None,
                "source": None,
                "wording": None,
            },
            {
                "category": "orders",
                "state": "opted_in",
                "changed_at": "2026-12-09T11:00:00Z",
                "source": "operator",
                "wording": "Text me order updates",
            },
        ],
        "marketing_stopped_on_platform": False,
        "history": [
            {
                "category": "orders",
                "waba_id": WABA,
                "state": "opted_in",
                "at": "2026-12-09T11:00:00Z",
                "source": "operator",
                "wording": "Text me order updates",
                "recorded_by": {"id": olga.pk, "username": "olga"},
            }
        ],
    }
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        by_token = token(olga).post(url, {"category": "orders", "state": "opted_out"})
    assert by_token.status_code == 201
    assert Consent.objects.get(contact=contact, category=orders).source == "api"
    unknown = api.post(url, {"category": "nope", "state": "opted_out"}, format="json")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_category")


def test_the_policy_reads_and_writes_in_the_issues_shape(number, ada, olga) -> None:
    assert session(olga).get("/api/v1/compliance-policy/").json() == {
        "quiet_hours": {"start": "21:00", "end": "09:00", "weekend_days": [5, 6]},
        "frequency_cap": {"messages": 2, "days": 7},
        "allowed_countries": None,
    }
    new = {
        "quiet_hours": {"start": "22:30", "end": "08:00", "weekend_days": [6]},
        "frequency_cap": None,
        "allowed_countries": ["it", "RU"],
    }
    answer = session(ada).put("/api/v1/compliance-policy/", new, format="json")
    assert answer.status_code == 200
    assert answer.json() == {**new, "allowed_countries": ["IT", "RU"]}
    assert session(olga).get("/api/v1/compliance-policy/").json() == answer.json()
    assert session(olga).put("/api/v1/compliance-policy/", new, format="json").status_code == 403
    bad = session(ada).put(
        "/api/v1/compliance-policy/",
        {**new, "quiet_hours": {"start": "25:00", "end": "08:00"}},
        format="json",
    )
    assert bad.status_code == 400


def closed_chat(support):
    contact = ContactFactory(wa_id=LUCA)
    return ConversationFactory(
        contact=contact,
        team=support,
        last_inbound_at=WEDNESDAY_NOON - dt.timedelta(days=3),
    )


def send(api: APIClient, conversation, template):
    return api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/",
        {"template": {"id": template.pk, "parameters": {"body": ["Anna", "A-1042", "Friday"]}}},
        format="json",
    )


def test_a_refused_template_answers_409_logs_its_path_and_sends_nothing(
    number, support, olga
) -> None:
    conversation = closed_chat(support)
    template = make_template(category="MARKETING")
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        by_page = send(session(olga), conversation, template)
        by_token = send(token(olga), conversation, template)
    assert by_page.status_code == by_token.status_code == 409
    assert by_page.json()["code"] == "no_consent"
    assert not conversation.messages.exists()
    assert not TemplateSend.objects.exists()
    assert list(ComplianceLogEntry.objects.order_by("pk").values_list("path", "reason"))[:2] == [
        ("composer", "no_consent"),
        ("api", "no_consent"),
    ]
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        text = token(olga).post(
            f"/api/v1/conversations/{conversation.pk}/messages/", {"text": "Hi"}, format="json"
        )
    assert (text.status_code, text.json()["code"]) == (409, "window_closed")
    assert ComplianceLogEntry.objects.order_by("pk").values_list("path", "reason").last() == (
        "api",
        "window_closed",
    )
    consent_to(conversation.contact)
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        night = send(token(olga), conversation, template)
    assert night.status_code == 409
    assert night.json() == {
        "code": "quiet_hours",
        "detail": night.json()["detail"],
        "retry_at": "2026-12-10T08:00:00Z",
    }
    with time_machine.travel(WEDNESDAY_NOON + dt.timedelta(days=1), tick=False):
        day = send(token(olga), conversation, template)
    assert day.status_code == 201
    assert str(TemplateSend.objects.get().message_id) == day.json()["id"]


def test_the_composers_templates_say_which_would_be_refused_and_why(number, support, olga) -> None:
    conversation = closed_chat(support)
    consent_to(conversation.contact, slug="orders", template_categories=("UTILITY",))
    make_template(name="order_shipped", category="UTILITY")
    make_template(name="spring_sale", category="MARKETING")
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        offered = session(olga).get(f"/api/v1/conversations/{conversation.pk}/templates/")
    by_name = {t["name"]: t for t in offered.json()}
    assert (by_name["order_shipped"]["sendable"], by_name["order_shipped"]["refusal"]) == (
        True,
        None,
    )
    assert by_name["spring_sale"]["sendable"] is False
    assert by_name["spring_sale"]["refusal"]["code"] == "no_consent"
    assert by_name["spring_sale"]["refusal"]["retry_at"] is None


def test_the_compliance_log_filters_and_exports_csv(number, olga) -> None:
    supervisor = UserFactory(username="sam", role="supervisor")
    luca = ContactFactory(wa_id=LUCA)
    other = ContactFactory(wa_id="79161234567")
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        services.compliance_log_record(
            contact=luca, path="api", reason="no_consent", template="spring_sale", detail="x"
        )
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        services.compliance_log_record(
            contact=other, path="composer", reason="quiet_hours", detail="=cmd()"
        )
    api = session(supervisor)
    every = api.get("/api/v1/compliance-log/").json()["results"]
    assert [e["reason"] for e in every] == ["quiet_hours", "no_consent"]
    assert every[1] == {
        "at": "2026-12-09T11:00:00Z",
        "contact": luca.pk,
        "wa_id": LUCA,
        "path": "api",
        "reason": "no_consent",
        "template": "spring_sale",
        "campaign": None,
        "detail": "x",
        "retry_at": None,
    }
    for query, expected in (
        ("reason=no_consent", ["no_consent"]),
        ("path=composer", ["quiet_hours"]),
        (f"contact={luca.pk}", ["no_consent"]),
        ("since=2026-12-09T12:00:00Z", ["quiet_hours"]),
    ):
        got = api.get(f"/api/v1/compliance-log/?{query}").json()["results"]
        assert [e["reason"] for e in got] == expected, query
    exported = api.get("/api/v1/compliance-log/?format=csv")
    assert exported["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[0] == ["at", "contact", "wa_id", "path", "reason", "template", "campaign", "detail"]
    assert rows[1][2:5] == ["79161234567", "composer", "quiet_hours"]
    assert rows[1][7] == "'=cmd()"  # never run as a formula by a spreadsheet
    assert session(olga).get("/api/v1/compliance-log/").status_code == 403


CSV = """wa_id,category,state,source,date,wording
393331234567,offers,opted_in,website_form,2026-11-02,Yes to offers
393331234568,orders,opted_in,checkout,2026-11-03T10:00:00Z,Order updates please
not-a-number,orders,opted_in,checkout,2026-11-03,
393331234569,nope,opted_in,checkout,2026-11-03,
393331234570,offers,opted_in,,,
393331234571,orders,opted_in,,2026-11-03,
393331234572,offers,opted_out,,,
"""


def test_the_import_reports_each_row_and_quarantines_marketing_without_proof(number, ada) -> None:
    services.consent_category_create(
        waba_id=WABA, slug="offers", name="Offers", template_categories=["MARKETING"]
    )
    services.consent_category_create(
        waba_id=WABA, slug="orders", name="Orders", template_categories=["UTILITY"]
    )
    upload = io.BytesIO(CSV.encode())
    upload.name = "consents.csv"
    answer = session(ada).post("/api/v1/consent-imports/", {"file": upload}, format="multipart")
    assert answer.status_code == 202, answer.json()
    assert (answer.json()["status"], answer.json()["rows"]) == ("queued", 7)
    job = services.consent_import_run(import_id=answer.json()["id"], chunk=3)
    assert job is not None
    body = session(ada).get(f"/api/v1/consent-imports/{job.pk}/").json()
    assert (body["status"], body["processed"], body["imported"]) == ("done", 7, 3)
    assert (body["refused"], body["quarantined"]) == (3, 1)
    assert [(r["row"], r["outcome"], r["reason"]) for r in body["report"]] == [
        (1, "imported", ""),
        (2, "imported", ""),
        (3, "refused", "invalid number"),
        (4, "refused", "unknown category"),
        (5, "quarantined", "no proof of consent"),
        (6, "refused", "no proof of consent"),
        (7, "imported", ""),
    ]
    states = {
        (c.contact.wa_id, c.category.slug): (c.state, c.source)
        for c in Consent.objects.select_related("contact", "category")
    }
    assert states == {
        ("393331234567", "offers"): ("opted_in", "website_form"),
        ("393331234568", "orders"): ("opted_in", "checkout"),
        ("393331234572", "offers"): ("opted_out", "import"),
    }
    # The quarantined customer is known, never consenting.
    assert not Contact.objects.filter(wa_id="393331234570").exists()
    assert services.consent_import_run(import_id=job.pk) == ConsentImport.objects.get()
    assert Consent.objects.count() == 3  # running it again changed nothing
