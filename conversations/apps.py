from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_save

        from conversations import signals

        user_model = get_user_model()
        pre_save.connect(signals.note_password_change, sender=user_model)
        post_save.connect(signals.password_change_ends_sockets, sender=user_model)
