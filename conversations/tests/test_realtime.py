"""Presence changes leave coalesced: one frame per interval for whatever changed."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from conversations import jobs, realtime


class Told(list):
    """The presence frames handed to the channel layer; ``arrived`` is set by each."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()


@pytest.fixture
def frames(monkeypatch: pytest.MonkeyPatch) -> Told:
    told = Told()

    def record(groups: tuple[str, ...], message: dict[str, Any]) -> None:
        told.append((groups, realtime.event_of(message)))
        told.arrived.set()

    monkeypatch.setattr(realtime, "_send", record)
    return told


@pytest.mark.django_db
@pytest.mark.parametrize("held_in", ["redis", "the process"])
def test_changes_within_an_interval_leave_as_one_frame(
    frames, django_capture_on_commit_callbacks, settings, monkeypatch, held_in
) -> None:
    if held_in == "the process":  # the embedded default: no Redis
        settings.REDIS_URL = ""
        monkeypatch.setattr(realtime, "_presence", realtime._PresenceChanges())
    with django_capture_on_commit_callbacks(execute=True):
        realtime.publish_presence(1, "online")
        realtime.publish_presence(2, "online")
        realtime.publish_presence(1, "away")
        realtime.publish_presence(3, "offline")
    assert frames.arrived.wait(timeout=5)

    assert frames == [
        (
            ("presence",),
            {
                "type": "presence.updated",
                "changes": [
                    {"user_id": 2, "presence": "online"},
                    {"user_id": 1, "presence": "away"},
                    {"user_id": 3, "presence": "offline"},
                ],
            },
        )
    ]


@pytest.mark.django_db
def test_a_lone_change_leaves_as_today_after_the_interval(
    frames, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        realtime.publish_presence(7, "online")
    assert frames == []  # held until the interval ends

    assert frames.arrived.wait(timeout=5)
    assert frames == [
        (("presence",), {"type": "presence.updated", "user_id": 7, "presence": "online"})
    ]


@pytest.mark.django_db
def test_a_rolled_back_change_is_never_told(frames) -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        realtime.publish_presence(7, "online")
        raise RuntimeError
    realtime.flush_presence()
    assert frames == []


def test_a_work_horse_sends_what_it_holds_before_it_exits(monkeypatch, tmp_path) -> None:
    """RQ's horse ends with ``os._exit`` (no exit handlers, no timers): the worker
    class flushes after each job."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the horse
        os.close(read_end)
        try:

            def send(groups: tuple[str, ...], message: dict[str, Any]) -> None:
                os.write(write_end, message["frame"].encode())

            realtime._send = send  # type: ignore[assignment]
            realtime._presence.add(9, "offline")

            def perform(self, job, queue, execution) -> bool:
                return True

            monkeypatch.setattr(jobs.rq.Worker, "perform_job", perform)
            jobs.Worker.perform_job(object.__new__(jobs.Worker), None, None, None)  # type: ignore[arg-type]
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        told = pipe.read()
    assert realtime.event_of({"frame": told.decode()}) == {
        "type": "presence.updated",
        "user_id": 9,
        "presence": "offline",
    }


def test_changes_from_several_processes_leave_as_one_frame(frames) -> None:
    """With Redis every process (web, workers) holds its changes in one place, and
    one of them sends them all when the interval ends."""
    web, worker = realtime._PresenceChanges(), realtime._PresenceChanges()
    web.add(1, "online")
    worker.add(2, "away")
    web.add(3, "online")

    assert frames.arrived.wait(timeout=5)
    assert worker._timer is None, "the worker left the sending to the web process"
    assert frames == [
        (
            ("presence",),
            {
                "type": "presence.updated",
                "changes": [
                    {"user_id": 1, "presence": "online"},
                    {"user_id": 2, "presence": "away"},
                    {"user_id": 3, "presence": "online"},
                ],
            },
        )
    ]


def test_changes_whose_sender_died_are_sent_by_the_clock(frames) -> None:
    from django.conf import settings

    web = realtime._PresenceChanges()
    web.add(4, "offline")
    # The web process is killed before its interval ends: its timer never fires,
    # and its claim to send expires.
    web._timer.cancel()
    _, flusher = web._keys()
    web._redis[1].delete(flusher)
    assert settings.REDIS_URL and frames == []

    assert realtime.flush_orphaned_presence() == 1
    assert frames == [
        (("presence",), {"type": "presence.updated", "user_id": 4, "presence": "offline"})
    ]
    assert realtime.flush_orphaned_presence() == 0
