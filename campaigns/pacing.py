"""The pace and the tier, shared by every worker: one limiter in Redis, not one
per process.

* **Throughput**: a number sends at most ``rate`` messages a second. Each send
  reserves the next free slot of the number (a GCRA: Redis keeps the theoretical
  arrival time, one Lua script moves it atomically and answers how long the
  caller waits), so however many workers send, together they keep the pace.
  A throughput refusal (130429) pushes every worker's next slot back.
* **Tier**: a business account reaches at most ``limit`` unique customers outside
  their window in a rolling 24 hours; a sorted set per account holds who was
  reached when. Reaching someone already counted is free.

Redis' own clock (``TIME``) is the clock, so workers on several machines agree;
tests pass ``now`` to hold it fixed. Without Redis (the embedded mode: one
process) the same arithmetic runs in memory.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

TIER_WINDOW_MS = 24 * 3600 * 1000

# KEYS[1]: the number's next free slot (microseconds); ARGV: interval (us), now
# (us, or "" for Redis' clock). Returns how long the caller waits (us).
_PACE = """
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('SET', KEYS[1], string.format('%d', tat + tonumber(ARGV[1])), 'PX', 120000)
return tat - now
"""

# KEYS[1]: the number's next free slot; ARGV: pause (us), now (us or "").
_HOLD = """
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = now + tonumber(ARGV[1])
if tat < until_ then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', 120000)
end
return 1
"""

# KEYS[1]: the account's reached customers; ARGV: now (ms or ""), window (ms),
# limit (-1: none), customer. Returns 1 (already counted), 2 (counted now), 0 (full).
_TIER = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
local limit = tonumber(ARGV[3])
if limit >= 0 and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 2
"""


class Limiter(Protocol):
    def reserve(self, number_id: int, rate: int, *, now: float | None = None) -> float: ...

    def hold(self, number_id: int, seconds: float, *, now: float | None = None) -> None: ...

    def reach(
        self, waba_id: str, customer: str, limit: int | None, *, now: float | None = None
    ) -> int: ...

    def reach_many(
        self, waba_id: str, customers: list[str], limit: int | None, *, now: float | None = None
    ) -> list[int]: ...

    def unreach(self, waba_id: str, customer: str) -> None: ...

    def reached(self, waba_id: str, *, now: float | None = None) -> int: ...

    def once(self, name: str, seconds: float) -> bool: ...


ALREADY_REACHED, REACHED, TIER_FULL = 1, 2, 0


def _prefix() -> str:
    return getattr(settings, "CAMPAIGNS_LIMITER_PREFIX", "campaigns")


class RedisLimiter:
    """The limiter every worker shares (see the module's docstring)."""

    def __init__(self, url: str, prefix: str | None = None) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix or _prefix()
        self._pace = self.redis.register_script(_PACE)
        self._hold = self.redis.register_script(_HOLD)
        self._tier = self.redis.register_script(_TIER)

    def _pace_key(self, number_id: int) -> str:
        return f"{self.prefix}:pace:{number_id}"

    def _tier_key(self, waba_id: str) -> str:
        return f"{self.prefix}:tier:{waba_id}"

    def reserve(self, number_id: int, rate: int, *, now: float | None = None) -> float:
        """Take the number's next send slot at ``rate`` per second; returns the
        seconds to wait before sending."""
        interval = int(1_000_000 / max(1, rate))
        waited = self._pace(
            keys=[self._pace_key(number_id)],
            args=[interval, "" if now is None else int(now * 1_000_000)],
        )
        return int(waited) / 1_000_000

    def hold(self, number_id: int, seconds: float, *, now: float | None = None) -> None:
        """No slot of the number before ``seconds`` from now (WhatsApp asked to slow down)."""
        self._hold(
            keys=[self._pace_key(number_id)],
            args=[int(seconds * 1_000_000), "" if now is None else int(now * 1_000_000)],
        )

    def reach(
        self, waba_id: str, customer: str, limit: int | None, *, now: float | None = None
    ) -> int:
        """Count ``customer`` as reached by the account: ``ALREADY_REACHED``,
        ``REACHED`` (counted now) or ``TIER_FULL`` (the tier's ceiling: not counted)."""
        return int(
            self._tier(
                keys=[self._tier_key(waba_id)],
                args=[
                    "" if now is None else int(now * 1000),
                    TIER_WINDOW_MS,
                    -1 if limit is None else limit,
                    customer,
                ],
            )
        )

    def reach_many(
        self, waba_id: str, customers: list[str], limit: int | None, *, now: float | None = None
    ) -> list[int]:
        """``reach`` for each of ``customers`` in turn, in one round trip to Redis."""
        if not customers:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for customer in customers:
            self._tier(
                keys=[self._tier_key(waba_id)],
                args=[
                    "" if now is None else int(now * 1000),
                    TIER_WINDOW_MS,
                    -1 if limit is None else limit,
                    customer,
                ],
                client=pipe,
            )
        return [int(answer) for answer in pipe.execute()]

    def unreach(self, waba_id: str, customer: str) -> None:
        """Forget a reach that did not happen (the send was refused after all)."""
        self.redis.zrem(self._tier_key(waba_id), customer)

    def once(self, name: str, seconds: float) -> bool:
        """True for the first caller of ``name`` in ``seconds``, across every worker
        (a campaign's progress is published once a second, not once per job)."""
        key = f"{self.prefix}:once:{name}"
        return bool(self.redis.set(key, 1, nx=True, px=max(1, int(seconds * 1000))))

    def reached(self, waba_id: str, *, now: float | None = None) -> int:
        moment = (time.time() if now is None else now) * 1000
        return int(self.redis.zcount(self._tier_key(waba_id), moment - TIER_WINDOW_MS, "+inf"))


@dataclass
class MemoryLimiter:
    """The same arithmetic in one process (the embedded mode, without Redis)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    tat: dict[int, float] = field(default_factory=dict)
    tiers: dict[str, dict[str, float]] = field(default_factory=dict)
    onces: dict[str, float] = field(default_factory=dict)

    def reserve(self, number_id: int, rate: int, *, now: float | None = None) -> float:
        now = time.time() if now is None else now
        with self.lock:
            slot = max(self.tat.get(number_id, 0.0), now)
            self.tat[number_id] = slot + 1 / max(1, rate)
            return slot - now

    def hold(self, number_id: int, seconds: float, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            self.tat[number_id] = max(self.tat.get(number_id, 0.0), now + seconds)

    def reach(
        self, waba_id: str, customer: str, limit: int | None, *, now: float | None = None
    ) -> int:
        now = time.time() if now is None else now
        with self.lock:
            reached = self.tiers.setdefault(waba_id, {})
            for key in [k for k, at in reached.items() if at <= now - TIER_WINDOW_MS / 1000]:
                del reached[key]
            if customer in reached:
                return ALREADY_REACHED
            if limit is not None and len(reached) >= limit:
                return TIER_FULL
            reached[customer] = now
            return REACHED

    def reach_many(
        self, waba_id: str, customers: list[str], limit: int | None, *, now: float | None = None
    ) -> list[int]:
        return [self.reach(waba_id, customer, limit, now=now) for customer in customers]

    def unreach(self, waba_id: str, customer: str) -> None:
        with self.lock:
            self.tiers.get(waba_id, {}).pop(customer, None)

    def once(self, name: str, seconds: float) -> bool:
        now = time.monotonic()
        with self.lock:
            if self.onces.get(name, 0.0) > now:
                return False
            self.onces[name] = now + seconds
            return True

    def reached(self, waba_id: str, *, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self.lock:
            return sum(
                1 for at in self.tiers.get(waba_id, {}).values() if at > now - TIER_WINDOW_MS / 1000
            )


_shared: dict[str, Any] = {}


def limiter() -> Limiter:
    """The process's limiter: Redis' when ``REDIS_URL`` is set, else in memory."""
    url = getattr(settings, "REDIS_URL", None)
    key = f"{url}|{_prefix()}"
    if key not in _shared:
        _shared.clear()
        _shared[key] = RedisLimiter(url) if url else MemoryLimiter()
    return _shared[key]
