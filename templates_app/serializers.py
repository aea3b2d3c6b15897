"""The API's shapes for templates: what a request carries, and what an answer is
(described for the OpenAPI schema, built by ``payloads``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from conversations.serializers import UserSummarySerializer
from templates_app.models import MessageTemplate, TemplateChange
from templates_app.payloads import template_payload
from templates_app.selectors import template_usage


class TemplateWriteSerializer(serializers.Serializer):
    waba_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=512)
    language = serializers.CharField(max_length=16)
    category = serializers.CharField(
        max_length=16, help_text="MARKETING, UTILITY or AUTHENTICATION"
    )
    parameter_format = serializers.CharField(
        max_length=16, required=False, default="POSITIONAL", help_text="POSITIONAL or NAMED"
    )
    components = serializers.ListField(
        child=serializers.DictField(),
        help_text="HEADER, BODY, FOOTER and BUTTONS in WhatsApp's own shape",
    )
    allowed_teams = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        help_text="The teams that may send it; empty for every team",
    )

    def validate_components(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return without_nul(value, "components")


def without_nul(value: Any, field: str) -> Any:
    """``value`` (JSON) as it is; a NUL character anywhere in it is refused: no
    template holds one, and PostgreSQL stores none."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            raise serializers.ValidationError(f"{field} may not contain NUL characters.")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


class TemplatePatchSerializer(TemplateWriteSerializer):
    """Any of the fields; name, language and account cannot change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    field = serializers.CharField()
    message = serializers.CharField()


class FindingsSerializer(serializers.Serializer):
    findings = FindingSerializer(many=True)


class TemplateChangeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TemplateChange.Kind.choices)
    old = serializers.CharField()
    new = serializers.CharField()
    reason = serializers.CharField()
    source = serializers.ChoiceField(choices=TemplateChange.Source.choices)
    actor = UserSummarySerializer(allow_null=True)
    at = serializers.DateTimeField()


class TemplateVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    category = serializers.CharField()
    parameter_format = serializers.CharField()
    components = serializers.ListField(child=serializers.DictField())
    submitted_at = serializers.DateTimeField()


class TemplateErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    details = serializers.CharField()


class TemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    waba_id = serializers.CharField()
    name = serializers.CharField()
    language = serializers.CharField()
    category = serializers.ChoiceField(choices=MessageTemplate.Category.choices)
    parameter_format = serializers.ChoiceField(choices=MessageTemplate.ParameterFormat.choices)
    components = serializers.ListField(child=serializers.DictField())
    status = serializers.ChoiceField(choices=MessageTemplate.Status.choices)
    platform_id = serializers.CharField(help_text="WhatsApp's id; empty before submission")
    quality = serializers.ChoiceField(choices=MessageTemplate.Quality.choices)
    rejected_reason = serializers.CharField()
    rejection_info = serializers.DictField(allow_null=True)
    error = TemplateErrorSerializer(
        allow_null=True, help_text="WhatsApp's refusal of the latest submission request"
    )
    allowed_teams = serializers.ListField(child=serializers.IntegerField())
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    history = TemplateChangeSerializer(many=True, help_text="Status, quality and category changes")
    versions = TemplateVersionSerializer(many=True, help_text="Every version submitted")

    def to_representation(self, instance: MessageTemplate) -> dict[str, Any]:
        return template_payload(instance)


class TemplateUsageSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    answered = serializers.IntegerField()
    failed = serializers.IntegerField()
    failed_by_code = serializers.DictField(child=serializers.IntegerField())
    queued = serializers.IntegerField()


class TemplateListItemSerializer(TemplateSerializer):
    """A template in a list, with its usage (read once for the whole list: pass
    ``usage``, by template id, in the context)."""

    usage = TemplateUsageSerializer()

    def to_representation(self, instance: MessageTemplate) -> dict[str, Any]:
        return {**template_payload(instance), "usage": self.context["usage"][instance.pk]}


class TemplateDetailSerializer(TemplateSerializer):
    usage = TemplateUsageSerializer()

    def to_representation(self, instance: MessageTemplate) -> dict[str, Any]:
        return {**template_payload(instance), "usage": template_usage(instance)}


class TemplateParametersSerializer(serializers.Serializer):
    header = serializers.JSONField(required=False)
    body = serializers.JSONField(
        required=False, help_text="A list ({{1}}, {{2}}, …) or, for NAMED templates, an object"
    )
    buttons = serializers.JSONField(required=False)


class SendTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The template's id in the inbox")
    parameters = TemplateParametersSerializer(required=False, default=dict)

    def validate_parameters(self, value: dict[str, Any]) -> dict[str, Any]:
        return without_nul(value, "parameters")


class RefusalSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[
            "no_consent",
            "opted_out",
            "quiet_hours",
            "frequency_cap",
            "country_not_allowed",
            "window_closed",
            "template_not_approved",
        ]
    )
    detail = serializers.CharField()
    retry_at = serializers.DateTimeField(allow_null=True, help_text="UTC; when it may go")


class ConversationTemplateSerializer(TemplateSerializer):
    sendable = serializers.BooleanField(help_text="Whether the send rules let it go now")
    refusal = RefusalSerializer(allow_null=True, help_text="Why not, when it may not")


class SendTemplateMessageSerializer(serializers.Serializer):
    template = SendTemplateSerializer()
