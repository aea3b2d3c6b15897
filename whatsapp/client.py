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

from whatsapp import errors, profiles


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

    # --- Business profile and the Resumable Upload API -------------------------

    def get_business_profile(self, phone_number_id: str) -> dict[str, Any]:
        """What customers see of the number on WhatsApp: ``about``, ``address``,
        ``description``, ``email``, ``profile_picture_url``, ``websites``,
        ``vertical`` (the platform leaves out the fields it has no value for)."""
        data = self._profile_call(
            "GET",
            f"{phone_number_id}/whatsapp_business_profile",
            params={"fields": ",".join(profiles.READ_FIELDS)},
        )
        entries = data.get("data")
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no business profile", details=str(data)
            )
        return entries[0]

    def update_business_profile(self, phone_number_id: str, fields: dict[str, Any]) -> None:
        """Change only the given fields (an empty string or list clears one);
        ``profile_picture_handle`` (from ``upload_file``) sets a new photo."""
        self._profile_call(
            "POST",
            f"{phone_number_id}/whatsapp_business_profile",
            json={"messaging_product": "whatsapp", **fields},
        )

    def upload_file(self, data: bytes, mime_type: str, *, file_name: str = "") -> str:
        """Hand a file to the platform through the Resumable Upload API (a session,
        then the bytes from offset 0) and return its handle."""
        params: dict[str, Any] = {"file_length": len(data), "file_type": mime_type}
        if file_name:
            params["file_name"] = file_name
        session = self._profile_call("POST", "app/uploads", params=params)
        upload_id = session.get("id")
        if not isinstance(upload_id, str) or not upload_id.startswith("upload:"):
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no upload session", details=str(session)
            )
        # The session id may carry its own query (``?sig=...``): it is used as it came.
        uploaded = self._profile_call(
            "POST",
            upload_id,
            data=data,
            headers={"Authorization": f"OAuth {self.access_token}", "file_offset": "0"},
        )
        handle = uploaded.get("h")
        if not isinstance(handle, str) or not handle:
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no file handle", details=str(uploaded)
            )
        return handle

    def _profile_call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request whose repetition does no harm (reads, profile updates, uploads):
        every failure to get an answer is ``GraphUnreachable``."""
        url = f"{self.base_url}/{path}"
        sent_headers = {"Authorization": f"Bearer {self.access_token}", **(headers or {})}
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                headers=sent_headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise GraphUnreachable(
                f"WhatsApp could not be reached: {exc}", maybe_delivered=True
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
