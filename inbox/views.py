"""Pages of the operator's workspace."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from conversations.selectors import user_is_inbox_member


@login_required
@require_GET
def inbox_page(request: HttpRequest) -> HttpResponse:
    if not user_is_inbox_member(request.user):
        raise PermissionDenied("You need an operator, supervisor or admin role.")
    return render(
        request, "inbox/inbox.html", {"ping_every_ms": int(settings.PING_EVERY_SECONDS * 1000)}
    )


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
