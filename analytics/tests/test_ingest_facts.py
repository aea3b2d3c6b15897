"""The webhook's batched path on PostgreSQL records the same reply facts as the
services, in the same transaction as its messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from analytics.models import Episode, Wait
from conversations import hooks, ingest, realtime
from conversations.models import Team
from conversations.tests.factories import NumberFactory
from conversations.tests.test_ingest import at, fresh_state, run, says, scenario, sequential

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the batched path is PostgreSQL's"
    ),
]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    events: list[Any] = []
    monkeypatch.setattr(realtime, "_send", lambda groups, message: events.append((groups, message)))
    return events


def facts() -> dict[str, list[Any]]:
    return {
        "episodes": sorted(
            Episode.objects.values_list(
                "conversation__contact__wa_id", "started_at", "reopened", "first_response_at"
            )
        ),
        "waits": sorted(
            Wait.objects.values_list(
                "conversation__contact__wa_id", "first", "started_at", "last_customer_at"
            )
        ),
    }


@pytest.mark.parametrize("size", [1, 5, 100])
def test_batches_record_the_facts_the_services_record(
    size: int, sent, django_capture_on_commit_callbacks
) -> None:
    NumberFactory(team=Team.objects.create(name="Support"))
    sequential(sent, django_capture_on_commit_callbacks)
    expected = facts()
    assert expected["waits"], "the scenario has customers waiting"

    deliveries = scenario()
    run(
        [deliveries[i : i + size] for i in range(0, len(deliveries), size)],
        sent,
        django_capture_on_commit_callbacks,
    )

    assert facts() == expected


def test_a_batch_that_rolls_back_leaves_no_facts(sent, monkeypatch) -> None:
    NumberFactory(team=Team.objects.create(name="Support"))
    fresh_state()
    # Dan's chat is open and known: his message takes the batched path.
    before = facts()

    def broken(messages: list[Any]) -> None:
        raise RuntimeError("the facts could not be written")

    monkeypatch.setattr(hooks, "_messages_handlers", [broken])
    with pytest.raises(RuntimeError):
        plain = ingest._classify(0, says("447700900004", "Dan", "hi", "wamid.X", 99))
        assert isinstance(plain, ingest._Plain)
        ingest._apply_together([plain], [])
    assert facts() == before
    assert not Wait.objects.filter(started_at=at(99)).exists()
