"""An open socket follows every change of what its user may see: a team joined or
left, another role, no role, deactivation, a chat moved to another team. Each test
changes something while the socket is open and reads the frames that arrive after
the change, up to a frame the socket must get (a note in a chat the user still
sees), so an absence is asserted only once the socket has provably handled what
was published before it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async as sync_to_async

from conversations import services
from conversations.tests.factories import ConversationFactory, TeamFactory, UserFactory
from inbox.tests.test_consumer import connected_as

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def frames_until(socket: Any, arrived: Callable[[dict], bool]) -> list[dict]:
    """Every frame up to and including the first for which ``arrived`` is true."""
    frames = []
    while True:
        frame = await socket.receive_json_from(timeout=10)
        frames.append(frame)
        if arrived(frame):
            return frames


def note_in(conversation_id: int, text: str) -> Callable[[dict], bool]:
    return lambda frame: (
        frame["type"] == "note.created"
        and frame["conversation_id"] == conversation_id
        and frame["note"]["text"] == text
    )


def resync(frame: dict) -> bool:
    return frame == {"type": "resync"}


def about(frames: list[dict], conversation_id: int) -> list[dict]:
    return [frame for frame in frames if frame.get("conversation_id") == conversation_id]


@pytest.fixture
def workspace(db: Any) -> dict[str, Any]:
    olga = UserFactory(username="olga", role="operator")
    boris = UserFactory(username="boris", role="operator")
    support = TeamFactory(name="Support", members=[olga, boris])
    sales = TeamFactory(name="Sales", members=[olga])
    return {
        "olga": olga,
        "boris": boris,
        "support": support,
        "sales": sales,
        "support_chat": ConversationFactory(team=support),
        "sales_chat": ConversationFactory(team=sales),
        # Every operator hears of chats without a team: the positive signal.
        "open_chat": ConversationFactory(team=None),
    }


LEAVING = {
    "removed by the team": lambda w: w["support"].members.remove(w["boris"]),
    "removed from the user's side": lambda w: w["boris"].teams.remove(w["support"]),
    "the team emptied": lambda w: w["support"].members.clear(),
    "the user's teams emptied": lambda w: w["boris"].teams.clear(),
}


@pytest.mark.parametrize("leave", LEAVING.values(), ids=LEAVING.keys())
async def test_an_operator_taken_out_of_a_team_stops_hearing_its_chats_at_once(
    workspace: dict[str, Any], leave: Callable[[dict], None]
) -> None:
    w = workspace
    socket = await connected_as(w["boris"])

    def leave_while_a_colleague_writes() -> None:
        # One after the other in one thread: the note's frame is published while the
        # socket has not yet handled the change, and waits in its queue.
        leave(w)
        services.note_create(conversation=w["support_chat"], author=w["olga"], text="secret 1")
        services.note_create(conversation=w["open_chat"], author=w["olga"], text="marker 1")

    await sync_to_async(leave_while_a_colleague_writes)()
    frames = await frames_until(socket, note_in(w["open_chat"].pk, "marker 1"))
    assert {"type": "resync"} in frames
    assert about(frames, w["support_chat"].pk) == []

    await sync_to_async(services.note_create)(
        conversation=w["support_chat"], author=w["olga"], text="secret 2"
    )
    await sync_to_async(services.note_create)(
        conversation=w["open_chat"], author=w["olga"], text="marker 2"
    )
    frames = await frames_until(socket, note_in(w["open_chat"].pk, "marker 2"))
    assert about(frames, w["support_chat"].pk) == []
    assert all(frame["type"] != "access.check" for frame in frames)
    await socket.disconnect()


async def test_an_operator_added_to_a_team_hears_its_chats_after_the_page_re_reads(
    workspace: dict[str, Any],
) -> None:
    w = workspace
    socket = await connected_as(w["boris"])
    await sync_to_async(w["sales"].members.add)(w["boris"])
    # The page re-reads once the socket listens to Sales: what was written there
    # before is in what it reads, and what is written after reaches it live.
    await frames_until(socket, resync)
    await sync_to_async(services.note_create)(
        conversation=w["sales_chat"], author=w["olga"], text="for Sales"
    )
    frames = await frames_until(socket, note_in(w["sales_chat"].pk, "for Sales"))
    assert "resync" not in [frame["type"] for frame in frames]
    await socket.disconnect()


async def test_an_operator_made_supervisor_hears_every_team_and_back_again(
    workspace: dict[str, Any],
) -> None:
    from django.contrib.auth.models import Group

    w = workspace
    w_boris, sales_chat, open_chat = w["boris"], w["sales_chat"], w["open_chat"]
    await sync_to_async(w["support"].members.remove)(w["olga"])  # olga stays an operator
    socket = await connected_as(w_boris)

    def make_supervisor() -> None:
        w_boris.groups.set([Group.objects.get_or_create(name="supervisor")[0]])

    await sync_to_async(make_supervisor)()
    await frames_until(socket, resync)
    await sync_to_async(services.note_create)(
        conversation=sales_chat, author=w["olga"], text="seen by supervisors"
    )
    await frames_until(socket, note_in(sales_chat.pk, "seen by supervisors"))

    def make_operator() -> None:
        w_boris.groups.set([Group.objects.get(name="operator")])
        services.note_create(conversation=sales_chat, author=w["olga"], text="Sales only")
        services.note_create(conversation=open_chat, author=w["olga"], text="marker")

    await sync_to_async(make_operator)()
    frames = await frames_until(socket, note_in(open_chat.pk, "marker"))
    assert {"type": "resync"} in frames
    assert about(frames, sales_chat.pk) == []
    await socket.disconnect()


async def test_a_superuser_flag_counts_as_a_role(workspace: dict[str, Any]) -> None:
    w = workspace
    socket = await connected_as(w["boris"])

    def make_superuser() -> None:
        w["boris"].is_superuser = True
        w["boris"].save()

    await sync_to_async(make_superuser)()
    await frames_until(socket, resync)
    await sync_to_async(services.note_create)(
        conversation=w["sales_chat"], author=w["olga"], text="admins see it"
    )
    await frames_until(socket, note_in(w["sales_chat"].pk, "admins see it"))
    await socket.disconnect()


async def closed_with(socket: Any) -> int:
    while True:
        output = await socket.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return output["code"]
        assert "secret" not in output.get("text", "")


async def test_a_user_who_loses_every_role_is_disconnected(workspace: dict[str, Any]) -> None:
    w = workspace
    socket = await connected_as(w["boris"])

    def lose_role() -> None:
        w["boris"].groups.clear()
        services.note_create(conversation=w["support_chat"], author=w["olga"], text="secret")

    await sync_to_async(lose_role)()
    assert await closed_with(socket) == 4403


async def test_users_of_a_deleted_role_are_disconnected(workspace: dict[str, Any]) -> None:
    from django.contrib.auth.models import Group

    socket = await connected_as(workspace["boris"])
    await sync_to_async(Group.objects.filter(name="operator").delete)()
    assert await closed_with(socket) == 4403


async def test_a_deactivated_user_is_disconnected(workspace: dict[str, Any]) -> None:
    w = workspace
    socket = await connected_as(w["boris"])

    def deactivate() -> None:
        w["boris"].is_active = False
        w["boris"].save()
        services.note_create(conversation=w["support_chat"], author=w["olga"], text="secret")

    await sync_to_async(deactivate)()
    assert await closed_with(socket) == 4401


async def test_a_deleted_user_is_disconnected(workspace: dict[str, Any]) -> None:
    w = workspace
    socket = await connected_as(w["boris"])
    await sync_to_async(w["boris"].delete)()
    assert await closed_with(socket) == 4401


async def test_a_chat_moved_to_another_team_is_no_longer_heard_by_the_first(
    workspace: dict[str, Any],
) -> None:
    w = workspace
    supervisor = await sync_to_async(UserFactory)(username="sam", role="supervisor")
    socket = await connected_as(w["boris"])
    chat = w["support_chat"]

    def move_to_sales() -> None:
        services.conversation_assign(conversation=chat, actor=supervisor, team=w["sales"].pk)
        services.note_create(conversation=chat, author=w["olga"], text="secret")
        services.note_create(conversation=w["open_chat"], author=w["olga"], text="marker")

    await sync_to_async(move_to_sales)()
    frames = await frames_until(socket, note_in(w["open_chat"].pk, "marker"))
    # Boris hears that it left his team (his list drops it), then nothing of it.
    moved = [f for f in about(frames, chat.pk) if f["type"] == "conversation.updated"]
    assert moved and moved[-1]["conversation"]["team"]["name"] == "Sales"
    assert [f for f in about(frames, chat.pk) if f["type"] == "note.created"] == []
    await socket.disconnect()


async def test_colleagues_see_a_viewer_leave_a_chat_they_may_no_longer_see(
    workspace: dict[str, Any],
) -> None:
    w = workspace
    olga_socket = await connected_as(w["olga"])
    boris_socket = await connected_as(w["boris"])
    await olga_socket.receive_json_from(timeout=5)  # boris's presence
    await boris_socket.send_json_to({"type": "viewing", "conversation_id": w["support_chat"].pk})
    viewing = await olga_socket.receive_json_from(timeout=5)
    assert (viewing["type"], viewing["state"]) == ("collision", "viewing")

    await sync_to_async(w["support"].members.remove)(w["boris"])
    left = await olga_socket.receive_json_from(timeout=5)
    assert (left["type"], left["conversation_id"], left["user"]["id"], left["state"]) == (
        "collision",
        w["support_chat"].pk,
        w["boris"].pk,
        "left",
    )
    await olga_socket.disconnect()
    await boris_socket.disconnect()
