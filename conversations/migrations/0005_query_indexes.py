"""Indexes for the conversation list, its search and long threads, on PostgreSQL.

They live in the database only: the models' state does not change, and SQLite (the
embedded mode) keeps the indexes the models declare. Built with CREATE INDEX
CONCURRENTLY, so a running inbox keeps taking webhooks while they are made; an
index left invalid by an interrupted build is made again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# name -> (table, definition). Search uses icontains, which PostgreSQL runs as
# UPPER(column) LIKE UPPER(pattern): trigram indexes over UPPER(column) serve it.
INDEXES: dict[str, tuple[str, str]] = {
    # The list's first page and its count for a status (the page opens on "open"),
    # with what visibility and the assignee and team filters read, from the index alone.
    "conversation_status_activity": (
        "conversations_conversation",
        "(status, last_message_at DESC, id DESC) INCLUDE (team_id, assignee_id)",
    ),
    # sort=window reads only chats waiting for a reply.
    "conversation_waiting": (
        "conversations_conversation",
        "(status, waiting_since) INCLUDE (team_id, assignee_id, last_inbound_at, "
        "free_entry_until) WHERE waiting_since IS NOT NULL",
    ),
    # A thread in its order, with the ids: a long thread's newest page finds its
    # rows from the index alone, without sorting the thread.
    "message_thread_order": (
        "conversations_message",
        '(conversation_id, "timestamp", created_at) INCLUDE (id)',
    ),
    "message_text_trgm": ("conversations_message", "USING gin (UPPER(text) gin_trgm_ops)"),
    "contact_name_trgm": (
        "conversations_contact",
        "USING gin (UPPER(profile_name) gin_trgm_ops)",
    ),
    "contact_phone_trgm": ("conversations_contact", "USING gin (UPPER(phone) gin_trgm_ops)"),
    "contact_wa_id_trgm": ("conversations_contact", "USING gin (UPPER(wa_id) gin_trgm_ops)"),
}


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, definition) in INDEXES.items():
            cursor.execute(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %s",
                [name],
            )
            row = cursor.fetchone()
            if row is not None and row[0]:
                continue
            if row is not None:
                cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
            cursor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON "{table}" {definition}')


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("conversations", "0004_notification_data"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
