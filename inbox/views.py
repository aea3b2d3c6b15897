"""Pages of the operator's workspace."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views import defaults
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


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and crawlers ask for /favicon.ico whatever a page links: the pages'
    icon. A temporary redirect, since the collected icon's name changes with it."""
    return redirect(static("inbox/favicon.svg"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An address that matches nothing: the API's JSON error under /api/ (an
    integration reads the code), the ordinary page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
