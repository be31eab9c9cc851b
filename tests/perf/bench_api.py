"""Benchmark: the JSON API over HTTP on gunicorn, and webhook delivery lag.

A SQLite database gets 1,000,000 customers (``python -m tests.perf.bench_api [customers]``
for fewer); approvals are on with Credit limit gated and the Data entity behavior set to
Create change proposals. gunicorn serves the app with two workers on loopback; one client
sends one call at a time with a clerk's token:

- no-op: GET /api/v1/ping (the token checked, nothing else: the floor under every call);
- GET a customer (a random account);
- PATCH that proposes a credit limit (a new request, submitted to the workflow at once),
  each on a customer of its own, with If-Match.

Then webhooks: a receiver on loopback, ``countersign deliver`` running beside gunicorn,
and PATCHes that change a city (a customer.changed event each) sent at 50 a second for
10 seconds; the lag is from the event's commit to its arrival at the receiver.

Goals (issue #19): PATCH p95 at most 4x the no-op's, GET at most 2x, delivery lag p95
under 1 s.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tests.perf.bench_approvals import SECRET, start_gunicorn

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 1_000_000
SAMPLES = 200
RATE, SECONDS = 50, 10


def build(url: str, customers: int) -> tuple[str, list[str]]:
    from data.db import Database, upgrade_database
    from data.generate import generate_customers
    from data.parameters import ensure_defaults, update_parameters
    from data.tokens import create_token
    from data.users import add_user
    from data.workflows import StepSpec, activate_version, create_definition, save_version

    upgrade_database(url)
    database = Database(url)
    generate_customers(database, customers)
    with database.session() as session:
        ensure_defaults(session)
        admin = add_user(session, "admin", "Admin", "bench-pw", ["admin"])
        clerk = add_user(session, "clerk", "Clerk", "bench-pw", ["clerk"])
        add_user(session, "approver", "Approver", "bench-pw", ["approver"])
        update_parameters(session, admin, approvals_enabled=True, data_entity_behavior="propose",
                          gated={"credit_limit": True})  # fmt: skip
        definition = create_definition(session, admin)
        version = save_version(session, admin, definition.id,
                               [StepSpec(name="Credit control", assignee_role="approver")])  # fmt: skip
        activate_version(session, admin, version.id)
        token = create_token(session, admin, clerk.id, "bench", 1).secret
    database.dispose()
    accounts = [f"B{number:07d}" for number in random.sample(range(1, customers + 1),
                                                             min(customers, 3 * SAMPLES + 700))]
    return token, accounts


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


class Receiver:
    def __init__(self):
        self.lags: list[float] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                made = datetime.fromisoformat(body["created_at"]).timestamp()
                owner.lags.append((time.time() - made) * 1000)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main(customers: int = CUSTOMERS) -> None:
    folder = tempfile.mkdtemp(prefix="countersign-bench-api-")
    url = f"sqlite:///{folder}/bench.db"
    started = time.perf_counter()
    token, accounts = build(url, customers)
    print(f"built {customers:,} customers in {time.perf_counter() - started:.0f} s")
    os.environ["COUNTERSIGN_WEBHOOK_WORKER"] = "0"  # delivered by `countersign deliver` below
    os.environ["COUNTERSIGN_API_LIMIT"] = "100000 per minute"  # one client, many calls
    server, base = start_gunicorn(url, 2)
    deliverer = None
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        for _ in range(20):  # warm both workers
            http.get(f"{base}/api/v1/ping")
        ping = [timed(lambda: http.get(f"{base}/api/v1/ping").raise_for_status())
                for _ in range(SAMPLES)]  # fmt: skip
        reads = [timed(lambda a=account: http.get(f"{base}/api/v1/customers/{a}").raise_for_status())
                 for account in accounts[:SAMPLES]]  # fmt: skip
        writes = []
        for account in accounts[SAMPLES:2 * SAMPLES]:
            tag = http.get(f"{base}/api/v1/customers/{account}").headers["ETag"]

            def propose(account=account, tag=tag):
                answer = http.patch(f"{base}/api/v1/customers/{account}", headers={"If-Match": tag},
                                    json={"credit_limit": "123456.00"})
                assert answer.ok and answer.json()["fields"][0]["outcome"] == "proposed", answer.text

            writes.append(timed(propose))
        floor = percentiles(ping)
        print(f"{'call':<34}{'p50 ms':>9}{'p95 ms':>9}{'p50 ×':>8}{'p95 ×':>8}")
        for name, samples in (("no-op (GET /api/v1/ping)", ping), ("GET a customer", reads),
                              ("PATCH proposing a credit limit", writes)):  # fmt: skip
            p50, p95 = percentiles(samples)
            print(f"{name:<34}{p50:>9.1f}{p95:>9.1f}{p50 / floor[0]:>8.2f}{p95 / floor[1]:>8.2f}")

        receiver = Receiver()
        from data.db import Database
        from data.models import User
        from data.webhooks import add_endpoint

        database = Database(url)

        def register(session):
            admin = session.query(User).filter_by(username="admin").one()
            add_endpoint(session, admin, receiver.url, ["customer.changed"])

        database.run(register)
        database.dispose()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)}
        deliverer = subprocess.Popen([sys.executable, "-m", "data.cli", "deliver"], cwd=ROOT,
                                     env=env)  # fmt: skip
        chosen = accounts[2 * SAMPLES:2 * SAMPLES + RATE * SECONDS]
        begin = time.perf_counter()

        def change(index: int, account: str) -> None:
            time.sleep(max(0.0, begin + index / RATE - time.perf_counter()))
            # a generated customer untouched so far is at version 1
            http.patch(f"{base}/api/v1/customers/{account}", headers={"If-Match": '"1"'},
                       json={"city": f"City {index}"}).raise_for_status()

        with ThreadPoolExecutor(4) as pool:  # four clients keep up the rate together
            list(pool.map(change, range(len(chosen)), chosen))
        sent = len(chosen)
        offered = sent / (time.perf_counter() - begin)
        deadline = time.time() + 60
        while len(receiver.lags) < sent and time.time() < deadline:
            time.sleep(0.1)
        p50, p95 = percentiles(receiver.lags)
        print(f"webhooks: {sent} events at {offered:.0f}/s offered "
              f"({RATE}/s asked), {len(receiver.lags)} delivered; lag p50 {p50:.0f} ms, "
              f"p95 {p95:.0f} ms, max {max(receiver.lags):.0f} ms")
    finally:
        if deliverer is not None:
            deliverer.terminate()
            deliverer.wait(10)
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else CUSTOMERS)
