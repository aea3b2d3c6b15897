"""HTTP and WebSocket entry point (Daphne)."""

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


application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
