"""Template helpers of the analytics pages."""

from __future__ import annotations

from typing import Any

from django import template

from conversations.selectors import user_is_supervisor

register = template.Library()


@register.filter
def may_see_statistics(user: Any) -> bool:
    """Whether ``user`` may open the supervisors' dashboard (supervisors and admins)."""
    return bool(getattr(user, "is_authenticated", False) and user_is_supervisor(user))
