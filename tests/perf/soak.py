"""Soak: mixed traffic from 16 clients against gunicorn on PostgreSQL, then a consistency check.

Six clerks edit customers (a non-gated city, or a gated credit limit that
they then submit), six approvers take the oldest request from their inbox and
approve it, two clerks import small files, a manager and an analyst refresh
their dashboards, all through /_dash-update-component as the browser would.
It reports requests, refusals the app gave on purpose (a customer locked by
a pending request, say), errors (a 5xx or "Something went wrong"), p50/p95
per kind, the workers' memory at the start and the end, and finally whether
the audit trail explains every customer value.

Run with `make bench` (10 minutes) or `python -m tests.perf.soak [seconds]`.
Needs PostgreSQL, as bench_approvals does.
"""

from __future__ import annotations

import random
import statistics
import sys
import threading
import time
from collections import defaultdict

import psutil
import requests

from tests.perf.bench_approvals import (
    ADMIN_URL,
    Payloads,
    post_callback,
    scratch_database,
    session_cookie,
    start_gunicorn,
)

CLERKS, APPROVERS, IMPORTERS = 6, 6, 2
UNEXPECTED = b"Something went wrong"


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 600.0
    try:
        url, drop = scratch_database()
    except Exception as error:
        print(f"Soak: skipped, no PostgreSQL at {ADMIN_URL} ({error.__class__.__name__})")
        return 0
    server = None
    stats: dict[str, list[float]] = defaultdict(list)
    refused: dict[str, int] = defaultdict(int)
    errors: dict[str, list[str]] = defaultdict(list)
    try:
        from sqlalchemy import select

        from data.db import Database, upgrade_database
        from data.models import ChangeRequest, Customer, User
        from data.seed import seed_demo

        upgrade_database(url)
        database = Database(url)
        seed_demo(database, customers=400)
        with database.session() as session:
            users = dict(session.execute(select(User.username, User.id)).all())
            accounts = list(session.scalars(select(Customer.account)))
        database.dispose()

        server, base = start_gunicorn(url, 4)
        payloads = Payloads()
        lock = threading.Lock()
        stop_at = time.perf_counter() + seconds

        def post(http, kind, body):
            started = time.perf_counter()
            try:
                response = post_callback(http, base, body)
                status, content = response.status_code, response.content
            except requests.RequestException as error:
                status, content = 0, str(error).encode()
            took = (time.perf_counter() - started) * 1000
            with lock:
                stats[kind].append(took)
                if status not in (200, 204) or UNEXPECTED in content:
                    errors[kind].append(f"{status} {content[:160]!r}")
                else:
                    # only the message area says whether the app refused on purpose
                    for key in (b'"rq-alert"', b'"cs-alert"', b'"imp-message"'):
                        if key in content:
                            message = content.split(key, 1)[1]
                            if b'"color":"danger"' in message or b'"color":"warning"' in message:
                                refused[kind] += 1
                            break
            return status, content

        def session_for(username):
            http = requests.Session()
            http.cookies.set("session", session_cookie(users[username]), domain="127.0.0.1")
            return http

        reader = Database(url)

        def version_of(account):
            """What the editor holds when the clerk opens the customer."""
            with reader.session() as session:
                return session.scalar(select(Customer.version).where(Customer.account == account))

        def clerk():
            http = session_for("clerk")
            while time.perf_counter() < stop_at:
                account = random.choice(accounts)
                version = version_of(account)
                if random.random() < 0.5:
                    post(http, "edit", payloads.editor(account, "save",
                                                       {"city": f"Soak {random.randrange(10**6)}"},
                                                       version=version))
                    continue
                amount = str(random.randrange(1, 90) * 1000)
                status, content = post(http, "edit", payloads.editor(account, "save",
                                                                     {"credit_limit": amount},
                                                                     version=version))
                if status == 200 and b'"request_id":' in content:
                    marker = content.split(b'"request_id":', 1)[1].split(b",", 1)[0].strip(b" }")
                    if marker.isdigit():
                        post(http, "submit", payloads.editor(account, "submit",
                                                             request_id=int(marker)))  # fmt: skip

        def approver(username):
            http = session_for(username)
            while time.perf_counter() < stop_at:
                status, content = post(http, "inbox", payloads.inbox())
                ids = [int(part.split(b",", 1)[0].split(b"}", 1)[0])
                       for part in content.split(b'"request_id":')[1:]
                       if part.split(b",", 1)[0].split(b"}", 1)[0].strip().isdigit()]  # fmt: skip
                if not ids:
                    time.sleep(0.2)
                    continue
                chosen = random.choice(ids[:10])
                with reader.session() as session:
                    seen = session.get(ChangeRequest, chosen).round
                post(http, "approve", payloads.approve(chosen, confirm=True, seen_round=seen))

        def importer():
            http = session_for("clerk")
            while time.perf_counter() < stop_at:
                post(http, "import", payloads.imported(random.sample(accounts, 5)))
                time.sleep(0.5)

        def viewer(username, kind, body):
            http = session_for(username)
            while time.perf_counter() < stop_at:
                post(http, kind, body())
                time.sleep(0.2)

        threads = (
            [threading.Thread(target=clerk) for _ in range(CLERKS)]
            + [threading.Thread(target=approver, args=(("approver", "approver2")[n % 2],))
               for n in range(APPROVERS)]
            + [threading.Thread(target=importer) for _ in range(IMPORTERS)]
            + [threading.Thread(target=viewer, args=("manager", "dashboard", payloads.pending)),
               threading.Thread(target=viewer, args=("analyst", "dashboard", payloads.throughput))]
        )  # fmt: skip
        master = psutil.Process(server.pid)

        def workers_rss() -> list[float]:
            return [w.memory_info().rss / 2**20 for w in master.children()]

        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(min(20.0, seconds / 4))
        rss_start = workers_rss()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        rss_end = workers_rss()

        from data.audit import verify_audit

        database = Database(url)
        with database.session() as session:
            check = verify_audit(session)
        database.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()

    total = sum(len(v) for v in stats.values())
    failed = sum(len(v) for v in errors.values())
    print(f"\nSoak: {len(threads)} clients, gunicorn -w 4 on PostgreSQL, {elapsed:.0f} s")
    print(f"{'kind':12}{'requests':>10}{'refused':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}")
    print("-" * 57)
    for kind in sorted(stats):
        ordered = sorted(stats[kind])
        print(f"{kind:12}{len(ordered):>10}{refused[kind]:>9}{len(errors[kind]):>8}"
              f"{statistics.median(ordered):>9.1f}{ordered[int(0.95 * (len(ordered) - 1))]:>9.1f}")  # fmt: skip
    print(f"all: {total} requests, {total / elapsed:.1f}/s, error rate {failed / max(total, 1):.2%}")
    print(f"worker RSS MB at {min(20.0, seconds / 4):.0f} s: {', '.join(f'{m:.0f}' for m in rss_start)}; "
          f"at the end: {', '.join(f'{m:.0f}' for m in rss_end)}")  # fmt: skip
    for kind, items in errors.items():
        for item in items[:2]:
            print(f"  {kind}: {item}")
    print("consistency: " + (f"the audit trail explains every value of {check.customers} customers"
                             if check.ok else "; ".join(check.problems[:5])))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
