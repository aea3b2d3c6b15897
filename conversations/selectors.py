"""Reads that more than one caller needs, with their joins already applied.

Who may see what: supervisors and admins (a superuser counts as an admin) see
every conversation; an operator sees the chats of their teams, chats without a
team, and chats assigned to them. Everything else is "not found" to them.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from conversations import hooks
from conversations.calendars import Schedule
from conversations.models import (
    SERVICE_WINDOW,
    AgentConnection,
    AgentProfile,
    AutoReply,
    BusinessCalendar,
    BusinessProfile,
    CannedReply,
    Consent,
    ConsentCategory,
    ConsentChange,
    Contact,
    Conversation,
    ConversationEvent,
    Label,
    Message,
    Note,
    Notification,
    Team,
    WhatsAppNumber,
)
from whatsapp import errors as wa_errors

ROLE_GROUPS = ("operator", "supervisor", "admin")
SUPERVISING_ROLES = ("supervisor", "admin")
# A socket that has not pinged for this long no longer makes its user present.
PRESENCE_FRESHNESS = dt.timedelta(seconds=90)
# Chats that count toward an operator's capacity.
ACTIVE_STATUSES = (Conversation.Status.OPEN,)
WAITING_STATUSES = (Conversation.Status.PENDING, Conversation.Status.SNOOZED)


@dataclass(frozen=True)
class Access:
    """What a user may see, read once per request or socket."""

    user_id: int | None
    member: bool
    supervisor: bool
    team_ids: frozenset[int]

    def may_see(self, *, team_id: int | None, assignee_id: int | None) -> bool:
        if not self.member:
            return False
        return (
            self.supervisor
            or team_id is None
            or team_id in self.team_ids
            or (assignee_id is not None and assignee_id == self.user_id)
        )


def user_roles(user: Any) -> list[str]:
    """The user's inbox roles; a superuser is an admin."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    roles = set(user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True))
    if user.is_superuser:
        roles.add("admin")
    return [role for role in ROLE_GROUPS if role in roles]


def user_is_inbox_member(user: Any) -> bool:
    """Whether ``user`` may use the inbox at all (a role, or a superuser)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=ROLE_GROUPS).exists()


def access_for(user: Any) -> Access:
    """The user's roles and teams, in two queries."""
    roles = user_roles(user)
    return Access(
        user_id=getattr(user, "pk", None),
        member=bool(roles),
        supervisor=any(role in SUPERVISING_ROLES for role in roles),
        team_ids=frozenset(user.teams.values_list("id", flat=True)) if roles else frozenset(),
    )


def user_is_supervisor(user: Any) -> bool:
    """Supervisors and admins: see every chat and may reassign any."""
    return access_for(user).supervisor


def user_may_see(user: Any, conversation: Conversation) -> bool:
    return access_for(user).may_see(
        team_id=conversation.team_id, assignee_id=conversation.assignee_id
    )


def visibility_filter(access: Access) -> Q:
    """The condition on conversations that ``access`` may see."""
    if access.supervisor:
        return Q()
    return Q(team__isnull=True) | Q(team_id__in=access.team_ids) | Q(assignee_id=access.user_id)


def conversations_visible_to(user: Any) -> QuerySet[Conversation]:
    """Conversations ``user`` may see, newest activity first, ready to serialize."""
    access = access_for(user)
    if not access.member:
        return Conversation.objects.none()
    # Each row has its own contact; the few numbers, teams, operators and labels a
    # page shows are read once each and shared by its rows instead.
    return (
        Conversation.objects.filter(visibility_filter(access))
        .select_related("contact")
        .prefetch_related(
            "number",
            "team",
            "assignee",
            Prefetch("labels", queryset=Label.objects.order_by("name"), to_attr="sorted_labels"),
        )
        .order_by("-last_message_at", "-id")
    )


def moment_ignoring_nulls(function: type[Greatest | Least], a: Any, b: Any) -> ExpressionWrapper:
    """SQL for the later (``Greatest``) or earlier (``Least``) of two moments, either
    of which may be null (null only when both are): PostgreSQL's GREATEST and
    LEAST skip nulls, SQLite's MAX() and MIN() of a null are null."""
    return ExpressionWrapper(function(Coalesce(a, b), Coalesce(b, a)), output_field=DateTimeField())


def window_closes_at() -> ExpressionWrapper:
    """SQL for when a conversation's customer-service window closes (null: never opened)."""
    inbound = ExpressionWrapper(F("last_inbound_at") + SERVICE_WINDOW, output_field=DateTimeField())
    return moment_ignoring_nulls(Greatest, inbound, F("free_entry_until"))


def conversation_list(
    *,
    user: Any,
    status: str = "",
    assignee: str = "",
    search: str = "",
    team: int | None = None,
    label: int | None = None,
    number: int | None = None,
    sort: str = "activity",
    now: dt.datetime | None = None,
    search_among: int | None = None,
) -> QuerySet[Conversation]:
    """The filtered conversation list.

    ``assignee`` is ``me``, ``unassigned``, ``anyone`` or a user id; ``search``
    matches name, phone and message text. ``sort="window"`` keeps unanswered
    chats whose window is open, the soonest-closing first; another ``sort`` is an
    order an app above offers (``hooks.on_conversation_order``).

    With ``search_among``, the search looks only at that many of the list's first
    conversations, each tested on its own: a word in many messages finds a page
    of them there at once, where gathering every match first takes a second. The
    rows it gives are the list's first matches only when there are more of them
    than the page needs (see ``api.ConversationList``).
    """
    conversations = conversations_visible_to(user)
    if status:
        conversations = conversations.filter(status=status)
    if assignee == "me":
        conversations = conversations.filter(assignee=user)
    elif assignee == "unassigned":
        conversations = conversations.filter(assignee__isnull=True)
    elif assignee.isascii() and assignee.isdigit():
        conversations = conversations.filter(assignee_id=int(assignee))
    if team is not None:
        conversations = conversations.filter(team_id=team)
    if label is not None:
        conversations = conversations.filter(
            id__in=Conversation.labels.through.objects.filter(label_id=label).values(
                "conversation_id"
            )
        )
    if number is not None:
        conversations = conversations.filter(number_id=number)
    search = search.strip()
    if search and search_among is None:
        conversations = conversations.filter(id__in=conversations_matching(search))
    if sort == "window":
        conversations = (
            conversations.filter(waiting_since__isnull=False)
            .annotate(window_closes=window_closes_at())
            .filter(window_closes__gt=now or timezone.now())
            .order_by("window_closes", "id")
        )
    elif (order := hooks.conversation_order(sort)) is not None:
        conversations = order(conversations, now or timezone.now())
    if search and search_among is not None:
        first = conversations.select_related(None).prefetch_related(None).values("id")
        conversations = conversations.filter(id__in=first[:search_among]).filter(_matches(search))
    return conversations


def _contact_holds(search: str, path: str = "") -> Q:
    """The contact (at ``path``, e.g. ``contact__``) whose name, phone or WhatsApp id
    holds ``search``, case-insensitive: what a search looks at in a contact."""
    fields = ("profile_name", "phone", "wa_id")
    return functools.reduce(
        operator.or_, (Q(**{f"{path}{field}__icontains": search}) for field in fields)
    )


def _matches(search: str) -> Q:
    """A conversation whose contact or one of whose messages holds ``search``,
    tested conversation by conversation (``conversations_matching`` gathers them)."""
    return _contact_holds(search, "contact__") | Exists(
        Message.objects.filter(conversation=OuterRef("pk"), text__icontains=search)
    )


def conversations_matching(search: str) -> QuerySet[Any]:
    """Ids of conversations whose contact's name, phone or WhatsApp id, or one of
    whose messages, holds ``search`` (case-insensitive).

    One set from both sides: each side finds its few rows through its own index
    (trigram indexes on PostgreSQL), instead of every listed conversation being
    tested against both."""
    by_contact = Conversation.objects.filter(
        contact__in=Contact.objects.filter(_contact_holds(search))
    ).values("id")
    by_message = Message.objects.filter(text__icontains=search).values("conversation_id")
    return by_contact.union(by_message, all=True)


class ThreadQuerySet(QuerySet[Message]):
    """A thread whose pages find their rows in the thread index first.

    A page (a slice) selects the ids of its rows from the index alone, then reads
    only those rows: the newest page of a thread with tens of thousands of
    messages skips the older ones without reading or sorting them."""

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice) and self._result_cache is None and k.stop is not None:
            page = QuerySet.__getitem__(self.values("pk"), k)
            # Only the page's ids select the rows: the thread's condition would make
            # PostgreSQL read the whole thread again to test them.
            rows = self.model._default_manager.filter(pk__in=page)
            rows.query.select_related = self.query.select_related
            rows._prefetch_related_lookups = self._prefetch_related_lookups
            rows._known_related_objects = self._known_related_objects
            return rows.order_by(*self.query.order_by)
        return super().__getitem__(k)


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    """A thread, oldest first. Its messages share ``conversation`` (not joined again
    for each row) and the few operators who wrote them (read once each)."""
    messages = (
        ThreadQuerySet(model=Message)
        .filter(conversation=conversation)
        .prefetch_related("sent_by")
        .order_by("timestamp", "created_at")
    )
    # What a related manager does for ``conversation.messages.all()``.
    messages._known_related_objects = {
        Message._meta.get_field("conversation"): {conversation.pk: conversation}
    }
    return messages


def messages_visible_to(user: Any) -> QuerySet[Message]:
    """Messages of the conversations ``user`` may see (any other is "not found")."""
    access = access_for(user)
    if not access.member:
        return Message.objects.none()
    if access.supervisor:
        return Message.objects.all()
    return Message.objects.filter(
        conversation__in=Conversation.objects.filter(visibility_filter(access)).values("pk")
    )


def conversation_events(*, conversation: Conversation) -> QuerySet[ConversationEvent]:
    """Who changed what in a thread, oldest first."""
    return (
        ConversationEvent.objects.filter(conversation=conversation)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def conversation_notes(*, conversation: Conversation) -> QuerySet[Note]:
    """A thread's private notes, oldest first."""
    return (
        Note.objects.filter(conversation=conversation)
        .select_related("author")
        .prefetch_related("mentions")
        .order_by("created_at", "id")
    )


def users_in_roles(roles: tuple[str, ...] = ROLE_GROUPS) -> QuerySet[Any]:
    """Active users holding one of ``roles`` (superusers count as admins)."""
    User = get_user_model()
    condition = Q(groups__name__in=roles)
    if "admin" in roles:
        condition |= Q(is_superuser=True)
    return User.objects.filter(condition, is_active=True).distinct()


def supervisors() -> QuerySet[Any]:
    """Everyone told of escalations: supervisors and admins."""
    return users_in_roles(SUPERVISING_ROLES)


def business_profile_of(number: WhatsAppNumber) -> BusinessProfile:
    """The number's business profile; a blank, unsaved one (``sync_state`` empty)
    when nobody has edited or imported it yet."""
    return BusinessProfile.objects.filter(number=number).first() or BusinessProfile(number=number)


def fresh_connection(now: dt.datetime, user_ref: str = "pk") -> Exists:
    return Exists(
        AgentConnection.objects.filter(
            user=OuterRef(user_ref), last_seen__gte=now - PRESENCE_FRESHNESS
        )
    )


def agents_visible_to(user: Any, *, now: dt.datetime | None = None) -> QuerySet[Any]:
    """Inbox users with what their colleagues need to know: teams, presence, load.

    Operators see the agents of their own teams; supervisors everyone. Each user
    carries ``connected``, ``open_chats`` and ``waiting_chats`` annotations and
    prefetched ``teams`` and ``agent`` profile.
    """
    access = access_for(user)
    agents = users_in_roles()
    if not access.member:
        return agents.none()
    if not access.supervisor:
        agents = agents.filter(Q(teams__in=access.team_ids) | Q(pk=access.user_id)).distinct()
    now = now or timezone.now()
    return (
        agents.select_related("agent")
        .prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
        .annotate(
            connected=fresh_connection(now),
            open_chats=Count(
                "assigned_conversations",
                filter=Q(assigned_conversations__status__in=ACTIVE_STATUSES),
                distinct=True,
            ),
            waiting_chats=Count(
                "assigned_conversations",
                filter=Q(assigned_conversations__status__in=WAITING_STATUSES),
                distinct=True,
            ),
        )
        .order_by("username")
    )


def effective_presence(*, connected: bool, profile: AgentProfile | None) -> str:
    """Offline without a fresh socket; otherwise the operator's own switch."""
    if not connected:
        return AgentProfile.Presence.OFFLINE
    if profile is None:
        return AgentProfile.Presence.ONLINE
    return profile.presence


def canned_replies_for(
    user: Any, *, query: str = "", team_id: int | None = None
) -> QuerySet[CannedReply]:
    """Canned replies ``user`` may insert: those of their teams and team-less ones
    (supervisors: all), plus those of ``team_id`` (the open chat's team), matching
    ``query`` in shortcut or title."""
    access = access_for(user)
    if not access.member:
        return CannedReply.objects.none()
    replies = CannedReply.objects.select_related("team").order_by("shortcut")
    if not access.supervisor:
        teams = set(access.team_ids)
        if team_id is not None:
            teams.add(team_id)
        replies = replies.filter(Q(team__isnull=True) | Q(team_id__in=teams))
    query = query.strip().lstrip("/")
    if query:
        replies = replies.filter(Q(shortcut__icontains=query) | Q(title__icontains=query))
    return replies


def notifications_for(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    notifications = Notification.objects.filter(user=user).order_by("-created_at", "-id")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def canned_reply_render(text: str, *, conversation: Conversation | None, agent: Any) -> str:
    """Fill ``{{name}}``, ``{{first_name}}``, ``{{phone}}`` and ``{{agent}}`` for
    ``conversation`` (without one, only ``{{agent}}``); unknown variables stay."""
    values: dict[str, str] = {
        "agent": (getattr(agent, "first_name", "") or "").strip()
        or (agent.get_full_name() if agent is not None else "")
        or getattr(agent, "username", ""),
    }
    if conversation is not None:
        contact = conversation.contact
        name = contact.profile_name.strip()
        values["name"] = name or contact.phone or contact.wa_id
        values["first_name"] = name.split()[0] if name else ""
        values["phone"] = contact.phone or (f"+{contact.wa_id}" if contact.wa_id else "")

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _VARIABLE.sub(fill, text)


def message_retryable(message: Message, now: dt.datetime | None = None) -> bool:
    """Whether an operator's retry of this message may succeed: it failed, the
    window is open now, and WhatsApp's reason is one that passes (see
    ``whatsapp.errors.manual_retry_may_help``). Reads ``message.conversation``:
    join it when checking many."""
    if message.direction != Message.Direction.OUT or message.status != Message.Status.FAILED:
        return False
    # A template may be sent whether or not the window is open.
    window_open = (
        message.type == "template" or message.conversation.window_expires_at(now) is not None
    )
    return wa_errors.manual_retry_may_help(message.error_code, window_open=window_open)


# --- Business calendars and automatic replies -------------------------------------


def calendar_load(calendar_id: int) -> BusinessCalendar | None:
    """The calendar with its intervals and holidays (one query each)."""
    return (
        BusinessCalendar.objects.prefetch_related("intervals", "holidays")
        .filter(pk=calendar_id)
        .first()
    )


def team_schedule(team: Team | None) -> Schedule | None:
    """When ``team`` works; None (always open) without a team or a calendar."""
    if team is None or team.calendar_id is None:
        return None
    calendar = calendar_load(team.calendar_id)
    return Schedule.of(calendar) if calendar is not None else None


def team_auto_replies(team: Team) -> list[AutoReply]:
    """The team's enabled automatic replies (both kinds, every language)."""
    return list(AutoReply.objects.filter(team=team, enabled=True).order_by("kind", "language"))


# --- Contacts and consent ----------------------------------------------------------


def contacts_visible_to(user: Any) -> QuerySet[Contact]:
    """Contacts ``user`` may see: those of the chats they may see, and customers
    nobody talks with yet (created through the API or an import). Supervisors and
    admins see them all."""
    access = access_for(user)
    if not access.member:
        return Contact.objects.none()
    if access.supervisor:
        return Contact.objects.order_by("-id")
    chats = Conversation.objects.filter(contact=OuterRef("pk"))
    return Contact.objects.filter(
        Exists(chats.filter(visibility_filter(access))) | ~Exists(chats)
    ).order_by("-id")


def consent_summary(contact: Contact) -> dict[str, Any]:
    """The contact's state in every consent category of the accounts they may hear
    from, the platform's stop, and the history of changes (oldest first)."""
    current = {c.category_id: c for c in Consent.objects.filter(contact=contact)}
    categories = []
    for category in ConsentCategory.objects.order_by("waba_id", "slug"):
        row = current.get(category.pk)
        categories.append(
            {
                "category": category.slug,
                "state": row.state if row else "unknown",
                "changed_at": row.changed_at if row else None,
                "source": row.source if row else None,
                "wording": row.wording if row else None,
            }
        )
    history = [
        {
            "category": change.category.slug if change.category else None,
            "waba_id": change.waba_id,
            "state": change.state,
            "at": change.at,
            "source": change.source,
            "wording": change.wording,
            "recorded_by": (
                {"id": change.recorded_by.pk, "username": change.recorded_by.username}
                if change.recorded_by
                else None
            ),
        }
        for change in ConsentChange.objects.filter(contact=contact)
        .select_related("category", "recorded_by")
        .order_by("at", "pk")
    ]
    return {
        "categories": categories,
        "marketing_stopped_on_platform": contact.marketing_stopped_on_platform,
        "history": history,
    }


def opt_in_link(category: ConsentCategory) -> dict[str, str] | None:
    """The category's wa.me link with its prefilled message, its QR code (SVG) and a
    "Chat on WhatsApp" button to paste into a website; None without a prefilled
    message or a number of the account to write to."""
    import html
    import urllib.parse

    import segno

    number = WhatsAppNumber.objects.filter(waba_id=category.waba_id).order_by("pk").first()
    if not category.opt_in_text or number is None:
        return None
    digits = "".join(ch for ch in number.display_phone_number if ch.isdigit())
    link = f"https://wa.me/{digits}?text={urllib.parse.quote(category.opt_in_text, safe='')}"
    qr_svg = segno.make(link, error="m").svg_inline(scale=4, title=category.name)
    button = (
        f'<a href="{html.escape(link)}" target="_blank" rel="noopener" '
        'style="display:inline-block;padding:10px 18px;border-radius:24px;'
        "background:#25d366;color:#fff;font:600 16px/1.2 sans-serif;"
        'text-decoration:none">Chat on WhatsApp</a>'
    )
    return {"link": link, "qr_svg": qr_svg, "button_html": button}
