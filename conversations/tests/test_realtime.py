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
def test_changes_within_an_interval_leave_as_one_frame(
    frames, django_capture_on_commit_callbacks
) -> None:
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
