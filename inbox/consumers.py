"""The operator's WebSocket at /ws/inbox/: authenticate, join the groups the user
may see, relay events. The browser re-reads state from the API after every
(re)connect, so nothing published while it was away is lost.

The socket also keeps its user present (``AgentConnection``, refreshed by the
browser's ping) and relays who is viewing or typing in a chat ("collision") to
the colleagues who may see that chat, never to the sender's own sockets.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

from conversations import realtime, selectors, services
from conversations.models import Conversation
from conversations.serializers import user_payload
from conversations.signals import SESSION_CHECK

logger = logging.getLogger(__name__)

# The socket closes with this code when its session has ended (a new password,
# a deactivated user): the page then goes to the login page.
SESSION_ENDED = 4401

COLLISION_STATES = ("viewing", "typing", "left")


class InboxConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: tuple[str, ...] = ()
    user: Any = None
    access: selectors.Access | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        access = await database_sync_to_async(selectors.access_for)(user) if user else None
        if access is None or not access.member:
            await self.close(code=4403)
            return
        self.user, self.access = user, access
        self.summary = user_payload(user)
        self.viewing: set[int] = set()
        self.groups_joined = realtime.groups_for_user(
            user_id=user.pk, team_ids=access.team_ids, supervisor=access.supervisor
        )
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user_id": user.pk})
        await database_sync_to_async(services.agent_connected)(user, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        for conversation_id in sorted(self.viewing):
            await self._relay_collision(conversation_id, "left")
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await database_sync_to_async(services.agent_disconnected)(self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            if not await self._session_lives():
                return
            await database_sync_to_async(services.agent_seen)(self.channel_name, self.user)
            try:
                await realtime.heartbeat(
                    user_id=self.user.pk, channel_name=self.channel_name, layer=self.channel_layer
                )
            except Exception:
                # The layer is down: without a pong the page reconnects and re-reads.
                logger.warning("heartbeat of %s could not be sent", self.channel_name)
        elif kind in COLLISION_STATES:
            conversation_id = content.get("conversation_id")
            if isinstance(conversation_id, int) and not isinstance(conversation_id, bool):
                await self._relay_collision(conversation_id, kind)

    async def _relay_collision(self, conversation_id: int, state: str) -> None:
        groups = await database_sync_to_async(self._groups_if_visible)(conversation_id)
        if groups is None:
            return  # not a chat this user may see: say nothing about it
        if state == "left":
            self.viewing.discard(conversation_id)
        else:
            self.viewing.add(conversation_id)
        await realtime.relay_collision(
            groups=groups,
            sender_id=self.user.pk,
            event={
                "type": "collision",
                "conversation_id": conversation_id,
                "user": self.summary,
                "state": state,
            },
            layer=self.channel_layer,
        )

    def _groups_if_visible(self, conversation_id: int) -> tuple[str, ...] | None:
        row = (
            Conversation.objects.filter(pk=conversation_id)
            .values_list("team_id", "assignee_id")
            .first()
        )
        if row is None or self.access is None:
            return None
        team_id, assignee_id = row
        if not self.access.may_see(team_id=team_id, assignee_id=assignee_id):
            return None
        return realtime.groups_for_conversation(team_id=team_id, assignee_id=assignee_id)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels first hands every message to the database thread to close stale
        # connections. Relaying an event touches no database: skipping that hop
        # keeps thousands of frames a second off the one thread all sockets share.
        if message["type"] == realtime.RELAY_HANDLER and message["event_type"] != SESSION_CHECK:
            await self.send(text_data=message["frame"])
        elif message["type"] == realtime.COLLISION_HANDLER:
            await self.inbox_collision(message)
        elif message["type"] == realtime.PONG_HANDLER:
            if message.get("channel") == self.channel_name:
                await self.send_json({"type": "pong"})
        elif message["type"] == realtime.RESYNC_HANDLER:
            await self.send_json({"type": "resync"})
        else:
            await super().dispatch(message)

    async def inbox_event(self, message: dict[str, Any]) -> None:
        # Reached only for ``session.check``: ``dispatch`` relays every other event.
        await self._session_lives()

    async def _session_lives(self) -> bool:
        """Whether this socket's session still signs its user in; closes it if not."""
        if await database_sync_to_async(self._signed_in)():
            return True
        await self.close(code=SESSION_ENDED)
        return False

    def _signed_in(self) -> bool:
        session = self.scope.get("session")
        user = get_user_model().objects.filter(pk=self.user.pk, is_active=True).first()
        if session is None or user is None:
            return False
        # Read the session again: the password view updates its own session's hash.
        store = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)
        stored = store.get(HASH_SESSION_KEY, "")
        return constant_time_compare(stored, user.get_session_auth_hash())

    async def inbox_collision(self, message: dict[str, Any]) -> None:
        if message.get("sender_id") == self.user.pk:
            return
        await self.send_json(message["event"])
