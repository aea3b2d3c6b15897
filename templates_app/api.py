"""The JSON API of templates under /api/v1/: parse, call one service or selector,
shape the answer. Everyone who uses the inbox reads (operators only the approved
templates their teams may send); only admins write."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations import selectors as conversation_selectors
from conversations.api import ERROR_SCHEMA, text_param
from conversations.permissions import IsAdminRole, IsInboxUser
from templates_app import selectors, services
from templates_app.checks import check_template
from templates_app.serializers import (
    ConversationTemplateSerializer,
    FindingsSerializer,
    TemplateDetailSerializer,
    TemplateListItemSerializer,
    TemplatePatchSerializer,
    TemplateSerializer,
    TemplateWriteSerializer,
)

FILTERS = ("waba_id", "status", "language", "category")
READS = ("GET", "HEAD", "OPTIONS")


class ReadOrAdmin(IsInboxUser):
    """Inbox users read; admins write."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in READS:
            return super().has_permission(request, view)
        return IsAdminRole().has_permission(request, view)

    @property
    def message(self) -> str:  # type: ignore[override]
        return IsAdminRole.message


def findings_payload(findings: list[Any]) -> list[dict[str, str]]:
    return [
        {"code": f.code, "severity": f.severity, "field": f.field, "message": f.message}
        for f in findings
    ]


class TemplateList(generics.ListCreateAPIView):
    """Message templates, by name and language, each with its usage. Operators see
    the approved ones their teams may send; supervisors and admins every one. Admins
    create drafts."""

    permission_classes = [ReadOrAdmin]
    serializer_class = TemplateSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        templates = selectors.templates_visible_to(self.request.user)
        for name in FILTERS:
            value = text_param(self.request, name)
            if value:
                upper = name in ("status", "category")
                templates = templates.filter(**{name: value.upper() if upper else value})
        return templates.order_by("name", "language", "id")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                name, str, description=f"Only templates of this {name.replace('_', ' ')}"
            )
            for name in FILTERS
        ],
        responses={200: TemplateListItemSerializer(many=True), 400: ERROR_SCHEMA},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        templates = list(self.get_queryset())
        usage = selectors.templates_usage(templates)
        return Response(
            TemplateListItemSerializer(templates, many=True, context={"usage": usage}).data
        )

    @extend_schema(
        request=TemplateWriteSerializer,
        responses={
            201: TemplateSerializer,
            400: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
        },
        description="A new draft (status `DRAFT`); nothing goes to WhatsApp until it is "
        "submitted. 409 `duplicate` for a second template of the same name and language.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TemplateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.template_create(actor=request.user, **data.validated_data)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetail(generics.RetrieveDestroyAPIView):
    """One template with its history, versions and usage. Admins edit it (an edit
    of a template WhatsApp knows is submitted again) and delete it (on WhatsApp too)."""

    permission_classes = [ReadOrAdmin]
    serializer_class = TemplateDetailSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.templates_visible_to(self.request.user)

    @extend_schema(
        request=TemplatePatchSerializer,
        responses={
            200: TemplateDetailSerializer,
            400: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            422: FindingsSerializer,
        },
        description="Change any of the fields but name, language and account. The "
        "content of a template WhatsApp knows goes to its review again (422 with the "
        "findings when the checks find errors; 409 `edit_limit` past WhatsApp's edits "
        "per day and month, `template_busy` while it is reviewed).",
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TemplatePatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k in request.data}
        template = services.template_update(
            actor=request.user, template=self.get_object(), fields=fields
        )
        return Response(TemplateDetailSerializer(template).data)

    @extend_schema(responses={204: None, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.template_delete(actor=request.user, template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateCheck(APIView):
    """What the checks say of a template before it is saved or submitted."""

    permission_classes = [IsAdminRole]

    @extend_schema(
        request=TemplateWriteSerializer,
        responses={200: FindingsSerializer, 400: ERROR_SCHEMA, 403: ERROR_SCHEMA},
        description="The same body as a create; saves nothing. Each finding has a stable "
        "`code`, a `severity` (`error`: WhatsApp would reject it or it breaks a rule of "
        "this inbox; `warning`: it may hurt its quality), the `field` and a `message`.",
    )
    def post(self, request: Request) -> Response:
        data = TemplateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        findings = check_template(
            name=values["name"],
            language=values["language"],
            category=values["category"].upper(),
            parameter_format=values["parameter_format"].upper(),
            components=values["components"],
        )
        return Response({"findings": findings_payload(findings)})


class TemplateSubmit(APIView):
    """Submit a draft (or a rejected template, fixed) for WhatsApp's review."""

    permission_classes = [IsAdminRole]

    @extend_schema(
        request=None,
        responses={
            202: TemplateSerializer,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            422: FindingsSerializer,
        },
        description="202 when queued: a job posts it to WhatsApp (status `SUBMITTING`, "
        "then `PENDING`). 422 with the `findings` when the checks find errors: nothing "
        "is posted then.",
    )
    def post(self, request: Request, pk: int) -> Response:
        template = get_object_or_404(selectors.templates_visible_to(request.user), pk=pk)
        template = services.template_submit(actor=request.user, template=template)
        return Response(TemplateSerializer(template).data, status=status.HTTP_202_ACCEPTED)


class ConversationTemplates(APIView):
    """The approved templates this chat's number may send that the user may use,
    in the customer's language first: what the composer offers."""

    permission_classes = [IsInboxUser]

    @extend_schema(
        responses={200: ConversationTemplateSerializer(many=True), 404: ERROR_SCHEMA},
        description="Each template with `sendable` and, when it is not, the `refusal` the "
        "send rules would answer now (`code`, `detail`, `retry_at`): the picker greys those "
        "out and says why.",
    )
    def get(self, request: Request, pk: int) -> Response:
        visible = conversation_selectors.conversations_visible_to(request.user)
        conversation = get_object_or_404(visible.select_related("number", "contact"), pk=pk)
        templates = services.templates_for_conversation(
            conversation=conversation, user=request.user
        )
        now = timezone.now()
        rows = []
        for template in templates:
            refusal = services.template_refusal(
                conversation=conversation, template=template, now=now
            )
            rows.append(
                {
                    **TemplateSerializer(template).data,
                    "sendable": refusal is None,
                    "refusal": refusal.as_dict() if refusal is not None else None,
                }
            )
        return Response(rows)
