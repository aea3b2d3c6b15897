"""The operator's own language and time zone for every page and API answer.

``LocaleMiddleware`` (earlier in the chain) has already chosen a language from
the browser's Accept-Language; an operator who picked a language in their
profile gets that one instead. The profile's time zone, when set, is activated
for the request, so server-rendered dates follow it too.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from conversations.models import AgentProfile

SUPPORTED_LANGUAGES = frozenset(code for code, _ in settings.LANGUAGES)


def operator_profile(request: HttpRequest) -> AgentProfile | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return AgentProfile.objects.filter(user=user).only("language", "time_zone").first()


def time_zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class OperatorPreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        profile = operator_profile(request)
        zone = None
        if profile is not None:
            if profile.language in SUPPORTED_LANGUAGES:
                translation.activate(profile.language)
                request.LANGUAGE_CODE = profile.language
            zone = time_zone_named(profile.time_zone)
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            if zone is not None:
                timezone.deactivate()
