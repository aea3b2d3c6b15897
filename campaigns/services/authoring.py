"""An admin sets up a campaign: variants (one approved template, or up to four
for A/B), the consent category it sends under, the audience resolved into one row
per recipient (each with its variant, drawn at random by share), the variables."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Recipient, Variant
from campaigns.services.errors import InvalidCampaign
from conversations import selectors as conversation_selectors
from conversations import services as core
from conversations.models import ConsentCategory, Contact, Conversation, Label, WhatsAppNumber
from conversations.phones import phone_country
from templates_app.models import MessageTemplate

MAX_VARIANTS = 4
MAX_RECIPIENTS = 100_000


@dataclass
class AudienceMember:
    wa_id: str
    contact: Contact | None
    parameters: dict[str, Any] = field(default_factory=dict)
    # Not a phone number: stays a recipient, excluded.
    invalid: bool = False


def campaign_create(
    *,
    name: str,
    number_id: Any,
    consent_category: str,
    variants: list[dict[str, Any]],
    audience: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    recipients: list[dict[str, Any]] | None = None,
    send_at: dt.datetime | None = None,
    user: Any = None,
) -> Campaign:
    """A draft campaign with its recipients' rows. ``audience`` is one of
    ``{"wa_ids": [...]}``, ``{"label": id}``, ``{"contacts": [ids]}``, ``{"csv": text}``
    (a header ``wa_id,<variables...>``: each row's variables are its body's);
    ``{"filter": {...}}`` (a saved list filter: ``status``, ``assignee``, ``search``,
    ``team``, ``label``, ``number``, as the creating ``user`` sees the list);
    ``recipients`` adds or overrides per-recipient variables (``{"wa_id",
    "parameters"}``). A number that is no phone number stays as a recipient,
    excluded as ``invalid_number``.

    Raises ``InvalidCampaign`` (400) for a template that is not approved, of
    another account, of a category the consent category does not cover, for
    variants whose shares do not add up to 100, or for an empty audience."""
    name = (name or "").strip()[:200]
    if not name:
        raise InvalidCampaign("A campaign needs a name.")
    number = WhatsAppNumber.objects.filter(pk=_int(number_id)).first()
    if number is None:
        raise InvalidCampaign("No such number.")
    category = ConsentCategory.objects.filter(waba_id=number.waba_id, slug=consent_category).first()
    if category is None:
        raise InvalidCampaign(f"The number's account has no consent category {consent_category!r}.")
    templates = _variants(variants, number.waba_id)
    template_category = templates[0][0].category
    if template_category not in (category.template_categories or []):
        raise InvalidCampaign(
            f"The consent category {category.slug!r} does not cover {template_category} templates."
        )
    members = _audience(audience, recipients or [], user)
    if not members:
        raise InvalidCampaign("The audience is empty.")
    if len(members) > MAX_RECIPIENTS:
        raise InvalidCampaign(f"A campaign reaches at most {MAX_RECIPIENTS} recipients.")
    if send_at is not None and timezone.is_naive(send_at):
        raise InvalidCampaign("send_at needs a time zone.")
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            number=number,
            consent_category=category,
            category=template_category,
            audience=_audience_summary(audience),
            parameters=parameters or {},
            send_at=send_at,
            created_by=user if getattr(user, "pk", None) else None,
        )
        stored = [
            Variant.objects.create(campaign=campaign, template=template, share=share, position=i)
            for i, (template, share) in enumerate(templates)
        ]
        # Seeded by the campaign: the split is random by share, and the same on a rerun.
        draw = random.Random(f"campaign-{campaign.pk}")
        weights = [v.share for v in stored]
        now = timezone.now()
        Recipient.objects.bulk_create(
            [
                Recipient(
                    campaign=campaign,
                    wa_id=member.wa_id[:32],
                    contact=member.contact,
                    parameters=member.parameters,
                    variant=draw.choices(stored, weights)[0],
                    country=(member.contact.country or phone_country(member.wa_id))
                    if member.contact
                    else "",
                    state=Recipient.State.PENDING if member.contact else Recipient.State.EXCLUDED,
                    reason="" if member.contact else "invalid_number",
                    updated_at=now,
                )
                for member in members
            ],
            batch_size=1000,
        )
    return campaign


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _variants(variants: list[dict[str, Any]], waba_id: str) -> list[tuple[MessageTemplate, int]]:
    if not isinstance(variants, list) or not 1 <= len(variants) <= MAX_VARIANTS:
        raise InvalidCampaign(f"A campaign has one to {MAX_VARIANTS} variants.")
    out: list[tuple[MessageTemplate, int]] = []
    for variant in variants:
        if not isinstance(variant, dict):
            raise InvalidCampaign("A variant is {'template': id, 'share': percent}.")
        template = MessageTemplate.objects.filter(pk=_int(variant.get("template"))).first()
        if template is None or template.waba_id != waba_id:
            raise InvalidCampaign("A variant's template is not one of the number's account.")
        if template.status != MessageTemplate.Status.APPROVED:
            raise InvalidCampaign(f"WhatsApp has not approved the template {template.name!r}.")
        share = _int(variant.get("share", 100 if len(variants) == 1 else -1))
        if not 1 <= share <= 100:
            raise InvalidCampaign("A variant's share is a percentage from 1 to 100.")
        out.append((template, share))
    if sum(share for _, share in out) != 100:
        raise InvalidCampaign("The variants' shares add up to 100.")
    if len({t.category for t, _ in out}) > 1:
        raise InvalidCampaign("Every variant's template has the same category.")
    return out


def _audience_summary(audience: dict[str, Any]) -> dict[str, Any]:
    if "csv" in audience:
        return {"csv": True}
    return {k: v for k, v in audience.items() if k in ("label", "contacts", "wa_ids", "filter")}


def _member(wa_id: str, parameters: dict[str, Any] | None = None) -> AudienceMember:
    """A recipient named by a phone number; ``_audience`` finds (or creates) the
    contacts of all of them at once."""
    digits = core.wa_id_normalize(str(wa_id))
    if not digits:
        return AudienceMember(str(wa_id).strip() or "?", None, parameters or {}, invalid=True)
    return AudienceMember(digits, None, parameters or {})


FILTER_KEYS = ("status", "assignee", "search", "team", "label", "number")


def _filtered_contacts(conditions: Any, user: Any) -> QuerySet[Contact]:
    """The contacts of the conversations a saved list filter shows ``user`` (the
    inbox list's own definition: ``conversations.selectors.conversation_list``)."""
    if not isinstance(conditions, dict) or set(conditions) - set(FILTER_KEYS):
        raise InvalidCampaign("A filter has only " + ", ".join(FILTER_KEYS) + ".")
    values: dict[str, Any] = {}
    for key, value in conditions.items():
        if key in ("team", "label", "number"):
            values[key] = _int(value)
        else:
            values[key] = str(value or "")
    conversations = conversation_selectors.conversation_list(user=user, **values)
    return Contact.objects.filter(pk__in=conversations.values("contact_id"))


def _audience(audience: Any, recipients: list[Any], user: Any = None) -> list[AudienceMember]:
    """The recipients, each once (the first mention stands; ``recipients``'
    variables apply to whoever they name)."""
    if not isinstance(audience, dict) or len(audience) != 1:
        raise InvalidCampaign("The audience is one of wa_ids, label, contacts, filter or csv.")
    members: list[AudienceMember] = []
    if "wa_ids" in audience:
        values = audience["wa_ids"]
        if not isinstance(values, list):
            raise InvalidCampaign("wa_ids is a list of phone numbers.")
        members = [_member(str(v)) for v in values]
    elif "contacts" in audience:
        ids = [_int(v) for v in audience["contacts"] or []]
        members = [
            AudienceMember(c.wa_id, c)
            for c in Contact.objects.filter(pk__in=ids).exclude(wa_id="").order_by("pk")
        ]
    elif "label" in audience:
        label = Label.objects.filter(pk=_int(audience["label"])).first()
        if label is None:
            raise InvalidCampaign("No such label.")
        contact_ids = Conversation.objects.filter(labels=label).values("contact_id")
        members = [
            AudienceMember(c.wa_id, c)
            for c in Contact.objects.filter(pk__in=contact_ids).exclude(wa_id="").order_by("pk")
        ]
    elif "csv" in audience:
        members = _csv_members(str(audience["csv"]))
    elif "filter" in audience:
        members = [
            AudienceMember(c.wa_id, c)
            for c in _filtered_contacts(audience["filter"], user).exclude(wa_id="").order_by("pk")
        ]
    else:
        raise InvalidCampaign("The audience is one of wa_ids, label, contacts, filter or csv.")
    own: dict[str, dict[str, Any]] = {}
    for entry in recipients:
        if isinstance(entry, dict) and entry.get("wa_id"):
            digits = core.wa_id_normalize(str(entry["wa_id"])) or str(entry["wa_id"])
            own[digits] = entry.get("parameters") or {}
    seen: set[str] = set()
    unique: list[AudienceMember] = []
    for member in members:
        if member.wa_id in seen:
            continue
        seen.add(member.wa_id)
        if member.wa_id in own:
            member.parameters = own[member.wa_id]
        unique.append(member)
    # A recipient named only in ``recipients`` (a list posted through the API) joins.
    for wa_id, parameters in own.items():
        if wa_id not in seen:
            seen.add(wa_id)
            unique.append(_member(wa_id, parameters))
    named = [m for m in unique if m.contact is None and not m.invalid]
    contacts = core.contacts_create(wa_ids=[m.wa_id for m in named])
    for member in named:
        member.contact = contacts[member.wa_id]
    return unique


def _csv_members(text: str) -> list[AudienceMember]:
    rows = list(csv.reader(io.StringIO(text.strip())))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if "wa_id" not in header:
        raise InvalidCampaign("The CSV's first line names its columns, wa_id among them.")
    at = header.index("wa_id")
    members = []
    for row in rows[1:]:
        if not row or at >= len(row):
            continue
        values = [v.strip() for i, v in enumerate(row) if i != at]
        members.append(_member(row[at], {"body": values} if values else {}))
    return members
