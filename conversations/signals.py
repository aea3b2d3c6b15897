"""Reactions to changes made outside the inbox's own services (the admin site,
Django's password views, the shell): whatever changes who a user is or what they
may see reaches their open sockets at once.

A socket joins its groups when it connects. When a user's password, active flag,
superuser flag, roles (Django groups) or teams change, their sockets are told to
check again (``realtime.ACCESS_CHECK``, after commit): each checks its session,
leaves the groups the user may no longer hear, joins the new ones, and has its
page re-read. A chat moved to another team needs nothing of this: who hears of a
chat is decided when each of its events is published.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model

from conversations import realtime

# What a user's sockets must check again when it changes on the user's row.
ACCESS_FIELDS = ("password", "is_active", "is_superuser")


def tell_sockets_to_check_access(user_ids: Iterable[int]) -> None:
    """After commit, have every open socket of these users check what they may see."""
    groups = [realtime.user_group(user_id) for user_id in sorted(set(user_ids))]
    if groups:
        realtime.publish(realtime.ACCESS_CHECK, {}, groups=groups)


def note_access_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Before a user is saved: remember whether their password, active flag or
    superuser flag is about to change."""
    changed = False
    if instance.pk is not None and not kwargs.get("raw"):
        old = sender.objects.filter(pk=instance.pk).values_list(*ACCESS_FIELDS).first()
        changed = old is not None and old != tuple(getattr(instance, f) for f in ACCESS_FIELDS)
    instance._inbox_access_changed = changed


def access_change_reaches_sockets(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A new password ends the user's other sessions (Django checks the session's
    hash on every request), a deactivated user is signed out, a new superuser sees
    everything: once stored, their open sockets check too."""
    if getattr(instance, "_inbox_access_changed", False):
        instance._inbox_access_changed = False
        tell_sockets_to_check_access([instance.pk])


def membership_changed(
    sender: Any, instance: Model, action: str, model: Any, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A user's roles (``User.groups``) or teams (``Team.members``) changed, from
    either side of the relation."""
    user_model = get_user_model()
    if action == "pre_clear":
        # Django does not say who is cleared: note it while the rows are there.
        instance._inbox_cleared_users = _users_related(sender, instance)
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        user_ids = getattr(instance, "_inbox_cleared_users", [])
    elif model is user_model:
        user_ids = list(pk_set or ())
    else:
        user_ids = [instance.pk]
    tell_sockets_to_check_access(user_ids)


def user_deleted(sender: Any, instance: Model, **kwargs: Any) -> None:
    """A user deleted: their open sockets close."""
    tell_sockets_to_check_access([instance.pk])


def role_deleted(sender: Any, instance: Model, **kwargs: Any) -> None:
    """A role (Django group) deleted: its users lose it."""
    tell_sockets_to_check_access(list(instance.user_set.values_list("pk", flat=True)))


def _users_related(through: Any, instance: Model) -> list[int]:
    """The users on the other side of ``instance`` in ``through``, or ``instance``
    itself when it is the user."""
    user_model = get_user_model()
    if isinstance(instance, user_model):
        return [instance.pk]
    fields = [f for f in through._meta.get_fields() if getattr(f, "many_to_one", False)]
    user_field = next(f for f in fields if f.related_model is user_model)
    other_field = next(f for f in fields if f.related_model is not user_model)
    return list(
        through.objects.filter(**{other_field.name: instance.pk}).values_list(
            user_field.attname, flat=True
        )
    )
