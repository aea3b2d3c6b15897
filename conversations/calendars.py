"""When a team works: time arithmetic over business calendars.

A calendar is weekly intervals in one time zone, minus holidays. Routing,
automatic replies, quiet hours and SLA all ask it the same questions: is the
team open at a given instant, which open or closed stretch is that instant in
(its start is the key of "one automatic reply per period"), and when does the
team next open or close.

The rules, in the calendar's own local time:

* An interval on a weekday opens at ``opens`` and closes at ``closes`` the same
  day; a closing time at or before the opening time runs into the next day (an
  overnight shift; ``opens == closes`` is a 24-hour shift).
* Several intervals a day are allowed; intervals that touch or overlap (a day
  shift ending when the night shift starts, Friday's overnight shift running
  into Saturday's morning) form one open stretch.
* A holiday closes the intervals that *begin* on that local date. An overnight
  shift begun the evening before a holiday still runs to its end on the
  holiday's morning, and one begun on the holiday's evening does not happen.
* Daylight saving time: a local time the clock skips (02:30 when clocks jump
  from 02:00 to 03:00) means the first instant after the jump (03:00); a local
  time the clock shows twice (02:30 when clocks go back) means its first
  occurrence.
* A calendar without intervals is never open. No calendar at all (a team
  without one) is always open.

The functions take a ``Schedule`` (or a ``BusinessCalendar`` whose intervals
and holidays were prefetched, see ``selectors.calendar_load``) and make no
database queries. Stretches are looked for at most ``HORIZON_DAYS`` away from
the instant asked about.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conversations.models import BusinessCalendar

HORIZON_DAYS = 400

OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True)
class Schedule:
    """A calendar's rules, loaded: what the functions below compute with."""

    time_zone: zoneinfo.ZoneInfo
    # weekday (Monday 0) -> (opens, closes) pairs, by opening time
    intervals: dict[int, tuple[tuple[dt.time, dt.time], ...]]
    holidays: frozenset[dt.date]

    @classmethod
    def build(
        cls,
        *,
        time_zone: str,
        intervals: Iterable[tuple[int, dt.time, dt.time]],
        holidays: Iterable[dt.date] = (),
    ) -> Schedule:
        by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for weekday, opens, closes in intervals:
            by_day.setdefault(weekday, []).append((opens, closes))
        return cls(
            time_zone=zoneinfo.ZoneInfo(time_zone),
            intervals={day: tuple(sorted(pairs)) for day, pairs in by_day.items()},
            holidays=frozenset(holidays),
        )

    @classmethod
    def of(cls, calendar: BusinessCalendar) -> Schedule:
        """The schedule of ``calendar``; prefetch its ``intervals`` and
        ``holidays`` (``selectors.calendar_load``) to spare two queries."""
        return cls.build(
            time_zone=calendar.time_zone,
            intervals=[(i.weekday, i.opens, i.closes) for i in calendar.intervals.all()],
            holidays=[h.date for h in calendar.holidays.all()],
        )


@dataclass(frozen=True)
class Period:
    """The open or closed stretch an instant falls in.

    ``start`` is when it began: None when it began more than ``HORIZON_DAYS``
    ago (a calendar that never opens, or one open around the clock)."""

    kind: str
    start: dt.datetime | None

    @property
    def key(self) -> str:
        """``"<kind>:<start, ISO 8601 in UTC>"``: the same for every instant of the period."""
        return f"{self.kind}:{self.start.astimezone(dt.UTC).isoformat() if self.start else '-'}"


def _schedule(calendar: Schedule | BusinessCalendar) -> Schedule:
    return calendar if isinstance(calendar, Schedule) else Schedule.of(calendar)


def is_open(calendar: Schedule | BusinessCalendar | None, at: dt.datetime) -> bool:
    """Whether the team works at the instant ``at`` (no calendar: always)."""
    if calendar is None:
        return True
    schedule, at = _schedule(calendar), _utc(at)
    day = _local_date(schedule, at)
    return any(
        start <= at < end
        for d in (day - dt.timedelta(days=1), day)
        for start, end in _stretches_beginning_on(schedule, d)
    )


def current_period(calendar: Schedule | BusinessCalendar | None, at: dt.datetime) -> Period:
    """The open or closed stretch ``at`` falls in, with the instant it began.

    Open: since the team last opened (touching intervals count as one
    stretch). Closed: since the team last closed."""
    if calendar is None:
        return Period(OPEN, None)
    schedule, at = _schedule(calendar), _utc(at)
    day = _local_date(schedule, at)
    containing = [
        (start, end)
        for d in (day - dt.timedelta(days=1), day)
        for start, end in _stretches_beginning_on(schedule, d)
        if start <= at < end
    ]
    if containing:
        return Period(OPEN, _opened_at(schedule, min(start for start, _ in containing), day))
    return Period(CLOSED, _closed_at(schedule, at, day))


def next_opening(
    calendar: Schedule | BusinessCalendar | None, at: dt.datetime
) -> dt.datetime | None:
    """When the team next opens after ``at`` (open at ``at``: the opening after
    the current stretch). None without a calendar, or when it does not open
    again within ``HORIZON_DAYS``."""
    if calendar is None:
        return None
    at = _utc(at)
    for start, _ in _merged_from(_schedule(calendar), at):
        if start > at:
            return start
    return None


def next_closing(
    calendar: Schedule | BusinessCalendar | None, at: dt.datetime
) -> dt.datetime | None:
    """When the team next closes after ``at`` (open at ``at``: the end of the
    current stretch). None without a calendar, or when no stretch ends within
    ``HORIZON_DAYS``."""
    if calendar is None:
        return None
    at = _utc(at)
    for _, end in _merged_from(_schedule(calendar), at):
        if end > at:
            return end
    return None


# --- The arithmetic ------------------------------------------------------------------


def _utc(at: dt.datetime) -> dt.datetime:
    # In UTC, an instant the local clock shows twice compares as it should.
    if at.tzinfo is None:
        raise ValueError("an instant needs its time zone")
    return at.astimezone(dt.UTC)


def _local_date(schedule: Schedule, at: dt.datetime) -> dt.date:
    return at.astimezone(schedule.time_zone).date()


def _instant(schedule: Schedule, day: dt.date, time: dt.time) -> dt.datetime:
    """The instant the local clock shows ``time`` on ``day``: its first
    occurrence when shown twice, the end of the jump when skipped."""
    tz = schedule.time_zone
    wall = dt.datetime.combine(day, time)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # Skipped by the clock: the first instant whose local time is past ``wall``
    # lies between the readings with the offsets before and after the jump.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def _stretches_beginning_on(
    schedule: Schedule, day: dt.date
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The open stretches (UTC start, end) whose interval begins on local ``day``."""
    if day in schedule.holidays:
        return []
    stretches = []
    for opens, closes in schedule.intervals.get(day.weekday(), ()):
        end_day = day if closes > opens else day + dt.timedelta(days=1)
        start = _instant(schedule, day, opens)
        end = _instant(schedule, end_day, closes)
        if end > start:  # both ends in the same skipped hour: nothing is open
            stretches.append((start, end))
    return stretches


def _opened_at(schedule: Schedule, start: dt.datetime, day: dt.date) -> dt.datetime | None:
    """Walk back over stretches that touch ``start``: when the team opened."""
    d = day
    while (day - d).days <= HORIZON_DAYS:
        earlier = sorted(_stretches_beginning_on(schedule, d), reverse=True)
        for s, e in earlier:
            if s < start <= e:
                start = s
        # A stretch ends at the latest on the local day after it begins: the
        # day before ``d`` cannot reach a start on a later day than ``d``.
        if d < _local_date(schedule, start):
            return start
        d -= dt.timedelta(days=1)
    return None


def _closed_at(schedule: Schedule, at: dt.datetime, day: dt.date) -> dt.datetime | None:
    """When the stretch before ``at`` (closed at ``at``) ended."""
    latest: dt.datetime | None = None
    d = day
    while (day - d).days <= HORIZON_DAYS:
        for _, end in _stretches_beginning_on(schedule, d):
            if end <= at and (latest is None or end > latest):
                latest = end
        # The day before ``d`` has stretches ending at the latest on ``d``.
        if latest is not None and d < _local_date(schedule, latest):
            return latest
        d -= dt.timedelta(days=1)
    return latest


def _merged_from(schedule: Schedule, at: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Open stretches in time order, touching ones merged, from those that may
    contain ``at`` up to ``HORIZON_DAYS`` later."""
    first = _local_date(schedule, at) - dt.timedelta(days=1)
    current: tuple[dt.datetime, dt.datetime] | None = None
    for offset in range(HORIZON_DAYS + 2):
        for start, end in _stretches_beginning_on(schedule, first + dt.timedelta(days=offset)):
            if current is not None and start <= current[1]:
                current = (current[0], max(current[1], end))
                continue
            if current is not None:
                yield current
            current = (start, end)
    if current is not None:
        yield current
