"""Labels, private notes and their mentions, and canned replies (services)."""

from __future__ import annotations

import pytest

from conversations import selectors, services
from conversations.models import ConversationEvent, Notification
from conversations.tests.factories import (
    ContactFactory,
    ConversationFactory,
    LabelFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga():
    return UserFactory(username="olga", role="operator", first_name="Olga")


def test_labels_are_set_and_the_change_recorded(olga):
    billing, delivery, returns = (LabelFactory(name=n) for n in ("billing", "delivery", "returns"))
    conversation = ConversationFactory()
    services.conversation_set_labels(
        conversation=conversation, actor=olga, label_ids=[billing.pk, delivery.pk]
    )
    services.conversation_set_labels(
        conversation=conversation, actor=olga, label_ids=[delivery.pk, returns.pk]
    )
    assert sorted(conversation.labels.values_list("name", flat=True)) == ["delivery", "returns"]
    data = [e.data for e in ConversationEvent.objects.order_by("id")]
    assert data == [
        {"added": ["billing", "delivery"], "removed": []},
        {"added": ["returns"], "removed": ["billing"]},
    ]
    with pytest.raises(services.InvalidLabel):
        services.conversation_set_labels(conversation=conversation, actor=olga, label_ids=[999])


def test_note_mentions_notify_only_colleagues_who_may_see_the_chat(
    olga, django_capture_on_commit_callbacks
):
    oleg = UserFactory(username="oleg", role="operator")
    boris = UserFactory(username="boris", role="operator")
    support = TeamFactory(name="Support", members=[olga, oleg])
    TeamFactory(name="Sales", members=[boris])
    conversation = ConversationFactory(team=support)
    with django_capture_on_commit_callbacks() as callbacks:
        note = services.note_create(
            conversation=conversation,
            author=olga,
            text="@oleg can you check? @boris too. Not @nobody or @olga.",
        )
    assert list(note.mentions.all()) == [oleg]
    notification = Notification.objects.get()
    assert (notification.user, notification.kind, notification.note) == (oleg, "mention", note)
    assert notification.text.startswith("Olga mentioned you: @oleg can you check?")
    # The page says it in the operator's language from these.
    assert notification.data == {"author": "Olga", "note": note.text}
    assert len(callbacks) == 2  # note.created and oleg's notification.created
    with pytest.raises(services.ServiceError):
        services.note_create(conversation=conversation, author=olga, text="   ")


def test_canned_reply_variables_are_filled_for_the_chat(olga):
    conversation = ConversationFactory(
        contact=ContactFactory(
            profile_name="Maria Lopez", wa_id="34600111222", phone="+34600111222"
        )
    )
    text = "Hello {{first_name}} ({{name}}, {{ phone }}), {{agent}} here. {{unknown}}"
    assert selectors.canned_reply_render(text, conversation=conversation, agent=olga) == (
        "Hello Maria (Maria Lopez, +34600111222), Olga here. {{unknown}}"
    )
