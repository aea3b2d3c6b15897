"""Where the apps built on the core plug in. The core never imports them: each
registers its handlers here from its ``AppConfig.ready()``.

* **Platform events** (template review and quality, category changes, account and
  number updates, user preferences): the webhook stores each as a
  ``PlatformEvent`` and, in the same transaction, hands it to the handlers
  registered for its field. A handler's writes commit with the delivery, before the
  webhook is answered; an exception rolls the delivery back and WhatsApp delivers
  it again.
* **The clock**: every tick of the workspace clock (``services.timers_run``) calls
  the registered functions with the tick's instant. Each decides for itself
  whether its time has come (and keeps its work short: enqueue a job).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

PlatformEventHandler = Callable[[Any, Any], None]
TickHandler = Callable[[dt.datetime], None]

_platform_event_handlers: dict[str, list[PlatformEventHandler]] = {}
_tick_handlers: list[TickHandler] = []


def on_platform_event(field: str, handler: PlatformEventHandler) -> None:
    """Call ``handler(stored, event)`` for every platform event of webhook field
    ``field``: ``stored`` is the ``PlatformEvent`` row, ``event`` the typed event
    ``whatsapp.events`` parsed (``TemplateUpdate`` or ``AccountEvent``)."""
    handlers = _platform_event_handlers.setdefault(field, [])
    if handler not in handlers:
        handlers.append(handler)


def platform_event(stored: Any, event: Any) -> None:
    """Hand a stored platform event to the handlers of its field (caller's transaction)."""
    for handler in _platform_event_handlers.get(stored.field, ()):
        handler(stored, event)


def on_tick(handler: TickHandler) -> None:
    """Call ``handler(now)`` on every tick of the workspace clock."""
    if handler not in _tick_handlers:
        _tick_handlers.append(handler)


def tick(now: dt.datetime) -> int:
    """Run every tick handler; one that fails is logged and does not stop the others.
    Returns how many ran without error."""
    ran = 0
    for handler in list(_tick_handlers):
        try:
            handler(now)
        except Exception:
            logger.exception("the clock's %s failed", getattr(handler, "__name__", handler))
        else:
            ran += 1
    return ran
