"""The API where it is composed of the apps: a conversation's messages are the
core's, and a message made from a template is ``templates_app``'s. The core never
imports the apps built on it, so the top floor puts the two together."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from conversations import api as conversations_api
from conversations.serializers import MessageSerializer, SendMediaSerializer, SendTextSerializer
from templates_app import services as template_services
from templates_app.serializers import SendTemplateMessageSerializer

SEND_MESSAGE = PolymorphicProxySerializer(
    component_name="SendMessage",
    serializers=[SendTextSerializer, SendTemplateMessageSerializer],
    resource_type_field_name=None,
)


class ConversationMessages(conversations_api.ConversationMessages):
    __doc__ = conversations_api.ConversationMessages.__doc__

    @extend_schema(
        request={"application/json": SEND_MESSAGE, "multipart/form-data": SendMediaSerializer},
        responses={
            201: MessageSerializer,
            400: conversations_api.ERROR_SCHEMA,
            404: conversations_api.ERROR_SCHEMA,
            409: conversations_api.ERROR_SCHEMA,
        },
        description="Queue a text reply (JSON `text`), a message made from a template "
        "(JSON `template`: its `id` and the `parameters` of its `header`, `body` and "
        "`buttons`; a list for `{{1}}`-style variables, an object for named ones), or a "
        "file (multipart: `file`, optional `caption`). A template may be sent whether or "
        "not the window is open, when the send rules allow it: 409 with `code` "
        "`no_consent`, `opted_out`, `quiet_hours` (with `retry_at`, UTC), `frequency_cap` "
        "(with `retry_at`), `country_not_allowed` otherwise (nothing is sent; the refusal "
        "is in the compliance log, path `api` with a token, `composer` from the page); "
        "409 `template_not_approved` when WhatsApp has not approved it, "
        "`template_not_allowed` when the user's teams may not send it or "
        "this chat's number cannot; 400 `invalid_parameters` for a missing or extra "
        "value. A text or a file: 400 `invalid_media` for a type or size WhatsApp "
        "refuses, `reply_to` the id of a message of this chat to quote (400 "
        "`invalid_reply_to` otherwise), 409 `window_closed` when the customer last "
        "wrote more than 24 hours ago.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not (isinstance(request.data, dict) and "template" in request.data):
            return super().post(request, *args, **kwargs)
        conversation = self.conversation()
        data = SendTemplateMessageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chosen = data.validated_data["template"]
        message = template_services.template_send(
            conversation=conversation,
            user=request.user,
            template_id=chosen["id"],
            parameters=chosen.get("parameters") or {},
            path=conversations_api.send_path(request),
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
