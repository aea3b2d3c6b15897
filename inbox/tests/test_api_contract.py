"""The API keeps the promises of its OpenAPI schema, for every kind of user.

Schemathesis reads ``/api/schema/`` from the app itself and generates requests for
every operation, authenticated with each role's API token, against an inbox with
real rows (``inbox/tests/world.py``): path parameters are either generated or the
ids of existing conversations, messages, notifications and numbers, so requests
reach the code behind the 404. Every answer must not be a server error, must
have a status code and content type the schema documents, and a body that
matches the schema. Negative cases (values the schema forbids) must never be a
server error either.

The run is bounded (a few dozen examples per operation and role) and
deterministic (``derandomize``); a failure prints the request that caused it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from campaigns.models import Campaign
from conversations.models import ConsentImport
from inbox.tests.world import (
    ADMIN,
    ANONYMOUS,
    OPERATOR,
    OUTSIDER,
    SUPERVISOR,
    World,
    a_campaign,
    build_world,
    graph_simulator,
)
from inbox.wsgi import application

pytestmark = pytest.mark.django_db

# Examples per operation and role: enough to reach every branch the schema
# describes, few enough that the file runs in about a minute on two CPUs.
POSITIVE_EXAMPLES = 12
NEGATIVE_EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The project's WSGI application inside the test's transaction: like Django's
    test client, it keeps the request signals from closing the test's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answer = application(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            answer.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def schema() -> Any:
    return schemathesis.openapi.from_wsgi("/api/schema/", app)


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Iterator[World]:
    settings.MEDIA_ROOT = tmp_path / "media"
    with graph_simulator(settings):
        world = build_world()
        a_campaign(world)
        yield world


def existing_ids(world: World, path: str) -> list[Any]:
    """Ids of real rows for the ``{id}`` of ``path``: some each role may see, some not."""
    if path.startswith("/api/v1/conversations/"):
        return [world.support_chat.pk, world.sales_chat.pk, world.lobby_chat.pk]
    if path.startswith("/api/v1/messages/"):
        return [
            str(message.pk)
            for message in (
                world.inbound,
                world.photo,
                world.failed_download,
                world.failed_reply,
                world.sales_photo,
            )
        ]
    if path.startswith("/api/v1/notifications/"):
        return [notification.pk for notification in world.notifications.values()]
    if path.startswith("/api/v1/numbers/"):
        return [world.number.pk]
    if path.startswith("/api/v1/templates/"):
        return [template.pk for template in world.templates.values()]
    if path.startswith("/api/v1/contacts/"):
        return [world.support_chat.contact_id, world.sales_chat.contact_id]
    if path.startswith("/api/v1/consent-imports/"):
        return list(ConsentImport.objects.values_list("pk", flat=True))
    if path.startswith("/api/v1/campaigns/"):
        return list(Campaign.objects.values_list("pk", flat=True))
    raise AssertionError(f"no rows known for {path}: add them to existing_ids")


def cases(operation: Any, world: World, mode: GenerationMode) -> st.SearchStrategy[Any]:
    """Generated requests for ``operation``; with a path parameter, about half of
    them name an existing row."""
    generated = operation.as_strategy(generation_mode=mode)
    if "{id}" not in operation.path:
        return generated
    real = [
        operation.as_strategy(generation_mode=mode, path_parameters={"id": value})
        for value in existing_ids(world, operation.path)
    ]
    return st.one_of(generated, *real)


def run_operation(
    operation: Any,
    strategy: st.SearchStrategy[Any],
    *,
    headers: dict[str, str],
    checks: list[Any],
    examples: int,
    seen: Counter[str],
) -> None:
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        seen["examples"] += 1
        seen[f"{operation.label} {response.status_code}"] += 1
        case.validate_response(response, checks=checks, headers=headers)

    check()


def label_of(operation: Any) -> str:
    return re.sub(r"\s+", " ", operation.label)


@pytest.mark.parametrize("role", [OPERATOR, OUTSIDER, SUPERVISOR, ADMIN, ANONYMOUS])
def test_every_operation_keeps_to_the_schema(schema: Any, world: World, role: str) -> None:
    headers = {"Authorization": f"Token {world.tokens[role]}"} if role != ANONYMOUS else {}
    seen: Counter[str] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the schema lost operations"
    failures: list[str] = []
    for operation in operations:
        seen["operations"] += 1
        for mode, checks, examples in (
            (GenerationMode.POSITIVE, CHECKS, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, [not_a_server_error], NEGATIVE_EXAMPLES),
        ):
            try:
                run_operation(
                    operation,
                    cases(operation, world, mode),
                    headers=headers,
                    checks=checks,
                    examples=examples,
                    seen=seen,
                )
            except Unsatisfiable:
                # Nothing to get wrong (no parameters, no body): no negative cases.
                assert mode is GenerationMode.NEGATIVE, label_of(operation)
            except Exception as exc:  # every operation runs; all failures are shown together
                failures.append(f"{label_of(operation)} ({mode.value}):\n{exc}")
    assert not failures, "\n\n".join(failures)
    by_status: Counter[str] = Counter()
    for key, count in seen.items():
        if " " in key:  # "<method> <path> <status>"
            by_status[key.rsplit(" ", 1)[1]] += count
    # What was tried, shown by `pytest -s`.
    print(
        f"\n{role}: {seen['operations']} operations, {seen['examples']} requests; "
        + ", ".join(f"{status}: {count}" for status, count in sorted(by_status.items()))
    )
    if role in (SUPERVISOR, ADMIN):
        # They may see every row: each operation on a row must have reached it at least once.
        for operation in operations:
            if "{id}" in operation.path:
                reached = sum(
                    count
                    for key, count in seen.items()
                    if key.startswith(operation.label + " ") and not key.endswith(" 404")
                )
                assert reached, f"{label_of(operation)} never reached an existing row"
    if role == ANONYMOUS:
        answered = [key for key in seen if key.rsplit(" ", 1)[-1].startswith("2")]
        assert not answered, answered
