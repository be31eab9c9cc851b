"""Benchmark: refreshing each dashboard with 10,000 / 100,000 / 1,000,000 historical requests.

A full refresh is every server callback the page runs when it opens: for
Pending changes the figures callback; for Throughput the page layout (its
filter choices) and the figures callback over the default 90 days, by week.
Each is a real POST (or GET) through the Flask test client, signed in, on
SQLite. The generator spreads requests over two years; 15% are open.

Run with `make bench` (or `python -m tests.perf.bench_dashboards [sizes...]`).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from app import create_app
from data.config import Settings
from data.db import Database
from data.generate import generate_customers, generate_history
from data.parameters import ensure_defaults
from data.users import add_user
from tests.dash_http import callback_payload, client_as, find_output_key

SIZES = (10_000, 100_000, 1_000_000)
REPEATS = 7


def timed(function, repeats: int = REPEATS) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def bench(size: int, folder: Path) -> dict[str, float]:
    url = f"sqlite:///{folder / f'dash-{size}.db'}"
    settings = Settings(database_url=url, secret_key="bench", demo=False, host="", port=0)
    app = create_app(settings)
    database = Database(url)
    started = time.perf_counter()
    generate_customers(database, max(20_000, size // 4))
    with database.session() as session:
        ensure_defaults(session)
        clerk = add_user(session, "clerk", "Clerk", "bench-pw", ["clerk"]).id
        first = add_user(session, "approver", "Approver", "bench-pw", ["approver"]).id
        second = add_user(session, "approver2", "Approver Two", "bench-pw", ["approver"]).id
        finance = add_user(session, "finance", "Finance", "bench-pw", ["approver"]).id
        manager = add_user(session, "manager", "Manager", "bench-pw", ["manager", "analyst"]).id
    made = generate_history(database, size, clerk_id=clerk, approver_ids=(first, second),
                            finance_id=finance)  # fmt: skip
    print(f"  generated {made['requests']:,} requests ({made['open']:,} open) "
          f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip

    client = client_as(app, manager)
    pending_key = find_output_key(app, "pd-body.children")
    pending = callback_payload(app, pending_key,
                               {("pd-days", "value"): "30", ("cs-tz", "data"): 60},
                               changed="pd-days.value")  # fmt: skip
    throughput_key = find_output_key(app, "tp-body.children")
    from datetime import date, timedelta

    today = date.today()
    values = {
        ("tp-start", "value"): (today - timedelta(days=89)).isoformat(),
        ("tp-end", "value"): today.isoformat(),
        ("tp-grouping", "value"): "week",
        ("cs-tz", "data"): 60,
    }
    throughput = callback_payload(app, throughput_key, values, changed="tp-grouping.value")

    def post(payload):
        response = client.post("/_dash-update-component", json=payload)
        assert response.status_code == 200, response.data[:300]

    def layout():
        import pages.throughput as page

        with app.server.test_request_context("/"):
            from flask_login import login_user

            from pages._support import SessionUser

            login_user(SessionUser(manager))
            page.layout()

    pending_ms = timed(lambda: post(pending))
    layout_ms = timed(layout)
    throughput_ms = timed(lambda: post(throughput))
    database.dispose()
    return {
        "pending": statistics.median(pending_ms),
        "throughput layout": statistics.median(layout_ms),
        "throughput figures": statistics.median(throughput_ms),
        "throughput": statistics.median(layout_ms) + statistics.median(throughput_ms),
    }


def main() -> int:
    sizes = [int(arg) for arg in sys.argv[1:]] or list(SIZES)
    with tempfile.TemporaryDirectory() as folder:
        results = {size: bench(size, Path(folder)) for size in sizes}
    print(f"\nDashboards: full server-side refresh, median of {REPEATS} (SQLite; milliseconds)")
    header = f"{'dashboard':24}" + "".join(f"{f'{s:,} requests':>20}" for s in sizes)
    if len(sizes) > 1:
        header += f"  {f'ratio {sizes[-1]:,}/{sizes[0]:,}':>24}"
    print(header)
    print("-" * len(header))
    for name in ("pending", "throughput layout", "throughput figures", "throughput"):
        cells = "".join(f"{results[s][name]:>20.1f}" for s in sizes)
        if len(sizes) > 1:
            cells += f"  {results[sizes[-1]][name] / results[sizes[0]][name]:>24.1f}"
        print(f"{name:24}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
