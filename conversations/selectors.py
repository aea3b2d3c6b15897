"""Reads that more than one caller needs, with their joins already applied."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from conversations.models import Conversation, Message

ROLE_GROUPS = ("operator", "supervisor", "admin")


def user_is_inbox_member(user: Any) -> bool:
    """Whether ``user`` may use the inbox at all (a role, or a superuser)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=ROLE_GROUPS).exists()


def conversations_visible_to(user: Any) -> QuerySet[Conversation]:
    """Conversations ``user`` may see, newest activity first."""
    if not user_is_inbox_member(user):
        return Conversation.objects.none()
    return Conversation.objects.select_related("number", "contact", "assignee").order_by(
        "-last_message_at", "-id"
    )


def conversation_list(
    *, user: Any, status: str = "", assignee: str = "", search: str = ""
) -> QuerySet[Conversation]:
    """The filtered conversation list: ``assignee`` is ``me``, ``unassigned``,
    ``anyone`` or a user id; ``search`` matches name, phone and message text."""
    conversations = conversations_visible_to(user)
    if status:
        conversations = conversations.filter(status=status)
    if assignee == "me":
        conversations = conversations.filter(assignee=user)
    elif assignee == "unassigned":
        conversations = conversations.filter(assignee__isnull=True)
    elif assignee.isdigit():
        conversations = conversations.filter(assignee_id=int(assignee))
    search = search.strip()
    if search:
        matching_messages = Message.objects.filter(text__icontains=search).values("conversation_id")
        conversations = conversations.filter(
            Q(contact__profile_name__icontains=search)
            | Q(contact__phone__icontains=search)
            | Q(contact__wa_id__icontains=search)
            | Q(id__in=matching_messages)
        )
    return conversations


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    """A thread, oldest first."""
    return (
        Message.objects.filter(conversation=conversation)
        .select_related("sent_by")
        .order_by("timestamp", "created_at")
    )
