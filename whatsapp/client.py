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

import hashlib
import re
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote, urljoin, urlsplit

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


def template_message(
    *,
    to: str,
    name: str,
    language: str,
    components: list[dict[str, Any]],
    callback_data: str | None = None,
) -> dict[str, Any]:
    """The body of a template send: the approved template ``name`` in ``language`` (the
    API's spelling, ``en_US``), ``components`` the filled parameters as
    ``whatsapp.templates.template_components`` builds them (left out when empty, as for
    a template without variables)."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": template,
    }
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


# Types sent by the id of media uploaded first, and which of them carry what.
MEDIA_SEND_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
_CAPTIONED = frozenset({"image", "video", "document"})
_LINK = re.compile(r"https?://", re.IGNORECASE)


def outbound_message(
    to: str,
    kind: str,
    *,
    text: str = "",
    content: dict[str, Any] | None = None,
    callback_data: str = "",
    reply_to: str = "",
) -> dict[str, Any]:
    """The body of a send of any type the inbox sends, from what it stored.

    ``kind`` is the message type; ``content`` the stored type object (media:
    ``id`` of the uploaded file, ``caption``, ``filename``; reaction:
    ``message_id`` and ``emoji``; location and contacts as the platform shapes
    them; template: ``name``, ``language`` and the filled ``components``).
    ``reply_to`` is the wamid quoted (not for reactions: the platform refuses a
    context on them). Raises ``ValueError`` for a type it cannot build, media not
    uploaded yet, or a template without its name or language."""
    content = content or {}
    if kind == "template":
        name, language = content.get("name"), content.get("language")
        components = content.get("components") or []
        if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
            raise ValueError("A template message needs the template's name and language.")
        if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
            raise ValueError("A template message's components must be a list of objects.")
        payload = template_message(
            to=to, name=name, language=language, components=components, callback_data=callback_data
        )
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        return payload
    if kind == "text":
        body = text or str(content.get("body", ""))
        preview = content.get("preview_url")
        return text_message(
            to,
            body,
            callback_data=callback_data,
            reply_to=reply_to,
            preview_url=bool(_LINK.search(body)) if preview is None else bool(preview),
        )
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    }
    if kind in MEDIA_SEND_TYPES:
        media_id = str(content.get("id", ""))
        if not media_id:
            raise ValueError(f"The {kind} has not been uploaded to WhatsApp yet.")
        media: dict[str, Any] = {"id": media_id}
        caption = str(content.get("caption", "") or "")
        if caption and kind in _CAPTIONED:
            media["caption"] = caption
        if kind == "document" and content.get("filename"):
            media["filename"] = str(content["filename"])
        payload[kind] = media
    elif kind == "reaction":
        payload["reaction"] = {
            "message_id": str(content.get("message_id", "")),
            "emoji": str(content.get("emoji", "")),
        }
        reply_to = ""
    elif kind == "location":
        payload["location"] = {
            key: content[key]
            for key in ("latitude", "longitude", "name", "address")
            if content.get(key) not in (None, "")
        }
    elif kind == "contacts":
        payload["contacts"] = list(content.get("contacts") or [])
    else:
        raise ValueError(f"Messages of type {kind!r} cannot be sent from the inbox.")
    if reply_to:
        payload["context"] = {"message_id": reply_to}
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


# What operators may send as files: the platform's accepted types and size limits.
SEND_MEDIA_RULES: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * 2**20),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * 2**20,
    ),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * 2**20),
    "document": (
        frozenset(
            {
                "application/pdf",
                "text/plain",
                "text/csv",
                "application/rtf",
                "application/zip",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "application/vnd.oasis.opendocument.text",
                "application/vnd.oasis.opendocument.spreadsheet",
                "application/vnd.oasis.opendocument.presentation",
            }
        ),
        100 * 2**20,
    ),
}
# Other names browsers and systems give the same formats.
MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "audio/opus": "audio/ogg",
    "video/3gp": "video/3gpp",
    "application/x-zip-compressed": "application/zip",
    "text/rtf": "application/rtf",
}


def send_media_kind(mime_type: str) -> str | None:
    """The message type a file of ``mime_type`` is sent as, or None when WhatsApp
    accepts no such file from a business."""
    mime_type = MIME_ALIASES.get(mime_type, mime_type)
    for kind, (types, _limit) in SEND_MEDIA_RULES.items():
        if mime_type in types:
            return kind
    return None


def read_receipt(message_id: str, *, typing: bool = False) -> dict[str, Any]:
    """Mark a customer's message (and those before it) read; with ``typing`` the
    customer also sees the business typing (until it sends, or 25 seconds)."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    }
    if typing:
        payload["typing_indicator"] = {"type": "text"}
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

    def upload_media(
        self, phone_number_id: str, data: bytes | IO[bytes], mime_type: str, filename: str
    ) -> str:
        """Upload a file for sending; the media id WhatsApp keeps it under (30 days)."""
        response = self._post(
            f"{phone_number_id}/media",
            None,
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename or "file", data, mime_type)},
        )
        media_id = str(response.get("id", ""))
        if not media_id:
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no media id", details=str(response)
            )
        return media_id

    def mark_read(self, phone_number_id: str, payload: dict[str, Any]) -> None:
        """Send a read receipt or typing indicator (see ``read_receipt``)."""
        self._post(f"{phone_number_id}/messages", payload)

    def _post(self, path: str, payload: dict[str, Any] | None, **body: Any) -> dict[str, Any]:
        return self._request(
            "POST", path, json=payload, unanswered="the message may have been sent", **body
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        data: Any = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        unanswered: str = "the request may have arrived",
    ) -> dict[str, Any]:
        """One call to the Graph API with the bearer token and the timeout: the decoded
        answer, or ``GraphAPIError`` / ``GraphUnreachable``. ``maybe_delivered`` is False
        only when no connection could be made, so the request never left; ``unanswered``
        says what a timeout means to the caller."""
        url = f"{self.base_url}/{path}"
        sent_headers = {"Authorization": f"Bearer {self.access_token}", **(headers or {})}
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                files=files,
                headers=sent_headers,
                timeout=self.timeout,
            )
        except requests.ConnectionError as exc:
            # A refused or failed connection never carried the request.
            maybe = not isinstance(exc, requests.exceptions.ConnectTimeout) and _after_connect(exc)
            raise GraphUnreachable(
                f"WhatsApp could not be reached: {exc}", maybe_delivered=maybe
            ) from exc
        except requests.Timeout as exc:
            raise GraphUnreachable(
                f"WhatsApp did not answer in time; {unanswered}.",
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
        data = self._request(
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
        self._request(
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
        session = self._request("POST", "app/uploads", params=params)
        upload_id = session.get("id")
        if not isinstance(upload_id, str) or not upload_id.startswith("upload:"):
            raise GraphAPIError(
                code=None, title="WhatsApp's answer had no upload session", details=str(session)
            )
        # The session id may carry its own query (``?sig=...``): it is used as it came.
        uploaded = self._request(
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


# --- Media retrieval ------------------------------------------------------------

# The platform caps media at 100 MB (documents); anything larger is not WhatsApp's.
MAX_MEDIA_BYTES = 100 * 2**20
# A download slower than this overall is abandoned (each read also has the timeout).
MEDIA_DOWNLOAD_SECONDS = 300.0
_MAX_MEDIA_REDIRECTS = 3
_CHUNK = 64 * 1024


class MediaRefused(Exception):
    """A media download that must not be made or kept: a URL outside the allowed
    hosts, or a file larger than the limit. Trying again cannot help."""


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What ``GET /{media_id}`` tells about a customer's file. ``url`` is short-lived."""

    id: str
    url: str
    mime_type: str = ""
    sha256: str = ""
    file_size: int | None = None


@dataclass(slots=True)
class DownloadedMedia:
    """The bytes of a downloaded file (spooled to disk when large). Close it when done."""

    file: Any
    size: int
    sha256: bytes
    content_type: str = ""

    def close(self) -> None:
        self.file.close()


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def _allowed_origin(entry: str) -> tuple[str, str, int] | None:
    """An allowed media host as configured: a bare host name means HTTPS on 443."""
    entry = entry.strip()
    if not entry:
        return None
    return _origin(entry if "://" in entry else f"https://{entry}")


class MediaClient(GraphClient):
    """The Graph client with media retrieval.

    Downloads go only to the Graph API's own origin (scheme, host and port of
    ``base_url``) or to ``media_hosts`` (host names served over HTTPS, or full
    ``scheme://host:port`` origins), so that a media URL can never make the
    inbox fetch from, or send its token to, anywhere else. Redirects are
    followed only within those origins.
    """

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        media_hosts: tuple[str, ...] | list[str] = ("lookaside.fbsbx.com",),
        max_media_bytes: int = MAX_MEDIA_BYTES,
        download_seconds: float = MEDIA_DOWNLOAD_SECONDS,
    ) -> None:
        super().__init__(
            base_url=base_url, access_token=access_token, timeout=timeout, session=session
        )
        allowed = [_origin(self.base_url), *(_allowed_origin(host) for host in media_hosts)]
        self.media_origins = frozenset(origin for origin in allowed if origin is not None)
        self.max_media_bytes = max_media_bytes
        self.download_seconds = download_seconds

    def media_info(self, media_id: str) -> MediaInfo:
        """Where a customer's file can be downloaded, and what it is.

        Raises ``GraphAPIError`` (unknown id, refused token...) or ``GraphUnreachable``.
        """
        data = self._media_get(quote(str(media_id), safe=""))
        url = data.get("url")
        if not isinstance(url, str) or not url:
            raise GraphAPIError(
                code=None, title="WhatsApp gave no download URL for the file", details=str(data)
            )
        try:
            size = int(data["file_size"]) if data.get("file_size") is not None else None
        except (TypeError, ValueError):
            size = None
        return MediaInfo(
            id=str(data.get("id") or media_id),
            url=url,
            mime_type=str(data.get("mime_type") or ""),
            sha256=str(data.get("sha256") or ""),
            file_size=size,
        )

    def media_url_allowed(self, url: str) -> bool:
        origin = _origin(url)
        return origin is not None and origin in self.media_origins

    def download(self, url: str) -> DownloadedMedia:
        """The bytes behind a media URL, fetched with the access token.

        Raises ``MediaRefused`` for a URL (or a redirect) outside the allowed
        origins, before anything is requested from it, and for a file over the
        size limit; ``GraphAPIError`` for an HTTP error answer (5xx retryable);
        ``GraphUnreachable`` when no complete answer came.
        """
        deadline = time.monotonic() + self.download_seconds
        headers = {"Authorization": f"Bearer {self.access_token}"}
        for _ in range(_MAX_MEDIA_REDIRECTS + 1):
            if not self.media_url_allowed(url):
                raise MediaRefused(
                    f"The file's address ({_origin_text(url)}) is not a WhatsApp media host; "
                    "it was not downloaded."
                )
            try:
                response = self.session.get(
                    url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
                )
            except requests.RequestException as exc:
                raise GraphUnreachable(
                    f"The file could not be downloaded from WhatsApp: {exc}", maybe_delivered=False
                ) from exc
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                url = urljoin(url, location)
                continue
            break
        else:
            raise MediaRefused("WhatsApp redirected the download too many times.")

        with response:
            if response.status_code >= 400:
                raise GraphAPIError(
                    code=None,
                    title=f"WhatsApp answered HTTP {response.status_code} to the download",
                    details=response.text[:500],
                    http_status=response.status_code,
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_media_bytes:
                raise MediaRefused(_too_large(int(declared), self.max_media_bytes))
            spool = tempfile.SpooledTemporaryFile(max_size=2 * 2**20)
            digest = hashlib.sha256()
            size = 0
            try:
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > self.max_media_bytes:
                        raise MediaRefused(_too_large(size, self.max_media_bytes))
                    if time.monotonic() > deadline:
                        raise GraphUnreachable(
                            "The download from WhatsApp took too long.", maybe_delivered=False
                        )
                    digest.update(chunk)
                    spool.write(chunk)
            except requests.RequestException as exc:
                spool.close()
                raise GraphUnreachable(
                    f"The download from WhatsApp broke off: {exc}", maybe_delivered=False
                ) from exc
            except BaseException:
                spool.close()
                raise
        spool.seek(0)
        return DownloadedMedia(
            file=spool,
            size=size,
            sha256=digest.digest(),
            content_type=response.headers.get("Content-Type", ""),
        )

    def _media_get(self, path: str) -> dict[str, Any]:
        url = f"{self.base_url}/{path}"
        headers = {"Authorization": f"Bearer {self.access_token}"}
        try:
            response = self.session.get(url, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise GraphUnreachable(
                f"WhatsApp could not be reached: {exc}", maybe_delivered=False
            ) from exc
        return _decode(response)


def _origin_text(url: str) -> str:
    origin = _origin(url)
    if origin is None:
        return "not a web address"
    scheme, host, port = origin
    return f"{scheme}://{host}:{port}"


def _too_large(size: int, limit: int) -> str:
    return f"The file is larger than {limit // 2**20} MB ({size} bytes or more); it was not kept."
