"""What travels on the wire between WhatsApp and a business app, built the platform's way.

Everything here is pure: identifiers, JSON encoding, signatures, webhook bodies, Graph error
envelopes and the validation of send requests. The stateful parts live in ``simulator.core``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
from typing import Any

ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
GRAPH_DOCS_HREF = "https://developers.facebook.com/docs/graph-api"

MESSAGE_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "template",
    "reaction",
)
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
TEXT_BODY_MAX = 4096

# Titles and details WhatsApp gives for the codes a business app most often has to handle;
# ``Simulator.fail_next`` uses them when the caller names only a code.
KNOWN_ERRORS: dict[int, tuple[str, str]] = {
    1: (
        "API Unknown",
        "Invalid request or possible server error.",
    ),
    2: (
        "API Service",
        "Temporary due to downtime or due to being overloaded.",
    ),
    4: (
        "API Too Many Calls",
        "The app has reached its API call rate limit.",
    ),
    100: (
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters.",
    ),
    190: (
        "Access token has expired",
        "Your access token has expired.",
    ),
    80007: (
        "Rate limit issues",
        "The WhatsApp Business Account has reached its rate limit.",
    ),
    130429: (
        "Rate limit hit",
        "Cloud API message throughput has been reached.",
    ),
    130472: (
        "User's number is part of an experiment",
        "Failed to send message because this user's phone number is part of an experiment.",
    ),
    131000: (
        "Something went wrong",
        "Message failed to send due to an unknown error.",
    ),
    131005: (
        "Access denied",
        "Permission is either not granted or has been removed.",
    ),
    131008: (
        "Required parameter is missing",
        "The request is missing a required parameter.",
    ),
    131009: (
        "Parameter value is not valid",
        "One or more parameter values are invalid.",
    ),
    131016: (
        "Service unavailable",
        "A service is temporarily unavailable.",
    ),
    131021: (
        "Recipient cannot be sender",
        "Sender and recipient phone number is the same.",
    ),
    131026: (
        "Message Undeliverable",
        "Unable to deliver message.",
    ),
    131030: (
        "Recipient phone number not in allowed list",
        "Recipient's phone number is not whitelisted: add the recipient's phone number to a "
        "recipient list, then try again.",
    ),
    131031: (
        "Account has been locked",
        "The business account was locked for a policy violation.",
    ),
    131042: (
        "Business eligibility payment issue",
        "There was an error related to your payment method.",
    ),
    131045: (
        "Incorrect certificate",
        "Message failed to send due to a phone number registration error.",
    ),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131048: (
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be "
        "sent from this phone number.",
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131051: (
        "Unsupported message type",
        "Unsupported message type.",
    ),
    131052: (
        "Media download error",
        "Unable to download the media sent by the user.",
    ),
    131053: (
        "Media upload error",
        "Unable to upload the media used in the message.",
    ),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
    ),
    # The template codes carry the wording of the platform's error envelopes, which differs
    # from the titles of the error-code table (132001 is "Template does not exist" there).
    132000: (
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values included in the request did not match the "
        "number of variable parameters defined in the template.",
    ),
    132001: (
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or the template has not been "
        "approved.",
    ),
    132012: (
        "Parameter format does not match format in the created template",
        "Variable parameter values formatted incorrectly.",
    ),
    132015: (
        "Template is Paused",
        "Template is paused due to low quality so it cannot be sent in a template message.",
    ),
    132016: (
        "Template is Disabled",
        "Template has been paused too many times due to low quality and is now permanently "
        "disabled.",
    ),
    133010: (
        "Phone number not registered",
        "The phone number is not registered on the WhatsApp Business Platform.",
    ),
}


class GraphFault(Exception):
    """A refusal the Graph API answers with an error envelope instead of a result."""

    def __init__(self, http_status: int, envelope: dict[str, Any]) -> None:
        super().__init__(envelope["error"].get("message", ""))
        self.http_status = http_status
        self.envelope = envelope


# --- identifiers -----------------------------------------------------------------------------


def outbound_wamid(wa_id: str) -> str:
    """A fresh id for a message the business sends, shaped like the platform's own."""
    return _wamid(wa_id, 0x11, secrets.token_hex(9).upper())


def inbound_wamid(wa_id: str) -> str:
    """A fresh id for a message a customer sends, shaped like the platform's own."""
    return _wamid(wa_id, 0x12, "3A" + secrets.token_hex(9).upper())


def _wamid(wa_id: str, direction: int, key: str) -> str:
    # The platform's ids are base64 of a small binary record: the customer's number, a
    # direction marker and a random key. Decoding one of ours gives the same layout.
    number = wa_id.encode()[:200]
    raw = (
        bytes((0x1C, 0x18, len(number)))
        + number
        + bytes((0x15, 0x02, 0x00, direction, 0x18, len(key)))
        + key.encode()
        + b"\x00"
    )
    return "wamid." + base64.b64encode(raw).decode()


def media_id() -> str:
    """A fresh media id: a 16-digit number, as the platform hands out."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def object_id() -> str:
    """A fresh Graph object id (a template's, say): a 16-digit number like a media id."""
    return media_id()


def conversation_id() -> str:
    """A fresh pricing-conversation id (32 hex digits)."""
    return secrets.token_hex(16)


def fbtrace_id() -> str:
    """A fresh trace id like the ones in Graph error envelopes."""
    alphabet = string.ascii_letters + string.digits
    return "A" + "".join(secrets.choice(alphabet) for _ in range(22))


# --- encoding and signing --------------------------------------------------------------------


def encode(payload: Any) -> bytes:
    """Serialise ``payload`` the way the platform does: compact, ASCII-only, ``/`` escaped.

    The platform escapes non-ASCII characters (``\\u00fc``) and forward slashes (``\\/``), so
    an app that re-serialises the parsed JSON before checking the signature fails here as it
    would in production.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    # A "/" can only occur inside a JSON string, so escaping every one keeps the JSON valid.
    return text.replace("/", "\\/").encode("ascii")


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` header value for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def is_digits(text: str) -> bool:
    """Whether ``text`` is a non-negative integer in ASCII digits (``str.isdigit`` also
    takes "²" and other digits ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def wa_id_from(to: str) -> str:
    """The WhatsApp id of a recipient given as ``to``: its digits, without ``+`` or spaces."""
    return "".join(ch for ch in to if ch.isdigit())


# --- webhook bodies --------------------------------------------------------------------------


def account_webhook(
    *, waba_id: str, field: str, value: dict[str, Any], time: int
) -> dict[str, Any]:
    """A webhook about the business account itself (``message_template_status_update``...),
    keys in the order of the platform's examples (whose ``template_category_update`` names
    the field before the value)."""
    change = {"value": value, "field": field}
    if field == "template_category_update":
        change = {"field": field, "value": value}
    return {
        "entry": [{"id": waba_id, "time": time, "changes": [change]}],
        "object": "whatsapp_business_account",
    }


def webhook(
    *, waba_id: str, display_phone_number: str, phone_number_id: str, value: dict[str, Any]
) -> dict[str, Any]:
    """Wrap one ``messages``-field change ``value`` in the platform's webhook envelope."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def inbound_message(
    *,
    wa_id: str,
    wamid: str,
    timestamp: int,
    message_type: str,
    content: dict[str, Any],
    context: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One entry of a webhook's ``messages`` list, keys in the platform's order."""
    message: dict[str, Any] = {}
    if context:
        message["context"] = context
    message.update(
        {
            "from": wa_id,
            "id": wamid,
            "timestamp": str(timestamp),
            "type": message_type,
            message_type: content,
        }
    )
    return message


def error_object(code: int, title: str, details: str) -> dict[str, Any]:
    """An entry of a status webhook's ``errors`` list."""
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": ERROR_CODES_HREF,
    }


# --- Graph error envelopes -------------------------------------------------------------------


def graph_error(
    code: int,
    message: str,
    *,
    error_type: str = "OAuthException",
    details: str | None = None,
    subcode: int | None = None,
) -> dict[str, Any]:
    """A Graph API error envelope (``{"error": {...}}``) with a fresh trace id."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


def invalid_token() -> GraphFault:
    """The refusal of a missing or wrong access token (HTTP 401, code 190)."""
    return GraphFault(
        401, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
    )


def unknown_object(object_id: str, method: str) -> GraphFault:
    """The refusal of an id the API does not know, or may not reach (code 100, subcode 33)."""
    return GraphFault(
        400,
        graph_error(
            100,
            f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation. "
            f"Please read the Graph API documentation at {GRAPH_DOCS_HREF}",
            error_type="GraphMethodException",
            subcode=33,
        ),
    )


def unknown_path(path: str) -> GraphFault:
    """The refusal of a path the API has no endpoint for (code 2500)."""
    return GraphFault(400, graph_error(2500, f"Unknown path components: {path}"))


def invalid_parameter(message: str, details: str) -> GraphFault:
    """A code-100 refusal of a malformed request; ``details`` is the sentence for humans.

    Code 100 is what Graph itself answers when it parses a request: a parameter its
    description requires is missing, has the wrong type or is not one of the allowed values
    (``(#100) The parameter text['body'] is required.``, as captured from the platform).
    What WhatsApp then finds wrong with the values is 131008 or 131009, below.
    """
    return GraphFault(400, graph_error(100, f"(#100) {message}", details=details))


def injected_error(code: int, title: str, details: str) -> dict[str, Any]:
    """The envelope of a platform refusal such as 130429 or 131047."""
    return graph_error(code, f"(#{code}) {title}", details=details)


def platform_error(
    code: int, details: str, *, http_status: int = 400, subcode: int | None = None
) -> GraphFault:
    """A refusal with one of ``KNOWN_ERRORS``' codes and its title, and ``details``."""
    return GraphFault(
        http_status,
        graph_error(code, f"(#{code}) {KNOWN_ERRORS[code][0]}", details=details, subcode=subcode),
    )


def missing_parameter(details: str) -> GraphFault:
    """131008: a value the message needs is missing (a template parameter's text, the
    parameter of a button that takes one)."""
    return platform_error(131008, details)


def invalid_value(details: str) -> GraphFault:
    """131009: a value is there but not valid (a recipient that is not a phone number, the
    id of a message this number never received, too many buttons)."""
    return platform_error(131009, details)


def not_a_media_id(path: str) -> GraphFault:
    """The refusal of a media id the business account does not have (code 100), as the
    platform words it; ``path`` is where the id was, like ``image['id']``."""
    return invalid_parameter(
        f"Param {path} is not a valid whatsapp business account media attachment ID",
        f"No media with this id was uploaded to this business account: {path}.",
    )


def user_error(title: str, message: str, *, subcode: int | None = None) -> GraphFault:
    """A refusal of the business management endpoints (templates): code 100, ``Invalid
    parameter``, with the sentences for people in ``error_user_title``/``error_user_msg``."""
    error: dict[str, Any] = {"message": "Invalid parameter", "type": "OAuthException", "code": 100}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(
        {
            "is_transient": False,
            "error_user_title": title,
            "error_user_msg": message,
            "fbtrace_id": fbtrace_id(),
        }
    )
    return GraphFault(400, {"error": error})


def nonexisting_field(field: str, node_type: str) -> GraphFault:
    """The refusal of a ``fields`` value the object does not have (code 100)."""
    return GraphFault(
        400,
        graph_error(
            100, f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})"
        ),
    )


# --- validation of send requests -------------------------------------------------------------


def required(parent: str, field: str) -> GraphFault:
    """The code-100 refusal of a request that lacks ``parent[field]`` (or ``field``)."""
    name = f"{parent}['{field}']" if parent else field
    return invalid_parameter(
        f"The parameter {name} is required.", f"The request has no value for {name}."
    )


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise required("", key)
    return value


def _validate_text(body: dict[str, Any]) -> None:
    text = _object(body, "text")
    text_body = text.get("body")
    if not isinstance(text_body, str) or not text_body.strip():
        raise required("text", "body")
    if len(text_body) > TEXT_BODY_MAX:
        raise invalid_parameter(
            f"Param text['body'] must be at most {TEXT_BODY_MAX} characters long.",
            f"A text message body may hold at most {TEXT_BODY_MAX} characters; "
            f"this one has {len(text_body)}.",
        )


def _validate_media(body: dict[str, Any]) -> None:
    kind = body["type"]
    media = _object(body, kind)
    if not media.get("id") and not media.get("link"):
        raise invalid_parameter(
            f"Param {kind} must contain either 'id' or 'link'.",
            f"A {kind} message needs the id of uploaded media or a public link.",
        )


def _validate_location(body: dict[str, Any]) -> None:
    location = _object(body, "location")
    for field, limit in (("latitude", 90), ("longitude", 180)):
        value = location.get(field)
        if value in (None, ""):
            raise required("location", field)
        # Meta's schema types latitude and longitude as strings, and the documented request
        # (send_location_request.json) sends strings; the platform's other examples and its
        # webhooks use numbers. The example and the docs win: both are taken, as long as
        # they are a coordinate.
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not -limit <= number <= limit:
            raise invalid_value(
                f"location['{field}'] must be a number between -{limit} and {limit}; got {value!r}."
            )


def _validate_contacts(body: dict[str, Any]) -> None:
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise required("", "contacts")


REPLY_BUTTONS_MAX = 3
REPLY_BUTTON_TITLE_MAX = 20
LIST_ROWS_MAX = 10
LIST_SECTIONS_MAX = 10


def _validate_interactive(body: dict[str, Any]) -> None:
    interactive = _object(body, "interactive")
    for field in ("type", "action"):
        if not interactive.get(field):
            raise required("interactive", field)
    action = interactive["action"]
    if not isinstance(action, dict):
        raise required("interactive", "action")
    # The buttons-count and row-count sentences are the platform's own (131009 answers
    # captured from the Cloud API); the others follow their form.
    if interactive["type"] == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= REPLY_BUTTONS_MAX:
            raise invalid_value(
                f"Invalid buttons count. Min allowed buttons: 1, "
                f"Max allowed buttons: {REPLY_BUTTONS_MAX}"
            )
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            title = reply.get("title") if isinstance(reply, dict) else None
            if not isinstance(title, str) or not 1 <= len(title) <= REPLY_BUTTON_TITLE_MAX:
                raise invalid_value(
                    "Button title length invalid. Min length: 1, "
                    f"Max length: {REPLY_BUTTON_TITLE_MAX}"
                )
    elif interactive["type"] == "list":
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= LIST_SECTIONS_MAX:
            raise invalid_value(
                f"Invalid sections count. Min allowed sections: 1, "
                f"Max allowed sections: {LIST_SECTIONS_MAX}"
            )
        rows = 0
        for section in sections:
            section_rows = section.get("rows") if isinstance(section, dict) else None
            rows += len(section_rows) if isinstance(section_rows, list) else 0
        if rows > LIST_ROWS_MAX:
            raise invalid_value(f"Total row count exceed max allowed count: {LIST_ROWS_MAX}")


def _validate_template(body: dict[str, Any]) -> None:
    template = _object(body, "template")
    if not template.get("name"):
        raise required("template", "name")
    language = template.get("language")
    if not isinstance(language, dict) or not language.get("code"):
        raise required("template", "language")
    # Meta's schema requires language['policy'], which its examples and the platform leave
    # out; when it is there, "deterministic" is its only value.
    policy = language.get("policy", "deterministic")
    if policy != "deterministic":
        raise invalid_parameter(
            f"Param template['language']['policy'] must be one of {{DETERMINISTIC}} "
            f'- got "{policy}".',
            'A template\'s language policy is "deterministic".',
        )
    components = template.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise invalid_parameter(
            "Param template['components'] must be an array of objects.",
            "A template's components are a list of objects, one per component.",
        )


def _validate_reaction(body: dict[str, Any]) -> None:
    reaction = _object(body, "reaction")
    if not reaction.get("message_id"):
        raise required("reaction", "message_id")
    if not isinstance(reaction.get("emoji", ""), str):
        raise invalid_parameter(
            "Param reaction['emoji'] must be a string.", "A reaction's emoji must be a string."
        )


_VALIDATORS = {
    "text": _validate_text,
    "location": _validate_location,
    "contacts": _validate_contacts,
    "interactive": _validate_interactive,
    "template": _validate_template,
    "reaction": _validate_reaction,
    **dict.fromkeys(MEDIA_TYPES, _validate_media),
}


def _validate_messaging_product(body: dict[str, Any]) -> None:
    product = body.get("messaging_product")
    if product is None:
        raise required("", "messaging_product")
    if product != "whatsapp":
        raise invalid_parameter(
            f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".',
            'messaging_product must be "whatsapp".',
        )


# A recipient as the platform takes it: digits, with an optional "+" and the separators
# people write numbers with; a letter makes it no number at all (it is not cut away).
_PHONE_NUMBER = re.compile(r"^\+?[0-9 ().-]*[0-9][0-9 ().-]*$")


def validate_send(body: Any) -> str:
    """Check a ``/messages`` send request as the platform does and return its message type.

    Raises ``GraphFault`` (HTTP 400) naming the first problem found: code 100 for what Graph
    finds parsing the request, 131008/131009 for values WhatsApp then refuses. References
    to things the platform keeps (media ids, templates) are checked by the caller.
    """
    if not isinstance(body, dict):
        raise invalid_parameter(
            "Invalid parameter", "The request body must be a JSON object describing a message."
        )
    _validate_messaging_product(body)
    # Meta's schema requires recipient_type ("individual"); its examples and the platform
    # do without it, so it is not asked for.
    to = body.get("to")
    if not isinstance(to, str) or not to.strip():
        raise required("", "to")
    if not _PHONE_NUMBER.match(to.strip()):
        raise invalid_value(f"The recipient '{to}' is not a phone number or WhatsApp id.")
    message_type = body.get("type", "text")
    if message_type not in MESSAGE_TYPES:
        allowed = ", ".join(t.upper() for t in sorted(MESSAGE_TYPES))
        raise invalid_parameter(
            f'Param type must be one of {{{allowed}}} - got "{message_type}".',
            f"Message type '{message_type}' is not supported.",
        )
    _VALIDATORS[message_type](body)
    return message_type


def media_references(body: dict[str, Any], message_type: str) -> list[tuple[str, str]]:
    """``(where, media id)`` for every uploaded file a valid send refers to by id, outside
    templates: the message's own media, and an interactive message's media header."""
    found: list[tuple[str, str]] = []
    if message_type in MEDIA_TYPES:
        media_ref = body[message_type].get("id")
        if media_ref:
            found.append((f"{message_type}['id']", str(media_ref)))
    elif message_type == "interactive":
        header = body["interactive"].get("header")
        if isinstance(header, dict) and header.get("type") in MEDIA_TYPES:
            kind = header["type"]
            media = header.get(kind)
            if isinstance(media, dict) and media.get("id"):
                found.append((f"interactive['header']['{kind}']['id']", str(media["id"])))
    return found


def validate_mark_read(body: dict[str, Any]) -> str:
    """Check a mark-as-read request and return the id of the message it marks."""
    _validate_messaging_product(body)
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise required("", "message_id")
    indicator = body.get("typing_indicator")
    if indicator is not None and (
        not isinstance(indicator, dict) or indicator.get("type") != "text"
    ):
        raise invalid_parameter(
            "Param typing_indicator['type'] must be one of {TEXT}.",
            'A typing indicator is {"type": "text"}.',
        )
    return message_id


# --- multipart uploads -----------------------------------------------------------------------


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Split a ``multipart/form-data`` body into ``{field: (data, content_type, filename)}``.

    Raises ``ValueError`` when the content type carries no boundary.
    """
    boundary = ""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise ValueError("multipart body without a boundary")
    fields: dict[str, tuple[bytes, str, str]] = {}
    delimiter = b"--" + boundary.encode()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = filename = ""
        part_type = "text/plain"
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            if header.strip().lower() == "content-type":
                part_type = value.strip()
            elif header.strip().lower() == "content-disposition":
                for param in value.split(";")[1:]:
                    key, _, raw = param.strip().partition("=")
                    if key.lower() == "name":
                        name = raw.strip('"')
                    elif key.lower() == "filename":
                        filename = raw.strip('"')
        if name:
            fields[name] = (data, part_type, filename)
    return fields


# --- business profiles and resumable uploads ---------------------------------------------------

PROFILE_FIELDS = ("about", "address", "description", "email", "websites", "vertical")
PROFILE_READ_FIELDS = (*PROFILE_FIELDS, "profile_picture_url")
PROFILE_VERTICALS = (
    "UNDEFINED",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "NOT_A_BIZ",
    # These four are in Meta's schema (WhatsAppBusinessVertical), not in the list above;
    # the schema in turn leaves out UNDEFINED, which the platform answers for a vertical
    # never set, and NOT_A_BIZ.
    "ALCOHOL",
    "ONLINE_GAMBLING",
    "PHYSICAL_GAMBLING",
    "OTC_DRUGS",
)
# Meta's schema limits description to 256 characters; its business profile reference and
# the platform allow 512, which is what is held to here.
PROFILE_TEXT_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
PROFILE_WEBSITES_MAX = 2
PROFILE_WEBSITE_MAX = 256
UPLOAD_FILE_TYPES = ("image/jpeg", "image/jpg", "image/png", "video/mp4", "application/pdf")


def upload_session_id() -> str:
    """A fresh resumable-upload session id, signed like the platform's (``upload:...?sig=...``)."""
    key = base64.urlsafe_b64encode(b"1:attachment:" + secrets.token_hex(12).encode()).decode()
    return f"upload:{key.rstrip('=')}?sig={secrets.token_urlsafe(12)}"


def file_handle(mime_type: str) -> str:
    """A fresh handle for an uploaded file, as the upload's last step answers it."""
    kind = base64.b64encode(mime_type.encode()).decode()
    return f"4::{kind}:{secrets.token_urlsafe(24)}"


def validate_business_profile(body: Any) -> dict[str, Any]:
    """Check a ``whatsapp_business_profile`` update as the platform does and return the
    fields it changes (``profile_picture_handle`` included when present).

    Raises ``GraphFault`` (HTTP 400, code 100) naming the first problem found.
    """
    if not isinstance(body, dict):
        raise invalid_parameter(
            "Invalid parameter", "The request body must be a JSON object of profile fields."
        )
    _validate_messaging_product(body)
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name == "messaging_product":
            continue
        if name == "profile_picture_handle":
            if not isinstance(value, str) or not value:
                raise invalid_parameter(
                    "Param profile_picture_handle must be a non-empty string.",
                    "A profile photo is set with the handle a resumable upload answered.",
                )
        elif name in PROFILE_TEXT_LIMITS:
            _validate_profile_text(name, value)
        elif name == "websites":
            _validate_websites(value)
        elif name == "vertical":
            if value != "" and value not in PROFILE_VERTICALS:
                raise invalid_parameter(
                    f"Param vertical must be one of {{{', '.join(PROFILE_VERTICALS)}}} "
                    f'- got "{value}".',
                    f"'{value}' is not an industry WhatsApp knows.",
                )
        else:
            raise invalid_parameter(
                f"Param {name} is not a valid parameter.",
                f"A business profile has no field '{name}'.",
            )
        changes[name] = value
    return changes


def _validate_profile_text(name: str, value: Any) -> None:
    limit = PROFILE_TEXT_LIMITS[name]
    if not isinstance(value, str):
        raise invalid_parameter(f"Param {name} must be a string.", f"'{name}' must be text.")
    if name == "about" and not value:
        raise invalid_parameter(
            "Param about must be at least 1 character long.", "The About text cannot be empty."
        )
    if len(value) > limit:
        raise invalid_parameter(
            f"Param {name} must be at most {limit} characters long.",
            f"'{name}' may hold at most {limit} characters; this one has {len(value)}.",
        )
    if name == "email" and value and not _looks_like_email(value):
        raise invalid_parameter(
            "Param email must be a valid email address.", f"'{value}' is not an email address."
        )


def _looks_like_email(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(local and at and "." in domain.strip(".") and not any(c.isspace() for c in value))


def _validate_websites(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(site, str) for site in value):
        raise invalid_parameter(
            "Param websites must be an array of strings.", "'websites' lists web addresses."
        )
    if len(value) > PROFILE_WEBSITES_MAX:
        raise invalid_parameter(
            f"Param websites must have at most {PROFILE_WEBSITES_MAX} elements.",
            f"A profile lists at most {PROFILE_WEBSITES_MAX} websites; this one has {len(value)}.",
        )
    for index, site in enumerate(value):
        if len(site) > PROFILE_WEBSITE_MAX:
            raise invalid_parameter(
                f"Param websites[{index}] must be at most {PROFILE_WEBSITE_MAX} characters long.",
                f"A web address may hold at most {PROFILE_WEBSITE_MAX} characters.",
            )
        scheme, sep, rest = site.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or "." not in rest.split("/")[0]:
            raise invalid_parameter(
                f"Param websites[{index}] must be a valid URL.",
                f"'{site}' must start with http:// or https://.",
            )
