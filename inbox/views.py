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

from conversations.selectors import user_is_inbox_member, user_roles


@login_required
@require_GET
def inbox_page(request: HttpRequest) -> HttpResponse:
    if not user_is_inbox_member(request.user):
        raise PermissionDenied("You need an operator, supervisor or admin role.")
    return render(
        request, "inbox/inbox.html", {"ping_every_ms": int(settings.PING_EVERY_SECONDS * 1000)}
    )


@login_required
@require_GET
def templates_page(request: HttpRequest) -> HttpResponse:
    """The message templates: supervisors read them, admins write them too."""
    roles = user_roles(request.user)
    if "admin" not in roles and "supervisor" not in roles:
        # The 403 page, answered rather than raised: an operator following an old
        # link is no server error worth a traceback in the log.
        return defaults.permission_denied(
            request, PermissionDenied("You need a supervisor or admin role.")
        )
    return render(
        request,
        "inbox/templates.html",
        {
            "can_edit": "admin" in roles,
            "ping_every_ms": int(settings.PING_EVERY_SECONDS * 1000),
        },
    )


@login_required
@require_GET
def consent_page(request: HttpRequest) -> HttpResponse:
    """Consent and the send rules: categories with their opt-in links, the policy,
    the import and the compliance log. Admins change them; supervisors read them."""
    roles = user_roles(request.user)
    if "admin" not in roles and "supervisor" not in roles:
        return defaults.permission_denied(
            request, PermissionDenied("You need a supervisor or admin role.")
        )
    return render(request, "inbox/consent.html", {"can_edit": "admin" in roles})


def navigation(request: HttpRequest) -> dict[str, bool]:
    """The top bar's links (a context processor): the templates and consent pages
    for supervisors and admins."""
    roles = user_roles(getattr(request, "user", None))
    staff = "admin" in roles or "supervisor" in roles
    return {"nav_templates": staff, "nav_consent": staff, "nav_campaigns": staff}


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
