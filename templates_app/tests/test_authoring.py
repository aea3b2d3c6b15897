"""Admins write templates through the API: drafts, edits, teams, deletion, and
submission behind the checks."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest
from rest_framework.test import APIClient

from conversations.tests.factories import NumberFactory, TeamFactory, UserFactory
from templates_app.models import MessageTemplate, TemplateChange
from templates_app.tests.factories import DISCOUNT, WABA_ID, make_template, template_fields

pytestmark = pytest.mark.django_db(transaction=True)


def client_as(role: str, username: str | None = None, *, teams: Any = ()) -> APIClient:
    user = UserFactory(username=username or role, role=role)
    for team in teams:
        team.members.add(user)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admin() -> APIClient:
    NumberFactory()
    return client_as("admin")


def queued_jobs() -> list[str]:
    return [job.func_name for job in django_rq.get_queue("default").jobs]


def test_an_admin_writes_a_draft_nothing_goes_to_whatsapp(admin) -> None:
    support = TeamFactory(name="Support")
    answer = admin.post(
        "/api/v1/templates/", template_fields(allowed_teams=[support.pk]), format="json"
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["name"], body["language"], body["category"], body["status"]) == (
        "order_shipped",
        "en_US",
        "UTILITY",
        "DRAFT",
    )
    assert (body["platform_id"], body["quality"], body["allowed_teams"]) == (
        "",
        "UNKNOWN",
        [support.pk],
    )
    assert [(c["kind"], c["new"], c["source"]) for c in body["history"]] == [
        ("status", "DRAFT", "admin")
    ]
    assert queued_jobs() == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name": "Order Shipped"}, "invalid_template"),
        ({"name": "order-shipped"}, "invalid_template"),
        ({"language": "english"}, "invalid_template"),
        ({"category": "PROMOTION"}, "invalid_template"),
        ({"waba_id": "999"}, "invalid_template"),
        ({"components": "BODY"}, "invalid"),
    ],
)
def test_what_can_never_be_a_template_is_refused_at_once(admin, changes, code) -> None:
    answer = admin.post("/api/v1/templates/", template_fields(**changes), format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert not MessageTemplate.objects.exists()


def test_a_second_template_of_the_same_name_and_language_is_a_conflict(admin) -> None:
    assert admin.post("/api/v1/templates/", template_fields(), format="json").status_code == 201
    again = admin.post("/api/v1/templates/", template_fields(), format="json")
    assert (again.status_code, again.json()["code"]) == (409, "duplicate")
    other_language = admin.post("/api/v1/templates/", template_fields(language="ru"), format="json")
    assert other_language.status_code == 201


def test_the_check_reports_findings_and_saves_nothing(admin) -> None:
    answer = admin.post(
        "/api/v1/templates/check/", template_fields(components=DISCOUNT), format="json"
    )
    assert answer.status_code == 200
    codes = {(f["code"], f["severity"]) for f in answer.json()["findings"]}
    assert ("promotional_content", "error") in codes
    assert not MessageTemplate.objects.exists()


def test_a_submission_with_errors_is_refused_with_the_findings(admin) -> None:
    draft = admin.post(
        "/api/v1/templates/", template_fields(components=DISCOUNT), format="json"
    ).json()
    answer = admin.post(f"/api/v1/templates/{draft['id']}/submit/")
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "template_check_failed"
    assert "promotional_content" in {f["code"] for f in body["findings"]}
    assert all(f["severity"] == "error" for f in body["findings"])
    assert MessageTemplate.objects.get().status == "DRAFT"
    assert queued_jobs() == []


def test_a_clean_submission_is_queued_once(admin) -> None:
    draft = admin.post("/api/v1/templates/", template_fields(), format="json").json()
    answer = admin.post(f"/api/v1/templates/{draft['id']}/submit/")
    assert answer.status_code == 202
    assert answer.json()["status"] == "SUBMITTING"
    assert queued_jobs() == ["templates_app.jobs.submit_template"]
    again = admin.post(f"/api/v1/templates/{draft['id']}/submit/")
    assert (again.status_code, again.json()["code"]) == (409, "template_busy")
    assert queued_jobs() == ["templates_app.jobs.submit_template"]
    template = MessageTemplate.objects.get()
    assert [v.number for v in template.versions.all()] == [1]


def test_teams_change_at_once_and_content_only_while_it_may(admin) -> None:
    template = make_template(status="PENDING", platform_id="1")
    sales = TeamFactory(name="Sales")
    teams = admin.patch(
        f"/api/v1/templates/{template.pk}/", {"allowed_teams": [sales.pk]}, format="json"
    )
    assert teams.status_code == 200
    assert teams.json()["allowed_teams"] == [sales.pk]
    busy = admin.patch(f"/api/v1/templates/{template.pk}/", {"components": DISCOUNT}, format="json")
    assert (busy.status_code, busy.json()["code"]) == (409, "template_busy")
    renamed = admin.patch(f"/api/v1/templates/{template.pk}/", {"name": "x"}, format="json")
    assert (renamed.status_code, renamed.json()["code"]) == (400, "invalid_template")


def test_editing_an_approved_template_submits_it_again_once_a_day(admin) -> None:
    template = make_template(platform_id="594425479261596")
    components = [{**template.components[0], "text": template.components[0]["text"] + " Thanks!"}]
    edit = admin.patch(
        f"/api/v1/templates/{template.pk}/", {"components": components}, format="json"
    )
    assert edit.status_code == 200, edit.json()
    assert edit.json()["status"] == "SUBMITTING"
    assert queued_jobs() == ["templates_app.jobs.submit_template"]
    MessageTemplate.objects.filter(pk=template.pk).update(status="APPROVED")
    again = admin.patch(
        f"/api/v1/templates/{template.pk}/", {"components": template.components}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "edit_limit")


def test_deleting_a_draft_removes_it_and_an_approved_one_goes_on_whatsapp_too(admin) -> None:
    draft = admin.post("/api/v1/templates/", template_fields(), format="json").json()
    assert admin.delete(f"/api/v1/templates/{draft['id']}/").status_code == 204
    assert not MessageTemplate.objects.exists()
    approved = make_template(platform_id="594425479261596")
    assert admin.delete(f"/api/v1/templates/{approved.pk}/").status_code == 204
    approved.refresh_from_db()
    assert approved.status == "PENDING_DELETION"
    assert queued_jobs() == ["templates_app.jobs.delete_template"]
    assert approved.changes.filter(kind=TemplateChange.Kind.STATUS).last().actor is not None


def test_who_sees_which_templates() -> None:
    support = TeamFactory(name="Support")
    sales = TeamFactory(name="Sales")
    everyone = make_template(name="for_everyone")
    supports = make_template(name="for_support", allowed_teams=[support])
    make_template(name="for_sales", allowed_teams=[sales])
    make_template(name="still_a_draft", status="DRAFT")
    olga = client_as("operator", "olga", teams=[support])
    names = [t["name"] for t in olga.get("/api/v1/templates/").json()]
    assert names == ["for_everyone", "for_support"]
    assert olga.get(f"/api/v1/templates/{supports.pk}/").status_code == 200
    sales_only = MessageTemplate.objects.get(name="for_sales")
    assert olga.get(f"/api/v1/templates/{sales_only.pk}/").status_code == 404
    supervisor = client_as("supervisor", "sam")
    assert len(supervisor.get("/api/v1/templates/").json()) == 4
    drafts = supervisor.get("/api/v1/templates/", {"status": "draft"}).json()
    assert [t["name"] for t in drafts] == ["still_a_draft"]
    for method, path in [
        ("post", "/api/v1/templates/"),
        ("post", "/api/v1/templates/check/"),
        ("patch", f"/api/v1/templates/{everyone.pk}/"),
        ("delete", f"/api/v1/templates/{everyone.pk}/"),
        ("post", f"/api/v1/templates/{everyone.pk}/submit/"),
    ]:
        for client in (olga, supervisor):
            answer = getattr(client, method)(path, template_fields(), format="json")
            assert answer.status_code == 403, (method, path)
    assert MessageTemplate.objects.count() == 4


def test_the_detail_counts_how_the_template_fared(admin) -> None:
    template = make_template(platform_id="1")
    body = admin.get(f"/api/v1/templates/{template.pk}/").json()
    assert body["usage"] == {
        "sent": 0,
        "delivered": 0,
        "read": 0,
        "answered": 0,
        "failed": 0,
        "failed_by_code": {},
        "queued": 0,
    }
    assert WABA_ID == body["waba_id"]


def test_the_list_counts_each_template_as_its_detail_does(admin) -> None:
    import datetime as dt

    from django.utils import timezone

    from conversations.models import Message
    from conversations.tests.factories import ConversationFactory
    from templates_app.models import TemplateSend

    shipped = make_template(name="order_shipped", platform_id="1")
    late = make_template(name="order_late", platform_id="2")
    make_template(name="never_sent", platform_id="3")
    conversation = ConversationFactory(number=NumberFactory._meta.model.objects.first())
    start = timezone.now() - dt.timedelta(hours=2)

    def sent(template: MessageTemplate, status: str, minute: int, code: int | None = None) -> None:
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUT,
            type="template",
            status=status,
            error_code=code,
            timestamp=start + dt.timedelta(minutes=minute),
        )
        TemplateSend.objects.create(template=template, message=message, parameters={})

    sent(shipped, "read", 1)
    sent(shipped, "delivered", 2)
    sent(shipped, "failed", 3, code=131026)
    sent(shipped, "queued", 4)
    sent(late, "failed", 5)
    sent(late, "sent", 6)
    Message.objects.create(  # the customer answers after the first two
        conversation=conversation,
        direction=Message.Direction.IN,
        status="received",
        timestamp=start + dt.timedelta(minutes=3, seconds=30),
    )

    listed = {t["name"]: t["usage"] for t in admin.get("/api/v1/templates/").json()}
    for template in MessageTemplate.objects.all():
        detail = admin.get(f"/api/v1/templates/{template.pk}/").json()["usage"]
        assert listed[template.name] == detail, template.name
    assert listed["order_shipped"] == {
        "sent": 2,
        "delivered": 2,
        "read": 1,
        "answered": 3,
        "failed": 1,
        "failed_by_code": {"131026": 1},
        "queued": 1,
    }
    assert listed["order_late"]["failed_by_code"] == {"unknown": 1}
    assert listed["never_sent"]["sent"] == 0
