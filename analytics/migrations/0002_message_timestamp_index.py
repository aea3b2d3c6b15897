"""Statistics count the messages of a period (the current hour, the ends of a
period, an hour a late message made dirty) by their timestamp alone: an index for
that, kept by this app so the core's models stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("conversations", "0006_messages_media_calendars_profiles"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS analytics_message_timestamp "
            'ON conversations_message ("timestamp")',
            "DROP INDEX IF EXISTS analytics_message_timestamp",
        )
    ]
