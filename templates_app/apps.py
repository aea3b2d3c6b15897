from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    """Message templates: authoring, the checks before submission, review by
    WhatsApp, and sending them. Built on ``conversations``; the core never imports it."""

    name = "templates_app"
    verbose_name = "Message templates"
