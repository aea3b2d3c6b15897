"""The operator's WebSocket at /ws/inbox/: authenticate, join the groups the user
may see, relay events. The browser re-reads state from the API after every
(re)connect, so nothing published while it was away is lost."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from conversations import realtime
from conversations.selectors import user_is_inbox_member


class InboxConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(user_is_inbox_member)(user):
            await self.close(code=4403)
            return
        self.groups_joined = (realtime.INBOX_GROUP, realtime.user_group(user.pk))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user_id": user.pk})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def inbox_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
