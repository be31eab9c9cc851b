"""Benchmark: concurrent approvals through gunicorn on PostgreSQL, and a check that none was lost.

A scratch PostgreSQL database gets 20,000 customers and pending requests (one
change each, on hold No → Invoice), each asking eight approvers. gunicorn
serves the app with several workers on loopback; first one client, then
eight, send the request page's Approve callback for distinct requests, as
their browsers would, for a fixed time each. Afterwards every approval must
have been applied exactly once: one "applied" event, one audit entry, the
customer's new value, and no request approved that no client saw approved.

Needs a PostgreSQL server: BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names one to create the
scratch database on; without one it says so and stops.

Run with `make bench` (or `python -m tests.perf.bench_approvals [seconds] [workers]`).
"""

from __future__ import annotations

import base64
import os
import queue
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-secret"
CLIENTS = 8
REQUESTS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scratch_database() -> tuple[str, callable]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"countersign_bench_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return url, drop


def fill(url: str) -> dict:
    from data.db import Database, upgrade_database
    from data.generate import generate_customers, generate_history
    from data.parameters import ensure_defaults
    from data.users import add_user

    upgrade_database(url)
    database = Database(url)
    generate_customers(database, REQUESTS)
    with database.session() as session:
        ensure_defaults(session)
        clerk = add_user(session, "clerk", "Clerk", "bench-pw", ["clerk"]).id
        approvers = tuple(
            add_user(session, f"approver{n}", f"Approver {n}", "bench-pw", ["approver"]).id
            for n in range(CLIENTS)
        )
    generate_history(database, REQUESTS, clerk_id=clerk, approver_ids=approvers,
                     finance_id=approvers[0], days=1, all_pending=True,
                     fields=("on_hold",))  # fmt: skip
    with database.session() as session:
        from data.models import ChangeRequest

        ids = list(session.scalars(select(ChangeRequest.id).order_by(ChangeRequest.id)))
    database.dispose()
    return {"approvers": approvers, "request_ids": ids}


def session_cookie(user_id: int) -> str:
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    flask_app = Flask("bench")
    flask_app.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(flask_app)
    return serializer.dumps({"_user_id": str(user_id), "_fresh": True})


def start_gunicorn(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the app on a free loopback port; returns once it answers."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "COUNTERSIGN_DEMO": "0",
           "COUNTERSIGN_JOBS_DIR": tempfile.mkdtemp(prefix="countersign-jobs-")}  # fmt: skip
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b",
         f"127.0.0.1:{port}", "--log-level", "warning", "app:server"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if requests.get(f"{base}/login", timeout=10).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return server, base


def post_callback(http: requests.Session, base: str, body: dict, timeout: float = 60):
    """POST a callback as the browser does, following a background callback to its result."""
    response = http.post(f"{base}/_dash-update-component", json=body, timeout=timeout)
    if response.status_code != 200 or b'"cacheKey"' not in response.content[:200]:
        return response
    handles = response.json()
    query = {"cacheKey": handles["cacheKey"], "job": handles["job"]}
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        time.sleep(0.05)
        response = http.post(f"{base}/_dash-update-component", json=body, params=query,
                             timeout=timeout)  # fmt: skip
        if response.status_code != 200 or b'"response"' in response.content:
            return response
    return response


class Payloads:
    """Callback bodies built from the app's own callback map."""

    def __init__(self):

        from app import create_app
        from components.editor import FIELD_NAMES
        from data.config import Settings

        folder = tempfile.mkdtemp()
        self.app = create_app(Settings(database_url=f"sqlite:///{folder}/map.db", secret_key="x",
                                       demo=False, host="", port=0))  # fmt: skip
        self.app.server.test_client().get("/login")  # the pages router registers on a request
        self.fields = FIELD_NAMES

    def key(self, fragment):
        from tests.dash_http import find_output_key

        return find_output_key(self.app, fragment)

    def by_key(self, key, values, matches=None, changed=None):
        from tests.dash_http import callback_payload

        return callback_payload(self.app, key, values, matches or {}, changed=changed)

    def body(self, fragment, values, matches=None, changed=None):
        from tests.dash_http import callback_payload, find_output_key

        key = find_output_key(self.app, fragment)
        return callback_payload(self.app, key, values, matches or {}, changed=changed)

    def editor(self, account, trigger, changes=None, request_id=None, version=1):
        fields = [{"type": "cs-field", "name": n} for n in self.fields]
        values = {
            ("cs-field", "value"): [(changes or {}).get(n) for n in self.fields],
            ("cs-editor", "data"): {"account": account, "version": version,
                                    "request_id": request_id,
                                    "shown": {n: "" for n in self.fields}},
        }  # fmt: skip
        feedback = [{"type": "cs-feedback", "name": n} for n in self.fields]
        hints = [{"type": "cs-proposed", "name": n} for n in self.fields]
        matches = {"cs-field": fields, "cs-feedback": feedback, "cs-proposed": hints}
        if trigger == "save":
            values[("cs-save", "n_clicks")] = 1
            changed = "cs-save.n_clicks"
        else:
            matches["cs-action"] = [{"type": "cs-action", "action": trigger}]
            values[("cs-action", "n_clicks")] = [1]
            changed = f'{{"action":"{trigger}","type":"cs-action"}}.n_clicks'
        return self.body("cs-editor.data", values, matches, changed)

    def inbox(self, opened=False):
        """The inbox's Waiting tab chosen; ``opened``: the inbox as the page opens, its
        tabs counted too."""
        return self.body("inbox-grid.rowData", {("inbox-tabs", "value"): "waiting"},
                         changed=None if opened else "inbox-tabs.value")  # fmt: skip

    def approve(self, request_id, confirm=False, seen_round=1):
        return self.body("rq-body.children...rq-alert.children..",
                         {("rq-action", "n_clicks"): [1], ("rq-id", "data"): request_id,
                          ("rq-confirm-stale", "value"): confirm,
                          ("rq-seen-round", "data"): seen_round},
                         {"rq-action": [{"type": "rq-action", "action": "approve"}]},
                         '{"action":"approve","type":"rq-action"}.n_clicks')  # fmt: skip

    def imported(self, accounts):
        lines = "".join(f"{a},Soak {random.randrange(10**6)}\n" for a in accounts)
        content = base64.b64encode(("account,city\n" + lines).encode()).decode()
        stored = {"filename": "soak.csv", "contents": f"data:text/csv;base64,{content}",
                  "token": str(random.randrange(10**12))}  # fmt: skip
        return self.body("imp-batches.children", {("imp-run", "n_clicks"): 1,
                                                  ("imp-file", "data"): stored},
                         changed="imp-run.n_clicks")  # fmt: skip

    def pending(self):
        return self.body("pd-body.children", {("pd-days", "value"): "30", ("cs-tz", "data"): 0},
                         changed="pd-days.value")  # fmt: skip

    def throughput(self):
        return self.body("tp-body.children", {("tp-grouping", "value"): "week",
                                              ("cs-tz", "data"): 0},
                         changed="tp-grouping.value")  # fmt: skip


def run_clients(base: str, cookies: list[str], work: queue.Queue, payload, seconds: float):
    latencies: list[float] = []
    approved: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(cookie: str):
        http = requests.Session()
        http.cookies.set("session", cookie, domain="127.0.0.1")
        while time.perf_counter() < stop_at:
            try:
                request_id = work.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            response = http.post(f"{base}/_dash-update-component", json=payload(request_id))
            took = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(took)
                if response.status_code == 200 and b"Approved." in response.content:
                    approved.append(request_id)
                else:
                    alert = response.text[response.text.find("rq-alert"):][:400]
                    errors.append(f"#{request_id}: {response.status_code} {alert}")

    threads = [threading.Thread(target=client, args=(cookie,)) for cookie in cookies]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return approved, latencies, errors, time.perf_counter() - started


class LockWaits(threading.Thread):
    """What the database's sessions were doing while the clients ran, sampled every 20 ms
    from pg_stat_activity: how many were running a statement, and how many of those were
    waiting for a lock (another transaction's row: the rollups' hot rows, say)."""

    WAIT = text(
        "SELECT count(*) FILTER (WHERE state = 'active'),"
        " count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'),"
        " count(*) FILTER (WHERE state = 'idle in transaction')"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = create_engine(url)
        self.samples = self.active = self.waiting = self.in_transaction = 0
        self.statements: dict[str, int] = {}
        """The statements found waiting, with how often."""
        self.running = True

    WAITING = text(
        "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_activity"
        " WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock'"
    )

    def run(self):
        with self.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            while self.running:
                active, waiting, idle = connection.execute(self.WAIT).one()
                self.samples += 1
                self.active += active
                self.waiting += waiting
                self.in_transaction += idle
                if waiting:
                    for (statement,) in connection.execute(self.WAITING):
                        self.statements[statement] = self.statements.get(statement, 0) + 1
                time.sleep(0.02)

    def stop(self) -> str:
        self.running = False
        self.join()
        self.engine.dispose()
        per = max(self.samples, 1)
        share = 100 * self.waiting / max(self.active, 1)
        most = sorted(self.statements.items(), key=lambda item: -item[1])[:3]
        return (f"{self.active / per:.2f} sessions running a statement on average, "
                f"{self.waiting / per:.2f} of them waiting for a lock ({share:.0f} %), "
                f"{self.in_transaction / per:.2f} idle in a transaction"
                + "".join(f"\n      waiting {100 * n / max(self.waiting, 1):.0f} %: {statement}"
                          for statement, n in most))  # fmt: skip


def no_op_rate(base: str, cookies: list[str], payload: dict, seconds: float) -> float:
    """No-op callbacks answered per second with these clients, each sending one after
    another for ``seconds``."""
    done = [0] * len(cookies)
    stop_at = time.perf_counter() + seconds

    def client(index: int, cookie: str):
        http = requests.Session()
        http.cookies.set("session", cookie, domain="127.0.0.1")
        while time.perf_counter() < stop_at:
            response = http.post(f"{base}/_dash-update-component", json=payload)
            assert response.status_code == 200, response.text[:200]
            done[index] += 1

    threads = [threading.Thread(target=client, args=(i, c)) for i, c in enumerate(cookies)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def check(url: str, approved: list[int]) -> list[str]:
    """Every approval applied once; nothing applied that no client saw approved."""
    from data.models import AuditEntry, ChangeRequest, Customer, RequestEvent

    engine = create_engine(url)
    problems = []
    with engine.connect() as connection:
        states = set(connection.execute(
            select(ChangeRequest.id).where(ChangeRequest.state == "approved")).scalars())  # fmt: skip
        if states != set(approved):
            problems.append(f"{len(states)} requests approved, {len(approved)} seen approved")
        applied = connection.execute(
            select(RequestEvent.request_id, func.count())
            .where(RequestEvent.action == "applied")
            .group_by(RequestEvent.request_id)
            .having(func.count() != 1)
        ).all()
        if applied:
            problems.append(f"{len(applied)} requests applied more than once")
        audited = connection.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.request_id.is_not(None))
        ).scalar()
        if audited != len(states):
            problems.append(f"{audited} audit entries for {len(states)} approvals")
        wrong = connection.execute(
            select(func.count()).select_from(ChangeRequest)
            .join(Customer, Customer.id == ChangeRequest.customer_id)
            .where(ChangeRequest.state == "approved", Customer.on_hold == "No")
        ).scalar()  # fmt: skip
        if wrong:
            problems.append(f"{wrong} approved requests whose value did not apply")
    engine.dispose()
    return problems


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    try:
        url, drop = scratch_database()
    except Exception as error:  # no server: say so and stop
        print(f"Concurrent approvals: skipped, no PostgreSQL at {ADMIN_URL} ({error.__class__.__name__})")
        return 0
    server = None
    try:
        started = time.perf_counter()
        made = fill(url)
        print(f"  {REQUESTS:,} pending requests on PostgreSQL in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        server, base = start_gunicorn(url, workers)
        payloads = Payloads()
        payload = payloads.approve
        ping = payloads.body("cs-ping.data", {("cs-ping", "modified_timestamp"): 1},
                             changed="cs-ping.modified_timestamp")  # fmt: skip
        cookies = [session_cookie(user_id) for user_id in made["approvers"]]
        work: queue.Queue = queue.Queue()
        for request_id in made["request_ids"]:
            work.put(request_id)
        rows = []
        sessions: list[tuple[int, str]] = []
        all_approved: list[int] = []
        for clients in (1, CLIENTS):
            waits = LockWaits(url)
            waits.start()
            approved, latencies, errors, took = run_clients(
                base, cookies[:clients], work, payload, seconds
            )
            sessions.append((clients, waits.stop()))
            all_approved += approved
            ordered = sorted(latencies)
            floor = no_op_rate(base, cookies[:clients], ping, min(seconds, 10.0))
            rows.append((clients, len(approved) / took, statistics.median(ordered),
                         ordered[int(0.95 * (len(ordered) - 1))], len(errors), floor))  # fmt: skip
            for error in errors[:3]:
                print("   ", error)
        problems = check(url, all_approved)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()

    print(f"\nConcurrent approvals: gunicorn -w {workers} on PostgreSQL, {seconds:.0f} s per run")
    print(f"{'clients':>8}{'approvals/s':>14}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}"
          f"{'no-op/s':>10}{'approvals / no-op':>19}")  # fmt: skip
    print("-" * 79)
    for clients, rate, p50, p95, errors, floor in rows:
        print(f"{clients:>8}{rate:>14.1f}{p50:>10.1f}{p95:>10.1f}{errors:>8}{floor:>10.0f}"
              f"{100 * rate / floor:>18.1f}%")  # fmt: skip
    for clients, said in sessions:
        print(f"database while {clients} client(s) approved: {said}")
    print(f"ratio {CLIENTS} clients / 1 client: {rows[1][1] / rows[0][1]:.2f}x "
          f"(goal with {CLIENTS} clients: approvals/s >= 25% of the no-op's requests/s)")
    print("consistency: " + ("every approval applied exactly once, nothing lost"
                             if not problems else "; ".join(problems)))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
