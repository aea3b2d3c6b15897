"""Reply facts computed from a conversation's raw rows, with no database access.

The rules (docs/analytics.md defines each measure with an example):

* A customer's message asks for an answer unless it is a reaction or a system
  message. Its wait starts at its WhatsApp timestamp, not at its arrival.
* A person's reply (an outbound message with ``sent_by``, not ``automatic``, not
  a reaction; a template sent by a person counts) closes the open wait. As in the
  core (``services.inbound.ANSWER_RESOLUTION``), WhatsApp's timestamps are whole
  seconds: a reply within the same second as the customer's message did not
  answer it.
* Messages are taken in timestamp order, so a webhook that arrives late lands
  where it belongs; a customer's message that arrived after the chat was resolved
  opens a new episode even when its timestamp is older than the resolution.
* A change of status to ``resolved`` ends the episode (an open wait ends
  unanswered); the customer's next message starts a new, reopened episode.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from conversations import calendars
from conversations.calendars import Schedule
from conversations.models import SERVICE_WINDOW
from conversations.services.inbound import ANSWER_RESOLUTION

NOT_ANSWERS = ("reaction", "system")
_TIE = dt.timedelta(microseconds=1)
# A broken sender's end-of-calendar timestamp: no arithmetic past it.
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class MessageRow:
    direction: str
    type: str
    automatic: bool
    sent_by_id: int | None
    timestamp: dt.datetime
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class StatusRow:
    to: str
    created_at: dt.datetime
    actor_id: int | None


@dataclass(slots=True)
class WaitFact:
    first: bool
    started_at: dt.datetime
    last_customer_at: dt.datetime
    answered_at: dt.datetime | None = None
    answered_by_id: int | None = None
    ended_at: dt.datetime | None = None
    seconds: float | None = None
    business_seconds: float | None = None


@dataclass(slots=True)
class EpisodeFact:
    started_at: dt.datetime
    reopened: bool
    operator_id: int | None = None
    first_response_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    resolution_s: float | None = None
    resolution_business_s: float | None = None
    # Time the chat spent pending on the customer (the resolution clock pauses).
    pending_s: float = 0.0
    pending_since: dt.datetime | None = None
    waits: list[WaitFact] = field(default_factory=list)


def window_closes(last_customer_at: dt.datetime) -> dt.datetime:
    """When the customer's service window closes after their message."""
    if last_customer_at >= _LATEST - SERVICE_WINDOW:
        return _LATEST
    return last_customer_at + SERVICE_WINDOW


def business_add(schedule: Schedule | None, start: dt.datetime, seconds: float) -> dt.datetime:
    """The instant ``seconds`` of working time after ``start`` (no calendar: of
    any time). A calendar that never opens again: the end of the calendar."""
    if schedule is None:
        return start + dt.timedelta(seconds=seconds)
    left = dt.timedelta(seconds=seconds)
    at = start
    while True:
        if calendars.is_open(schedule, at):
            closes = calendars.next_closing(schedule, at)
            if closes is None or closes - at >= left:
                return at + left
            left -= closes - at
            at = closes
        else:
            opens = calendars.next_opening(schedule, at)
            if opens is None:
                return _LATEST
            at = opens


def business_seconds(schedule: Schedule | None, start: dt.datetime, end: dt.datetime) -> float:
    """Seconds between ``start`` and ``end`` during which the team works (no
    calendar: all of them)."""
    if end <= start:
        return 0.0
    if schedule is None:
        return (end - start).total_seconds()
    total = 0.0
    at = start
    while at < end:
        if calendars.is_open(schedule, at):
            closes = calendars.next_closing(schedule, at) or end
            total += (min(closes, end) - at).total_seconds()
            at = closes
        else:
            opens = calendars.next_opening(schedule, at)
            if opens is None or opens >= end:
                break
            at = opens
    return total


def episodes_of(
    messages: Iterable[MessageRow],
    statuses: Iterable[StatusRow],
    *,
    schedule: Schedule | None = None,
) -> list[EpisodeFact]:
    """The episodes and waits of one conversation, from its messages and status changes."""
    resolutions = sorted(s.created_at for s in statuses if s.to == "resolved")
    items: list[tuple[dt.datetime, int, object]] = []
    for message in messages:
        key = message.timestamp
        if message.direction == "in":
            # Sorts after any reply within the same second: that reply did not answer it.
            if message.timestamp < _LATEST - ANSWER_RESOLUTION:
                key = message.timestamp + ANSWER_RESOLUTION - _TIE
            # Arrived after a resolution its timestamp predates: it reopened the chat.
            i = bisect.bisect_left(resolutions, message.created_at)
            if i and key <= resolutions[i - 1]:
                key = resolutions[i - 1] + _TIE
        items.append((key, 1, message))
    for status in statuses:
        items.append((status.created_at, 0, status))
    items.sort(key=lambda item: (item[0], item[1]))

    episodes: list[EpisodeFact] = []
    episode: EpisodeFact | None = None
    wait: WaitFact | None = None
    resolved_before = False
    for _, _, item in items:
        if isinstance(item, StatusRow):
            if episode is not None and episode.pending_since is not None:
                episode.pending_s += (item.created_at - episode.pending_since).total_seconds()
                episode.pending_since = None
            if item.to == "pending" and episode is not None:
                episode.pending_since = item.created_at
            if item.to != "resolved":
                continue
            if episode is not None:
                if wait is not None:
                    wait.ended_at = item.created_at
                    wait = None
                episode.resolved_at = item.created_at
                if episode.operator_id is None:
                    episode.operator_id = item.actor_id
                episode = None
            resolved_before = True
            continue
        assert isinstance(item, MessageRow)
        if item.direction == "in":
            if item.type in NOT_ANSWERS:
                continue
            if episode is not None and episode.pending_since is not None:
                episode.pending_s += max(
                    0.0, (item.created_at - episode.pending_since).total_seconds()
                )
                episode.pending_since = None
            if episode is None:
                episode = EpisodeFact(started_at=item.timestamp, reopened=resolved_before)
                episodes.append(episode)
            if wait is None:
                wait = WaitFact(
                    first=episode.first_response_at is None and not episode.waits,
                    started_at=item.timestamp,
                    last_customer_at=item.timestamp,
                )
                episode.waits.append(wait)
            else:
                wait.started_at = min(wait.started_at, item.timestamp)
                wait.last_customer_at = max(wait.last_customer_at, item.timestamp)
            episode.started_at = min(episode.started_at, item.timestamp)
        elif item.sent_by_id is not None and not item.automatic and item.type not in NOT_ANSWERS:
            if wait is None or episode is None:
                continue
            wait.answered_at = item.timestamp
            wait.answered_by_id = item.sent_by_id
            if episode.first_response_at is None:
                episode.first_response_at = item.timestamp
                episode.operator_id = item.sent_by_id
            wait = None
    for episode in episodes:
        for wait in episode.waits:
            if wait.answered_at is not None:
                wait.seconds = max(0.0, (wait.answered_at - wait.started_at).total_seconds())
                wait.business_seconds = business_seconds(
                    schedule, wait.started_at, wait.answered_at
                )
        if episode.resolved_at is not None:
            episode.resolution_s = max(
                0.0, (episode.resolved_at - episode.started_at).total_seconds()
            )
            episode.resolution_business_s = business_seconds(
                schedule, episode.started_at, episode.resolved_at
            )
    return episodes
