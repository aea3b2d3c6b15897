"""Start the whole product locally: the inbox (Daphne), the workspace timers
(``manage.py run_timers``) and an RQ worker when Redis is configured, and the
WhatsApp simulator with a few customers who write now and then.

Without configuration it runs on the embedded default (SQLite, in-memory channel
layer, jobs inline). With DATABASE_URL and REDIS_URL set it runs on PostgreSQL
and Redis. Stops everything on Ctrl-C.
"""

from __future__ import annotations

import argparse
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
