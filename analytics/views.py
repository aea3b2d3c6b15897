"""The supervisors' dashboard page: figures, charts and a live panel, drawn in the
browser from the statistics API (``static/analytics/dashboard.js``)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from analytics.models import SlaBreach, SlaPolicy
from conversations.models import Conversation, Team
from conversations.selectors import user_is_supervisor

# Breaches of this long ago still show in the live panel when the page opens.
RECENT_BREACHES = dt.timedelta(hours=24)


@login_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    if not user_is_supervisor(request.user):
        # An answer, not an exception: an operator following a shared link is no error.
        return HttpResponseForbidden(
            _("Only supervisors and admins may see the dashboard."), content_type="text/plain"
        )
    since = timezone.now() - RECENT_BREACHES
    breaches = (
        SlaBreach.objects.filter(created_at__gte=since)
        .exclude(conversation__status=Conversation.Status.RESOLVED)
        .select_related("conversation__contact")
        .order_by("-created_at")[:50]
    )
    people = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=("operator", "supervisor", "admin"))
        .distinct()
        .order_by("first_name", "username")
    )
    return render(
        request,
        "analytics/dashboard.html",
        {
            "teams": Team.objects.order_by("name"),
            "operators": people,
            "policies": SlaPolicy.objects.select_related("team", "label", "number"),
            "breaches": breaches,
            "ping_every_ms": int(settings.PING_EVERY_SECONDS * 1000),
        },
    )
