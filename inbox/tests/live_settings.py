"""Settings for the live stack's processes (Daphne, the RQ worker): the project's
settings with the channel layer under this run's own prefix.

Redis pub/sub channels are shared by every database of a Redis server, so two
test runs on one machine would otherwise hear each other's live events.
"""

import os

from inbox.settings import *  # noqa: F403
from inbox.settings import CHANNEL_LAYERS

_PREFIX = os.environ.get("INBOX_CHANNEL_PREFIX")
if _PREFIX and "CONFIG" in CHANNEL_LAYERS["default"]:
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = _PREFIX
