"""The JSON shapes of campaigns: what a create takes, what the API answers (the
OpenAPI schema is built from these)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from campaigns.models import Campaign, HealthEvent
from campaigns.selectors import PUBLIC_STATES, campaign_counts

AUDIENCE_KEYS = ("wa_ids", "label", "contacts", "csv", "filter")


ID = {"min_value": 1, "max_value": 2**31 - 1}


class VariantWriteSerializer(serializers.Serializer):
    template = serializers.IntegerField(**ID)
    share = serializers.IntegerField(min_value=1, max_value=100, default=100)


class RecipientWriteSerializer(serializers.Serializer):
    wa_id = serializers.CharField(max_length=32)
    parameters = serializers.DictField(required=False, default=dict)


class ConversationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["open", "pending", "snoozed", "resolved"], required=False
    )
    assignee = serializers.CharField(max_length=20, required=False)
    search = serializers.CharField(max_length=200, required=False)
    team = serializers.IntegerField(required=False, **ID)
    label = serializers.IntegerField(required=False, **ID)
    number = serializers.IntegerField(required=False, **ID)


class AudienceSerializer(serializers.Serializer):
    """Exactly one of: ``wa_ids``, ``label``, ``contacts``, ``csv``, ``filter``."""

    wa_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    label = serializers.IntegerField(required=False, **ID)
    contacts = serializers.ListField(child=serializers.IntegerField(**ID), required=False)
    csv = serializers.CharField(
        required=False, help_text="A header `wa_id,<variables...>`, then one row per recipient."
    )
    filter = ConversationFilterSerializer(
        required=False, help_text="A saved list filter: the contacts of its conversations."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [k for k in AUDIENCE_KEYS if k in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                "Give exactly one of wa_ids, label, contacts, csv, filter."
            )
        return attrs


class CampaignWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    number = serializers.IntegerField(**ID)
    consent_category = serializers.SlugField(max_length=64)
    variants = VariantWriteSerializer(many=True, min_length=1, max_length=4)
    audience = AudienceSerializer()
    parameters = serializers.DictField(required=False, default=dict)
    recipients = RecipientWriteSerializer(many=True, required=False, default=list)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    eligible = serializers.IntegerField()
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    replied = serializers.IntegerField()
    failed = serializers.IntegerField()
    excluded = serializers.IntegerField()
    deferred = serializers.IntegerField()
    opted_out_after = serializers.IntegerField()
    failed_by_reason = serializers.DictField(child=serializers.IntegerField())


class VariantSerializer(serializers.Serializer):
    label = serializers.CharField()
    template = serializers.IntegerField()
    template_name = serializers.CharField()
    share = serializers.IntegerField()
    counts = CountsSerializer(allow_null=True, help_text="Per variant when there are several.")


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    number = serializers.IntegerField(**ID)
    consent_category = serializers.CharField()
    category = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    paused_reason = serializers.CharField()
    audience = serializers.DictField()
    send_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    counts = CountsSerializer()
    variants = VariantSerializer(many=True)


class CampaignListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    number = serializers.IntegerField()
    category = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    paused_reason = serializers.CharField()
    send_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class PreviewSerializer(serializers.Serializer):
    eligible = serializers.IntegerField()
    excluded = serializers.DictField(child=serializers.IntegerField())
    deferred = serializers.DictField(child=serializers.IntegerField())
    cost_estimate = serializers.DictField()


class RecipientSerializer(serializers.Serializer):
    wa_id = serializers.CharField()
    state = serializers.ChoiceField(choices=PUBLIC_STATES)
    reason = serializers.CharField(allow_blank=True)
    variant = serializers.CharField(allow_null=True)


class HealthEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = HealthEvent
        fields = [
            "id",
            "waba_id",
            "number",
            "field",
            "event",
            "quality",
            "tier",
            "restriction",
            "paused",
            "at",
        ]


def campaign_payload(campaign: Campaign) -> dict[str, Any]:
    variants = list(campaign.variants.select_related("template").order_by("position"))
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "number": campaign.number_id,
        "consent_category": campaign.consent_category.slug,
        "category": campaign.category,
        "status": campaign.status,
        "paused_reason": campaign.paused_reason,
        "audience": campaign.audience,
        "send_at": campaign.send_at,
        "created_at": campaign.created_at,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
        "counts": campaign_counts(campaign),
        "variants": [
            {
                "label": v.label,
                "template": v.template_id,
                "template_name": v.template.name,
                "share": v.share,
                "counts": campaign_counts(campaign, variant_id=v.pk) if len(variants) > 1 else None,
            }
            for v in variants
        ],
    }
