"""Webhooks against a real HTTP receiver on loopback: signed, every event arrives in order
per customer when the receiver comes back, nothing lost when the sender is killed midway,
nothing sent for a change rolled back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import data.webhooks as webhooks
from data import requests as svc
from data.clock import utcnow
from data.customers import find_customer, save_customer
from data.errors import PermissionDenied, ValidationFailed
from data.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from data.parameters import update_parameters
from data.webhooks import add_endpoint, deliver_due, replay, verify

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """An HTTP server on loopback that keeps what it is sent; ``answer`` is the status it
    gives (503: down), ``delay`` how long it takes to answer."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.answer, self.delay = 200, 0.0
        self.arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.arrived.set()
                time.sleep(owner.delay)
                if owner.answer == 200:
                    owner.received.append((dict(self.headers), body))
                self.send_response(owner.answer)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def endpoint(world, url, events=("request.submitted", "request.decided", "request.applied",
                                  "customer.changed")):  # fmt: skip
    made = world.act("admin", add_endpoint, url, list(events))
    return made.id, made.secret


def propose(world, account, limit):
    return world.act("clerk", save_customer, account, {"credit_limit": limit},
                     expected_version=world.version_of(account)).request.id  # fmt: skip


def drain(world, rounds=20):
    for _ in range(rounds):
        if not deliver_due(world.db):
            return


def test_each_event_is_signed_and_the_seeds_scenario_is_told(world, receiver):
    _id, secret = endpoint(world, receiver.url)
    request_id = propose(world, "C001", "20000")
    world.act("clerk", svc.submit, request_id)
    world.act("approver", svc.approve, request_id, "ok", seen_round=1)
    drain(world)
    kinds = [event["type"] for event in receiver.events()]
    assert kinds == ["request.submitted", "customer.changed", "request.decided", "request.applied"]
    assert receiver.events()[1]["data"]["changes"][0] == {
        "field": "credit_limit", "old_value": "10000.00", "new_value": "20000.00",
        "source": "approved_request", "request_id": request_id, "batch_id": None}
    for headers, body in receiver.received:
        assert verify(secret, headers["Countersign-Signature"], body)
        assert headers["Countersign-Event-Id"] == json.loads(body)["id"]
        assert not verify(secret, headers["Countersign-Signature"], body + b" ")
        assert not verify("whsec_other", headers["Countersign-Signature"], body)
    assert len({event["id"] for event in receiver.events()}) == 4
    assert world.query(lambda s: {d.state for d in s.scalars(select(WebhookDelivery))}) == {"delivered"}


def test_the_receiver_down_then_up_gets_every_event_in_order_per_customer(world, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "FIRST_RETRY", 0.0)  # retries are due at once
    endpoint(world, receiver.url, ["customer.changed", "request.submitted"])
    since = world.query(lambda s: s.scalar(select(func.max(OutboxEvent.id)))) or 0  # from here
    world.customer("C002")
    receiver.answer = 503
    for limit in ("11000", "12000", "13000"):
        for account in ("C001", "C002"):
            world.act("admin", update_parameters, data_entity_behavior="allow")
            request_id = propose(world, account, limit)
            world.act("clerk", svc.submit, request_id)
            world.act("clerk", svc.recall, request_id)
            world.act("clerk", svc.discard_all, request_id)
    deliver_due(world.db)
    deliver_due(world.db)
    failed = world.query(lambda s: s.query(WebhookAttempt).filter(WebhookAttempt.status == 503).count())
    assert failed >= 2 and receiver.received == []
    receiver.answer = 200
    drain(world, rounds=200)
    sent = world.query(lambda s: [(e.event_id, e.account) for e in s.scalars(
        select(OutboxEvent).where(OutboxEvent.kind.in_(["customer.changed", "request.submitted"]),
                                  OutboxEvent.id > since).order_by(OutboxEvent.id))])
    got = [(event["id"], event["data"]["customer"]) for event in receiver.events()]
    assert got == sent  # every event, each once, in the order they happened
    for account in ("C001", "C002"):
        assert [i for i, a in got if a == account] == [i for i, a in sent if a == account]


def test_the_sender_killed_midway_loses_nothing(db, receiver, tmp_path):
    from tests.conftest import World

    world = World(db)
    endpoint(world, receiver.url, ["request.submitted"])
    world.customer("C002")
    for account in ("C001", "C002"):
        world.act("clerk", svc.submit, propose(world, account, "20000"))
    receiver.delay = 30.0  # the first delivery hangs: the sender is killed while it waits
    env = {**os.environ, "DATABASE_URL": db.url, "SECRET_KEY": "k", "PYTHONPATH": str(ROOT)}
    sender = subprocess.Popen([sys.executable, "-m", "data.cli", "deliver"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert receiver.arrived.wait(60), sender.stderr.read() if sender.poll() is not None else ""
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
    assert receiver.received == []
    assert world.query(lambda s: {d.state for d in s.scalars(select(WebhookDelivery))}) == {"pending"}
    receiver.delay = 0.0
    drain(world)  # the dead sender's lease still holds the endpoint: nobody sends yet
    assert receiver.received == []
    with world.db.session() as session:  # a minute later, the lease has run out
        session.execute(update(WebhookEndpoint).values(busy_until=utcnow() - timedelta(seconds=1)))
    drain(world)
    sent = world.query(lambda s: [e.event_id for e in s.scalars(select(OutboxEvent).where(
        OutboxEvent.kind == "request.submitted").order_by(OutboxEvent.id))])
    assert [event["id"] for event in receiver.events()] == sent and len(sent) == 2


def test_a_change_rolled_back_sends_nothing(world, receiver):
    endpoint(world, receiver.url)
    before = world.query(lambda s: s.query(OutboxEvent).count())
    with pytest.raises(ValidationFailed):
        world.act("clerk", save_customer, "C001", {"city": "Parma", "credit_limit": "-1"},
                  expected_version=world.version_of("C001"))
    assert world.query(lambda s: s.query(OutboxEvent).count()) == before
    drain(world)
    assert receiver.received == []


def test_endpoints_are_for_admins_and_a_bad_one_is_refused_naming_the_field(world, receiver):
    with pytest.raises(PermissionDenied):
        world.act("clerk", add_endpoint, receiver.url, ["customer.changed"])
    with pytest.raises(ValidationFailed) as refused:
        world.act("admin", add_endpoint, "ftp://example.com/x", ["customer.exploded"])
    assert set(refused.value.errors) == {"url", "events"}


def test_an_admin_replays_a_delivery(world, receiver):
    endpoint(world, receiver.url, ["request.submitted"])
    world.act("clerk", svc.submit, propose(world, "C001", "20000"))
    drain(world)
    delivery_id = world.query(lambda s: s.scalar(select(WebhookDelivery.id)))
    world.act("admin", replay, delivery_id)
    drain(world)
    assert [event["type"] for event in receiver.events()] == ["request.submitted"] * 2
    assert receiver.events()[0]["id"] == receiver.events()[1]["id"]  # the receiver dedupes


def test_one_sender_per_database_and_another_takes_over(world, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TAKE_OVER_EVERY", 0.05)
    endpoint(world, receiver.url, ["request.submitted"])
    runs: list[str] = []
    real = webhooks._deliver_until
    monkeypatch.setattr(webhooks, "_deliver_until", lambda *args: (
        runs.append(threading.current_thread().name), real(*args)))

    def wait_for(condition, seconds=10):
        deadline = time.time() + seconds
        while not condition() and time.time() < deadline:
            time.sleep(0.02)
        assert condition()

    stops = {name: threading.Event() for name in ("first", "second")}
    threads = {name: threading.Thread(target=webhooks.run_worker, args=(world.db, stop),
                                      name=name, daemon=True) for name, stop in stops.items()}
    threads["first"].start()
    wait_for(lambda: runs == ["first"])
    threads["second"].start()
    time.sleep(0.3)
    assert runs == ["first"]  # the first holds the database's sender lock
    stops["first"].set()
    threads["first"].join(5)
    # the first has stopped: the second takes over and delivers what happens next
    world.act("clerk", svc.submit, propose(world, "C001", "20000"))
    wait_for(lambda: bool(receiver.received))
    stops["second"].set()
    threads["second"].join(5)
    assert runs == ["first", "second"]
    assert [e["type"] for e in receiver.events()] == ["request.submitted"]


def test_nothing_is_written_to_the_outbox_while_nobody_listens(world):
    world.act("clerk", svc.submit, propose(world, "C001", "20000"))
    assert world.query(lambda s: s.query(OutboxEvent).count()) == 0
    world.act("admin", add_endpoint, "https://crm.example/hook", ["request.decided"])
    world.customer("C002")  # a customer.changed: nobody listens for it
    world.act("approver", svc.approve, 1, None, seen_round=1)
    assert world.query(lambda s: [e.kind for e in s.query(OutboxEvent)]) == ["request.decided"]


REDIS_URL = os.environ.get("TEST_WEBHOOK_REDIS_URL", "redis://127.0.0.1:6379/14")


def _worker_ready(log: Path, worker: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "ready" not in log.read_text():
        assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)


def test_with_celery_a_worker_delivers_as_soon_as_the_change_commits(db, receiver, tmp_path):
    """COUNTERSIGN_JOBS_URL set: the app starts no sender of its own; the commit that wrote
    the events queues a pass, and a Celery worker (another process) sends them."""
    pytest.importorskip("celery")
    from tests.api.conftest import build_api
    from tests.callbacks.test_background_imports import _redis_reachable

    if not _redis_reachable(REDIS_URL):
        pytest.skip(f"no Redis at {REDIS_URL} (set TEST_WEBHOOK_REDIS_URL to run this)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    before = {thread.name for thread in threading.enumerate()}
    api = build_api(db, jobs_url=REDIS_URL, webhook_worker=True)
    assert "countersign-webhooks" not in {t.name for t in threading.enumerate()} - before
    _id, secret = endpoint(api.world, receiver.url, ["customer.changed"])
    log_path = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": db.url, "SECRET_KEY": "k", "COUNTERSIGN_DEMO": "0",
           "COUNTERSIGN_JOBS_URL": REDIS_URL}  # fmt: skip
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "app:celery_app", "worker", "--pool=solo",
             "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _worker_ready(log_path, worker)
            call = api.as_user("clerk")
            for city in ("Lodi", "Como"):
                etag = call("GET", "/api/v1/customers/C001").headers["ETag"]
                changed = call("PATCH", "/api/v1/customers/C001", json={"city": city},
                               headers={"If-Match": etag})  # fmt: skip
                assert changed.status_code == 200, changed.json
            deadline = time.monotonic() + 60
            while len(receiver.received) < 2 and time.monotonic() < deadline:
                assert worker.poll() is None, log_path.read_text()[-2000:]
                time.sleep(0.1)
        finally:
            worker.terminate()
            worker.wait(timeout=20)
    cities = [event["data"]["changes"][0]["new_value"] for event in receiver.events()]
    assert cities == ["Lodi", "Como"], log_path.read_text()[-2000:]
    assert all(verify(secret, headers["Countersign-Signature"], body)
               for headers, body in receiver.received)  # fmt: skip


def test_a_queue_that_is_down_does_not_undo_the_change(db, receiver):
    """The pass is queued after the commit: a Redis that cannot be reached is logged, the
    change stands, and its events wait in the outbox for the next pass."""
    pytest.importorskip("celery")
    from tests.api.conftest import build_api

    api = build_api(db, jobs_url="redis://127.0.0.1:9/0")  # nothing listens on port 9
    endpoint(api.world, receiver.url, ["customer.changed"])
    call = api.as_user("clerk")
    etag = call("GET", "/api/v1/customers/C001").headers["ETag"]
    changed = call("PATCH", "/api/v1/customers/C001", json={"city": "Lodi"},
                   headers={"If-Match": etag})  # fmt: skip
    assert changed.status_code == 200, changed.json
    assert api.world.query(lambda s: find_customer(s, "C001").city) == "Lodi"
    drain(api.world)
    assert [e["data"]["changes"][0]["new_value"] for e in receiver.events()] == ["Lodi"]
