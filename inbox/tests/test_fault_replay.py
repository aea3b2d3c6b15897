"""WhatsApp delivers at least once and in no particular order.

Every webhook payload of the shared corpus is posted to a real Daphne process (with
its RQ worker), once in order; then, on an empty database, three times over in a
shuffled order. Both runs must leave the same contacts, conversations, messages and
statuses, and the operator's page (the API it renders) must show the same.

The corpus gathers examples from several documents, which reuse one message id for
different messages (a text, an image, a video...). WhatsApp never does: for those,
each file's message gets its own id here, otherwise whichever arrived first would
rightly stand. The documents also give one customer number several profile names;
which name is shown is the one of the delivery that arrived last, so for those
customers the test checks the name is one of theirs rather than a particular one.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Group, User
from django.test import Client

from conftest import FIXTURES_DIR
from conversations.models import (
    Contact,
    Conversation,
    Message,
    PlatformEvent,
    StatusReport,
    WebhookDelivery,
    WhatsAppNumber,
)
from conversations.tests.factories import NumberFactory
from inbox.tests.conftest import LiveStack
from whatsapp.signature import sign

pytestmark = pytest.mark.django_db(transaction=True)

CORPUS = sorted(FIXTURES_DIR.glob("webhook_*.json"))
# What each run sets from its own clock, or not from WhatsApp's data at all.
LOCAL = {"id", "created_at", "status_at", "received_at", "conversation_id", "media", "url"}


def messages_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        message
        for entry in payload.get("entry") or []
        for change in entry.get("changes") or []
        for message in (change.get("value") or {}).get("messages") or []
    ]


def contacts_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        contact
        for entry in payload.get("entry") or []
        for change in entry.get("changes") or []
        for contact in (change.get("value") or {}).get("contacts") or []
    ]


def corpus(paths: list[Path]) -> tuple[list[bytes], dict[str, set[str]]]:
    """The bodies, message ids unique per distinct message, and the names each
    customer number carries in the corpus."""
    payloads = {path: json.loads(path.read_bytes()) for path in paths}
    files_of: defaultdict[str, set[Path]] = defaultdict(set)
    names: defaultdict[str, set[str]] = defaultdict(set)
    for path, payload in payloads.items():
        for message in messages_of(payload):
            files_of[message["id"]].add(path)
        for contact in contacts_of(payload):
            names[contact.get("wa_id", "")].add((contact.get("profile") or {}).get("name", ""))
    bodies = []
    for path, payload in payloads.items():
        for message in messages_of(payload):
            if len(files_of[message["id"]]) > 1:
                message["id"] = f"{message['id']}.{path.stem}"
        bodies.append(json.dumps(payload).encode())
    return bodies, {wa_id: found for wa_id, found in names.items() if len(found) > 1}


def register_numbers() -> None:
    """The business numbers the corpus is addressed to."""
    NumberFactory(phone_number_id="106540352242922", display_phone_number="15550783881")
    NumberFactory(phone_number_id="1122334455667", display_phone_number="972123456789")
    NumberFactory(phone_number_id="103007756220088", display_phone_number="155501000755")


def post_all(stack: LiveStack, bodies: list[bytes]) -> None:
    secret = os.environ["WHATSAPP_APP_SECRET"]
    with requests.Session() as session:
        for raw in bodies:
            response = session.post(
                stack.url("/webhooks/whatsapp/"),
                data=raw,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": sign(raw, secret),
                },
                timeout=30,
            )
            assert response.status_code == 200, response.text


def database_state(several_names: dict[str, set[str]]) -> dict[str, Any]:
    """What the corpus left, keyed by WhatsApp's identifiers rather than our row ids."""
    contacts = []
    for wa_id, user_id, name, phone, country in Contact.objects.values_list(
        "wa_id", "user_id", "profile_name", "phone", "country"
    ):
        if wa_id in several_names:
            assert name in several_names[wa_id] | {""}
            name = "one of theirs"
        contacts.append((wa_id, user_id, name, phone, country))
    contacts.sort()
    conversations = sorted(
        (
            c.number.phone_number_id,
            c.contact.wa_id or c.contact.user_id,
            c.status,
            c.unread_count,
            c.last_message_at,
            c.last_message_text,
            c.last_inbound_at,
            c.waiting_since,
            c.free_entry_until,
            c.team_id,
            c.assignee_id,
        )
        for c in Conversation.objects.select_related("number", "contact")
    )
    messages = sorted(
        (
            m.wamid,
            m.conversation.contact.wa_id or m.conversation.contact.user_id,
            m.direction,
            m.type,
            m.text,
            repr(m.content),
            m.context_wamid,
            repr(m.referral),
            m.status,
            m.error_code,
            m.error_title,
            m.timestamp,
            repr(m.reactions),
        )
        for m in Message.objects.select_related("conversation__contact")
    )
    statuses = sorted(
        (r.wamid, r.status, r.timestamp, r.applied, repr(r.errors), repr(r.pricing))
        for r in StatusReport.objects.all()
    )
    return {
        "contacts": contacts,
        "conversations": conversations,
        "messages": messages,
        "statuses": statuses,
    }


def without_local(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_local(v) for k, v in value.items() if k not in LOCAL}
    if isinstance(value, list):
        return [without_local(item) for item in value]
    return value


def page_state(client: Client, several_names: dict[str, set[str]]) -> list[Any]:
    """The conversation list and every thread as the operator's page receives them."""
    listing = client.get("/api/v1/conversations/", {"limit": 200}).json()
    shown = []
    for conversation in sorted(
        listing["results"], key=lambda c: (c["number"]["phone_number_id"], c["contact"]["wa_id"])
    ):
        thread = client.get(
            f"/api/v1/conversations/{conversation['id']}/messages/", {"limit": 200}
        ).json()
        messages = sorted(without_local(thread["results"]), key=lambda m: m["wamid"] or "")
        conversation = without_local(conversation)
        if conversation["contact"]["wa_id"] in several_names:
            conversation["contact"]["name"] = "one of theirs"
        shown.append((conversation, messages))
    return shown


def forget_everything() -> None:
    StatusReport.objects.all().delete()
    Message.objects.all().delete()
    Conversation.objects.all().delete()
    Contact.objects.all().delete()
    PlatformEvent.objects.all().delete()
    WebhookDelivery.objects.all().delete()
    WhatsAppNumber.objects.all().delete()


def test_the_corpus_three_times_shuffled_leaves_what_it_leaves_once_in_order(
    live_stack: LiveStack,
) -> None:
    assert len(CORPUS) >= 30, "the shared fixture corpus is missing"
    bodies, several_names = corpus(CORPUS)
    supervisor = User.objects.create_user(username="sam", password="x")
    supervisor.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    client = Client()
    client.force_login(supervisor)

    register_numbers()
    post_all(live_stack, bodies)
    once = database_state(several_names)
    page_once = page_state(client, several_names)
    assert once["messages"] and once["statuses"] and once["contacts"]

    forget_everything()
    register_numbers()
    replayed = bodies * 3
    random.Random(20261202).shuffle(replayed)
    post_all(live_stack, replayed)
    thrice = database_state(several_names)

    for part in ("contacts", "conversations", "messages", "statuses"):
        assert thrice[part] == once[part], f"{part} differ after a shuffled redelivery"
    assert page_state(client, several_names) == page_once
