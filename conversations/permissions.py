from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from conversations.selectors import user_is_inbox_member


class IsInboxUser(BasePermission):
    """Operators, supervisors and admins (and superusers)."""

    message = "You need an operator, supervisor or admin role to use the inbox."

    def has_permission(self, request: Any, view: Any) -> bool:
        return user_is_inbox_member(request.user)


class IsAdminRole(BasePermission):
    message = "Only admins may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and (user.is_superuser or user.groups.filter(name="admin").exists())
        )


class IsSupervisorRole(BasePermission):
    message = "Only supervisors and admins may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and (user.is_superuser or user.groups.filter(name__in=["supervisor", "admin"]).exists())
        )
