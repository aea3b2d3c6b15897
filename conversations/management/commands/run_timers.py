"""The workspace's clock: ``python manage.py run_timers`` runs the timer tick in a
loop (snooze wake-ups, escalations, team queues, dead sockets)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from conversations import jobs

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the workspace timers: wake snoozed chats, escalate, drain queues, every N s."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, default=15.0, help="seconds between ticks (default 15)"
        )
        parser.add_argument("--once", action="store_true", help="run one tick and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        every = max(float(options["every"]), 0.1)
        while True:
            started = time.monotonic()
            try:
                result = jobs.run_timers()
            except Exception:
                if options["once"]:
                    raise
                # The next tick tries again (the database may be back by then).
                logger.exception("timer tick failed")
                result = None
            if result is not None and (options["once"] or any(result.values())):
                self.stdout.write(" ".join(f"{key}={value}" for key, value in result.items()))
            if options["once"]:
                return
            # Between ticks, like between requests: no connection outlives its welcome.
            close_old_connections()
            try:
                time.sleep(max(every - (time.monotonic() - started), 0))
            except KeyboardInterrupt:
                return
