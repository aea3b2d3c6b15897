"""``python manage.py rebuild_stats``: every reply fact and hourly rollup computed
again from the messages and status changes (after a restore, a bug fix, a change
of a team's calendar). Gives the same figures as the live ones."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from analytics import services


class Command(BaseCommand):
    help = "Recompute the reply facts and hourly rollups from the raw messages."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        hours = services.rollups_rebuild()
        self.stdout.write(f"rebuilt hours={hours} seconds={time.monotonic() - started:.1f}")
