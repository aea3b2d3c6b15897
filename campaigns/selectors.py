"""Reads of campaigns that more than one caller needs: the funnel's counts (from
the recipients' rows and their messages, never a counter kept on the side), the
recipients as the API lists them."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from campaigns.models import Campaign, Recipient
from conversations.models import ConsentChange, ConsentState, Message

S = Message.Status
SENT_STATUSES = (S.ACCEPTED, S.SENT, S.DELIVERED, S.READ)
DELIVERED_STATUSES = (S.DELIVERED, S.READ)
IN_FLIGHT = (S.QUEUED, S.SENDING)

# A recipient's state in the API: the row's until a message exists, then the message's.
_MESSAGE_STATE = {
    S.QUEUED: "sending",
    S.SENDING: "sending",
    S.ACCEPTED: "sent",
    S.SENT: "sent",
    S.DELIVERED: "delivered",
    S.READ: "read",
    S.FAILED: "failed",
}
PUBLIC_STATES = (
    "pending",
    "deferred",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "excluded",
)


def recipient_state(recipient: Recipient, message_status: str | None) -> str:
    if message_status:
        return _MESSAGE_STATE.get(message_status, "sending")
    if recipient.state == Recipient.State.SENDING:
        return "sending"
    if recipient.state == Recipient.State.SENT:
        return "sent"
    return str(recipient.state)


def _opted_out_after() -> Exists:
    return Exists(
        ConsentChange.objects.filter(
            contact_id=OuterRef("contact_id"),
            state=ConsentState.OPTED_OUT,
            at__gt=OuterRef("message__timestamp"),
        )
    )


def campaign_counts(campaign: Campaign, *, variant_id: int | None = None) -> dict[str, Any]:
    """The funnel: a read message counts as sent, delivered and read. ``eligible``
    is who may be sent now (neither excluded nor waiting for quiet hours to end),
    ``queued`` who of them has not reached WhatsApp yet; ``failed_by_reason``
    splits ``failed`` by WhatsApp's error code (or our reason)."""
    rows = Recipient.objects.filter(campaign=campaign)
    if variant_id is not None:
        rows = rows.filter(variant_id=variant_id)
    has_message = Q(message__isnull=False)
    totals = rows.aggregate(
        total=Count("pk"),
        excluded=Count("pk", filter=Q(state=Recipient.State.EXCLUDED)),
        deferred=Count("pk", filter=Q(state=Recipient.State.DEFERRED)),
        pending=Count("pk", filter=Q(state=Recipient.State.PENDING)),
        in_flight=Count("pk", filter=has_message & Q(message__status__in=IN_FLIGHT)),
        sent=Count("pk", filter=has_message & Q(message__status__in=SENT_STATUSES)),
        delivered=Count("pk", filter=has_message & Q(message__status__in=DELIVERED_STATUSES)),
        read=Count("pk", filter=has_message & Q(message__status=S.READ)),
        failed=Count(
            "pk",
            filter=(has_message & Q(message__status=S.FAILED))
            | Q(message__isnull=True, state=Recipient.State.FAILED),
        ),
        replied=Count("pk", filter=Q(replied_at__isnull=False)),
    )
    opted_out = rows.filter(message__isnull=False).filter(_opted_out_after()).count()
    failed_by_reason: dict[str, int] = {}
    for code, reason, n in (
        rows.filter(Q(message__status=S.FAILED) | Q(message__isnull=True, state="failed"))
        .values_list("message__error_code", "reason")
        .annotate(n=Count("pk"))
    ):
        key = str(code) if code else (reason or "unknown")
        failed_by_reason[key] = failed_by_reason.get(key, 0) + n
    total = totals["total"]
    return {
        "total": total,
        "eligible": total - totals["excluded"] - totals["deferred"],
        "queued": totals["pending"] + totals["in_flight"],
        "sent": totals["sent"],
        "delivered": totals["delivered"],
        "read": totals["read"],
        "replied": totals["replied"],
        "failed": totals["failed"],
        "excluded": totals["excluded"],
        "deferred": totals["deferred"],
        "opted_out_after": opted_out,
        "failed_by_reason": failed_by_reason,
    }


def campaign_recipients(
    campaign: Campaign, *, state: str = "", reason: str = ""
) -> list[dict[str, Any]]:
    """Every recipient (the excluded too), in the order they were added:
    ``{"wa_id", "state", "reason", "variant"}``; ``state``/``reason`` filter."""
    rows = (
        Recipient.objects.filter(campaign=campaign)
        .select_related("variant")
        .order_by("pk")
        .values_list(
            "wa_id",
            "state",
            "reason",
            "variant__position",
            "message__status",
            "message__error_code",
        )
    )
    if reason:
        rows = rows.filter(Q(reason=reason) | Q(message__error_code=_int(reason)))
    out: list[dict[str, Any]] = []
    for wa_id, row_state, row_reason, position, message_status, error_code in rows:
        public = recipient_state(Recipient(state=row_state), message_status)
        if state and public != state:
            continue
        out.append(
            {
                "wa_id": wa_id,
                "state": public,
                "reason": str(error_code) if public == "failed" and error_code else row_reason,
                "variant": "ABCD"[position] if position is not None and position < 4 else None,
            }
        )
    return out


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def campaigns_visible() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("number", "consent_category").prefetch_related(
        "variants__template"
    )
