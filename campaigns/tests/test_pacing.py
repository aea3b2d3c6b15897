"""The pace and the tier are one limiter in Redis, shared by every worker."""

from __future__ import annotations

import os
import time

import pytest

from campaigns import pacing

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL)")
T0 = 1_800_000_000.0


def two_workers() -> tuple[pacing.RedisLimiter, pacing.RedisLimiter]:
    """Two limiters with their own connections, as two worker processes hold them."""
    return pacing.RedisLimiter(REDIS_URL, "t"), pacing.RedisLimiter(REDIS_URL, "t")


@needs_redis
def test_two_workers_share_one_pace_of_80_a_second() -> None:
    first, second = two_workers()
    waits = [(first if i % 2 else second).reserve(7, 80, now=T0) for i in range(8)]
    assert waits == [pytest.approx(i * 0.0125, abs=1e-6) for i in range(8)]


@needs_redis
def test_the_pace_is_per_number_and_a_later_caller_does_not_wait() -> None:
    first, second = two_workers()
    assert first.reserve(1, 200, now=T0) == 0
    assert second.reserve(1, 200, now=T0) == pytest.approx(0.005)
    assert second.reserve(2, 200, now=T0) == 0
    assert first.reserve(1, 200, now=T0 + 1) == 0


@needs_redis
def test_a_hold_makes_every_worker_wait() -> None:
    first, second = two_workers()
    first.hold(3, 2.0, now=T0)
    assert second.reserve(3, 80, now=T0) == pytest.approx(2.0)
    assert first.reserve(3, 80, now=T0 + 0.5) == pytest.approx(1.5125)


@needs_redis
def test_the_tier_counts_unique_customers_across_workers_for_24_hours() -> None:
    first, second = two_workers()
    outcomes = [
        (first if i % 2 else second).reach("waba", f"c{i}", 250, now=T0) for i in range(250)
    ]
    assert outcomes == [pacing.REACHED] * 250
    assert first.reach("waba", "c251", 250, now=T0) == pacing.TIER_FULL
    assert second.reach("waba", "c7", 250, now=T0) == pacing.ALREADY_REACHED
    assert first.reached("waba", now=T0) == 250
    # Another account has its own tier.
    assert first.reach("other", "c251", 250, now=T0) == pacing.REACHED
    # A day later the window has rolled on.
    assert second.reach("waba", "c251", 250, now=T0 + 24 * 3600 + 1) == pacing.REACHED


@needs_redis
def test_a_reach_given_back_frees_its_place() -> None:
    first, _ = two_workers()
    assert first.reach("waba", "a", 1, now=T0) == pacing.REACHED
    assert first.reach("waba", "b", 1, now=T0) == pacing.TIER_FULL
    first.unreach("waba", "a")
    assert first.reach("waba", "b", 1, now=T0) == pacing.REACHED


def test_unlimited_tier_and_memory_limiter_follow_the_same_rules() -> None:
    memory = pacing.MemoryLimiter()
    assert [memory.reserve(1, 100, now=T0) for _ in range(3)] == [
        0,
        pytest.approx(0.01),
        pytest.approx(0.02),
    ]
    assert all(memory.reach("w", f"c{i}", None, now=T0) == pacing.REACHED for i in range(300))
    assert memory.reach("w2", "a", 1, now=T0) == pacing.REACHED
    assert memory.reach("w2", "b", 1, now=T0) == pacing.TIER_FULL


def limiters() -> list[pacing.Limiter]:
    """A Redis limiter (when there is Redis) and the in-memory one."""
    return ([pacing.RedisLimiter(REDIS_URL, "t")] if REDIS_URL else []) + [pacing.MemoryLimiter()]


def test_many_reaches_at_once_answer_as_one_at_a_time() -> None:
    for limiter in limiters():
        if isinstance(limiter, pacing.RedisLimiter):
            limiter.redis.delete(limiter._tier_key("waba-many"))
        limiter.reach("waba-many", "ann", 3, now=T0)
        answers = limiter.reach_many("waba-many", ["bob", "ann", "cid", "dan"], 3, now=T0 + 1)
        assert answers == [pacing.REACHED, pacing.ALREADY_REACHED, pacing.REACHED, pacing.TIER_FULL]
        assert limiter.reached("waba-many", now=T0 + 2) == 3


def test_once_a_second_for_every_worker() -> None:
    name = f"progress:{time.monotonic_ns()}"
    pairs = [two_workers()] if REDIS_URL else []
    memory = pacing.MemoryLimiter()
    for first, second in [*pairs, (memory, memory)]:
        assert first.once(name, 0.2) is True
        assert second.once(name, 0.2) is False
        time.sleep(0.25)
        assert second.once(name, 0.2) is True
