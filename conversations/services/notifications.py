"""Notifications for an operator (mentions, escalations), published to them, and
marking one read.
"""

from __future__ import annotations

import datetime as dt
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
    realtime.publish(
        "notification.created",
        {"notification": notification_payload(notification)},
        groups=(realtime.user_group(user.pk),),
    )
    return notification


def notification_mark_read(*, notification: Notification) -> Notification:
    """The operator has seen the notification."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
