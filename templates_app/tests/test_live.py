"""A template's changes reach the pages of supervisors and admins live, and no
operator's."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as sync_to_async

from conversations.tests.factories import UserFactory
from inbox.tests.test_consumer import connected_as, heard_before_marker
from templates_app import services
from templates_app.tests.factories import template_fields

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_new_draft_reaches_admins_and_supervisors_not_operators() -> None:
    from conversations.tests.factories import NumberFactory

    await sync_to_async(NumberFactory)()
    admin = await sync_to_async(UserFactory)(username="ada", role="admin")
    supervisor = await sync_to_async(UserFactory)(username="sam", role="supervisor")
    operator = await sync_to_async(UserFactory)(username="olga", role="operator")
    sockets = [await connected_as(user) for user in (admin, supervisor, operator)]
    await heard_before_marker(*sockets)  # past the others coming online

    template = await sync_to_async(services.template_create)(actor=admin, **template_fields())
    heard = await heard_before_marker(*sockets)
    for frames in heard[:2]:
        assert [(f["type"], f["template"]["status"]) for f in frames] == [
            ("template.updated", "DRAFT")
        ]
        assert frames[0]["template_id"] == template.pk
    assert heard[2] == []
    for socket in sockets:
        await socket.disconnect()
