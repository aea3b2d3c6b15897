"""Signed but mutated bodies: the webhook never crashes, and loses nothing.

Ten thousand bodies, mutated from every fixture payload. Every body is answered
200 (applied or kept as a dead letter) or 400 (not JSON, kept as a dead letter):
never a 5xx that would make WhatsApp redeliver it forever, never an error logged.
"""

import copy
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES_DIR
from conversations.models import WebhookDelivery

pytestmark = pytest.mark.django_db

SEEDS = [json.loads(p.read_bytes()) for p in sorted(FIXTURES_DIR.glob("webhook_*.json"))]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


@st.composite
def mutated_deliveries(draw):
    payload = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = draw(st.sampled_from(list(paths(payload))))
        replacement = draw(json_values | st.just("\u0000nul") | st.just("9" * 30))
        if not target:
            payload = replacement
            continue
        parent = payload
        for key in target[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(target[-1], None)
        else:
            parent[target[-1]] = replacement
    return json.dumps(payload).encode()


class _Errors(logging.Handler):
    """Collects what the inbox logs at ERROR or above (an unhandled exception)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged_errors():
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated_deliveries())
def test_mutated_signed_bodies_are_applied_or_kept(
    post_webhook, numbers, logged_errors, raw
) -> None:
    before = WebhookDelivery.objects.count()
    response = post_webhook(raw)
    assert response.status_code in (200, 400), response.content
    assert WebhookDelivery.objects.count() == before + 1
    assert not logged_errors, [record.getMessage() for record in logged_errors]


def test_a_body_with_nul_characters_is_kept_not_refused(post_webhook, numbers) -> None:
    payload = json.loads((FIXTURES_DIR / "webhook_text_message.json").read_bytes())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"] = "broken\u0000text"
    assert post_webhook(json.dumps(payload).encode()).status_code == 200
