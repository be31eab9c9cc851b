"""Benchmark: importing 100,000 rows into a database of 1,000,000 customers.

The file holds 10% new accounts, 60% rows equal to the current data and 30%
changed rows, half of which touch a gated field; the parameters say "Create
change proposals" and a one-step workflow is active. The import runs through
``data.imports.import_customers`` (the Imports page and the CLI call the same
service). The baseline, measured in the same run on a copy of the same
database, reads the same file and bulk-upserts every row with SQLAlchemy Core
executemany, without validation, audit or workflow. Each run is a fresh
process, so its peak memory (max RSS) is its own.

Run with `make bench` (or `python -m tests.perf.bench_import [customers] [rows]`).
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

CUSTOMERS = 1_000_000
ROWS = 100_000


def build_database(path: Path, customers: int) -> None:
    from data.db import Database, upgrade_database
    from data.generate import generate_customers
    from data.parameters import ensure_defaults, update_parameters
    from data.users import add_user
    from data.workflows import StepSpec, activate_version, create_definition, save_version

    upgrade_database(f"sqlite:///{path}")
    database = Database(f"sqlite:///{path}")
    generate_customers(database, customers)

    def setup(session):
        ensure_defaults(session)
        admin = add_user(session, "admin", "Admin", "bench-pw", ["admin"])
        add_user(session, "clerk", "Clerk", "bench-pw", ["clerk"])
        add_user(session, "approver", "Approver", "bench-pw", ["approver"])
        update_parameters(session, admin, approvals_enabled=True,
                          data_entity_behavior="propose", gated={"credit_limit": True})  # fmt: skip
        definition = create_definition(session, admin)
        version = save_version(session, admin, definition.id,
                               [StepSpec(name="Credit control", assignee_role="approver")])  # fmt: skip
        activate_version(session, admin, version.id)

    database.run(setup)
    database.dispose()


def build_file(customers: int, rows: int) -> bytes:
    """10% new, 60% unchanged, 15% changed non-gated (city), 15% changed gated (credit limit)."""
    from data.generate import customer_rows

    columns = ["account", "name", "customer_group", "currency", "on_hold", "credit_limit", "city",
               "country"]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    existing = rows - rows // 10
    step = max(1, customers // existing)
    wanted = {1 + index * step: index for index in range(existing)}
    for number, row in enumerate(customer_rows(customers), start=1):
        index = wanted.get(number)
        if index is None:
            continue
        values = [row[c] for c in columns]
        share = index % 9  # 6 of 9 unchanged, 1.5 city, 1.5 credit limit
        if share == 6 or (share == 8 and index % 2 == 0):
            values[6] = f"{row['city']} Centro"
        elif share == 7 or share == 8:
            values[5] = row["credit_limit"] + 1000
        writer.writerow(values)
    for number in range(customers + 1, customers + 1 + rows // 10):
        writer.writerow([f"B{number:07d}", f"New Customer {number}", "RETAIL", "EUR", "No", 5000,
                         "Milano", "IT"])  # fmt: skip
    return out.getvalue().encode()


def run_import(path: str, content: bytes) -> dict:
    from data.db import Database
    from data.importfile import read_import_file
    from data.imports import import_customers
    from data.models import User

    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        clerk_id = session.query(User.id).filter(User.username == "clerk").scalar()
    started = time.perf_counter()
    file = read_import_file("bench.csv", content)
    summary = import_customers(database, clerk_id, file)
    seconds = time.perf_counter() - started
    database.dispose()
    return {"seconds": seconds, "counts": summary.counts, "rss_mb": _peak_mb()}


def run_baseline(path: str, content: bytes) -> dict:
    from sqlalchemy.dialects.sqlite import insert

    from data.db import Database
    from data.fields import field_spec
    from data.importfile import read_import_file
    from data.models import Customer

    database = Database(f"sqlite:///{path}")
    started = time.perf_counter()
    file = read_import_file("bench.csv", content)
    records = []
    for row in file.rows:
        record = {name: field_spec(name).parse(value) for name, value in row.values.items()}
        record.update(version=1, on_hold="No")
        records.append(record)
    statement = insert(Customer)
    updates = {c: statement.excluded[c] for c in file.columns if c != "account"}
    statement = statement.on_conflict_do_update(index_elements=["account"], set_=updates)
    with database.engine.begin() as connection:
        for start in range(0, len(records), 10_000):
            connection.execute(statement, records[start : start + 10_000])
    seconds = time.perf_counter() - started
    database.dispose()
    return {"seconds": seconds, "rss_mb": _peak_mb()}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(function, *args):
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def main() -> int:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else CUSTOMERS
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else ROWS
    with tempfile.TemporaryDirectory() as folder:
        original = Path(folder) / "import.db"
        started = time.perf_counter()
        in_fresh_process(build_database, original, customers)
        content = build_file(customers, rows)
        print(f"  built {customers:,} customers and a {len(content) / 1e6:.1f} MB file of "
              f"{rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        copy = Path(folder) / "baseline.db"
        shutil.copy(original, copy)
        imported = in_fresh_process(run_import, str(original), content)
        baseline = in_fresh_process(run_baseline, str(copy), content)

    rate = rows / imported["seconds"]
    base_rate = rows / baseline["seconds"]
    print(f"\nImport of {rows:,} rows into {customers:,} customers "
          "(SQLite, Create change proposals)")  # fmt: skip
    print(f"{'run':38}{'seconds':>10}{'rows/s':>10}{'peak MB':>10}")
    print("-" * 68)
    print(f"{'import_customers':38}{imported['seconds']:>10.2f}{rate:>10,.0f}"
          f"{imported['rss_mb']:>10.0f}")  # fmt: skip
    print(f"{'baseline: Core executemany upsert':38}{baseline['seconds']:>10.2f}{base_rate:>10,.0f}"
          f"{baseline['rss_mb']:>10.0f}")  # fmt: skip
    print(f"ratio import/baseline: {imported['seconds'] / baseline['seconds']:.2f}x   "
          f"outcomes: {imported['counts']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
