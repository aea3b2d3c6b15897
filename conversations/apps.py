from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save

        from conversations import signals
        from conversations.models import Team

        user_model = get_user_model()
        pre_save.connect(signals.note_access_change, sender=user_model)
        post_save.connect(signals.access_change_reaches_sockets, sender=user_model)
        m2m_changed.connect(signals.membership_changed, sender=user_model.groups.through)
        m2m_changed.connect(signals.membership_changed, sender=Team.members.through)
        pre_delete.connect(signals.user_deleted, sender=user_model)
        pre_delete.connect(signals.role_deleted, sender=Group)
