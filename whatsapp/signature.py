"""The webhook signature: HMAC-SHA256 of the raw body with the app secret."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The header value WhatsApp sends for ``body``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def signature_is_valid(body: bytes, header_value: str | None, app_secret: str) -> bool:
    """True when ``header_value`` is the signature of the exact ``body`` bytes.

    An empty app secret never validates: an unconfigured server must not accept
    unsigned deliveries.
    """
    if not app_secret or not header_value or not header_value.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(body, app_secret), header_value.strip())
