"""The statistics API (supervisors and admins): parse the query, call one
selector, shape the answer as JSON or, with ``?format=csv``, as a CSV table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.utils import timezone
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors, services
from analytics.models import SlaPolicy
from analytics.selectors import BREAKDOWNS, WEEKDAYS, StatsFilter
from conversations.api import ERROR_SCHEMA
from conversations.selectors import user_is_supervisor

DEFAULT_PERIOD = dt.timedelta(days=7)
LONGEST_PERIOD = dt.timedelta(days=400)
_ID = {"required": False, "min_value": 1, "max_value": 2**31 - 1}


class IsSupervisorRole(BasePermission):
    """Supervisors and admins (and superusers)."""

    message = "Only supervisors and admins may see the statistics."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user.is_authenticated and user_is_supervisor(request.user))


class CSVRenderer(BaseRenderer):
    """A view's answer as a CSV table (the view's ``csv_table``)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        view = (renderer_context or {}).get("view")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for row in view.csv_table(data):
            writer.writerow("" if cell is None else cell for cell in row)
        return out.getvalue().encode("utf-8")


class StatsQuery(serializers.Serializer):
    since = serializers.DateTimeField(
        required=False, help_text="Start of the period (ISO 8601); default: 7 days before `until`."
    )
    until = serializers.DateTimeField(
        required=False, help_text="End of the period, excluded (ISO 8601); default: now."
    )
    team = serializers.IntegerField(**_ID, help_text="Only this team's chats.")
    operator = serializers.IntegerField(**_ID, help_text="Only this operator (a user id).")
    number = serializers.IntegerField(**_ID, help_text="Only chats on this number.")
    label = serializers.IntegerField(**_ID, help_text="Only chats with this label.")
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", required=False, help_text="Customers' country, ISO 3166 alpha-2."
    )
    hours = serializers.ChoiceField(
        ["business", "all"],
        required=False,
        help_text="`business`: count durations within the team's working hours only.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        until = attrs.get("until") or timezone.now()
        try:
            since = attrs.get("since") or until - DEFAULT_PERIOD
            too_long = until - since > LONGEST_PERIOD
        except OverflowError as exc:
            raise serializers.ValidationError({"since": "Out of range."}) from exc
        if since >= until:
            raise serializers.ValidationError({"since": "The period must start before it ends."})
        if too_long:
            raise serializers.ValidationError({"since": "The period is at most 400 days."})
        attrs["since"], attrs["until"] = since, until
        return attrs

    def stats_filter(self) -> StatsFilter:
        data = self.validated_data
        return StatsFilter(
            since=data["since"],
            until=data["until"],
            team=data.get("team"),
            operator=data.get("operator"),
            number=data.get("number"),
            label=data.get("label"),
            country=(data.get("country") or "").upper(),
            business_hours=data.get("hours") == "business",
        )


class BreakdownQuery(StatsQuery):
    by = serializers.ChoiceField(BREAKDOWNS, help_text="What to split the figures by.")


def _measure_schema(name: str) -> Any:
    return inline_serializer(
        name,
        fields={
            "count": serializers.IntegerField(),
            "avg_s": serializers.FloatField(allow_null=True),
            "p50_s": serializers.FloatField(allow_null=True),
            "p90_s": serializers.FloatField(allow_null=True),
        },
    )


MEASURE = _measure_schema("StatsMeasure")
CONVERSATION_FIGURES = (
    "new",
    "reopened",
    "resolved",
    "reopen_rate",
    "missed",
    "unanswered_now",
    "window_expired_unanswered",
)


def _conversation_fields(*extra: str) -> dict[str, Any]:
    return {
        name: serializers.FloatField(allow_null=True)
        if name == "reopen_rate"
        else serializers.IntegerField()
        for name in (*CONVERSATION_FIGURES, *extra)
    }


SUMMARY = inline_serializer(
    "StatsSummary",
    fields={
        "first_response": MEASURE,
        "reply": MEASURE,
        "resolution": MEASURE,
        "conversations": inline_serializer(
            "StatsConversations",
            fields=_conversation_fields("open"),
        ),
        "messages": inline_serializer(
            "StatsMessages",
            fields={
                "in": serializers.IntegerField(),
                "out": serializers.IntegerField(),
                "templates": serializers.IntegerField(),
                "campaign_replies": serializers.IntegerField(
                    help_text="Customers' messages answering a campaign's message."
                ),
            },
        ),
    },
)
BREAKDOWN = inline_serializer(
    "StatsBreakdown",
    fields={
        "rows": inline_serializer(
            "StatsBreakdownRow",
            fields={
                "key": serializers.JSONField(help_text="Id, ISO code, date or hour; null: none."),
                "label": serializers.CharField(),
                "first_response": MEASURE,
                "reply": MEASURE,
                "resolution": MEASURE,
                "conversations": inline_serializer(
                    "StatsBreakdownConversations", fields=_conversation_fields()
                ),
                "online_s": serializers.IntegerField(
                    required=False,
                    allow_null=True,
                    help_text="by=operator only: seconds online in the period (null: never).",
                ),
            },
            many=True,
        )
    },
)
DISTRIBUTION = inline_serializer(
    "StatsDistribution",
    fields={
        "bars": inline_serializer(
            "StatsDistributionBar",
            fields={
                "up_to_s": serializers.IntegerField(
                    allow_null=True, help_text="Upper bound in seconds; null: longer."
                ),
                "first_response": serializers.IntegerField(),
                "reply": serializers.IntegerField(),
                "resolution": serializers.IntegerField(),
            },
            many=True,
        )
    },
)
HEATMAP = inline_serializer(
    "StatsHeatmap",
    fields={
        "timezone": serializers.CharField(),
        "rows": serializers.ListField(
            child=serializers.ListField(child=serializers.IntegerField()),
            help_text="Seven rows (Monday first) of 24 counts (hour of day).",
        ),
    },
)
FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="`csv`: the same table as text/csv."
)


def _answers(schema: Any) -> dict[Any, Any]:
    return {
        (200, "application/json"): schema,
        (200, "text/csv"): OpenApiTypes.STR,
        (400, "application/json"): ERROR_SCHEMA,
    }


_MEASURE_COLUMNS = ("count", "avg_s", "p50_s", "p90_s")


class StatsView(APIView):
    permission_classes = [IsSupervisorRole]
    renderer_classes = [ORJSONRenderer, CSVRenderer]
    query_class: type[StatsQuery] = StatsQuery

    def query(self, request: Request) -> StatsQuery:
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        query = self.query_class(data=params)
        query.is_valid(raise_exception=True)
        return query

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Errors are JSON whatever format was asked for.
        if response.status_code >= 400 and isinstance(
            getattr(request, "accepted_renderer", None), CSVRenderer
        ):
            request.accepted_renderer = ORJSONRenderer()
            request.accepted_media_type = ORJSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(getattr(request, "accepted_renderer", None), CSVRenderer):
            name = type(self).__name__.removeprefix("Stats").lower()
            response["Content-Disposition"] = f'attachment; filename="stats-{name}.csv"'
        return response

    def csv_table(self, data: Any) -> list[list[Any]]:
        """The answer as rows of a CSV table; each statistics view defines its own."""
        raise NotImplementedError


class StatsSummary(StatsView):
    """Headline figures of a period: first response, reply and resolution times
    (count, average, median, 90th percentile, in seconds), conversations and
    messages. Supervisors and admins."""

    @extend_schema(parameters=[StatsQuery, FORMAT], responses=_answers(SUMMARY))
    def get(self, request: Request) -> Response:
        return Response(selectors.stats_summary(self.query(request).stats_filter()))

    def csv_table(self, data: dict[str, Any]) -> list[list[Any]]:
        rows: list[list[Any]] = [["figure", "value"]]
        for group, values in data.items():
            for name, value in values.items():
                rows.append([f"{group}.{name}", value])
        return rows


class StatsBreakdown(StatsView):
    """The figures per operator (user id), team, number, label, country (ISO 3166
    alpha-2), day or hour of day (in the user's time zone). Supervisors and admins."""

    query_class = BreakdownQuery

    @extend_schema(parameters=[BreakdownQuery, FORMAT], responses=_answers(BREAKDOWN))
    def get(self, request: Request) -> Response:
        query = self.query(request)
        rows = selectors.stats_breakdown(
            query.stats_filter(),
            by=query.validated_data["by"],
            tz=selectors.user_time_zone(request.user),
        )
        return Response({"rows": rows})

    def csv_table(self, data: dict[str, Any]) -> list[list[Any]]:
        header: list[Any] = ["key", "label"]
        for group in ("first_response", "reply", "resolution"):
            header += [f"{group}.{column}" for column in _MEASURE_COLUMNS]
        header += [f"conversations.{name}" for name in CONVERSATION_FIGURES]
        online = any("online_s" in row for row in data["rows"])
        if online:
            header.append("online_s")
        table = [header]
        for row in data["rows"]:
            line = [row["key"], row["label"]]
            for group in ("first_response", "reply", "resolution"):
                line += [row[group][column] for column in _MEASURE_COLUMNS]
            line += [row["conversations"][name] for name in CONVERSATION_FIGURES]
            if online:
                line.append(row.get("online_s"))
            table.append(line)
        return table


class StatsDistribution(StatsView):
    """How long first responses, replies and resolutions of the period took, as
    counts per bar (up to 1, 5, 15, 30 minutes, 1, 4, 24 hours, and longer): the
    dashboard's histogram. Supervisors and admins."""

    @extend_schema(parameters=[StatsQuery, FORMAT], responses=_answers(DISTRIBUTION))
    def get(self, request: Request) -> Response:
        return Response({"bars": selectors.stats_distribution(self.query(request).stats_filter())})

    def csv_table(self, data: dict[str, Any]) -> list[list[Any]]:
        table: list[list[Any]] = [["up_to_s", "first_response", "reply", "resolution"]]
        for bar in data["bars"]:
            table.append([bar["up_to_s"], bar["first_response"], bar["reply"], bar["resolution"]])
        return table


class StatsHeatmap(StatsView):
    """Incoming conversations (new and reopened) by weekday and hour of day, in
    the user's time zone. Supervisors and admins."""

    @extend_schema(parameters=[StatsQuery, FORMAT], responses=_answers(HEATMAP))
    def get(self, request: Request) -> Response:
        tz = selectors.user_time_zone(request.user)
        rows = selectors.stats_heatmap(self.query(request).stats_filter(), tz=tz)
        return Response({"timezone": str(tz), "rows": rows})

    def csv_table(self, data: dict[str, Any]) -> list[list[Any]]:
        table: list[list[Any]] = [["weekday", *range(24)]]
        for name, counts in zip(WEEKDAYS, data["rows"], strict=True):
            table.append([name, *counts])
        return table


class SlaPolicySerializer(serializers.ModelSerializer):
    warn_percent = serializers.IntegerField(min_value=1, max_value=100, required=False)
    first_response_minutes = serializers.IntegerField(
        min_value=1, max_value=525_600, required=False, allow_null=True
    )
    next_reply_minutes = serializers.IntegerField(
        min_value=1, max_value=525_600, required=False, allow_null=True
    )
    resolution_minutes = serializers.IntegerField(
        min_value=1, max_value=525_600, required=False, allow_null=True
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "name",
            "team",
            "label",
            "number",
            "first_response_minutes",
            "next_reply_minutes",
            "resolution_minutes",
            "business_hours",
            "warn_percent",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        targets = ("first_response_minutes", "next_reply_minutes", "resolution_minutes")
        if not any(attrs.get(name) for name in targets):
            raise serializers.ValidationError(
                {"first_response_minutes": "A policy needs at least one target."}
            )
        return attrs


class SlaPolicyList(generics.ListCreateAPIView):
    """SLA policies: a team's targets for first response, next reply and resolution,
    optionally only for a label or a number; the most specific matching policy
    applies to each chat. Supervisors and admins read and add them."""

    serializer_class = SlaPolicySerializer
    permission_classes = [IsSupervisorRole]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return SlaPolicy.objects.order_by("team_id", "name", "pk")

    @extend_schema(
        request=SlaPolicySerializer, responses={201: SlaPolicySerializer, 400: ERROR_SCHEMA}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = SlaPolicySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.sla_policy_create(data=dict(data.validated_data))
        return Response(SlaPolicySerializer(policy).data, status=status.HTTP_201_CREATED)
