"""Daphne as the inbox runs it: ``python -m inbox.serve`` takes Daphne's own
options (``--proxy-headers -b 0.0.0.0 -p 8000 inbox.asgi:application``).

Four differences:

* The access log: Daphne writes every request line with its query string, and
  the platform's webhook handshake carries the verify token in it
  (``?hub.verify_token=...``). Secrets in a query string are written as
  ``[redacted]``, so no log line holds a token.
* Twisted does not parse form bodies. It would, for every POST, in the server's
  one event loop thread: the ``Content-Type`` with the standard library's e-mail
  header parser (a tenth of a server's time under webhook load), and a
  ``multipart/form-data`` body whole with the e-mail parser (about half a second
  for a 10 MB upload, during which no other request and no live frame moved).
  ASGI hands the application the body as it came; nothing reads Twisted's parse.
* Once the server runs, everything made while starting (Django, the apps, their
  modules: over a hundred thousand objects) is moved out of the garbage
  collector's sight with ``gc.freeze()``. A full collection walked all of it, about
  70 ms during which no request and no live frame moved: the slowest live
  frames under load were those that waited for it.
* When the server has stopped (SIGTERM: Daphne cancels what is still running and
  stops its event loop), the process ends at once. A request's worker thread
  that was publishing a live event then waits forever for the stopped loop, and
  the interpreter would wait for that thread: a webhook arriving during a
  restart kept the process alive until it was killed. Nothing is lost: a webhook
  is answered only after its data is committed, and one whose answer never left
  is sent again by the platform (the inbox applies each event once).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from daphne import cli, http_protocol
from daphne.access import AccessLogGenerator
from twisted.internet import reactor

# Query parameters whose values never reach a log.
SECRET_PARAMETERS = frozenset(
    {"hub.verify_token", "access_token", "token", "key", "password", "secret", "signature"}
)
REDACTED = "[redacted]"


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


class FormlessRequest(http_protocol.WebRequest):
    """Daphne's request, without Twisted's parse of form bodies (see above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False


def freeze_startup_objects() -> None:
    """Leave what exists now (all of it made while starting) out of every later
    garbage collection."""
    gc.collect()
    gc.freeze()


def main() -> None:
    cli.AccessLogGenerator = RedactingAccessLog  # type: ignore[misc]
    # Daphne's protocol factory makes each request from this module-level name.
    http_protocol.WebRequest = FormlessRequest  # type: ignore[misc]
    # The application is imported by then: Daphne imports it before it starts the reactor.
    reactor.callWhenRunning(freeze_startup_objects)
    cli.CommandLineInterface.entrypoint()
    # The server has stopped: do not wait for worker threads (see above).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
