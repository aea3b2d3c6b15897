from django.apps import AppConfig

# The webhook fields WhatsApp reports templates' review, quality and category on.
TEMPLATE_FIELDS = (
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "message_template_components_update",
)


class TemplatesConfig(AppConfig):
    """Message templates: authoring, the checks before submission, review by
    WhatsApp, and sending them. Built on ``conversations``; the core never imports it."""

    name = "templates_app"
    verbose_name = "Message templates"

    def ready(self) -> None:
        from conversations import hooks
        from templates_app import services

        for field in TEMPLATE_FIELDS:
            hooks.on_platform_event(field, services.template_update_apply)
        hooks.on_tick(services.templates_sync_due)
