"""Test configuration shared by every app's tests.

The suite runs on PostgreSQL and Redis (``make test`` points DATABASE_URL and
REDIS_URL at the local servers); the environment for tests is set in
pyproject.toml.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = Path(
    os.environ.get(
        "WHATSAPP_FIXTURES_DIR",
        Path(__file__).resolve().parent.parent / "shared" / "fixtures" / "whatsapp",
    )
)


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """Each test starts with empty job queues and channel groups."""
    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="session", autouse=True)
def _flush_survives_deadlocks() -> Iterator[None]:
    """Empty the database again when PostgreSQL picked the flush between tests as a
    deadlock's victim: a server process of a live test may still finish a request as
    the flush takes its locks. TRUNCATE is all or nothing, so trying again is safe."""
    from django.core.management.base import CommandError
    from django.db import OperationalError
    from django.test import TransactionTestCase

    flush = TransactionTestCase._fixture_teardown

    def flush_until_done(test_case: TransactionTestCase) -> None:
        for attempt in range(5):
            try:
                return flush(test_case)
            except CommandError as exc:
                cause = exc.__cause__
                if attempt == 4 or not (
                    isinstance(cause, OperationalError) and "deadlock" in str(cause)
                ):
                    raise
                time.sleep(0.2 * (attempt + 1))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_until_done)
        yield


@pytest.fixture(scope="session", autouse=True)
def _close_pools(request: pytest.FixtureRequest) -> Iterator[None]:
    """Return pooled connections (threads of the ASGI tests hold some) before the
    test database is dropped."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    yield
    from django.db import connections

    from conversations import ingest

    with blocker.unblock():
        ingest.stop()
        for connection in connections.all():
            connection.close()
            if getattr(connection, "pool", None) is not None:
                connection.close_pool()
