"""The Graph API client: the only code that speaks HTTP to WhatsApp.

Every call has a timeout. Failures are raised as two exceptions the rest of the
product can reason about:

* ``GraphAPIError``: WhatsApp answered and refused; ``retryable`` says whether
  the same request may succeed later (throughput and passing faults).
* ``GraphUnreachable``: no answer. ``maybe_delivered`` is False only when the
  request certainly never reached WhatsApp (no connection could be made), so
  a retry cannot send a message twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from whatsapp import errors


class GraphAPIError(Exception):
    def __init__(
        self,
        *,
        code: int | None,
        title: str,
        details: str = "",
        http_status: int | None = None,
        subcode: int | None = None,
    ) -> None:
        self.code = code
        self.title = title
        self.details = details
        self.http_status = http_status
        self.subcode = subcode
        super().__init__(f"({code}) {title}" + (f": {details}" if details else ""))

    @property
    def retryable(self) -> bool:
        return errors.is_retryable(self.code) or (
            self.code is None and (self.http_status or 0) >= 500
        )


class GraphUnreachable(Exception):
    def __init__(self, message: str, *, maybe_delivered: bool) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True, slots=True)
class SendResult:
    wamid: str
    wa_id: str = ""
    message_status: str = ""


def text_message(
    to: str, body: str, *, callback_data: str = "", reply_to: str = "", preview_url: bool = False
) -> dict[str, Any]:
    """The body of a free-form text send."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": preview_url, "body": body},
    }
    if reply_to:
        payload["context"] = {"message_id": reply_to}
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


class GraphClient:
    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.timeout = timeout
        self.session = session or requests.Session()

    def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        data = self._post(f"{phone_number_id}/messages", payload)
        messages = data.get("messages") or [{}]
        contacts = data.get("contacts") or [{}]
        wamid = messages[0].get("id")
        if not wamid:
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no message id", details=str(data)
            )
        return SendResult(
            wamid=wamid,
            wa_id=str(contacts[0].get("wa_id", "")),
            message_status=str(messages[0].get("message_status", "")),
        )

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/{path}"
        headers = {"Authorization": f"Bearer {self.access_token}"}
        try:
            response = self.session.post(url, json=payload, headers=headers, timeout=self.timeout)
        except requests.ConnectionError as exc:
            # A refused or failed connection never carried the request.
            maybe = not isinstance(exc, requests.exceptions.ConnectTimeout) and _after_connect(exc)
            raise GraphUnreachable(
                f"WhatsApp could not be reached: {exc}", maybe_delivered=maybe
            ) from exc
        except requests.Timeout as exc:
            raise GraphUnreachable(
                "WhatsApp did not answer in time; the message may have been sent.",
                maybe_delivered=True,
            ) from exc
        except requests.RequestException as exc:
            raise GraphUnreachable(
                f"Request to WhatsApp failed: {exc}", maybe_delivered=True
            ) from exc
        return _decode(response)


def _after_connect(exc: requests.ConnectionError) -> bool:
    """Whether a connection error happened after the request could have been sent."""
    text = str(exc)
    before_send = (
        "Connection refused",
        "Name or service not known",
        "NewConnectionError",
        "Failed to resolve",
    )
    return not any(marker in text for marker in before_send)


def _decode(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict) or "error" in data:
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            raise GraphAPIError(
                code=None,
                title=f"WhatsApp answered HTTP {response.status_code}",
                details=response.text[:500],
                http_status=response.status_code,
            )
        error_data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        code = error.get("code")
        raise GraphAPIError(
            code=int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
            title=str(
                error.get("message")
                or error.get("error_user_title")
                or "WhatsApp refused the request"
            ),
            details=str(error_data.get("details") or error.get("error_user_msg") or ""),
            http_status=response.status_code,
            subcode=error.get("error_subcode"),
        )
    return data
