"""The JSON API under /api/v1/: parse, call one service or selector, shape the answer."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from conversations import selectors, services
from conversations.models import Conversation, WhatsAppNumber
from conversations.permissions import IsAdminRole, IsInboxUser
from conversations.serializers import (
    ConversationSerializer,
    MessageSerializer,
    NumberSerializer,
    SendTextSerializer,
)

ERROR_SCHEMA = inline_serializer(
    "ApiError",
    fields={
        "code": serializers.CharField(),
        "detail": serializers.CharField(),
        "fields": serializers.DictField(required=False),
    },
)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as ``{"code": ..., "detail": ...}``."""
    if isinstance(exc, services.ServiceError):
        return Response({"code": exc.code, "detail": str(exc)}, status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "The request has invalid fields.",
            "fields": exc.detail,
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(exc.detail),
        }
    return response


class ConversationList(generics.ListAPIView):
    """Conversations the user may see, newest activity first."""

    serializer_class = ConversationSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=[c for c, _ in Conversation.Status.choices]
            ),
            OpenApiParameter(
                "assignee", OpenApiTypes.STR, description="me, unassigned, or a user id"
            ),
            OpenApiParameter("search", OpenApiTypes.STR, description="name, phone or message text"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        status_filter = params.get("status", "")
        if status_filter and status_filter not in Conversation.Status.values:
            raise exceptions.ValidationError({"status": [f"Unknown status {status_filter!r}."]})
        return selectors.conversation_list(
            user=self.request.user,
            status=status_filter,
            assignee=params.get("assignee", ""),
            search=params.get("search", "")[:200],
        )


class ConversationDetail(generics.RetrieveAPIView):
    serializer_class = ConversationSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversations_visible_to(self.request.user)


class ConversationMessages(generics.ListCreateAPIView):
    """A conversation's messages, oldest first; POST sends a text reply."""

    serializer_class = MessageSerializer
    permission_classes = [IsInboxUser]

    def conversation(self) -> Conversation:
        return get_object_or_404(
            selectors.conversations_visible_to(self.request.user), pk=self.kwargs["pk"]
        )

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversation_messages(conversation=self.conversation())

    @extend_schema(
        request=SendTextSerializer,
        responses={201: MessageSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
        description="Queue a text reply. 409 with code `window_closed` when the customer "
        "last wrote more than 24 hours ago.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.conversation()
        data = SendTextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_send_text(
            conversation=conversation,
            text=data.validated_data["text"],
            reply_to=data.validated_data.get("reply_to", ""),
            user=request.user,
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class ConversationRead(generics.GenericAPIView):
    """Mark the conversation's messages as seen by the team: unread count to zero."""

    serializer_class = ConversationSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversations_visible_to(self.request.user)

    @extend_schema(request=None, responses={200: ConversationSerializer, 404: ERROR_SCHEMA})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = services.conversation_mark_read(
            conversation=self.get_object(), user=request.user
        )
        return Response(ConversationSerializer(conversation).data)


class NumberList(generics.ListCreateAPIView):
    """Business numbers; admins register new ones."""

    serializer_class = NumberSerializer
    queryset = WhatsAppNumber.objects.order_by("name")

    def get_permissions(self):  # type: ignore[no-untyped-def]
        if self.request.method == "POST":
            return [IsAdminRole()]
        return [IsInboxUser()]

    @extend_schema(responses={201: NumberSerializer, 400: ERROR_SCHEMA, 409: ERROR_SCHEMA})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = NumberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        number = services.number_register(**data.validated_data)
        return Response(NumberSerializer(number).data, status=status.HTTP_201_CREATED)
