"""Benchmark: callback latency over HTTP on gunicorn, page load in Chromium, worker memory.

A SQLite database gets 1,000,000 customers and 1,000,000 historical requests
(two years; the recent ones partly open). gunicorn serves the app with two
workers on loopback. One client sends each action's callback as the browser
would, one request at a time, and the figures stand beside a no-op callback
sent to the same server (Dash's own request handling, the sign-in check and
the security headers: the floor under every callback). The no-op itself stands
beside a one-callback Dash app on the same gunicorn settings, the two measured
in turns (five rounds each) so that both meet the same moments of the machine:

- customer grid, sorted by name and filtered on country: the first block (with
  the row count), the next block read by key after it, and a jump to row 5,000
  (rows skipped);
- open editor: the customer page's layout through the pages router;
- save with proposals: a gated change saved on a customer (a new draft request);
- approve: an approver approves a pending request assigned to them;
- inbox: the approver choosing the Waiting tab of their inbox, and the inbox as it opens
  (its tabs counted too);
- each dashboard's full refresh (Pending changes; Approval throughput, 90 days by week,
  unfiltered, by one filter, in a zone half an hour from UTC, and by two filters combined).

Then headless Chromium opens the customer list, signed in, with an empty
cache: the time from navigation until the grid shows its first rows, and the
bytes of JavaScript and CSS sent, against a bare page of Dash + dbc + an AG
Grid with 100 rows served the same way. Last, the peak resident memory of
every gunicorn worker, sampled through the whole run.

Run with `make bench` (or `python -m tests.perf.bench_http [customers] [requests]`).
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
import textwrap
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psutil
import requests
from sqlalchemy import select

from tests.perf.bench_approvals import (
    Payloads,
    free_port,
    post_callback,
    session_cookie,
    start_gunicorn,
)

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 1_000_000
REQUESTS = 1_000_000
SAMPLES = 60
SLOW_SAMPLES = 20
"""Samples of each dashboard: their p95 is held to a goal, which five samples (the p95 then
being the slowest of them) could not tell from one slow moment of the machine."""
WORKERS = 2


def build(url: str, customers: int, history: int) -> dict:
    from data.db import Database, upgrade_database
    from data.generate import generate_customers, generate_history
    from data.models import Assignment, ChangeRequest, Customer, RequestStep
    from data.parameters import ensure_defaults, update_parameters
    from data.users import add_user
    from data.workflows import StepSpec, activate_version, create_definition, save_version

    upgrade_database(url)
    database = Database(url)
    generate_customers(database, customers)
    with database.session() as session:
        ensure_defaults(session)
        admin = add_user(session, "admin", "Admin", "bench-pw", ["admin"])
        users = {"admin": admin.id}
        for name, roles in (("clerk", ["clerk"]), ("approver", ["approver"]),
                            ("approver2", ["approver"]), ("finance", ["approver"]),
                            ("manager", ["manager", "analyst"])):  # fmt: skip
            users[name] = add_user(session, name, name.title(), "bench-pw", roles).id
        update_parameters(session, admin, approvals_enabled=True, data_entity_behavior="propose",
                          gated={"credit_limit": True, "on_hold": True})  # fmt: skip
        definition = create_definition(session, admin)
        version = save_version(session, admin, definition.id,
                               [StepSpec(name="Credit control", assignee_role="approver")])  # fmt: skip
        activate_version(session, admin, version.id)
    generate_history(database, history, clerk_id=users["clerk"],
                     approver_ids=(users["approver"], users["approver2"]),
                     finance_id=users["finance"])  # fmt: skip
    with database.session() as session:
        waiting = list(session.scalars(
            select(ChangeRequest.id)
            .join(RequestStep, RequestStep.request_id == ChangeRequest.id)
            .join(Assignment, Assignment.request_step_id == RequestStep.id)
            .where(ChangeRequest.state == "pending", RequestStep.state == "active",
                   Assignment.state == "open", Assignment.user_id == users["approver"])
            .order_by(ChangeRequest.id.desc()).limit(SAMPLES)
        ))  # fmt: skip
        busy = select(ChangeRequest.customer_id).where(
            ChangeRequest.state.in_(("draft", "pending", "change_requested"))
        )
        free = list(session.scalars(
            select(Customer.account).where(Customer.id.not_in(busy))
            .order_by(Customer.id.desc()).limit(SAMPLES)
        ))  # fmt: skip
    database.dispose()
    return {"users": users, "waiting": waiting, "free_accounts": free}


class Sampler(threading.Thread):
    """Peak RSS of each gunicorn worker, read every quarter second."""

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master = psutil.Process(master_pid)
        self.peaks: dict[int, float] = {}
        self.running = True

    def run(self):
        while self.running:
            try:
                for worker in self.master.children():
                    mb = worker.memory_info().rss / 2**20
                    self.peaks[worker.pid] = max(self.peaks.get(worker.pid, 0), mb)
            except psutil.Error:
                pass
            time.sleep(0.25)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


def _alert_of(text: str) -> str:
    """The text of the first alert in a callback's answer (what a person would read)."""
    import json

    found: list[str] = []

    def walk(node, in_alert=False):
        if isinstance(node, dict):
            alert = in_alert or node.get("type") == "Alert"
            for value in node.values():
                walk(value, alert)
        elif isinstance(node, list):
            for value in node:
                walk(value, in_alert)
        elif in_alert and isinstance(node, str) and len(node) > 3:
            found.append(node)

    try:
        walk(json.loads(text))
    except ValueError:
        return text[:300]
    return " ".join(found)[:600] or text[:300]


def measure(http, base, bodies, check=None) -> list[float]:
    took = []
    for body in bodies:
        started = time.perf_counter()
        response = post_callback(http, base, body)
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 204), response.text[:300]
        if check is not None:
            assert check(response), _alert_of(response.text)
    return took


def callback_latency(base: str, made: dict, payloads: Payloads, customers: int,
                     bare_base: str) -> list[tuple[str, list[float]]]:  # fmt: skip
    users = made["users"]
    sessions = {}
    for name in ("clerk", "approver", "manager"):
        http = requests.Session()
        http.cookies.set("session", session_cookie(users[name]), domain="127.0.0.1")
        sessions[name] = http
    grid_key = payloads.key("customers-grid.getRowsResponse")
    router_key = payloads.key("_pages_content.children")
    ping = payloads.body("cs-ping.data", {("cs-ping", "modified_timestamp"): 1},
                         changed="cs-ping.modified_timestamp")  # fmt: skip

    def grid(start, cursor=None):
        request = {"startRow": start, "endRow": start + 100,
                   "sortModel": [{"colId": "name", "sort": "asc"}],
                   "filterModel": {"country": {"filterType": "text", "type": "equals",
                                               "filter": "IT"}}}  # fmt: skip
        return payloads.by_key(grid_key, {("customers-grid", "getRowsRequest"): request,
                                          ("customers-search", "value"): None,
                                          ("customers-cursor", "data"): cursor},
                               changed="customers-grid.getRowsRequest")  # fmt: skip

    def editor(account):
        return payloads.by_key(router_key, {("_pages_location", "pathname"): f"/customers/{account}",
                                            ("_pages_location", "search"): ""},
                               changed="_pages_location.pathname")  # fmt: skip

    accounts = [f"B{random.randrange(1, customers):07d}" for _ in range(SAMPLES)]
    today = date.today()

    def throughput(offset=60, **chosen):
        values = {("tp-start", "value"): (today - timedelta(days=89)).isoformat(),
                  ("tp-end", "value"): today.isoformat(), ("tp-grouping", "value"): "week",
                  ("cs-tz", "data"): offset}
        values.update({(f"tp-{name}", "value"): value for name, value in chosen.items()})
        return payloads.body("tp-body.children", values, changed="tp-grouping.value")

    # warm each worker's caches and connections first
    measure(sessions["clerk"], base, [ping] * 10 + [grid(0)] * 4)

    ours, bare = floor_latency(sessions["clerk"], base, ping, bare_base)
    results = [("no-op callback (baseline)", ours), ("bare Dash callback (one-callback app)", bare)]
    results.append(("grid: first block, sorted + filtered",
                     measure(sessions["clerk"], base, [grid(0)] * SAMPLES)))  # fmt: skip
    first = post_callback(sessions["clerk"], base, grid(0)).json()
    cursor = first["response"]["customers-cursor"]["data"]
    results.append(("grid: next block, read by key",
                     measure(sessions["clerk"], base, [grid(100, cursor)] * SAMPLES)))  # fmt: skip
    results.append(("grid: jump to row 5,000 (skips rows)",
                     measure(sessions["clerk"], base, [grid(5000)] * SAMPLES)))  # fmt: skip
    results.append(("open editor (customer page)",
                     measure(sessions["clerk"], base, [editor(a) for a in accounts],
                             lambda r: b"cs-editor" in r.content)))  # fmt: skip
    saves = [payloads.editor(a, "save", {"credit_limit": "123456"}) for a in made["free_accounts"]]
    results.append(("save with proposals", measure(
        sessions["clerk"], base, saves, lambda r: b"pending" in r.content.lower()
        or b"proposed" in r.content.lower())))  # fmt: skip
    approvals = [payloads.approve(rid, confirm=True) for rid in made["waiting"]]
    results.append(("approve", measure(sessions["approver"], base, approvals,
                                       lambda r: b"Approved." in r.content)))  # fmt: skip
    results.append(("inbox", measure(sessions["approver"], base, [payloads.inbox()] * SAMPLES)))
    results.append(("inbox: opened, tabs counted",
                    measure(sessions["approver"], base, [payloads.inbox(opened=True)] * SAMPLES)))
    results.append(("dashboard: Pending changes",
                    measure(sessions["manager"], base, [payloads.pending()] * SLOW_SAMPLES)))
    for name, body in (
        ("dashboard: Approval throughput", throughput()),
        ("throughput: field Credit limit", throughput(field="credit_limit")),
        ("throughput: step Credit control", throughput(step="Credit control")),
        ("throughput: zone +05:30", throughput(offset=330)),
        ("throughput: field + step (combined)", throughput(field="credit_limit",
                                                          step="Credit control")),
    ):
        results.append((name, measure(sessions["manager"], base, [body] * SLOW_SAMPLES)))
    return results


BARE_APP = textwrap.dedent('''
    import dash_ag_grid as dag
    import dash_bootstrap_components as dbc
    from dash import Dash, html

    app = Dash(__name__)  # assets/bootstrap.min.css: the same file Countersign serves
    rows = [{"account": f"B{n:07d}", "name": f"Customer {n}", "country": "IT"} for n in range(100)]
    app.layout = dbc.Container([
        dbc.NavbarSimple(brand="Bare"),
        html.H1("Customers"),
        dag.AgGrid(id="grid", rowData=rows, columnDefs=[{"field": f} for f in rows[0]]),
    ])
    server = app.server
''')


BARE_CALLBACK_APP = textwrap.dedent('''
    from dash import Dash, Input, Output, dcc

    app = Dash(__name__)
    app.layout = dcc.Store(id="ping")


    @app.callback(Output("ping", "data"), Input("ping", "modified_timestamp"))
    def echo(stamp):
        return stamp


    server = app.server
''')
BARE_CALLBACK = {"output": "ping.data", "outputs": {"id": "ping", "property": "data"},
                 "inputs": [{"id": "ping", "property": "modified_timestamp", "value": 1}],
                 "changedPropIds": ["ping.modified_timestamp"], "state": []}  # fmt: skip


def start_bare(module: str = "bare_callback", source: str = BARE_CALLBACK_APP,
               workers: int = WORKERS) -> tuple[subprocess.Popen, str]:  # fmt: skip
    """A bare Dash app on gunicorn, on loopback; by default the one-callback app on the same
    gunicorn settings: Dash's own handling of a callback request, with nothing of
    Countersign (the floor under the no-op)."""
    folder = tempfile.mkdtemp()
    (Path(folder) / f"{module}.py").write_text(source)
    (Path(folder) / "assets").mkdir()  # the same stylesheet Countersign serves
    shutil.copy(ROOT / "assets" / "bootstrap.min.css", Path(folder) / "assets")
    port = free_port()
    bare = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b",
         f"127.0.0.1:{port}", "--log-level", "warning", f"{module}:server"], cwd=folder)
    base = f"http://127.0.0.1:{port}"
    for _ in range(60):
        try:
            if requests.get(f"{base}/", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.5)
    return bare, base


FLOOR_ROUNDS = 5


def floor_latency(http, base: str, ping: dict, bare_base: str) -> tuple[list[float], list[float]]:
    """The no-op and the bare Dash callback, in turns: FLOOR_ROUNDS rounds of SAMPLES each,
    so that both meet the same moments of a busy machine."""
    bare_http = requests.Session()
    measure(bare_http, bare_base, [BARE_CALLBACK] * 10)  # warm both workers
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(FLOOR_ROUNDS):
        ours += measure(http, base, [ping] * SAMPLES)
        bare += measure(bare_http, bare_base, [BARE_CALLBACK] * SAMPLES)
    return ours, bare


def page_load(url: str, cookie: str | None, grid_selector: str) -> tuple[float, int, int]:
    """(ms until the grid shows rows, JS bytes, CSS bytes) in a fresh headless Chromium."""
    marks, js, css = page_timeline(url, cookie, {"rows": f"{grid_selector} .ag-row"})
    return marks["rows"], js, css


def page_timeline(url: str, cookie: str | None,
                  marks: dict[str, str]) -> tuple[dict[str, float], int, int]:  # fmt: skip
    """({mark: ms from navigation until its CSS selector first matches}, JS bytes, CSS bytes)
    for a first visit in a fresh headless Chromium (empty cache)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--disable-background-networking"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options,
                              service=Service(shutil.which("chromedriver") or "chromedriver"))
    try:
        base = url.split("/", 3)
        if cookie:
            driver.get(f"{base[0]}//{base[2]}/login")
            driver.add_cookie({"name": "session", "value": cookie, "path": "/"})
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        # the page notes, in its own clock from the navigation's start, when each mark
        # first matches (a watcher set before any of its scripts run)
        watcher = "const wanted = " + json.dumps(marks) + """;
            window.__marks = {};
            new MutationObserver(() => {
                for (const [name, selector] of Object.entries(wanted)) {
                    if (!(name in window.__marks) && document.querySelector(selector)) {
                        window.__marks[name] = performance.now();
                    }
                }
            }).observe(document, {childList: true, subtree: true});
        """
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": watcher})
        driver.get(url)
        WebDriverWait(driver, 30, poll_frequency=0.05).until(
            lambda d: len(d.execute_script("return window.__marks || {}")) == len(marks))
        seen = driver.execute_script("return window.__marks")
        entries = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => "
            "[e.name, e.initiatorType, e.transferSize, e.encodedBodySize])")
        js = css = 0
        for name, _initiator, transfer, encoded in entries:
            size = transfer or encoded
            path = name.split("?", 1)[0]
            if path.endswith(".js"):
                js += size
            elif path.endswith(".css"):
                css += size
        return seen, js, css
    finally:
        driver.quit()


DASHBOARD_MARKS = {
    "/dashboards/pending": {"KPIs": "#kpi-median", "charts": ".js-plotly-plot .main-svg"},
    "/dashboards/throughput": {"KPIs": "#kpi-tp-decided",
                               "charts": ".js-plotly-plot .main-svg"},
}
"""What a dashboard's first visit waits for: its figures as numbers, then drawn as charts."""


def dashboard_loads(base: str, cookie: str) -> list[tuple[str, dict[str, float], int]]:
    """Each dashboard's first visit, median of 3: ms until its KPIs and its first chart show."""
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        return []
    rows = []
    for path, marks in DASHBOARD_MARKS.items():
        runs = [page_timeline(f"{base}{path}", cookie, marks) for _ in range(3)]
        rows.append((path, {name: statistics.median(run[0][name] for run in runs)
                            for name in marks}, runs[0][1]))  # fmt: skip
    return rows


def page_loads(base: str, cookie: str) -> list[tuple[str, float, int, int]]:
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        print("Page load: skipped, chromium and chromedriver are not installed")
        return []
    bare, bare_base = start_bare("bare", BARE_APP, 1)
    try:
        app_runs = [page_load(f"{base}/customers", cookie, "#customers-grid") for _ in range(3)]
        bare_runs = [page_load(f"{bare_base}/", None, "#grid") for _ in range(3)]
    finally:
        bare.terminate()
        bare.wait(timeout=20)
    return [("Countersign /customers", statistics.median(r[0] for r in app_runs),
             app_runs[0][1], app_runs[0][2]),
            ("bare Dash + dbc + AG Grid", statistics.median(r[0] for r in bare_runs),
             bare_runs[0][1], bare_runs[0][2])]  # fmt: skip


GOALS = {
    "grid: jump to row 5,000 (skips rows)": ("p50", "x", 4),
    "open editor (customer page)": ("p95", "x", 4),
    "approve": ("p95", "x", 3),
    "inbox": ("p50", "x", 4),
    "inbox: opened, tabs counted": ("p50", "x", 4),
    "throughput: field Credit limit": ("p95", "ms", 300),
    "throughput: step Credit control": ("p95", "ms", 300),
    "throughput: zone +05:30": ("p95", "ms", 300),
}
"""The goals some figures are held to: (statistic, times the no-op's same statistic or
milliseconds, bound)."""


def goal_met(name: str, p50: float, p95: float, base_p50: float, base_p95: float) -> str:
    if name not in GOALS:
        return ""
    statistic, unit, bound = GOALS[name]
    value = p50 if statistic == "p50" else p95
    if unit == "x":
        value /= base_p50 if statistic == "p50" else base_p95
    met = "met" if value <= bound else "missed"
    return f"{statistic} <= {bound}{' ms' if unit == 'ms' else 'x no-op'}: {met}"


def main() -> int:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else CUSTOMERS
    history = int(sys.argv[2]) if len(sys.argv) > 2 else REQUESTS
    folder = tempfile.mkdtemp(prefix="countersign-bench-")
    url = f"sqlite:///{folder}/http.db"
    server = sampler = bare = None
    try:
        started = time.perf_counter()
        made = build(url, customers, history)
        print(f"  built {customers:,} customers and {history:,} requests in "
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        server, base = start_gunicorn(url, WORKERS)
        sampler = Sampler(server.pid)
        sampler.start()
        payloads = Payloads()
        bare, bare_base = start_bare()
        latency = callback_latency(base, made, payloads, customers, bare_base)
        bare.terminate()
        bare.wait(timeout=20)
        loads = page_loads(base, session_cookie(made["users"]["clerk"]))
        boards = dashboard_loads(base, session_cookie(made["users"]["manager"]))
    finally:
        if sampler is not None:
            sampler.running = False
        for process in (server, bare):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)

    print(f"\nCallback latency over HTTP: gunicorn -w {WORKERS}, SQLite, {customers:,} customers, "
          f"{history:,} requests, one client (ms)")  # fmt: skip
    print(f"{'callback':40}{'n':>5}{'p50':>9}{'p95':>9}{'p50 / no-op':>13}{'p95 / no-op':>13}"
          "  goal")  # fmt: skip
    print("-" * 110)
    base_p50, base_p95 = percentiles(latency[0][1])
    for name, samples in latency:
        p50, p95 = percentiles(samples)
        print(f"{name:40}{len(samples):>5}{p50:>9.1f}{p95:>9.1f}{p50 / base_p50:>12.1f}x"
              f"{p95 / base_p95:>12.1f}x  {goal_met(name, p50, p95, base_p50, base_p95)}")
    bare_p50 = percentiles(latency[1][1])[0]
    print(f"the floor: no-op p50 / bare Dash callback p50 = {base_p50 / bare_p50:.2f}x "
          "(goal <= 1.5x)")
    if loads:
        print("\nPage load in headless Chromium, empty cache (median of 3)")
        print(f"{'page':30}{'rows shown ms':>15}{'JS KB':>10}{'CSS KB':>10}")
        print("-" * 65)
        for name, took, js, css in loads:
            print(f"{name:30}{took:>15.0f}{js / 1024:>10.0f}{css / 1024:>10.0f}")
        app_row, bare_row = loads
        print(f"ratio Countersign / bare: time {app_row[1] / bare_row[1]:.2f}x, "
              f"JS+CSS bytes {(app_row[2] + app_row[3]) / (bare_row[2] + bare_row[3]):.2f}x")
        print("\nDashboards in headless Chromium, first visit, empty cache (median of 3; goal: "
              "KPIs < 1,000 ms, charts < 2,000 ms)")
        print(f"{'page':30}{'KPIs ms':>10}{'charts ms':>11}{'JS KB':>10}")
        print("-" * 61)
        for path, marks, js in boards:
            print(f"{path:30}{marks['KPIs']:>10.0f}{marks['charts']:>11.0f}{js / 1024:>10.0f}")
    peaks = sorted(sampler.peaks.values()) if sampler else []
    print("\nPeak RSS per gunicorn worker through the run: "
          + ", ".join(f"{mb:.0f} MB" for mb in peaks))  # fmt: skip
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
