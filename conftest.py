"""Test configuration shared by every app's tests.

The suite runs on PostgreSQL and Redis (``make test`` points DATABASE_URL and
REDIS_URL at the local servers); the environment for tests is set in
pyproject.toml.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
