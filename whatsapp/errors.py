"""What WhatsApp's error codes mean, and whether trying again can help."""

from __future__ import annotations

# Codes where the platform refused because of load or a passing fault: the
# message was not sent, and the same request may succeed a little later.
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})

WINDOW_CLOSED = 131047

MEANINGS: dict[int, str] = {
    1: "WhatsApp had an unknown error; trying again may help.",
    2: "WhatsApp is temporarily unavailable; trying again may help.",
    4: "Too many requests from this app; sending will resume shortly.",
    100: "WhatsApp rejected a parameter of the request.",
    190: "The access token has expired or is invalid; an admin must renew it.",
    368: "The number is temporarily blocked for policy violations.",
    80007: "The business account's rate limit was reached; sending will resume shortly.",
    130429: "The number's throughput limit was reached; sending will resume shortly.",
    131000: "Something went wrong at WhatsApp; trying again may help.",
    131005: "Access denied: the token lacks permission for this number.",
    131008: "A required parameter is missing.",
    131009: "A parameter value is not valid.",
    131016: "WhatsApp's service is overloaded; trying again may help.",
    131021: "The recipient is the sending number itself.",
    131026: "The message could not be delivered: the recipient may not use WhatsApp "
    "or runs an old version.",
    131030: "The recipient is not in the test number's allowed list.",
    131031: "The business account is locked.",
    131042: "There is a problem with the business account's payment method.",
    131045: "The number is not registered (certificate missing).",
    131047: "More than 24 hours have passed since the customer last wrote: "
    "only an approved template can be sent.",
    131048: "Sending was limited because customers reported this number as spam.",
    131049: "WhatsApp did not deliver this message to keep engagement healthy.",
    131050: "The customer has stopped receiving marketing messages from this business.",
    131051: "This message type is not supported.",
    131052: "The media could not be downloaded from the customer's message.",
    131053: "The media could not be uploaded.",
    131056: "Too many messages to this customer in a short time; sending will resume shortly.",
    132000: "The template's parameter count does not match its definition.",
    132001: "The template does not exist in this language.",
    132005: "The template's text is too long once its variables are filled in.",
    132007: "The template's content breaks WhatsApp's policy.",
    132012: "A template parameter has the wrong format.",
    132015: "The template is paused because of low quality.",
    132016: "The template is disabled.",
    132018: "A template parameter has a new line, a tab or more than 4 spaces in a row.",
    133004: "WhatsApp's server is temporarily unavailable; trying again may help.",
    133010: "The number is not registered with the Cloud API.",
}


def is_retryable(code: int | None) -> bool:
    return code in RETRYABLE_CODES


def meaning(code: int | None, fallback: str = "") -> str:
    """A sentence an operator understands, or ``fallback`` for an unknown code."""
    if code is None:
        return fallback
    return MEANINGS.get(code, fallback)


# Refusals a person may sensibly try again later by hand: passing faults once the
# automatic retries ran out, an expired token once an admin renewed it, and media
# that could not be fetched or uploaded this time.
MANUALLY_RETRYABLE_CODES = RETRYABLE_CODES | frozenset({190, 131052, 131053})


def manual_retry_may_help(code: int | None, *, window_open: bool) -> bool:
    """Whether sending a failed free-form message again may succeed.

    Never while the customer-service window is closed (only a template may be
    sent then). ``None`` (no answer, or an answer without a code) may help; a
    window-closed refusal helps once the customer wrote again; invalid
    parameters, unsupported types and policy refusals never do."""
    if not window_open:
        return False
    return code is None or code == WINDOW_CLOSED or code in MANUALLY_RETRYABLE_CODES


# The platform could not fetch or take a file: uploading it again may help.
MEDIA_ERROR_CODES = frozenset({131052, 131053})
