"""The operator's WebSocket at /ws/inbox/: authenticate, join the groups the user
may see, relay events. The browser re-reads state from the API after every
(re)connect, so nothing published while it was away is lost.

What a user may see is checked again whenever it changes (``realtime.ACCESS_CHECK``,
published by ``conversations.signals``): the socket closes when its session ended
or its user lost every role, and otherwise leaves and joins groups to match and
tells the page to re-read. A frame is relayed only while the socket still belongs
to one of the groups it was published to, so nothing of a chat the user may no
longer see gets through once the socket has handled the change.

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

logger = logging.getLogger(__name__)

# The socket closes with this code when its session has ended (a new password,
# a deactivated user): the page then goes to the login page.
SESSION_ENDED = 4401
# The socket is refused, or closes, when its user has no inbox role (any more).
NOT_A_MEMBER = 4403

COLLISION_STATES = ("viewing", "typing", "left")


class InboxConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: frozenset[str] = frozenset()
    user: Any = None
    access: selectors.Access | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        access = await database_sync_to_async(selectors.access_for)(user) if user else None
        if access is None or not access.member:
            await self.close(code=NOT_A_MEMBER)
            return
        self.user, self.access = user, access
        self.summary = user_payload(user)
        self.viewing: set[int] = set()
        # "hello" only once Redis has the subscriptions: the page re-reads when it
        # hears from the socket, and must not miss what is published meanwhile.
        await self._listen_as(access)
        await self.accept()
        await self.send_json({"type": "hello", "user_id": user.pk})
        await database_sync_to_async(services.agent_connected)(user, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        for conversation_id in sorted(self.viewing):
            await self._relay_collision(conversation_id, "left")
        await realtime.leave(self.channel_layer, self.channel_name, self.groups_joined)
        self.groups_joined = frozenset()
        await database_sync_to_async(services.agent_disconnected)(self.channel_name)

    async def _listen_as(self, access: selectors.Access) -> None:
        """Belong to exactly the groups ``access`` may hear. Frames of the groups
        left stop at once, even those already waiting (``realtime.reaches``)."""
        groups = frozenset(
            realtime.groups_for_user(
                user_id=self.user.pk, team_ids=access.team_ids, supervisor=access.supervisor
            )
        )
        gone, new = self.groups_joined - groups, groups - self.groups_joined
        self.groups_joined = groups
        await realtime.leave(self.channel_layer, self.channel_name, sorted(gone))
        await realtime.join(self.channel_layer, self.channel_name, sorted(new))

    async def _check_access(self) -> None:
        """The user's session, roles or teams changed: close the socket if they may
        no longer use the inbox, else hear exactly what they may see now, and have
        the page re-read."""
        if not await self._session_lives():
            return
        access = await database_sync_to_async(self._access_now)()
        if access is None:
            await self.close(code=SESSION_ENDED)
            return
        if not access.member:
            await self.close(code=NOT_A_MEMBER)
            return
        if access == self.access:
            return
        hidden = await database_sync_to_async(self._hidden_from)(access)
        for conversation_id, groups in hidden:
            self.viewing.discard(conversation_id)
            await self._tell_colleagues(conversation_id, "left", groups)
        self.access = access
        await self._listen_as(access)
        await self.send_json({"type": "resync"})

    def _access_now(self) -> selectors.Access | None:
        user = get_user_model().objects.filter(pk=self.user.pk, is_active=True).first()
        if user is None:
            return None
        self.user = user
        return selectors.access_for(user)

    def _hidden_from(self, access: selectors.Access) -> list[tuple[int, tuple[str, ...]]]:
        """The chats this socket views that ``access`` no longer may, with the
        groups of the colleagues who saw it there."""
        rows = Conversation.objects.filter(pk__in=self.viewing).values_list(
            "pk", "team_id", "assignee_id"
        )
        return [
            (pk, realtime.groups_for_conversation(team_id=team_id, assignee_id=assignee_id))
            for pk, team_id, assignee_id in rows
            if not access.may_see(team_id=team_id, assignee_id=assignee_id)
        ]

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
        await self._tell_colleagues(conversation_id, state, groups)

    async def _tell_colleagues(
        self, conversation_id: int, state: str, groups: tuple[str, ...]
    ) -> None:
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
        if message["type"] == realtime.RELAY_HANDLER:
            if message["event_type"] == realtime.ACCESS_CHECK:
                await self._check_access()
            elif realtime.reaches(message, self.groups_joined):
                await self.send(text_data=message["frame"])
        elif message["type"] == realtime.COLLISION_HANDLER:
            if realtime.reaches(message, self.groups_joined):
                await self.inbox_collision(message)
        elif message["type"] == realtime.PONG_HANDLER:
            if message.get("channel") == self.channel_name:
                await self.send_json({"type": "pong"})
        elif message["type"] == realtime.RESYNC_HANDLER:
            await self.send_json({"type": "resync"})
        else:
            await super().dispatch(message)

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
