"""Benchmark: how long the customer grid takes to serve a block of rows.

Times real POSTs to /_dash-update-component (Flask test client, signed in as a
clerk) for the grid's rows callback, on SQLite with 50,000 and 1,000,000
customers. Run with `make bench`; it prints a table and asserts nothing.
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
from data.generate import generate_customers
from data.parameters import ensure_defaults
from data.users import add_user
from tests.dash_http import callback_payload, client_as, find_output_key

SIZES = (50_000, 1_000_000)
REPEATS = 15
SCENARIOS = {
    "first block (with count)": dict(startRow=0, endRow=100, sortModel=[], filterModel={}),
    "next block": dict(startRow=100, endRow=200, sortModel=[], filterModel={}),
    "middle block (offset N/2)": None,
    "sorted by name, desc (with count)": dict(
        startRow=0, endRow=100, sortModel=[{"colId": "name", "sort": "desc"}], filterModel={}
    ),
    "filter country = AT (with count)": dict(
        startRow=0, endRow=100, sortModel=[],
        filterModel={"country": {"filterType": "text", "type": "equals", "filter": "AT"}},
    ),
}  # fmt: skip


def timings(client, key, app, request, search=None) -> list[float]:
    payload = callback_payload(
        app,
        key,
        {
            ("customers-grid", "getRowsRequest"): request,
            ("customers-search", "value"): search,
        },  # fmt: skip
        changed="customers-grid.getRowsRequest",
    )
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.post("/_dash-update-component", json=payload)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.data[:200]
    return samples


def bench(size: int, folder: Path) -> list[tuple[str, float, float]]:
    url = f"sqlite:///{folder / f'grid-{size}.db'}"
    settings = Settings(database_url=url, secret_key="bench", demo=False, host="", port=0)
    app = create_app(settings)
    database = Database(url)
    started = time.perf_counter()
    generate_customers(database, size)
    print(f"  generated {size:,} customers in {time.perf_counter() - started:.1f} s", flush=True)
    with database.session() as session:
        ensure_defaults(session)
        clerk_id = add_user(session, "bench", "Bench Clerk", "bench-pw", ["clerk"]).id
    client = client_as(app, clerk_id)
    key = find_output_key(app, "customers-grid.getRowsResponse")
    rows = []
    for name, request in SCENARIOS.items():
        if request is None:
            request = dict(startRow=size // 2, endRow=size // 2 + 100, sortModel=[], filterModel={})
        samples = timings(client, key, app, request)
        rows.append((name, statistics.median(samples), percentile(samples, 95)))
    search = timings(client, key, app, dict(startRow=0, endRow=100), search="B0012345")
    rows.append(
        ("search by account (with count)", statistics.median(search), percentile(search, 95))
    )
    database.dispose()
    return rows


def percentile(samples: list[float], pct: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    sizes = [int(arg) for arg in sys.argv[1:]] or list(SIZES)
    with tempfile.TemporaryDirectory() as folder:
        results = {size: bench(size, Path(folder)) for size in sizes}
    print(f"\nCustomer grid: one block of 100 rows over /_dash-update-component "
          f"(SQLite, {REPEATS} requests each; milliseconds)")  # fmt: skip
    header = f"{'scenario':38}" + "".join(f"{f'{s:,} p50':>14}{'p95':>8}" for s in sizes)
    print(header)
    print("-" * len(header))
    for index, (name, *_rest) in enumerate(results[sizes[0]]):
        cells = "".join(f"{results[s][index][1]:>14.1f}{results[s][index][2]:>8.1f}" for s in sizes)
        print(f"{name:38}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
