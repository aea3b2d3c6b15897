"""Reactions to changes made outside the inbox's own services (the admin site,
Django's password views)."""

from __future__ import annotations

from typing import Any

from conversations import realtime

# What the operator's sockets hear when they must check their session again.
SESSION_CHECK = "session.check"


def note_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Before a user is saved: remember whether the password is a new one."""
    old = None
    if instance.pk is not None and not kwargs.get("raw"):
        old = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._inbox_password_changed = old is not None and old != instance.password


def password_change_ends_sockets(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A new password ends the user's other sessions (Django checks the session's
    hash on every request); once it is stored, their open sockets check theirs too."""
    if getattr(instance, "_inbox_password_changed", False):
        instance._inbox_password_changed = False
        realtime.publish(
            SESSION_CHECK, {"user_id": instance.pk}, groups=(realtime.user_group(instance.pk),)
        )
