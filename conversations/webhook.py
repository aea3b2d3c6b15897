"""``GET|POST /webhooks/whatsapp/``: the platform's only way in."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from conversations import services
from whatsapp.signature import signature_is_valid

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify_subscription(request)
    body = request.body
    if not signature_is_valid(
        body, request.headers.get("X-Hub-Signature-256"), settings.WHATSAPP_APP_SECRET
    ):
        return JsonResponse(
            {"code": "bad_signature", "detail": "Invalid or missing signature."}, status=403
        )
    try:
        outcome = services.webhook_receive(body=body)
    except services.InvalidWebhookBody as exc:
        return JsonResponse({"code": exc.code, "detail": str(exc)}, status=400)
    except DatabaseError:
        # Nothing was committed: WhatsApp delivers again later.
        logger.exception("webhook could not be stored")
        return JsonResponse({"code": "unavailable", "detail": "Try again later."}, status=503)
    return JsonResponse({"status": outcome.delivery.outcome})


def _verify_subscription(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return HttpResponse(challenge, content_type="text/plain")
    return HttpResponse("Verification failed.", status=403, content_type="text/plain")
