from django.apps import AppConfig

# The webhook fields WhatsApp reports a number's and an account's health on.
HEALTH_FIELDS = ("phone_number_quality_update", "account_update")


class CampaignsConfig(AppConfig):
    """Proactive notifications to many customers: audiences, preview, pacing by
    throughput and tier, A/B variants, exactly-once sending, number health. Built
    on ``templates_app`` and ``conversations``, which never import it: it fills
    the core's hooks (platform events, the clock)."""

    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from campaigns import services
        from conversations import hooks

        for field in HEALTH_FIELDS:
            hooks.on_platform_event(field, services.health_event_apply)
        hooks.on_tick(services.campaigns_due)
        hooks.on_messages_stored(services.replies_record)
