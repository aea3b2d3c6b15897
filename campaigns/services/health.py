"""A number's and an account's health as WhatsApp reports it (quality rating,
messaging tier, restrictions): stored over time, shown to admins; a drop to RED or
FLAGGED, or a restriction, pauses the running marketing campaigns concerned and
tells the admins live."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.models import AccountTier, Campaign, HealthEvent, NumberPace, Quality, Tier
from campaigns.services.lifecycle import campaign_pause
from conversations import realtime
from conversations.models import WhatsAppNumber

RESTRICTING_EVENTS = ("ACCOUNT_RESTRICTION", "DISABLED_UPDATE")
BAD_QUALITY = (Quality.RED, Quality.FLAGGED)
# Older names of the tiers.
TIER_ALIASES = {"TIER_1K": Tier.TIER_2K, "TIER_50": Tier.TIER_250}


def _number(waba_id: str, phone_number_id: str, display: str) -> WhatsAppNumber | None:
    numbers = WhatsAppNumber.objects.all()
    if phone_number_id:
        return numbers.filter(phone_number_id=phone_number_id).first()
    if display:
        digits = "".join(ch for ch in display if ch.isdigit())
        return numbers.filter(waba_id=waba_id, display_phone_number__endswith=digits[-10:]).first()
    return None


def _text(data: dict[str, Any], key: str) -> str:
    """``data[key]`` when the platform sent it as text or a number, else ""."""
    value = data.get(key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def health_event_apply(stored: Any, event: Any) -> HealthEvent:
    """A ``phone_number_quality_update`` or ``account_update`` (the core's platform
    event hook, inside the webhook's transaction). A field of the wrong shape is
    read as absent: the event is still recorded, with its data, for inspection."""
    raw = getattr(event, "data", None)
    data: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    waba_id = str(getattr(event, "waba_id", "") or getattr(stored, "waba_id", ""))
    name = _text(data, "event")
    number = _number(
        waba_id,
        str(getattr(event, "phone_number_id", "") or ""),
        _text(data, "display_phone_number"),
    )
    now = timezone.now()
    quality = ""
    if name == "FLAGGED":
        quality = Quality.FLAGGED
    elif name == "UNFLAGGED":
        quality = Quality.GREEN
    for key in ("quality_rating", "current_quality", "quality_score"):
        value = _text(data, key).upper()
        if value in Quality.values:
            quality = value
    tier = _text(data, "current_limit")
    tier = TIER_ALIASES.get(tier, tier)
    restriction = ""
    if name in RESTRICTING_EVENTS:
        infos = data.get("restriction_info")
        infos = infos if isinstance(infos, list) else []
        restriction = (
            ",".join(_text(i, "restriction_type") for i in infos if isinstance(i, dict)) or name
        )
    with transaction.atomic():
        if number is not None and quality:
            NumberPace.objects.update_or_create(
                number=number, defaults={"quality": quality, "updated_at": now}
            )
        if tier in Tier.values and waba_id:
            AccountTier.objects.update_or_create(
                waba_id=waba_id, defaults={"tier": tier, "updated_at": now}
            )
        if restriction and waba_id:
            AccountTier.objects.update_or_create(
                waba_id=waba_id, defaults={"restricted": True, "updated_at": now}
            )
        reason = ""
        if restriction:
            reason = "restricted"
            running = Campaign.objects.filter(number__waba_id=waba_id)
        elif quality in BAD_QUALITY and number is not None:
            reason = "quality_" + quality.lower()
            running = Campaign.objects.filter(number=number)
        paused = 0
        if reason:
            for campaign in running.filter(
                status__in=(Campaign.Status.RUNNING, Campaign.Status.SCHEDULED),
                category="MARKETING",
            ):
                campaign_pause(campaign=campaign, reason=reason)
                paused += 1
        health = HealthEvent.objects.create(
            waba_id=waba_id,
            number=number,
            field=getattr(stored, "field", "") or getattr(event, "field", ""),
            event=name,
            quality=quality,
            tier=tier if tier in Tier.values else "",
            restriction=restriction[:64],
            paused=paused,
            data=data,
            at=now,
        )
        realtime.publish(
            "number.health",
            {
                "waba_id": waba_id,
                "number": number.pk if number else None,
                "event": name,
                "quality": quality,
                "tier": health.tier,
                "restriction": health.restriction,
                "paused": paused,
            },
            groups=[realtime.SUPERVISORS_GROUP],
        )
    return health
