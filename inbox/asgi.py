"""HTTP and WebSocket entry point (Daphne)."""

import asyncio
import os
from collections.abc import Callable
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

if settings.DEBUG:
    # Development only: serve /static/ from the apps' folders, as runserver does.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from conversations.webhook import webhook_asgi  # noqa: E402
from inbox.consumers import InboxConsumer  # noqa: E402

WEBHOOK_PATH = "/webhooks/whatsapp/"
websocket_urlpatterns = [path("ws/inbox/", InboxConsumer.as_asgi())]


async def http(
    scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    """WhatsApp's webhooks take the lean path; every other request goes to Django."""
    if scope["path"] == WEBHOOK_PATH:
        return await webhook_asgi(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


router = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)


class EmbeddedClock:
    """In the embedded mode, starts the workspace's clock on the server's own loop
    with the first request (Daphne has no startup hook)."""

    def __init__(self, app: Callable[..., Any], every: float) -> None:
        self.app = app
        self.every = every
        self.task: asyncio.Task[None] | None = None

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if self.task is None:
            from conversations.jobs import embedded_clock

            self.task = asyncio.get_running_loop().create_task(embedded_clock(self.every))
        return await self.app(scope, receive, send)


application = (
    EmbeddedClock(router, settings.TIMERS_EVERY_SECONDS) if settings.JOBS_INLINE else router
)
