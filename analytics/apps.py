from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Reply facts, rollups, SLA and the supervisors' statistics. Built on
    ``conversations``, which never imports it: the facts are recorded through the
    core's message and conversation-event hooks, in the same transaction."""

    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics import selectors, services
        from conversations import hooks

        hooks.on_messages_stored(services.facts_record_messages)
        hooks.on_conversation_event(services.facts_record_event)
        hooks.on_tick(services.rollups_due)
        hooks.on_tick(services.sla_breaches_record)
        hooks.on_tick(services.online_spans_record)
        hooks.on_conversation_fields(selectors.conversation_sla_fields)
        hooks.on_conversation_order("sla", selectors.conversations_by_sla_due)
