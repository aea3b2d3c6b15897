"""The send jobs: every eligible recipient gets exactly one message, at the
number's pace, within the tier; throttling slows down and never fails anyone."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from campaigns import pacing, services
from campaigns.models import Campaign, NumberPace, Recipient
from campaigns.selectors import campaign_counts, campaign_recipients
from campaigns.services import sending
from campaigns.tests.conftest import Graph, customers
from conversations.models import Message, WhatsAppNumber
from conversations.tests.factories import ConversationFactory, status_webhook

pytestmark = pytest.mark.django_db(transaction=True)


def make_campaign(template: Any, contacts: list[Any], **changes: Any) -> Campaign:
    fields: dict[str, Any] = {
        "name": "Spring offer",
        "number_id": WhatsAppNumber.objects.get(waba_id=template.waba_id).pk,
        "consent_category": "everything",
        "variants": [{"template": template.pk, "share": 100}],
        "audience": {"contacts": [c.pk for c in contacts]},
        "parameters": {"body": ["friend", "A-1"]},
    }
    fields.update(changes)
    return services.campaign_create(**fields)


def run(
    campaign: Campaign, *, limiter: Any = None, client: Any = None, rounds: int = 20
) -> list[float]:
    """Run the send job's work until it has nothing due now; the pauses it asked for."""
    waits: list[float] = []
    for _ in range(rounds):
        result = services.campaign_work(
            campaign_id=campaign.pk,
            limiter=limiter or pacing.MemoryLimiter(),
            client=client,
            sleep=waits.append,
        )
        if result.again_in is None or result.again_in > dt.timedelta(seconds=5):
            break
        Recipient.objects.filter(campaign=campaign, next_try_at__isnull=False).update(
            next_try_at=timezone.now(), lease_until=None
        )
    return waits


def test_every_recipient_gets_exactly_one_message_and_the_campaign_is_done(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    contacts = customers(30)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    run(campaign)
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}
    campaign.refresh_from_db()
    assert campaign.status == "done"
    counts = campaign_counts(campaign)
    funnel = (counts["eligible"], counts["sent"], counts["queued"], counts["failed"])
    assert funnel == (30, 30, 0, 0)
    sent = graph.sends[0]
    assert sent["type"] == "template" and sent["template"]["name"] == "spring_offer"
    message = Message.objects.get(pk=sent["biz_opaque_callback_data"])
    assert message.content["path"] == "campaign"
    assert message.content["campaign"] == str(campaign.pk)


def test_two_workers_at_once_keep_the_shared_pace_and_send_nobody_twice(
    graph: Graph, offer: Any, quiet_never: None, number: Any
) -> None:
    NumberPace.objects.create(number=number, messages_per_second=10)
    contacts = customers(20)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    shared = pacing.limiter()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            services.campaign_work(campaign_id=campaign.pk, limiter=shared)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}
    times = sorted(s["_at"] for s in graph.sends)
    # 20 sends at 10 a second: 19 intervals of 100 ms between the first and the last
    # (each worker alone would have sent its half in half the time).
    assert times[-1] - times[0] >= 19 / 10 - 0.05
    assert times[-1] - times[0] < 19 / 10 * 3


def test_a_throughput_refusal_holds_the_number_and_retries_without_failing(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    contacts = customers(3)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    # More refusals in a row than the core's automatic retries allow (5).
    graph.failures = [130429] * 7
    limiter = pacing.MemoryLimiter()
    before = timezone.now()
    services.campaign_work(campaign_id=campaign.pk, limiter=limiter, sleep=lambda s: None)
    row = Recipient.objects.get(campaign=campaign, wa_id=graph.refused[0]["to"])
    assert row.state == "sending" and row.reason == "130429"
    # The first retry within seconds, and every sender of the number waits as long.
    assert row.next_try_at - before < dt.timedelta(seconds=2)
    assert limiter.reserve(campaign.number_id, 80) > 0.5
    pauses = []
    for _ in range(12):
        Recipient.objects.filter(campaign=campaign, next_try_at__isnull=False).update(
            next_try_at=timezone.now(), lease_until=None
        )
        row.refresh_from_db()
        if row.next_try_at is not None and row.state == "sending":
            pauses.append(row.tries)
        services.campaign_work(
            campaign_id=campaign.pk, limiter=pacing.MemoryLimiter(), sleep=lambda s: None
        )
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}
    assert campaign_counts(campaign)["failed"] == 0
    assert [services.backoff(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_pair_rate_refusal_retries_that_customer_within_seconds(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    contacts = customers(2)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    graph.failures = [131056]
    limiter = pacing.MemoryLimiter()
    before = timezone.now()
    services.campaign_work(campaign_id=campaign.pk, limiter=limiter, sleep=lambda s: None)
    refused = Recipient.objects.get(campaign=campaign, wa_id=graph.refused[0]["to"])
    assert refused.state == "sending" and refused.reason == "131056"
    assert dt.timedelta(0) < refused.next_try_at - before < dt.timedelta(seconds=2)
    # Only that customer waits: the other one was sent at once.
    assert len(graph.sends) == 1
    run(campaign)
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}
    assert Campaign.objects.get(pk=campaign.pk).status == "done"


def test_ab_variants_split_by_share_with_results_per_variant(
    graph: Graph, offer: Any, update: Any, quiet_never: None
) -> None:
    from templates_app.tests.factories import DISCOUNT, make_template

    other = make_template(name="spring_offer_b", category="MARKETING", components=DISCOUNT)
    contacts = customers(200)
    campaign = make_campaign(
        offer,
        contacts,
        variants=[{"template": offer.pk, "share": 75}, {"template": other.pk, "share": 25}],
    )
    variants = list(campaign.variants.all())
    split = [Recipient.objects.filter(variant=v).count() for v in variants]
    assert sum(split) == 200
    assert 125 <= split[0] <= 175 and 25 <= split[1] <= 75
    services.campaign_start(campaign=campaign)
    run(campaign)
    names = [s["template"]["name"] for s in graph.sends]
    assert names.count("spring_offer") == split[0]
    assert names.count("spring_offer_b") == split[1]
    assert campaign_counts(campaign, variant_id=variants[1].pk)["sent"] == split[1]
    listed = campaign_recipients(campaign)
    assert {r["variant"] for r in listed} == {"A", "B"}


def test_a_row_taken_by_another_job_is_not_sent_twice(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    contacts = customers(1)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    row = Recipient.objects.get(campaign=campaign)
    # A job took the row and died before storing anything: its lease ran out.
    Recipient.objects.filter(pk=row.pk).update(
        lease_token="dead", lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    run(campaign)
    # A job that stored the message and died before delivering it: the next delivers.
    assert graph.per_customer() == {contacts[0].wa_id: 1}
    assert Message.objects.filter(direction="out").count() == 1


def test_a_message_stored_but_not_delivered_is_delivered_by_the_next_job(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    from conversations import services as core

    contacts = customers(1)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    row = Recipient.objects.get(campaign=campaign)
    conversation = ConversationFactory(contact=contacts[0], last_inbound_at=None)
    # What a job leaves when it dies right after storing the message: the row
    # points at a queued message, nobody delivered it.
    message = core.message_send_template(
        conversation=conversation,
        user=None,
        name=offer.name,
        language=offer.language,
        components=[],
        text="Spring offer",
        category="MARKETING",
        path="campaign",
        campaign=str(campaign.pk),
        deliver=False,
    )
    Recipient.objects.filter(pk=row.pk).update(
        state="sending", message=message, conversation=conversation, tries=1
    )
    run(campaign)
    assert graph.per_customer() == {contacts[0].wa_id: 1}
    assert Message.objects.filter(direction="out").count() == 1
    assert campaign_recipients(campaign)[0]["state"] == "sent"


class DiesMidSend:
    """A Graph client whose worker is killed after WhatsApp took the message and
    before its answer came back."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> Any:
        self.graph.sends.append(payload)
        raise SystemExit("killed")


def test_a_send_whose_outcome_is_unknown_is_settled_by_the_status_webhook_not_resent(
    graph: Graph, offer: Any, quiet_never: None, post_webhook: Any
) -> None:
    contacts = customers(1)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    with pytest.raises(SystemExit):
        services.campaign_work(
            campaign_id=campaign.pk,
            limiter=pacing.MemoryLimiter(),
            client=DiesMidSend(graph),
            sleep=lambda s: None,
        )
    # The lease runs out; another job looks at the row and does not send again.
    Recipient.objects.filter(campaign=campaign).update(lease_until=None)
    run(campaign)
    assert graph.per_customer() == {contacts[0].wa_id: 1}
    message = Message.objects.get(direction="out")
    assert message.status == "sending"
    assert campaign_recipients(campaign)[0]["state"] == "sending"
    # WhatsApp's status webhook carries our id as its callback data.
    post_webhook(
        status_webhook(
            message_id="wamid.LATE0001==",
            status="delivered",
            callback_data=str(message.pk),
            recipient=contacts[0].wa_id,
        )
    )
    assert campaign_recipients(campaign)[0]["state"] == "delivered"
    counts = campaign_counts(campaign)
    assert (counts["sent"], counts["delivered"], counts["failed"]) == (1, 1, 0)
    assert Campaign.objects.get(pk=campaign.pk).status == "done"


def test_the_tier_ceiling_pauses_the_campaign(graph: Graph, offer: Any, quiet_never: None) -> None:
    from campaigns.models import AccountTier

    AccountTier.objects.filter(waba_id=offer.waba_id).update(tier="TIER_250")
    limiter = pacing.MemoryLimiter()
    for i in range(248):
        limiter.reach(offer.waba_id, f"other{i}", 250)
    contacts = customers(5)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    services.campaign_work(campaign_id=campaign.pk, limiter=limiter, sleep=lambda s: None)
    campaign.refresh_from_db()
    assert campaign.status == "paused" and campaign.paused_reason == "tier_limit"
    assert len(graph.sends) == 2
    assert Recipient.objects.filter(campaign=campaign, state="pending").count() == 3


def test_one_batch_gives_each_refused_recipient_its_own_rule_and_sends_the_rest(
    graph: Graph, offer: Any
) -> None:
    import time_machine

    from conversations import services as core
    from conversations.models import ComplianceLogEntry, Contact
    from conversations.tests.factories import consent_to

    core.compliance_policy_update(
        quiet_hours={"start": "21:00", "end": "09:00", "weekend_days": []},
        frequency_cap={"messages": 1, "days": 7},
        allowed_countries=["IT", "RU"],
    )
    # A Tuesday, 19:30 UTC: 20:30 in Rome (allowed), 22:30 in Moscow (quiet).
    evening = dt.datetime(2026, 3, 10, 19, 30, tzinfo=dt.UTC)
    italians = customers(3)

    def contact(wa_id: str, *, consent: bool = True) -> Contact:
        made = Contact.objects.create(wa_id=wa_id, phone=f"+{wa_id}")
        if consent:
            consent_to(made)
        return made

    no_consent = contact("393300000100", consent=False)
    opted_out = contact("393300000101")
    core.consent_record(
        contact=opted_out, category=consent_to(opted_out), state="opted_out", source="operator"
    )
    capped = contact("393300000102")
    Message.objects.create(
        conversation=ConversationFactory(contact=capped),
        direction="out",
        type="template",
        status="delivered",
        content={"category": "MARKETING"},
        timestamp=evening - dt.timedelta(days=2),
    )
    american, russian = contact("12125550123"), contact("79161234567")
    others = [no_consent, opted_out, capped, american, russian]
    campaign = make_campaign(
        offer, [], audience={"wa_ids": [c.wa_id for c in italians + others] + ["12"]}
    )
    limiter = pacing.MemoryLimiter()
    with time_machine.travel(evening, tick=True):
        services.campaign_start(campaign=campaign)
        services.campaign_work(campaign_id=campaign.pk, limiter=limiter, sleep=lambda s: None)
        # Only the customers who got a message count against the tier.
        assert sorted(limiter.tiers[offer.waba_id]) == sorted(c.wa_id for c in italians)
    rows = {
        r.wa_id: (r.state, r.reason, r.next_try_at)
        for r in Recipient.objects.filter(campaign=campaign)
    }
    assert rows == {
        **{c.wa_id: ("sent", "", None) for c in italians},
        no_consent.wa_id: ("excluded", "no_consent", None),
        opted_out.wa_id: ("excluded", "opted_out", None),
        capped.wa_id: ("excluded", "frequency_cap", None),
        american.wa_id: ("excluded", "country_not_allowed", None),
        # 09:00 in Moscow (UTC+3) the next morning.
        russian.wa_id: ("deferred", "quiet_hours", dt.datetime(2026, 3, 11, 6, 0, tzinfo=dt.UTC)),
        "12": ("excluded", "invalid_number", None),
    }
    assert sorted(graph.per_customer()) == sorted(c.wa_id for c in italians)
    logged = dict(ComplianceLogEntry.objects.values_list("wa_id", "reason"))
    assert logged == {c.wa_id: rows[c.wa_id][1] for c in others}


def test_a_batch_costs_a_bounded_number_of_statements_per_recipient(
    graph: Graph, offer: Any, quiet_never: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db.backends.utils import CursorWrapper

    contacts = customers(100)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    # Every connection's statements: the job stores its batches in a thread of its own.
    statements: list[str] = []
    execute = CursorWrapper._execute_with_wrappers

    def counted(self: CursorWrapper, sql: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(sql)
        return execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", counted)
    # Two a message on PostgreSQL (the move to sending with its attempt, the outcome
    # with the attempt's end), and a few for each batch of 25 (the rules, the
    # messages, the rows): a message sent on its own took about 34.
    run(campaign)
    monkeypatch.undo()
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}
    assert 100 * 2 < len(statements) <= 100 * 4


class WatchesTheNextBatch:
    """The Graph client of a job, which at the job's first send waits (up to five
    seconds) for more of the campaign's messages to be stored than there were."""

    def __init__(self, patience: float = 5) -> None:
        from conversations import services as core

        self.client = core.graph_client()
        self.patience = patience
        self.stored: list[int] = []

    def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> Any:
        if not self.stored:
            stored = Message.objects.filter(direction="out").count
            self.stored.append(stored())
            deadline = time.monotonic() + self.patience
            while stored() == self.stored[0] and time.monotonic() < deadline:
                time.sleep(0.01)
            self.stored.append(stored())
        return self.client.send_message(phone_number_id, payload)


def test_a_job_stores_its_next_batch_while_it_delivers_this_one(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    contacts = customers(60)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    watcher = WatchesTheNextBatch()
    run(campaign, client=watcher)
    first, then = watcher.stored
    # The first batch's first message was on its way when the next batch was stored.
    assert 0 < first < then <= 60
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}


class TakesARow(pacing.MemoryLimiter):
    """The shared limiter, while another job takes one of this job's rows (its lease
    ran out) just before the batch is stored."""

    def __init__(self, wa_id: str) -> None:
        super().__init__()
        self.wa_id = wa_id

    def reach(self, waba_id: str, customer: str, limit: int | None, **kwargs: Any) -> int:
        if customer == self.wa_id:
            Recipient.objects.filter(wa_id=customer).update(lease_token="another job")
        return super().reach(waba_id, customer, limit, **kwargs)


def test_a_batch_whose_row_was_taken_stores_nothing_for_it_and_sends_the_rest_once(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    contacts = customers(4)
    campaign = make_campaign(offer, contacts)
    services.campaign_start(campaign=campaign)
    taken = contacts[2].wa_id
    services.campaign_work(campaign_id=campaign.pk, limiter=TakesARow(taken), sleep=lambda s: None)
    # The batch's rows and messages commit together: the taken row has no message
    # from this job, the others each have exactly one.
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts if c.wa_id != taken}
    assert not Message.objects.filter(conversation__contact=contacts[2]).exists()
    row = Recipient.objects.get(campaign=campaign, wa_id=taken)
    assert (row.state, row.message_id) == ("pending", None)
    # The job that took it sends it, once.
    Recipient.objects.filter(pk=row.pk).update(lease_until=None, lease_token="")
    run(campaign)
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}
    assert Message.objects.filter(direction="out").count() == 4


def test_inside_a_transaction_a_job_stores_each_batch_when_it_comes_to_it(
    graph: Graph, offer: Any, quiet_never: None
) -> None:
    from django.db import transaction

    contacts = customers(60)
    # Another connection would not see this transaction's campaign (and on SQLite
    # there is one writer at a time): the job stores each batch itself, in turn.
    watcher = WatchesTheNextBatch(patience=0)
    with transaction.atomic():
        campaign = make_campaign(offer, contacts)
        services.campaign_start(campaign=campaign)
        run(campaign, client=watcher)
    first, _ = watcher.stored
    # When the first message left, only the first batch was stored.
    assert 0 < first <= sending.STORE
    assert graph.per_customer() == {c.wa_id: 1 for c in contacts}
    campaign.refresh_from_db()
    assert campaign.status == "done"
