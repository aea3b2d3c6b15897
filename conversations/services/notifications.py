"""Notifications for an operator (mentions, escalations), published to them, and
marking one read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from conversations import realtime
from conversations.models import Conversation, Note, Notification
from conversations.serializers import notification_payload


def notify(
    user: Any,
    kind: str,
    conversation: Conversation,
    *,
    text: str,
    data: dict[str, Any],
    note: Note | None = None,
    now: dt.datetime | None = None,
) -> Notification:
    """Tell ``user`` about ``conversation``; published to them as ``notification.created``."""
    notification = Notification.objects.create(
        user=user,
        kind=kind,
        conversation=conversation,
        note=note,
        text=text[:300],
        data=data,
        created_at=now or timezone.now(),
    )
    _publish_created(notification)
    return notification


def _publish_created(notification: Notification) -> None:
    realtime.publish(
        "notification.created",
        {"notification": notification_payload(notification)},
        groups=(realtime.user_group(notification.user_id),),
    )


def notify_all(
    users: Iterable[Any],
    kind: str,
    conversation: Conversation,
    *,
    text: str,
    data: dict[str, Any],
    now: dt.datetime | None = None,
) -> list[Notification]:
    """``notify`` each of ``users`` (once each) with one insert."""
    at = now or timezone.now()
    notifications = Notification.objects.bulk_create(
        Notification(
            user=user,
            kind=kind,
            conversation=conversation,
            text=text[:300],
            data=data,
            created_at=at,
        )
        for user in {user.pk: user for user in users}.values()
    )
    for notification in notifications:
        _publish_created(notification)
    return notifications


def notification_mark_read(*, notification: Notification) -> Notification:
    """The operator has seen the notification."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
