"""Start the whole product locally: the inbox (Daphne), the workspace timers
(``manage.py run_timers``) and an RQ worker when Redis is configured, and the
WhatsApp simulator with a few customers who write now and then.

Without configuration it runs on the embedded default (SQLite, in-memory channel
layer, jobs inline). With DATABASE_URL and REDIS_URL set it runs on PostgreSQL
and Redis. Stops everything on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--sim-port", type=int, default=8100)
    parser.add_argument("--password", default="demo-inbox-2026")
    parser.add_argument("--no-chatter", action="store_true", help="customers write only when asked")
    args = parser.parse_args()

    env = os.environ.copy()
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("DJANGO_ALLOWED_HOSTS", f"{args.host},localhost,127.0.0.1")
    env.setdefault("WHATSAPP_APP_SECRET", secrets.token_hex(16))
    env.setdefault("WHATSAPP_ACCESS_TOKEN", "demo-" + secrets.token_hex(16))
    env.setdefault("WHATSAPP_VERIFY_TOKEN", "demo-verify")
    env["WHATSAPP_GRAPH_URL"] = f"http://127.0.0.1:{args.sim_port}/v23.0"
    mode = "PostgreSQL + Redis" if env.get("DATABASE_URL") and env.get("REDIS_URL") else "embedded"

    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True)
    logins = subprocess.run(
        [*manage, "demo_setup", "--password", args.password],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    subprocess.run([*manage, "demo_sla"], env=env, cwd=ROOT, check=True, capture_output=True)

    processes: list[subprocess.Popen[bytes]] = []

    def start(command: list[str]) -> None:
        processes.append(subprocess.Popen(command, env=env, cwd=ROOT))

    start(
        [
            PYTHON,
            "-m",
            "inbox.serve",
            "-b",
            args.host,
            "-p",
            str(args.port),
            "inbox.asgi:application",
        ]
    )
    if env.get("REDIS_URL"):
        # Snooze wake-ups, escalations and team queues run on a clock, not only on
        # events (embedded: a task inside the Daphne process, see inbox/asgi.py).
        start([*manage, "run_timers", "--every", "10"])
        start([*manage, "rqworker", "default", "--with-scheduler"])
    _wait_for(f"http://{args.host}:{args.port}/health/")
    simulator = [
        PYTHON,
        "-m",
        "simulator",
        "--app-webhook-url",
        f"http://{args.host}:{args.port}/webhooks/whatsapp/",
        "--app-secret",
        env["WHATSAPP_APP_SECRET"],
        "--access-token",
        env["WHATSAPP_ACCESS_TOKEN"],
        "--port",
        str(args.sim_port),
        "--auto-reply",
    ]
    if not args.no_chatter:
        simulator.append("--chatter")
    start(simulator)
    # The demo number's business profile goes to the simulator once it answers.
    _wait_for(f"http://127.0.0.1:{args.sim_port}/_sim/health")
    subprocess.run([*manage, "push_business_profiles"], env=env, cwd=ROOT, check=False)
    # The account already has a few approved templates, made in WhatsApp Manager as
    # it were: the inbox finds them by reconciling. Its review rejects promotions.
    _seed_templates(f"http://127.0.0.1:{args.sim_port}", env["WHATSAPP_ACCESS_TOKEN"])
    subprocess.run([*manage, "sync_templates"], env=env, cwd=ROOT, check=False)

    print(
        f"\nInbox demo ({mode}) is running at http://{args.host}:{args.port}/\n"
        f"Log in with one of these (username / password):\n{logins}"
        f"WhatsApp simulator: http://127.0.0.1:{args.sim_port}/  "
        f"(make a customer write: curl -X POST "
        f"http://127.0.0.1:{args.sim_port}/_sim/customers/16505551234/messages "
        '-d \'{"text": "Hello!"}\'; or -d \'{"type": "image", "caption": "Broken box"}\')\n'
        "API docs: /api/docs/   Admin: /admin/   Stop with Ctrl-C.\n",
        flush=True,
    )

    def stop(*_: object) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


DEMO_WABA_ID = "102290129340398"
DEMO_TEMPLATES = [
    {
        "name": "order_shipped",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hello {{1}}, your order {{2}} has shipped and will arrive on {{3}}.",
                "example": {"body_text": [["Anna", "A-1042", "Friday"]]},
            },
            {"type": "FOOTER", "text": "Acme Shop"},
        ],
    },
    {
        "name": "order_shipped",
        "language": "ru",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Здравствуйте, {{1}}! Ваш заказ {{2}} отправлен и прибудет {{3}}.",
                "example": {"body_text": [["Анна", "A-1042", "в пятницу"]]},
            },
            {"type": "FOOTER", "text": "Acme Shop"},
        ],
    },
    {
        "name": "still_need_help",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hello {{1}}, we are following up on your request about order {{2}}. "
                "Reply to this message if you still need help.",
                "example": {"body_text": [["Anna", "A-1042"]]},
            },
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "I still need help"}]},
        ],
    },
]
PROMOTION_WORDS = ["discount", "sale", "coupon", "скидк", "акци", "sconto", "offerta", "rabat"]


def _seed_templates(sim_url: str, token: str) -> None:
    """Give the simulated account its approved templates and its review rules."""
    _post_json(
        f"{sim_url}/_sim/template-review-rules",
        {"reject_words": PROMOTION_WORDS, "reason": "PROMOTIONAL", "delay": 3},
    )
    for template in DEMO_TEMPLATES:
        _post_json(
            f"{sim_url}/v23.0/{DEMO_WABA_ID}/message_templates",
            template,
            headers={"Authorization": f"Bearer {token}"},
        )
        _post_json(
            f"{sim_url}/_sim/template-status",
            {"name": template["name"], "language": template["language"], "status": "APPROVED"},
        )


def _post_json(url: str, body: dict[str, object], headers: dict[str, str] | None = None) -> None:
    request = urllib.request.Request(  # noqa: S310 (the local simulator)
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (the local simulator)
            pass
    except OSError as exc:
        print(f"could not prepare the demo's templates ({url}): {exc}", file=sys.stderr)


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (local health check)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the inbox did not answer at {url}")


if __name__ == "__main__":
    sys.exit(main())
