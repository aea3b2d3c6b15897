"""An RQ worker is killed (SIGKILL, with the work horse it forked) while it sends replies.

Operators' replies wait in the queue; a worker started as the Procfile starts it
sends them to the simulated Graph API through a proxy that holds one send on its
way, and is killed while that one is in flight. Another worker then takes over. Every
reply must end sent exactly once, or failed with a reason the operator can read;
none may reach the customer twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from conversations import services
from conversations.models import STATUS_RANK, Conversation, Message
from inbox.tests.conftest import (
    BIN,
    PROJECT_ROOT,
    Service,
    answers_health,
    database_url,
    free_port,
    wait_until,
    web_command,
)
from inbox.tests.tcp_proxy import TcpProxy
from inbox.tests.test_scale_out import procfile_commands
from simulator import Simulator

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
REDIS = os.environ.get("REDIS_URL", "").startswith(("redis://", "rediss://", "unix://"))
pytestmark = pytest.mark.skipif(
    not (POSTGRES and REDIS), reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
)

REPLIES = 12
# What a reply that reached WhatsApp ends as: the simulator reports it sent,
# delivered and read. "accepted" is only on the way there, and would hide a late
# answer of the send moving a status back.
SETTLED = {"read"}


@dataclass
class Stack:
    sim: Simulator
    proxy: TcpProxy
    env: dict[str, str]
    logs: Path
    services: list[Service] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """A worker as the Procfile starts it, in its own process group (with the
        work horse it forks for each job), so that it can be killed whole."""
        with (self.logs / f"{name}.log").open("wb") as log:
            worker = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {procfile_commands()['worker']}"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and everything it started, as a machine dying would
        (RQ puts each job's work horse in a process group of its own)."""
        family = descendants(worker.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.wait()


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture
def stack(transactional_db: None, tmp_path: Path) -> Iterator[Stack]:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    port = free_port()
    sim = Simulator(
        app_webhook_url=f"http://127.0.0.1:{port}/webhooks/whatsapp/",
        app_secret=os.environ["WHATSAPP_APP_SECRET"],
        access_token=os.environ["WHATSAPP_ACCESS_TOKEN"],
        status_delay=0.05,
    ).start()
    sim_port = int(re.search(r":(\d+)/", sim.graph_url + "/").group(1))  # type: ignore[union-attr]
    proxy = TcpProxy("127.0.0.1", sim_port).start()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url(connection.settings_dict),
        "DATABASE_POOL_MAX": "4",
        "CHANNEL_LAYER_PREFIX": f"inbox-worker-{uuid.uuid4().hex[:12]}",
        # The workers reach WhatsApp through the proxy; Daphne only takes webhooks.
        "WHATSAPP_GRAPH_URL": sim.graph_url.replace(f":{sim_port}/", f":{proxy.port}/"),
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    stack = Stack(sim=sim, proxy=proxy, env=env, logs=tmp_path)
    try:
        daphne = Service.start(
            "daphne",
            web_command(port),
            {**env, "WHATSAPP_GRAPH_URL": sim.graph_url},
            tmp_path,
        )
        stack.services.append(daphne)
        wait_until(lambda: answers_health(f"http://127.0.0.1:{port}/health/"), "/health/", [daphne])
        yield stack
    finally:
        for worker in stack.workers:
            if worker.poll() is None:
                stack.kill(worker)
        sim.stop()
        for service in stack.services:
            service.stop()
        proxy.stop()


def wait_for(condition, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("in_flight", ["reached WhatsApp", "lost on the way"])
def test_a_worker_killed_mid_send_leaves_every_reply_sent_once_or_failed_with_a_reason(
    stack: Stack, in_flight: str
) -> None:
    sim = stack.sim
    services.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Acme Shop",
    )
    olga = User.objects.create_user(username="olga", password="x")
    assert (
        sim.customer_says("16505550181", "Where are my parcels?", name="Ana")["status_code"] == 200
    )
    conversation = Conversation.objects.get(contact__wa_id="16505550181")
    replies = [
        services.message_send_text(conversation=conversation, text=f"Parcel {n}", user=olga)
        for n in range(REPLIES)
    ]
    assert redis.Redis.from_url(os.environ["REDIS_URL"]).llen("rq:queue:default") == REPLIES

    lost = in_flight == "lost on the way"
    # Three replies go out; the fourth is held on its way to WhatsApp and the worker
    # is killed while it waits for the answer. The held request then reaches
    # WhatsApp, or is lost with its connection.
    stack.proxy.stall(b"/messages", after=3)
    first = stack.start_worker("worker1")
    wait_for(stack.proxy.stalled.is_set, "a send in flight")
    stack.kill(first)
    killed_at = len(sim.sent_messages())
    assert killed_at == 3
    stack.proxy.release(deliver=not lost)

    stack.start_worker("worker2")
    wait_for(
        lambda: not Message.objects.filter(direction="out", status="queued").exists(),
        "the queue to drain",
    )
    # The reply the killed worker had taken is left "sending" until WhatsApp's status
    # webhooks (if it arrived) or the clock (if it did not) settle it.
    sending = Message.objects.filter(direction="out", status="sending")
    wait_for(lambda: sending.count() <= int(lost), "the sends to settle", timeout=20)
    services.timers_run(now=timezone.now() + dt.timedelta(minutes=10))
    wait_for(
        lambda: (
            not Message.objects.filter(direction="out")
            .exclude(status__in=[*SETTLED, "failed"])
            .exists()
        ),
        "every reply to be read or failed",
        timeout=20,
    )

    sends = Counter(
        record["payload"].get("biz_opaque_callback_data") for record in sim.sent_messages()
    )
    # The furthest status WhatsApp's webhooks took each message to.
    reported: dict[str, int] = {}
    for kind, wamid, answered in list(sim.webhook_log):
        if kind in STATUS_RANK and answered == 200:
            reported[wamid] = max(reported.get(wamid, -1), STATUS_RANK[kind])
    outcomes = {}
    for reply in replies:
        reply.refresh_from_db()
        outcomes[reply.text] = reply.status
        assert STATUS_RANK[reply.status] >= reported.get(reply.wamid, -1), (
            f"{reply.text} went back to {reply.status}"
        )
        assert sends[str(reply.id)] <= 1, f"{reply.text} reached the customer twice"
        if reply.status in SETTLED:
            assert sends[str(reply.id)] == 1
        else:
            assert reply.status == "failed", f"{reply.text} is left {reply.status}"
            assert reply.error_title and reply.error_details
    # The second worker really took over the queue the first one left.
    assert len(sim.sent_messages()) > killed_at
    failed = [r for r in replies if r.status == "failed"]
    if lost:
        # The send the killed worker had in flight never arrived: that reply alone
        # fails, saying it was interrupted; every other one was sent once.
        assert [r.error_title for r in failed] == ["Sending was interrupted"], outcomes
        assert sends[str(failed[0].id)] == 0
    else:
        # It arrived: WhatsApp's status webhooks (our id as callback data) settle it.
        assert failed == [], outcomes
    assert sum(sends[str(r.id)] for r in replies) == REPLIES - len(failed)


@pytest.mark.parametrize("in_flight", ["reached WhatsApp", "lost on the way"])
def test_a_worker_killed_while_submitting_a_template_submits_it_exactly_once(
    stack: Stack, in_flight: str
) -> None:
    from templates_app import services as template_services
    from templates_app.models import MessageTemplate

    sim = stack.sim
    services.number_register(
        phone_number_id=sim.phone_number_id,
        display_phone_number=sim.display_phone_number,
        waba_id=sim.waba_id,
        name="Acme Shop",
    )
    template = template_services.template_create(
        actor=None,
        waba_id=sim.waba_id,
        name="order_shipped",
        language="en_US",
        category="UTILITY",
        components=[
            {
                "type": "BODY",
                "text": "Hello {{1}}, your order {{2}} has shipped and will arrive on {{3}}.",
                "example": {"body_text": [["Anna", "A-1042", "Friday"]]},
            }
        ],
    )
    # The creation is held on its way to WhatsApp and the worker killed meanwhile; the
    # held request then reaches WhatsApp, or is lost with its connection.
    stack.proxy.stall(f"POST /v23.0/{sim.waba_id}/message_templates".encode(), after=0)
    template_services.template_submit(actor=None, template=template)
    first = stack.start_worker("worker1")
    wait_for(stack.proxy.stalled.is_set, "the submission in flight")
    stack.kill(first)
    stack.proxy.release(deliver=in_flight == "reached WhatsApp")
    assert MessageTemplate.objects.get(pk=template.pk).status == "SUBMITTING"

    stack.start_worker("worker2")
    # The clock hands a submission whose job died to a new job.
    services.timers_run(now=timezone.now() + dt.timedelta(minutes=10))
    wait_for(
        lambda: MessageTemplate.objects.get(pk=template.pk).status != "SUBMITTING",
        "the new job to settle the submission",
    )
    template.refresh_from_db()
    held = [t for t in sim.templates if t["name"] == "order_shipped"]
    assert len(held) == 1, held
    assert template.platform_id == str(held[0]["id"])
    assert template.status in ("PENDING", "APPROVED")
