"""The JSON API under /api/v1/: parse, call one service or selector, shape the answer."""

from __future__ import annotations

import csv
import datetime as dt
import mimetypes
import posixpath
import re
from collections.abc import Iterator
from typing import Any

import orjson
from django.db import connection
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from conversations import hooks, selectors, services
from conversations.models import (
    BusinessProfile,
    ComplianceLogEntry,
    ConsentCategory,
    ConsentImport,
    Conversation,
    Label,
    Message,
    SendPath,
    Team,
    WhatsAppNumber,
)
from conversations.permissions import IsAdminRole, IsInboxUser, IsSupervisorRole
from conversations.serializers import (
    AgentSerializer,
    AssignSerializer,
    BusinessProfilePhotoSerializer,
    BusinessProfileSerializer,
    BusinessProfileUpdateSerializer,
    CannedReplySerializer,
    ComplianceLogEntrySerializer,
    CompliancePolicySerializer,
    ConsentCategorySerializer,
    ConsentImportSerializer,
    ConsentImportUploadSerializer,
    ConsentRecordSerializer,
    ConsentsSerializer,
    ContactConversationSerializer,
    ContactCreateSerializer,
    ContactDetailSerializer,
    ContactWithConversationsSerializer,
    ConversationEventSerializer,
    ConversationSerializer,
    LabelSerializer,
    LabelsSerializer,
    MeSerializer,
    MessageSerializer,
    NoteCreateSerializer,
    NoteSerializer,
    NotificationSerializer,
    NumberSerializer,
    ReactionSerializer,
    SendMediaSerializer,
    SendTextSerializer,
    StatusSerializer,
    TeamSerializer,
    agent_payload,
    canned_reply_payload,
    compliance_policy_payload,
    contact_detail_payload,
    conversation_fields_added,
    conversations_json,
    me_payload,
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
        return Response(
            {"code": exc.code, "detail": str(exc), **exc.extra()}, status=exc.http_status
        )
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


class UncountedPagination(LimitOffsetPagination):
    """``limit``/``offset`` pages with ``next`` and ``previous`` links but no total.

    At 100,000 conversations, counting the ones a filter or a search matches took
    longer than reading the page itself (all of a supervisor's chats, a common word),
    and the page never shows the total. One row more than asked tells whether
    there is a next page."""

    BEYOND_ANY_ROW = 2**62

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)
        if self.offset > self.BEYOND_ANY_ROW:
            # Past any table, and past what the database's OFFSET takes.
            self.has_next = False
            return []
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        self.has_next = len(rows) > self.limit
        return rows[: self.limit]

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, self.limit_query_param, self.limit)
        return replace_query_param(url, self.offset_query_param, self.offset + self.limit)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        del paginated["properties"]["count"]
        paginated["required"] = ["results"]
        return paginated


class ConversationList(generics.ListAPIView):
    """Conversations the user may see, newest activity first (or, with
    ``sort=window``, unanswered chats whose window closes soonest first; the apps
    above may offer more orders, as analytics offers ``sort=sla``). Pages have
    ``next`` and ``previous`` links and no total."""

    serializer_class = ConversationSerializer
    permission_classes = [IsInboxUser]
    pagination_class = UncountedPagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=[c for c, _ in Conversation.Status.choices]
            ),
            OpenApiParameter(
                "assignee", OpenApiTypes.STR, description="me, unassigned, anyone, or a user id"
            ),
            OpenApiParameter("team", OpenApiTypes.INT, description="team id"),
            OpenApiParameter("label", OpenApiTypes.INT, description="label id"),
            OpenApiParameter("number", OpenApiTypes.INT, description="business number id"),
            OpenApiParameter("search", OpenApiTypes.STR, description="name, phone or message text"),
            OpenApiParameter(
                "sort",
                OpenApiTypes.STR,
                enum=["activity", "window", "sla"],
                description="activity: newest first; window: unanswered chats with an open "
                "window, the soonest-closing first; sla: chats with an SLA target running, "
                "the soonest due (or longest overdue) first",
            ),
        ],
        responses={200: ConversationSerializer(many=True), 400: ERROR_SCHEMA},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    # A search first looks at this many of the list's first conversations.
    SEARCH_AMONG = 500

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if connection.vendor != "postgresql":
            return super().list(request, *args, **kwargs)
        ids = None
        if text_param(request, "search").strip():
            # Enough matches among the first conversations are the list's first
            # matches; fewer may not be, and then the search covers them all.
            ids = self.paginate_queryset(self._ids(search_among=self.SEARCH_AMONG))
            if not self.paginator.has_next:
                ids = None
        if ids is None:
            ids = self.paginate_queryset(self._ids())
        # The page's rows, built by PostgreSQL, with what the apps above add.
        rows = conversation_fields_added(orjson.loads(conversations_json(ids)))
        return self.get_paginated_response(orjson.Fragment(orjson.dumps(rows)))

    def _ids(self, search_among: int | None = None) -> Any:
        rows = self.get_queryset(search_among=search_among)
        return rows.select_related(None).prefetch_related(None).values_list("id", flat=True)

    def get_queryset(self, search_among: int | None = None):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        status_filter = params.get("status", "")
        if status_filter and status_filter not in Conversation.Status.values:
            raise exceptions.ValidationError({"status": [f"Unknown status {status_filter!r}."]})
        sort = params.get("sort", "") or "activity"
        if sort not in ("activity", "window", *hooks.conversation_orders()):
            raise exceptions.ValidationError({"sort": [f"Unknown sort {sort!r}."]})
        return selectors.conversation_list(
            user=self.request.user,
            status=status_filter,
            assignee=params.get("assignee", ""),
            search=text_param(self.request, "search")[:200],
            team=_int_param(self.request, "team"),
            label=_int_param(self.request, "label"),
            number=_int_param(self.request, "number"),
            sort=sort,
            search_among=search_among,
        )


class ConversationDetail(generics.RetrieveAPIView):
    serializer_class = ConversationSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversations_visible_to(self.request.user)


def send_path(request: Request) -> str:
    """How a message leaves: ``api`` for an integration's token, ``composer`` for
    the page (session)."""
    if isinstance(request.successful_authenticator, TokenAuthentication):
        return SendPath.API
    return SendPath.COMPOSER


class ConversationMessages(generics.ListCreateAPIView):
    """A conversation's messages, oldest first; POST sends a text reply (JSON) or a
    file (multipart)."""

    serializer_class = MessageSerializer
    permission_classes = [IsInboxUser]

    def conversation(self) -> Conversation:
        # The thread needs the conversation's own fields, not what the list shows.
        visible = selectors.conversations_visible_to(self.request.user)
        return get_object_or_404(
            visible.select_related(None).prefetch_related(None), pk=self.kwargs["pk"]
        )

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversation_messages(conversation=self.conversation())

    @extend_schema(
        request={
            "application/json": SendTextSerializer,
            "multipart/form-data": SendMediaSerializer,
        },
        responses={201: MessageSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
        description="Queue a text reply (JSON), or a file (multipart: `file`, optional "
        "`caption`) sent as an image, audio, video or document by its type; 400 "
        "`invalid_media` for a type or size WhatsApp refuses. `reply_to`: the id of a "
        "message of this chat to quote (400 `invalid_reply_to` otherwise). 409 with code "
        "`window_closed` when the customer last wrote more than 24 hours ago.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.conversation()
        if "file" in request.FILES:
            media = SendMediaSerializer(data=request.data)
            media.is_valid(raise_exception=True)
            message = services.message_send_media(
                conversation=conversation,
                user=request.user,
                file=media.validated_data["file"],
                caption=media.validated_data.get("caption", ""),
                reply_to=media.validated_data.get("reply_to", ""),
            )
            return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
        data = SendTextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            message = services.message_send_text(
                conversation=conversation,
                text=data.validated_data["text"],
                reply_to=data.validated_data.get("reply_to", ""),
                user=request.user,
            )
        except services.WindowClosed as exc:
            # A message that was not sent: the compliance log keeps it too.
            services.compliance_log_record(
                contact=conversation.contact,
                path=send_path(request),
                reason=exc.code,
                detail=str(exc),
            )
            raise
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


class ConversationTyping(generics.GenericAPIView):
    """The operator is typing: the customer sees the typing indicator."""

    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversations_visible_to(self.request.user)

    @extend_schema(
        request=None,
        responses={204: None, 404: ERROR_SCHEMA},
        description="Shows the customer the typing indicator (and marks their latest "
        "message read) while the window is open; sent at most every 20 seconds per chat, "
        "so calling it on every keystroke is fine.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.conversation_typing(conversation=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _visible_message(request: Request, pk: Any) -> Message:
    """A message of a chat the user may see; 404 otherwise."""
    visible = selectors.conversations_visible_to(request.user).order_by().values("pk")
    return get_object_or_404(
        Message.objects.select_related("conversation"), pk=pk, conversation_id__in=visible
    )


class MessageReaction(generics.GenericAPIView):
    """React to a message on WhatsApp as the business."""

    serializer_class = ReactionSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        request=ReactionSerializer,
        responses={201: MessageSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
        description="Queue a reaction (an outbound message of type `reaction`); the target's "
        '`reactions.business` changes at once. `"emoji": ""` removes it. 409 '
        "`window_closed` outside the window; 400 `invalid_reaction` for a message that "
        "never reached WhatsApp.",
    )
    def post(self, request: Request, pk: Any, *args: Any, **kwargs: Any) -> Response:
        target = _visible_message(request, pk)
        data = ReactionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reaction = services.message_react(
            message=target, user=request.user, emoji=data.validated_data["emoji"]
        )
        return Response(MessageSerializer(reaction).data, status=status.HTTP_201_CREATED)


class MessageRetry(generics.GenericAPIView):
    """Send a failed message again."""

    serializer_class = MessageSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        request=None,
        responses={202: MessageSerializer, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
        description="Queue the message again (a new send attempt). 409 `not_retryable` when "
        "it has not failed, the window is closed, or WhatsApp's reason would refuse it "
        "again (the message's `retryable` says so beforehand).",
    )
    def post(self, request: Request, pk: Any, *args: Any, **kwargs: Any) -> Response:
        message = services.message_retry(message=_visible_message(request, pk), user=request.user)
        return Response(MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


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


# --- Customers' files ----------------------------------------------------------------

# Served for the page to show or play in place; every other type (SVG, HTML,
# anything unknown) only as a download, so a file can never run in the inbox.
INLINE_MEDIA_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "video/mp4", "video/3gpp"}
)
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_MIME_PARAMS = re.compile(r'^[a-z0-9!#$&^_.+=" ;-]{1,100}$')


def _media_type(declared: str, filename: str) -> str:
    """The stored file's media type: as WhatsApp declared it when well formed."""
    base, _, params = declared.strip().lower().partition(";")
    base = base.strip()
    if _MIME_TYPE.match(base):
        params = params.strip()
        return f"{base}; {params}" if params and _MIME_PARAMS.match(params) else base
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


class MessageMedia(generics.GenericAPIView):
    """The file of a message (a customer's, once downloaded, or one an operator
    sent), for users who may see its conversation."""

    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.messages_visible_to(self.request.user)

    @extend_schema(
        request=None,
        responses={
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The bytes, with the file's own content type (`image/jpeg`, "
                "`application/pdf`...). Raster images, "
                "audio and MP4/3GP video inline; everything else as an attachment.",
            ),
            (206, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The part a `Range: bytes=first-last` header asked for (one range).",
            ),
            404: ERROR_SCHEMA,
            416: OpenApiResponse(description="The range asked for lies beyond the file."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        message = self.get_object()
        if not message.media_file:
            raise Http404
        content = message.content or {}
        stored_name = posixpath.basename(message.media_file.name)
        # The customer's own name for the file, without anything that could break the header.
        filename = "".join(ch for ch in str(content.get("filename") or "") if ch.isprintable())
        filename = filename.strip()[:200] or stored_name
        content_type = _media_type(str(content.get("mime_type") or ""), filename)
        base = content_type.partition(";")[0]
        inline = base in INLINE_MEDIA_TYPES or base.startswith("audio/")
        try:
            stream = message.media_file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(
            stream, as_attachment=not inline, filename=filename, content_type=content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["Cache-Control"] = "private, max-age=3600"
        # Players seek in a video or a voice note by asking for a part of it.
        response["Accept-Ranges"] = "bytes"
        size = message.media_file.size
        wanted = _byte_range(request.headers.get("Range", ""), size)
        if wanted is None:
            return response
        if wanted == UNSATISFIABLE:
            response.status_code = 416
            response.streaming_content = []
            response["Content-Length"] = "0"
            response["Content-Range"] = f"bytes */{size}"
            return response
        start, end = wanted
        stream.seek(start)
        response.status_code = 206
        response.streaming_content = _read_part(stream, end - start + 1)
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        return response


UNSATISFIABLE = (-1, -1)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte one ``Range: bytes=...`` header asks for; None to
    send the whole file (no header, one we do not serve such as several ranges),
    ``UNSATISFIABLE`` for a range beyond the file."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return UNSATISFIABLE
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return UNSATISFIABLE
    return start, end


def _read_part(stream: Any, length: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    while length > 0:
        data = stream.read(min(chunk, length))
        if not data:
            return
        length -= len(data)
        yield data


class MessageMediaRetry(generics.GenericAPIView):
    """Fetch a customer's file again after its download failed."""

    serializer_class = MessageSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.messages_visible_to(self.request.user)

    @extend_schema(
        request=None,
        responses={202: MessageSerializer, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
        description="202: the download starts over (`media.state` is `pending`). 409 with "
        "code `media_not_failed` unless the download has failed.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        message = services.media_download_retry(message=self.get_object())
        return Response(MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


# --- Business profile of a number ----------------------------------------------------


class NumberProfile(generics.GenericAPIView):
    """What customers see of a number on WhatsApp. Anyone with inbox access may
    read it; admins change it (PUT replaces every field, PATCH only those given),
    and a job sends it to WhatsApp: ``sync_state`` says how that went."""

    serializer_class = BusinessProfileSerializer
    queryset = WhatsAppNumber.objects.all()

    def get_permissions(self):  # type: ignore[no-untyped-def]
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [IsInboxUser()]
        return [IsAdminRole()]

    @extend_schema(responses={200: BusinessProfileSerializer, 404: ERROR_SCHEMA})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        profile = selectors.business_profile_of(self.get_object())
        return Response(BusinessProfileSerializer(profile).data)

    @extend_schema(
        request=BusinessProfileUpdateSerializer,
        responses={
            200: BusinessProfileSerializer,
            400: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
        description="Every field; one left out is cleared (`vertical` to UNDEFINED). "
        "400 `invalid` with a sentence per field WhatsApp would refuse.",
    )
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        request=BusinessProfileUpdateSerializer,
        responses={
            200: BusinessProfileSerializer,
            400: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
        description="Only the fields given. 400 `invalid` with a sentence per field "
        "WhatsApp would refuse.",
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        number = self.get_object()
        data = BusinessProfileUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if not partial:
            blank = {"about": "", "description": "", "address": "", "email": "", "websites": []}
            fields = {**blank, "vertical": BusinessProfile.Vertical.UNDEFINED, **fields}
        profile = services.business_profile_update(number=number, user=request.user, **fields)
        return Response(BusinessProfileSerializer(profile).data)


class NumberProfilePhoto(generics.GenericAPIView):
    """A new profile photo (JPEG or PNG, at most 5 MB), sent to WhatsApp by a job."""

    serializer_class = BusinessProfilePhotoSerializer
    permission_classes = [IsAdminRole]
    parser_classes = [MultiPartParser, FormParser]
    queryset = WhatsAppNumber.objects.all()

    @extend_schema(
        request={"multipart/form-data": BusinessProfilePhotoSerializer},
        responses={
            200: BusinessProfileSerializer,
            400: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
        description="400 `invalid` (on `file`) when the file is not a JPEG or PNG image "
        "of at most 5 MB.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        number = self.get_object()
        data = BusinessProfilePhotoSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            profile = services.business_profile_update(
                number=number, user=request.user, profile_picture=data.validated_data["file"]
            )
        except services.InvalidProfile as exc:
            raise exceptions.ValidationError({"file": list(exc.fields.values())}) from exc
        return Response(BusinessProfileSerializer(profile).data)


class NumberProfileFetch(generics.GenericAPIView):
    """Import the profile WhatsApp shows now, replacing what is kept here."""

    serializer_class = BusinessProfileSerializer
    permission_classes = [IsAdminRole]
    queryset = WhatsAppNumber.objects.all()

    @extend_schema(
        request=None,
        responses={200: BusinessProfileSerializer, 403: ERROR_SCHEMA, 502: ERROR_SCHEMA},
        description="502 `whatsapp_error` with the reason when WhatsApp gives no profile.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        profile = services.business_profile_fetch(number=self.get_object())
        return Response(BusinessProfileSerializer(profile).data)


# --- The operator workspace --------------------------------------------------------


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    if value == "":
        return None
    # ASCII only: a superscript two or Arabic-Indic digits pass str.isdigit() but are no id.
    if not (value.isascii() and value.isdigit()):
        raise exceptions.ValidationError({name: [f"{name} must be an id."]})
    return int(value)


def text_param(request: Request, name: str) -> str:
    """A free-text query parameter; a NUL character (which no stored text holds,
    and PostgreSQL refuses in a query) is a 400."""
    value = request.query_params.get(name, "")
    if "\x00" in value:
        raise exceptions.ValidationError({name: [f"{name} may not contain NUL characters."]})
    return value


class ConversationMixin:
    """Endpoints under conversations/{id}/: a chat the user may not see is 404."""

    request: Request
    kwargs: dict[str, Any]

    def conversation(self) -> Conversation:
        return get_object_or_404(
            selectors.conversations_visible_to(self.request.user), pk=self.kwargs["pk"]
        )


class ConversationClaim(ConversationMixin, generics.GenericAPIView):
    """Take an unassigned chat; of two operators claiming at once exactly one wins."""

    serializer_class = ConversationSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        request=None,
        responses={200: ConversationSerializer, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
        description='409 with code `already_assigned` ("Already taken by <name>.") when '
        "someone holds the chat already.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = services.conversation_claim(
            conversation=self.conversation(), user=request.user
        )
        return Response(ConversationSerializer(conversation).data)


class ConversationAssign(ConversationMixin, generics.GenericAPIView):
    """Transfer a chat to an operator and/or a team, or unassign it."""

    serializer_class = AssignSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        request=AssignSerializer,
        responses={
            200: ConversationSerializer,
            400: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
        description="`assignee`: a user id, or null to unassign; `team`: a team id. Operators "
        "may move chats assigned to them or to nobody (403 otherwise); supervisors and admins "
        "any. 400 `invalid_assignee` when the person could not see the chat in its team.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.conversation()
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_assign(
            conversation=conversation,
            actor=request.user,
            assignee=data.validated_data.get("assignee", services.UNSET),
            team=data.validated_data.get("team", services.UNSET),
        )
        return Response(ConversationSerializer(conversation).data)


class ConversationStatus(ConversationMixin, generics.GenericAPIView):
    """Open, pending, snoozed (until a future time) or resolved."""

    serializer_class = StatusSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        request=StatusSerializer,
        responses={200: ConversationSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
        description="400 `invalid_snooze` when `snoozed` comes without a future `snoozed_until`.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.conversation()
        data = StatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_set_status(
            conversation=conversation,
            actor=request.user,
            status=data.validated_data["status"],
            snoozed_until=data.validated_data.get("snoozed_until"),
        )
        return Response(ConversationSerializer(conversation).data)


class ConversationLabels(ConversationMixin, generics.GenericAPIView):
    """Set the chat's labels."""

    serializer_class = LabelsSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        request=LabelsSerializer,
        responses={200: ConversationSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.conversation()
        data = LabelsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_set_labels(
            conversation=conversation, actor=request.user, label_ids=data.validated_data["labels"]
        )
        return Response(ConversationSerializer(conversation).data)


class ConversationNotes(ConversationMixin, generics.ListCreateAPIView):
    """Private notes in the thread, oldest first; POST adds one (with @mentions)."""

    serializer_class = NoteSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversation_notes(conversation=self.conversation())

    @extend_schema(
        request=NoteCreateSerializer,
        responses={201: NoteSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
        description="`@username` of someone who may see the chat notifies them.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.conversation()
        data = NoteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.note_create(
            conversation=conversation, author=request.user, text=data.validated_data["text"]
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class ConversationEvents(ConversationMixin, generics.ListAPIView):
    """Who changed what in the chat (status, assignment, team, escalation, labels),
    oldest first."""

    serializer_class = ConversationEventSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.conversation_events(conversation=self.conversation())


class CannedReplyList(generics.ListAPIView):
    """Canned replies the user may insert, with the variables filled in for a chat."""

    serializer_class = CannedReplySerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="part of the shortcut or title"),
            OpenApiParameter(
                "conversation", OpenApiTypes.INT, description="fill the variables for this chat"
            ),
        ],
        responses={200: CannedReplySerializer(many=True), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
        description="400 when `conversation` is not an id; 404 when it names a chat the "
        "user may not see.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation_id = _int_param(request, "conversation")
        conversation = None
        if conversation_id is not None:
            conversation = get_object_or_404(
                selectors.conversations_visible_to(request.user), pk=conversation_id
            )
        replies = selectors.canned_replies_for(
            request.user,
            query=text_param(request, "q")[:64],
            team_id=conversation.team_id if conversation else None,
        )
        page = self.paginate_queryset(replies)
        items = [
            canned_reply_payload(
                reply,
                selectors.canned_reply_render(
                    reply.text, conversation=conversation, agent=request.user
                ),
            )
            for reply in (page if page is not None else replies)
        ]
        return self.get_paginated_response(items) if page is not None else Response(items)


class LabelList(generics.ListAPIView):
    """Every label, by name."""

    serializer_class = LabelSerializer
    permission_classes = [IsInboxUser]
    queryset = Label.objects.order_by("name")


class TeamList(generics.ListAPIView):
    """Every team with its members, routing settings and working hours (open now,
    and when a closed team opens again), by name."""

    serializer_class = TeamSerializer
    permission_classes = [IsInboxUser]
    queryset = (
        Team.objects.select_related("calendar")
        .prefetch_related("members", "calendar__intervals", "calendar__holidays")
        .order_by("name")
    )


class AgentList(generics.ListAPIView):
    """Operators, supervisors and admins with their presence and load: operators see
    their teams' agents, supervisors everyone."""

    serializer_class = AgentSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.agents_visible_to(self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        items = []
        for user in page or []:
            counts_waiting = any(team.capacity_counts_waiting for team in user.teams.all())
            items.append(
                agent_payload(
                    user,
                    presence=selectors.effective_presence(
                        connected=user.connected, profile=getattr(user, "agent", None)
                    ),
                    active_chats=user.open_chats + (user.waiting_chats if counts_waiting else 0),
                )
            )
        return self.get_paginated_response(items)


class Me(generics.GenericAPIView):
    """The signed-in user: roles, teams, presence and preferences; PATCH changes the
    presence switch (`presence_choice`, or `presence`), language, time zone and
    notification switches."""

    serializer_class = MeSerializer
    permission_classes = [IsInboxUser]

    def payload(self, user: Any) -> dict[str, Any]:
        return me_payload(
            user,
            roles=selectors.user_roles(user),
            teams=list(user.teams.order_by("name")),
            presence=services.agent_presence(user),
            profile=services.agent_profile(user),
        )

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.payload(request.user))

    @extend_schema(request=MeSerializer, responses={200: MeSerializer, 400: ERROR_SCHEMA})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = MeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        presence = fields.pop("presence_choice", None) or fields.pop("presence", None)
        fields.pop("presence", None)
        if presence is not None:
            services.agent_set_presence(request.user, presence)
        services.agent_profile_update(user=request.user, **fields)
        return Response(self.payload(request.user))


class NotificationList(generics.ListAPIView):
    """The user's notifications (mentions, escalations), newest first."""

    serializer_class = NotificationSerializer
    permission_classes = [IsInboxUser]

    @extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="1: unread only")]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        unread = self.request.query_params.get("unread", "") in ("1", "true", "yes")
        return selectors.notifications_for(self.request.user, unread_only=unread)


class NotificationRead(generics.GenericAPIView):
    """Mark one of the user's notifications read."""

    serializer_class = NotificationSerializer
    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.notifications_for(self.request.user)

    @extend_schema(request=None, responses={200: NotificationSerializer, 404: ERROR_SCHEMA})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)


# --- Contacts, consent and the send rules ----------------------------------------


def _waba_for(given: str) -> str:
    """The business account a request means: ``given``, or the inbox's only one."""
    if given:
        return given
    accounts = list(
        WhatsAppNumber.objects.order_by().values_list("waba_id", flat=True).distinct()[:2]
    )
    if len(accounts) != 1:
        raise exceptions.ValidationError(
            {"waba_id": ["Name the WhatsApp Business Account (the inbox has several, or none)."]}
        )
    return accounts[0]


class ContactList(generics.GenericAPIView):
    """Customers the user may see; ``POST`` adds one who has not written yet."""

    permission_classes = [IsInboxUser]
    pagination_class = UncountedPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.contacts_visible_to(self.request.user)

    @extend_schema(
        parameters=[OpenApiParameter("wa_id", OpenApiTypes.STR, description="find one number")],
        responses={200: ContactDetailSerializer(many=True), 400: ERROR_SCHEMA},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contacts = self.get_queryset()
        wa_id = text_param(request, "wa_id")
        if wa_id:
            contacts = contacts.filter(wa_id=services.wa_id_normalize(wa_id) or wa_id[:32])
        page = self.paginate_queryset(contacts)
        now = timezone.now()
        return self.get_paginated_response(
            [contact_detail_payload(contact, now=now) for contact in page]
        )

    @extend_schema(
        request=ContactCreateSerializer,
        responses={
            200: ContactDetailSerializer,
            201: ContactDetailSerializer,
            400: ERROR_SCHEMA,
        },
        description="201 with a new contact; 200 with the contact who has this number "
        "already; 400 `invalid_wa_id` for a number that is not one; 403 when that "
        "customer is another team's.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ContactCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact, created = services.contact_create(**data.validated_data)
        if not created and not self.get_queryset().filter(pk=contact.pk).exists():
            raise exceptions.PermissionDenied("This customer is another team's.")
        return Response(
            contact_detail_payload(contact),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ContactDetail(generics.GenericAPIView):
    """A customer: number, country, time zone and local time, the platform's stop,
    and their chats the user may see (with labels)."""

    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.contacts_visible_to(self.request.user)

    @extend_schema(responses={200: ContactWithConversationsSerializer})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        chats = (
            selectors.conversations_visible_to(request.user)
            .filter(contact=contact)
            .prefetch_related("labels")
        )
        return Response(
            {
                **contact_detail_payload(contact),
                "conversations": ContactConversationSerializer(chats, many=True).data,
            }
        )


class ContactConsents(generics.GenericAPIView):
    """A customer's consent per category, the platform's stop, and every change."""

    permission_classes = [IsInboxUser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.contacts_visible_to(self.request.user)

    @extend_schema(responses={200: ConsentsSerializer})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(ConsentsSerializer(selectors.consent_summary(self.get_object())).data)

    @extend_schema(
        request=ConsentRecordSerializer,
        responses={201: ConsentsSerializer, 400: ERROR_SCHEMA},
        description="Record an opt-in (with the `wording` the customer agreed to) or an "
        "opt-out of one category. `source` defaults to `operator` from the page and "
        "`api` with a token; `waba_id` may be left out while the inbox has one business "
        "account. 400 `unknown_category` for a slug the account does not have.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        data = ConsentRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        category = services.category_for(
            waba_id=_waba_for(values["waba_id"]), slug=values["category"]
        )
        token = send_path(request) == SendPath.API
        services.consent_record(
            contact=contact,
            category=category,
            state=values["state"],
            source=values.get("source") or ("api" if token else "operator"),
            wording=values["wording"],
            recorded_by=request.user,
        )
        contact.refresh_from_db()
        return Response(
            ConsentsSerializer(selectors.consent_summary(contact)).data,
            status=status.HTTP_201_CREATED,
        )


def consent_category_payload(category: Any) -> dict[str, Any]:
    return {
        "id": category.pk,
        "waba_id": category.waba_id,
        "slug": category.slug,
        "name": category.name,
        "template_categories": list(category.template_categories or []),
        "opt_in_text": category.opt_in_text,
        "opt_in": selectors.opt_in_link(category),
    }


class ConsentCategoryList(generics.GenericAPIView):
    """What customers may agree to hear about, per business account, with each
    category's opt-in link, QR code and website button; admins add categories."""

    pagination_class = None

    def get_permissions(self):  # type: ignore[no-untyped-def]
        if self.request.method == "POST":
            return [IsAdminRole()]
        return [IsInboxUser()]

    @extend_schema(responses={200: ConsentCategorySerializer(many=True)})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        categories = ConsentCategory.objects.order_by("waba_id", "slug")
        return Response([consent_category_payload(c) for c in categories])

    @extend_schema(
        request=ConsentCategorySerializer,
        responses={201: ConsentCategorySerializer, 400: ERROR_SCHEMA, 409: ERROR_SCHEMA},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ConsentCategorySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        category = services.consent_category_create(
            waba_id=_waba_for(values.get("waba_id", "")),
            slug=values["slug"],
            name=values["name"],
            template_categories=values["template_categories"],
            opt_in_text=values.get("opt_in_text", ""),
        )
        return Response(consent_category_payload(category), status=status.HTTP_201_CREATED)


class CompliancePolicyView(generics.GenericAPIView):
    """The send rules for proactive messages: quiet hours in the customer's time zone
    (weekdays from Monday = 0), the marketing cap, the countries allowed (null: all).
    Every inbox user reads it; admins replace it."""

    def get_permissions(self):  # type: ignore[no-untyped-def]
        if self.request.method == "PUT":
            return [IsAdminRole()]
        return [IsInboxUser()]

    @extend_schema(responses={200: CompliancePolicySerializer})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(compliance_policy_payload(services.compliance_policy()))

    @extend_schema(
        request=CompliancePolicySerializer,
        responses={200: CompliancePolicySerializer, 400: ERROR_SCHEMA},
    )
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CompliancePolicySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.compliance_policy_update(**data.validated_data)
        return Response(compliance_policy_payload(policy))


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode()


LOG_COLUMNS = ("at", "contact", "wa_id", "path", "reason", "template", "campaign", "detail")


class ComplianceLog(generics.GenericAPIView):
    """Every message that was not sent or was deferred, on any path, newest first;
    supervisors and admins read it. ``?format=csv`` answers the whole selection as
    CSV for the business's own audits."""

    permission_classes = [IsSupervisorRole]
    pagination_class = UncountedPagination
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CsvRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("reason", OpenApiTypes.STR),
            OpenApiParameter(
                "path", OpenApiTypes.STR, enum=["composer", "api", "campaign", "automatic"]
            ),
            OpenApiParameter("contact", OpenApiTypes.INT, description="contact id"),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): ComplianceLogEntrySerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            400: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        entries = ComplianceLogEntry.objects.order_by("-at", "-pk")
        reason = text_param(request, "reason")
        if reason:
            entries = entries.filter(reason=reason)
        path = text_param(request, "path")
        if path:
            entries = entries.filter(path=path)
        contact = _int_param(request, "contact")
        if contact is not None:
            # An id beyond any row (and beyond the column's range) finds nothing.
            entries = entries.filter(contact_id=contact) if contact < 2**63 else entries.none()
        since = text_param(request, "since")
        if since:
            try:
                moment = parse_datetime(since.replace(" ", "+"))
                if moment is not None:
                    if timezone.is_naive(moment):
                        moment = moment.replace(tzinfo=dt.UTC)
                    moment = moment.astimezone(dt.UTC)
            except (ValueError, OverflowError):
                moment = None
            if moment is None:
                raise exceptions.ValidationError({"since": ["since is an ISO 8601 time."]})
            entries = entries.filter(at__gte=moment)
        if request.accepted_renderer.format == "csv":
            return _csv_response(entries)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(ComplianceLogEntrySerializer(page, many=True).data)

    def handle_exception(self, exc: Exception) -> Response:
        # A refusal answers the API's JSON error, even to a CSV request.
        request = self.request
        if getattr(request, "accepted_renderer", None) is not None and (
            request.accepted_renderer.format == "csv"
        ):
            request.accepted_renderer = self.renderer_classes[0]()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().handle_exception(exc)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(entries: Any) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(LOG_COLUMNS)
        for entry in entries.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    entry.at.isoformat(),
                    entry.contact_id or "",
                    entry.wa_id,
                    entry.path,
                    entry.reason,
                    entry.template,
                    entry.campaign,
                    # A cell a spreadsheet would run as a formula is written as text.
                    _spreadsheet_safe(entry.detail),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="compliance-log.csv"'
    return response


def _spreadsheet_safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


class ConsentImportList(generics.GenericAPIView):
    """Admins upload a CSV of consents; a job imports it (202)."""

    permission_classes = [IsAdminRole]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ConsentImportUploadSerializer},
        responses={202: ConsentImportSerializer, 400: ERROR_SCHEMA},
        description="Columns: `wa_id` (or `phone`), `category` (slug), `state` "
        "(`opted_in` by default, or `opted_out`), `source`, `date`, `wording`. Each row "
        "is imported, refused (`invalid number`, `unknown category`, `no proof of "
        "consent`) or, for an opt-in to a MARKETING category without its source and "
        "date, quarantined for review. Follow the progress at the import's URL.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ConsentImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["file"].read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise exceptions.ValidationError({"file": ["The CSV is not UTF-8 text."]}) from exc
        if "\x00" in text:
            raise exceptions.ValidationError({"file": ["The CSV holds NUL characters."]})
        job = services.consent_import_create(
            waba_id=_waba_for(data.validated_data["waba_id"]), csv_text=text, user=request.user
        )
        return Response(ConsentImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ConsentImportDetail(generics.RetrieveAPIView):
    """An import's progress (``processed`` of ``rows``) and, row by row, its report."""

    permission_classes = [IsAdminRole]
    serializer_class = ConsentImportSerializer
    queryset = ConsentImport.objects.all()
