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
* **Messages and conversation events**: every path that stores a message (a
  customer's, one by one or in the webhook's batches; an operator's; an
  automatic reply) and every ``ConversationEvent`` (a status change, a transfer)
  calls the registered functions in the same transaction, so what they record
  commits with it. An exception rolls the write back.
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
MessagesHandler = Callable[[list[Any]], None]
ConversationEventHandler = Callable[[Any], None]
_messages_handlers: list[MessagesHandler] = []
_conversation_event_handlers: list[ConversationEventHandler] = []


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


def on_messages_stored(handler: MessagesHandler) -> None:
    """Call ``handler(messages)`` with the ``Message`` rows each write stores (one
    or a webhook batch's), inside its transaction, after the rows are saved and
    their conversation's row is updated."""
    if handler not in _messages_handlers:
        _messages_handlers.append(handler)


def messages_stored(messages: list[Any]) -> None:
    """Hand stored messages to the handlers (caller's transaction)."""
    if not messages:
        return
    for handler in _messages_handlers:
        handler(messages)


def on_conversation_event(handler: ConversationEventHandler) -> None:
    """Call ``handler(event)`` with each ``ConversationEvent`` stored, inside its
    transaction."""
    if handler not in _conversation_event_handlers:
        _conversation_event_handlers.append(handler)


def conversation_event(event: Any) -> None:
    """Hand a stored conversation event to the handlers (caller's transaction)."""
    for handler in _conversation_event_handlers:
        handler(event)


# --- The conversation payload's fields and the list's orders from the apps above ---

ConversationFieldsHandler = Callable[[list[int], dt.datetime], dict[int, dict[str, Any]]]
ConversationOrder = Callable[[Any, dt.datetime], Any]
_conversation_fields_handlers: list[ConversationFieldsHandler] = []
_conversation_orders: dict[str, ConversationOrder] = {}


def on_conversation_fields(handler: ConversationFieldsHandler) -> None:
    """Call ``handler(ids, now)`` whenever the API answers conversations (the list, one
    chat): it returns, per conversation id, fields to add to their payload (analytics
    adds ``sla``). One call per answer, whatever the number of conversations."""
    if handler not in _conversation_fields_handlers:
        _conversation_fields_handlers.append(handler)


def conversation_fields(ids: list[int], now: dt.datetime) -> dict[int, dict[str, Any]]:
    """The fields the apps add to these conversations' payloads ({} without any)."""
    added: dict[int, dict[str, Any]] = {}
    if not ids:
        return added
    for handler in _conversation_fields_handlers:
        for pk, fields in handler(ids, now).items():
            added.setdefault(pk, {}).update(fields)
    return added


def on_conversation_order(name: str, order: ConversationOrder) -> None:
    """Offer the conversation list's ``sort=name``: ``order(queryset, now)`` narrows
    the list to the chats it orders and returns it ordered (analytics offers ``sla``,
    SLA due soonest)."""
    _conversation_orders[name] = order


def conversation_order(name: str) -> ConversationOrder | None:
    return _conversation_orders.get(name)


def conversation_orders() -> list[str]:
    """The orders the apps offer, by name."""
    return sorted(_conversation_orders)
