"""Run the WhatsApp Cloud API simulator as its own process.

    python -m simulator --app-webhook-url http://127.0.0.1:8000/webhooks/whatsapp/ \\
        --app-secret S --access-token T --port 8100 --chatter --auto-reply

Prints one line with its URLs when it is ready, logs every webhook it posts with the app's
HTTP status, and runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from simulator.core import Simulator


def build_parser() -> argparse.ArgumentParser:
    """The command line; every option falls back to an environment variable or a default."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description=(
            "A local stand-in for the WhatsApp Cloud API: serves the Graph API endpoints and "
            "posts signed webhooks (customer messages, delivery statuses) to the app."
        ),
    )
    parser.add_argument(
        "--app-webhook-url",
        default=env("SIM_APP_WEBHOOK_URL"),
        help="where webhooks are posted (env SIM_APP_WEBHOOK_URL)",
    )
    parser.add_argument(
        "--app-secret",
        default=env("WHATSAPP_APP_SECRET"),
        help="secret that signs webhooks (env WHATSAPP_APP_SECRET)",
    )
    parser.add_argument(
        "--access-token",
        default=env("WHATSAPP_ACCESS_TOKEN"),
        help="bearer token Graph API calls must carry (env WHATSAPP_ACCESS_TOKEN)",
    )
    parser.add_argument("--host", default=env("SIM_HOST", "127.0.0.1"), help="default 127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("SIM_PORT", "8100")),
        help="0 picks a free port (env SIM_PORT, default 8100)",
    )
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--display-phone-number", default="15550783881")
    parser.add_argument("--waba-id", default="102290129340398")
    parser.add_argument(
        "--status-delay",
        type=float,
        default=1.0,
        help="seconds between a send and each of its sent/delivered/read webhooks (default 1)",
    )
    parser.add_argument(
        "--template-review-delay",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds until a submitted message template is approved (or rejected, see "
        "POST /_sim/template-review and /_sim/template-review-rules) and its status webhook "
        "posted (default 5; a negative value: templates stay PENDING until POST "
        "/_sim/template-status)",
    )
    parser.add_argument(
        "--chatter",
        action="store_true",
        help="customers write support requests on their own now and then",
    )
    parser.add_argument(
        "--chatter-interval",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=(20.0, 45.0),
        help="seconds between chatter messages (default 20 45)",
    )
    parser.add_argument(
        "--chatter-non-text-share",
        type=float,
        default=0.25,
        metavar="SHARE",
        help="share of chatter messages that are photos, places, invoices, contact cards or "
        "reactions instead of text (default 0.25; 0 for text only)",
    )
    parser.add_argument(
        "--auto-reply",
        action="store_true",
        help="customers answer the texts the business sends them",
    )
    parser.add_argument(
        "--webhook-retries",
        type=int,
        default=3,
        help="extra attempts when the app does not answer 200 (default 3)",
    )
    parser.add_argument("--seed", type=int, default=None, help="repeatable customer wording")
    parser.add_argument("--verbose", action="store_true", help="also log every HTTP request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = [
        option
        for option, value in (
            ("--app-webhook-url", args.app_webhook_url),
            ("--app-secret", args.app_secret),
            ("--access-token", args.access_token),
        )
        if not value
    ]
    if missing:
        parser.error(f"missing {', '.join(missing)} (or the matching environment variable)")
    if not 0 <= args.chatter_non_text_share <= 1:
        parser.error("--chatter-non-text-share must be between 0 and 1")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s simulator %(message)s",
        datefmt="%H:%M:%S",
    )
    sim = Simulator(
        app_webhook_url=args.app_webhook_url,
        app_secret=args.app_secret,
        access_token=args.access_token,
        phone_number_id=args.phone_number_id,
        display_phone_number=args.display_phone_number,
        waba_id=args.waba_id,
        host=args.host,
        port=args.port,
        status_delay=args.status_delay,
        auto_reply=args.auto_reply,
        template_review_delay=(
            args.template_review_delay if args.template_review_delay >= 0 else None
        ),
        webhook_retries=args.webhook_retries,
        seed=args.seed,
    )
    done = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        sim.start()
    except OSError as exc:
        print(f"simulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    if args.chatter:
        low, high = args.chatter_interval
        sim.start_chatter(
            (low, high),
            first_after=min(5.0, low),
            non_text_share=args.chatter_non_text_share,
        )
    print(
        f"WhatsApp Cloud API simulator on {sim.base_url} (graph URL {sim.graph_url}), "
        f"webhooks to {args.app_webhook_url}",
        flush=True,
    )
    try:
        while not done.is_set():
            done.wait(0.5)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
