"""WhatsApp's side of a template, against the simulated Cloud API: submission exactly
once, the review and what the webhooks report, deletion, and reconciliation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import django_rq
import pytest
from django.utils import timezone
from rq import SimpleWorker

from conftest import FIXTURES_DIR
from conversations import services as conversation_services
from conversations.tests.factories import UserFactory
from simulator import Simulator
from templates_app import services
from templates_app.models import MessageTemplate
from templates_app.tests.factories import WABA_ID, template_fields

pytestmark = pytest.mark.django_db(transaction=True)


def run_jobs() -> None:
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the expected state was not reached in time"
        time.sleep(0.05)


def status_of(template: MessageTemplate) -> str:
    return MessageTemplate.objects.values_list("status", flat=True).get(pk=template.pk)


def draft(**changes) -> MessageTemplate:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role="admin")
    return services.template_create(actor=admin, **template_fields(**changes))


def test_a_submission_reaches_whatsapp_once_and_its_review_comes_back(sim: Simulator) -> None:
    template = draft()
    services.template_submit(actor=None, template=template)
    run_jobs()
    template.refresh_from_db()
    [held] = sim.templates
    assert (held["name"], held["language"], held["category"]) == (
        "order_shipped",
        "en_US",
        "UTILITY",
    )
    assert template.platform_id == str(held["id"])
    eventually(lambda: status_of(template) == "APPROVED")
    history = [(c.old, c.new, c.source) for c in template.changes.filter(kind="status")]
    assert history == [
        ("", "DRAFT", "admin"),
        ("DRAFT", "SUBMITTING", "admin"),
        ("SUBMITTING", "PENDING", "submission"),
        ("PENDING", "APPROVED", "webhook"),
    ]


def test_a_job_run_again_or_an_answer_lost_never_makes_a_second_template(
    sim: Simulator,
) -> None:
    template = draft()
    services.template_submit(actor=None, template=template)
    # The first post arrived but its answer never came back.
    body = {k: template_fields()[k] for k in ("name", "language", "category", "components")}
    sim.add_template(body, status="PENDING")
    services.template_submission_run(template_id=template.pk)
    services.template_submission_run(template_id=template.pk)
    run_jobs()
    assert len(sim.templates) == 1
    template.refresh_from_db()
    assert (template.status, template.platform_id) == ("PENDING", str(sim.templates[0]["id"]))


def test_a_rejection_says_why_and_the_fixed_template_goes_back_as_an_edit(
    sim: Simulator,
) -> None:
    sim.set_review_outcome("REJECTED", "INVALID_FORMAT")
    template = draft()
    services.template_submit(actor=None, template=template)
    run_jobs()
    eventually(lambda: status_of(template) == "REJECTED")
    template.refresh_from_db()
    assert template.rejected_reason.startswith("INVALID_FORMAT")
    platform_id = template.platform_id

    fixed = "Hi {{1}}, your order {{2}} ships on {{3}}. Thank you for shopping with us!"
    components = [{**template.components[0], "text": fixed}]
    services.template_update(actor=None, template=template, fields={"components": components})
    run_jobs()
    eventually(lambda: status_of(template) == "APPROVED")
    template.refresh_from_db()
    assert (template.platform_id, template.rejected_reason, template.version) == (
        platform_id,
        "",
        2,
    )
    assert len(sim.templates) == 1
    assert sim.templates[0]["components"][0]["text"] == fixed
    assert [v.number for v in template.versions.all()] == [1, 2]


def test_quality_and_category_follow_the_webhooks(sim: Simulator) -> None:
    template = draft()
    services.template_submit(actor=None, template=template)
    run_jobs()
    eventually(lambda: status_of(template) == "APPROVED")
    sim.set_template_quality("order_shipped", "en_US", "YELLOW")
    eventually(lambda: MessageTemplate.objects.get(pk=template.pk).quality == "YELLOW")
    sim.set_template_category("order_shipped", "en_US", "MARKETING")
    eventually(lambda: MessageTemplate.objects.get(pk=template.pk).category == "MARKETING")
    kinds = [(c.kind, c.old, c.new) for c in template.changes.exclude(kind="status")]
    assert kinds == [("quality", "UNKNOWN", "YELLOW"), ("category", "UTILITY", "MARKETING")]


def test_the_documented_webhooks_apply_to_the_template_they_name(post_webhook) -> None:
    from conversations.tests.factories import NumberFactory

    NumberFactory()
    approved = json.loads((FIXTURES_DIR / "webhook_template_status_approved.json").read_bytes())
    value = approved["entry"][0]["changes"][0]["value"]
    template = MessageTemplate.objects.create(
        waba_id=approved["entry"][0]["id"],
        name=value["message_template_name"],
        language=value["message_template_language"].replace("-", "_"),
        category="MARKETING",
        status="PENDING",
        platform_id=str(value["message_template_id"]),
    )
    assert post_webhook(approved).status_code == 200
    template.refresh_from_db()
    assert template.status == "APPROVED"


def test_a_verdict_for_a_template_whose_answer_was_lost_gives_it_its_id(post_webhook) -> None:
    """The post reached WhatsApp, its answer did not: the review's webhook names the
    template by account, name and language, and the template takes the id it carries."""
    from conversations.tests.factories import NumberFactory

    NumberFactory()
    approved = json.loads((FIXTURES_DIR / "webhook_template_status_approved.json").read_bytes())
    value = approved["entry"][0]["changes"][0]["value"]
    template = MessageTemplate.objects.create(
        waba_id=approved["entry"][0]["id"],
        name=value["message_template_name"],
        language=value["message_template_language"].replace("-", "_"),
        category="MARKETING",
        status="SUBMITTING",
    )
    assert post_webhook(approved).status_code == 200
    template.refresh_from_db()
    assert (template.status, template.platform_id) == (
        "APPROVED",
        str(value["message_template_id"]),
    )


def test_deleting_removes_it_on_whatsapp(sim: Simulator) -> None:
    template = draft()
    services.template_submit(actor=None, template=template)
    run_jobs()
    eventually(lambda: status_of(template) == "APPROVED")
    services.template_delete(actor=None, template=template)
    run_jobs()
    assert status_of(template) == "DELETED"
    assert sim.templates == []


def test_reconciliation_brings_templates_made_elsewhere_and_drops_deleted_ones(
    sim: Simulator,
) -> None:
    sim.add_template(
        {
            "name": "welcome_back",
            "language": "it",
            "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Bentornato da Acme!"}],
        }
    )
    gone = MessageTemplate.objects.create(
        waba_id=WABA_ID,
        name="old_one",
        language="en_US",
        category="UTILITY",
        status="APPROVED",
        platform_id="123",
    )
    kept_draft = draft(name="not_sent_yet")
    assert services.templates_sync(waba_id=WABA_ID) == 2
    made = MessageTemplate.objects.get(name="welcome_back")
    assert (made.status, made.category, made.language) == ("APPROVED", "MARKETING", "it")
    assert status_of(gone) == "DELETED"
    assert status_of(kept_draft) == "DRAFT"
    assert services.templates_sync(waba_id=WABA_ID) == 0


def test_the_clock_reconciles_every_account_now_and_then(settings) -> None:
    from django.core.cache import cache

    from conversations.tests.factories import NumberFactory

    NumberFactory()
    cache.delete("templates:sync")
    settings.TEMPLATES_SYNC_EVERY = 600
    conversation_services.timers_run(now=timezone.now())
    conversation_services.timers_run(now=timezone.now())
    jobs = [(j.func_name, j.args) for j in django_rq.get_queue("default").jobs]
    assert jobs == [("templates_app.jobs.sync_templates", (WABA_ID,))]


def test_the_demo_account_gets_its_approved_templates_by_reconciliation(
    sim: Simulator, settings
) -> None:
    """What ``make demo`` does: templates made on the account (as in WhatsApp
    Manager), approved there, then found by ``manage.py sync_templates``."""
    import importlib.util

    from django.core.management import call_command

    from conftest import ROOT_DIR

    spec = importlib.util.spec_from_file_location("demo", ROOT_DIR / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    demo._seed_templates(sim.base_url, settings.WHATSAPP_ACCESS_TOKEN)
    call_command("sync_templates")
    found = sorted(MessageTemplate.objects.values_list("name", "language", "status"))
    assert found == [
        ("order_shipped", "en_US", "APPROVED"),
        ("order_shipped", "ru", "APPROVED"),
        ("still_need_help", "en_US", "APPROVED"),
    ]
    # Its review rejects promotions, as the demo's admins will find out.
    assert sim.review_rules["reject_words"][:1] == ["discount"]
