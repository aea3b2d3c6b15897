"""Background jobs of analytics: each takes plain arguments and calls one service;
running one twice does no harm (a rollup replaces its hour's rows)."""

from __future__ import annotations

import datetime as dt

from analytics import services


def rollup_hour(hour: str) -> None:
    services.rollup_hour_compute(hour=dt.datetime.fromisoformat(hour))


def rollup_day(day: str) -> None:
    services.rollup_day_compute(day=dt.datetime.fromisoformat(day))
