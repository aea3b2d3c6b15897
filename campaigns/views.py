"""The campaigns page: supervisors read it, admins also build, start, pause,
resume and cancel campaigns; operators are refused (403)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.http import require_GET

from conversations.selectors import user_roles


@login_required
@require_GET
def campaigns_page(request: HttpRequest) -> HttpResponse:
    roles = user_roles(request.user)
    if "admin" not in roles and "supervisor" not in roles:
        return defaults.permission_denied(
            request, PermissionDenied("You need a supervisor or admin role.")
        )
    return render(
        request,
        "campaigns/campaigns.html",
        {
            "can_edit": "admin" in roles,
            "ping_every_ms": int(settings.PING_EVERY_SECONDS * 1000),
        },
    )
