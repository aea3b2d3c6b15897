"""WSGI entry point for management tools; the product itself runs on ASGI (inbox.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
application = get_wsgi_application()
