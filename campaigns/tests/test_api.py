"""The campaigns API as integrations use it: the names are a contract."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from campaigns import pacing, services
from campaigns.tests.conftest import Graph, customers
from conversations import services as core
from conversations.tests.factories import ConversationFactory, text_webhook
from inbox.tests.conftest import make_inbox_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin() -> APIClient:
    made = make_inbox_user("ada", first_name="Ada", last_name="Admin", role="admin")
    client = APIClient()
    client.force_authenticate(User.objects.get(username=made.username))
    return client


def test_create_preview_start_and_the_funnel(
    admin: APIClient, graph: Graph, offer: Any, number: Any, quiet_never: None, post_webhook: Any
) -> None:
    agreed = customers(2)
    answer = admin.post(
        "/api/v1/campaigns/",
        {
            "name": "Spring offer",
            "number": number.pk,
            "consent_category": "everything",
            "variants": [{"template": offer.pk, "share": 100}],
            "audience": {"wa_ids": [c.wa_id for c in agreed] + ["393300009999", "12"]},
            "parameters": {"body": ["friend", "A-1"]},
            "recipients": [{"wa_id": agreed[0].wa_id, "parameters": {"body": ["Anna", "A-7"]}}],
            "send_at": None,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    campaign = answer.json()
    assert campaign["status"] == "draft"
    preview = admin.get(f"/api/v1/campaigns/{campaign['id']}/preview/").json()
    assert preview["eligible"] == 2
    assert preview["excluded"]["no_consent"] == 1
    assert preview["excluded"]["invalid_number"] == 1
    assert preview["deferred"] == {"quiet_hours": 0}
    assert preview["cost_estimate"]["currency"] == "USD"

    started = admin.post(f"/api/v1/campaigns/{campaign['id']}/start/")
    assert started.status_code == 202 and started.json()["status"] == "running"
    assert admin.post(f"/api/v1/campaigns/{campaign['id']}/start/").status_code == 409
    services.campaign_work(
        campaign_id=campaign["id"], limiter=pacing.MemoryLimiter(), sleep=lambda s: None
    )
    by_wa_id = {s["to"]: s for s in graph.sends}
    assert set(by_wa_id) == {c.wa_id for c in agreed}
    own = by_wa_id[agreed[0].wa_id]["template"]["components"][0]["parameters"]
    assert [p["text"] for p in own] == ["Anna", "A-7"]

    # One customer answers, the other opts out after receiving it.
    post_webhook(text_webhook(wa_id=agreed[0].wa_id, text="Thanks!"))
    core.consent_record(
        contact=agreed[1],
        category=agreed[1].consents.get().category,
        state="opted_out",
        source="website_form",
    )
    detail = admin.get(f"/api/v1/campaigns/{campaign['id']}/").json()
    assert detail["status"] == "done"
    counts = detail["counts"]
    assert {k: counts[k] for k in ("eligible", "queued", "sent", "failed", "excluded")} == {
        "eligible": 2,
        "queued": 0,
        "sent": 2,
        "failed": 0,
        "excluded": 2,
    }
    assert (counts["replied"], counts["opted_out_after"], counts["deferred"]) == (1, 1, 0)
    rows = admin.get(f"/api/v1/campaigns/{campaign['id']}/recipients/?state=excluded").json()
    assert sorted(r["reason"] for r in rows) == ["invalid_number", "no_consent"]
    assert all(set(r) == {"wa_id", "state", "reason", "variant"} for r in rows)
    replied = ConversationFactory._meta.model.objects.get(contact=agreed[0])
    assert list(replied.labels.values_list("name", flat=True)) == ["Campaign: Spring offer"]
    # Put on through the core: the thread shows who added it (the system).
    event = replied.events.get(kind="labels")
    assert (event.actor_id, event.data["added"]) == (None, ["Campaign: Spring offer"])


def test_refusals_are_json_with_a_code(admin: APIClient, offer: Any, number: Any) -> None:
    answer = admin.post(
        "/api/v1/campaigns/",
        {
            "name": "Bad",
            "number": number.pk,
            "consent_category": "nobody",
            "variants": [{"template": offer.pk, "share": 100}],
            "audience": {"wa_ids": ["393300000001"]},
        },
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_campaign"


def test_a_saved_list_filter_is_an_audience(offer: Any, number: Any) -> None:
    from campaigns.models import Recipient
    from conversations.models import Label

    admin_user = make_inbox_user("ada2", first_name="Ada", last_name="Admin", role="admin")
    late = Label.objects.create(name="Late")
    chosen = customers(3)
    for contact in chosen[:2]:
        ConversationFactory(contact=contact, number=number).labels.add(late)
    ConversationFactory(contact=chosen[2], number=number, status="resolved").labels.add(late)
    campaign = services.campaign_create(
        name="Filtered",
        number_id=number.pk,
        consent_category="everything",
        variants=[{"template": offer.pk, "share": 100}],
        audience={"filter": {"label": late.pk, "status": "open"}},
        user=User.objects.get(username=admin_user.username),
    )
    assert set(Recipient.objects.filter(campaign=campaign).values_list("wa_id", flat=True)) == {
        c.wa_id for c in chosen[:2]
    }


def test_a_posted_list_of_numbers_becomes_recipients_with_a_few_statements(
    offer: Any, number: Any, django_assert_max_num_queries: Any
) -> None:
    from campaigns.models import Recipient
    from conversations.models import Contact

    known = customers(60)
    new = [f"4915112{i:06d}" for i in range(60)]
    with django_assert_max_num_queries(20):
        campaign = services.campaign_create(
            name="Posted",
            number_id=number.pk,
            consent_category="everything",
            variants=[{"template": offer.pk, "share": 100}],
            audience={"wa_ids": [c.wa_id for c in known] + new + ["12", new[0]]},
            recipients=[{"wa_id": "+49 151 12000001", "parameters": {"body": ["Jo", "B-1"]}}],
        )
    rows = {r.wa_id: r for r in Recipient.objects.filter(campaign=campaign)}
    # Each number once; the known customers keep their contact, the new ones get one
    # (country and time zone from the number), the one that is no number is excluded.
    assert len(rows) == 121
    assert all(rows[c.wa_id].contact_id == c.pk for c in known)
    berliner = Contact.objects.get(wa_id=new[1])
    assert rows[new[1]].contact_id == berliner.pk
    assert (berliner.country, berliner.time_zone, rows[new[1]].country) == (
        "DE",
        "Europe/Berlin",
        "DE",
    )
    assert rows[new[1]].parameters == {"body": ["Jo", "B-1"]}
    assert (rows["12"].state, rows["12"].reason, rows["12"].contact_id) == (
        "excluded",
        "invalid_number",
        None,
    )
