"""Daphne as the inbox runs it: ``python -m inbox.serve`` takes Daphne's own
options (``--proxy-headers -b 0.0.0.0 -p 8000 inbox.asgi:application``).

Three differences:

* The access log: Daphne writes every request line with its query string, and
  the platform's webhook handshake carries the verify token in it
  (``?hub.verify_token=...``). Secrets in a query string are written as
  ``[redacted]``, so no log line holds a token.
* Twisted parses the ``Content-Type`` of every POST with the standard library's
  e-mail header parser (to find form bodies, which ASGI never uses). Profiling
  the webhook under load found that parse at a tenth of a server's time, for the
  same few values over and over: the result is remembered per value.
* Once the server runs, everything made while starting (Django, the apps, their
  modules: over a hundred thousand objects) is moved out of the garbage
  collector's sight with ``gc.freeze()``. A full collection walked all of it, about
  70 ms during which no request and no live frame moved: the slowest live
  frames under load were those that waited for it.
"""

from __future__ import annotations

import functools
import gc
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from daphne import cli
from daphne.access import AccessLogGenerator
from twisted.internet import reactor
from twisted.web import http as twisted_http

# Query parameters whose values never reach a log.
SECRET_PARAMETERS = frozenset(
    {"hub.verify_token", "access_token", "token", "key", "password", "secret", "signature"}
)
REDACTED = "[redacted]"
# Distinct Content-Type values whose parse is remembered (clients send a handful).
CONTENT_TYPES_REMEMBERED = 64


def redact(path: str) -> str:
    """``path`` with the values of secret query parameters replaced."""
    parts = urlsplit(path)
    if not parts.query:
        return path
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name.lower() in SECRET_PARAMETERS for name, _ in pairs):
        return path
    query = urlencode(
        [(name, REDACTED if name.lower() in SECRET_PARAMETERS else value) for name, value in pairs],
        safe="[]",
    )
    return urlunsplit(parts._replace(query=query))


class RedactingAccessLog(AccessLogGenerator):
    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if "path" in details:
            details = {**details, "path": redact(str(details["path"]))}
        super().__call__(protocol, action, details)


def remember_content_types() -> None:
    """Make Twisted's Content-Type parse remember its answer for each value."""
    parse = twisted_http._parseContentType
    if not hasattr(parse, "cache_info"):
        twisted_http._parseContentType = functools.lru_cache(CONTENT_TYPES_REMEMBERED)(parse)


def freeze_startup_objects() -> None:
    """Leave what exists now (all of it made while starting) out of every later
    garbage collection."""
    gc.collect()
    gc.freeze()


def main() -> None:
    cli.AccessLogGenerator = RedactingAccessLog  # type: ignore[misc]
    remember_content_types()
    # The application is imported by then: Daphne imports it before it starts the reactor.
    reactor.callWhenRunning(freeze_startup_objects)
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
