"""The JSON API of campaigns under /api/v1/campaigns/: parse, call one service or
selector, shape the answer. Supervisors and admins read; only admins write;
operators are refused (403)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import selectors, services
from campaigns.models import HealthEvent
from campaigns.selectors import PUBLIC_STATES
from campaigns.serializers import (
    CampaignListItemSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    HealthEventSerializer,
    PreviewSerializer,
    RecipientSerializer,
    campaign_payload,
)
from conversations.api import ERROR_SCHEMA, text_param
from conversations.permissions import IsAdminRole, IsSupervisorRole

READS = ("GET", "HEAD", "OPTIONS")


class SupervisorReadsAdminWrites(IsSupervisorRole):
    """Supervisors and admins read; admins write."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in READS:
            return super().has_permission(request, view)
        return IsAdminRole().has_permission(request, view)


class CampaignList(APIView):
    """Campaigns, newest first; admins create drafts."""

    permission_classes = [SupervisorReadsAdminWrites]

    @extend_schema(responses={200: CampaignListItemSerializer(many=True)})
    def get(self, request: Request) -> Response:
        campaigns = selectors.campaigns_visible()[:200]
        return Response(
            CampaignListItemSerializer(
                [
                    {
                        "id": c.pk,
                        "name": c.name,
                        "number": c.number_id,
                        "category": c.category,
                        "status": c.status,
                        "paused_reason": c.paused_reason,
                        "send_at": c.send_at,
                        "created_at": c.created_at,
                    }
                    for c in campaigns
                ],
                many=True,
            ).data
        )

    @extend_schema(
        request=CampaignWriteSerializer,
        responses={201: CampaignSerializer, 400: ERROR_SCHEMA},
        description="A draft campaign (status `draft`) with its recipients: `audience` is "
        "one of `wa_ids`, `label` (a label's id: the contacts of its conversations), "
        "`contacts` (ids), `filter` (a saved list filter) or `csv`; `recipients` gives "
        "per-recipient `parameters`. Each "
        "variant's template must be approved, of the number's account, and of a category "
        "the consent category covers; the shares add up to 100. Nothing is sent until "
        "it is started.",
    )
    def post(self, request: Request) -> Response:
        data = CampaignWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        campaign = services.campaign_create(
            name=values["name"],
            number_id=values["number"],
            consent_category=values["consent_category"],
            variants=values["variants"],
            audience={k: dict(v) if k == "filter" else v for k, v in values["audience"].items()},
            parameters=values["parameters"],
            recipients=values["recipients"],
            send_at=values["send_at"],
            user=request.user,
        )
        return Response(
            CampaignSerializer(campaign_payload(campaign)).data, status=status.HTTP_201_CREATED
        )


def _campaign(pk: int) -> Any:
    return get_object_or_404(selectors.campaigns_visible(), pk=pk)


class CampaignDetail(APIView):
    permission_classes = [SupervisorReadsAdminWrites]

    @extend_schema(
        responses={200: CampaignSerializer},
        description="The campaign and its funnel: a read message counts as sent, "
        "delivered and read; `eligible` is who may be sent now, the recipients waiting "
        "for their quiet hours to end are `deferred`. Per variant for A/B.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(CampaignSerializer(campaign_payload(_campaign(pk))).data)


class CampaignPreview(APIView):
    permission_classes = [SupervisorReadsAdminWrites]

    @extend_schema(
        responses={200: PreviewSerializer},
        description="Who would receive it now and who would not, by the send rules' "
        "reason (`no_consent`, `opted_out`, `frequency_cap`, `country_not_allowed`, "
        "`invalid_number`), who waits for quiet hours, and the cost estimate by "
        "recipient country from the price table (USD).",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(services.campaign_preview(campaign=_campaign(pk)))


class CampaignRecipients(APIView):
    permission_classes = [SupervisorReadsAdminWrites]

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=list(PUBLIC_STATES), description="Only these"),
            OpenApiParameter("reason", str, description="Only this reason (or error code)"),
        ],
        responses={200: RecipientSerializer(many=True)},
        description="Every recipient, the excluded too, in the order they were added.",
    )
    def get(self, request: Request, pk: int) -> Response:
        rows = selectors.campaign_recipients(
            _campaign(pk),
            state=text_param(request, "state") or "",
            reason=text_param(request, "reason") or "",
        )
        return Response(RecipientSerializer(rows, many=True).data)


class _Action(APIView):
    permission_classes = [SupervisorReadsAdminWrites]
    answer = status.HTTP_200_OK

    def act(self, campaign: Any, user: Any) -> Any:
        """Start, pause, resume or cancel: each action view defines which."""
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        campaign = self.act(_campaign(pk), request.user)
        return Response(CampaignSerializer(campaign_payload(campaign)).data, status=self.answer)


ACTION_SCHEMA = {"request": None, "responses": {200: CampaignSerializer, 409: ERROR_SCHEMA}}


class CampaignStart(_Action):
    answer = status.HTTP_202_ACCEPTED

    @extend_schema(
        request=None,
        responses={202: CampaignSerializer, 409: ERROR_SCHEMA},
        description="Start a draft: at once (`running`), or at its `send_at` "
        "(`scheduled`). Send jobs deliver it in the background. 409 `wrong_state` "
        "unless it is a draft.",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, campaign: Any, user: Any) -> Any:
        return services.campaign_start(campaign=campaign, user=user)


class CampaignPause(_Action):
    @extend_schema(**ACTION_SCHEMA, description="No new send starts (409 unless running).")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, campaign: Any, user: Any) -> Any:
        return services.campaign_pause(campaign=campaign, user=user)


class CampaignResume(_Action):
    @extend_schema(**ACTION_SCHEMA, description="Send again from where it stopped.")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, campaign: Any, user: Any) -> Any:
        return services.campaign_resume(campaign=campaign, user=user)


class CampaignCancel(_Action):
    @extend_schema(**ACTION_SCHEMA, description="Nobody not reached yet will be (409 when done).")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, campaign: Any, user: Any) -> Any:
        return services.campaign_cancel(campaign=campaign, user=user)


class NumberHealth(APIView):
    """What WhatsApp reported of the numbers' quality, tiers and restrictions."""

    permission_classes = [IsSupervisorRole]

    @extend_schema(responses={200: HealthEventSerializer(many=True)})
    def get(self, request: Request) -> Response:
        events = HealthEvent.objects.order_by("-at", "-pk")[:100]
        return Response(HealthEventSerializer(events, many=True).data)
