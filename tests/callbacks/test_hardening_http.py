"""Values out of range over HTTP get a message, never a 500; the server names no software;
several workers starting on an empty demo database seed it once."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy import func, select

from tests.dash_http import callback_payload, client_as, find_output_key


@pytest.mark.parametrize("offset", [10**12, "1e12", -10**9, "x", None, [1]])
def test_a_forged_time_zone_offset_is_taken_as_utc(web, offset):
    for fragment, values, user in (
        ("pd-body.children", {("pd-days", "value"): "30", ("cs-tz", "data"): offset}, "manager"),
        ("tp-body.children", {("tp-start", "value"): "2026-01-01",
                              ("tp-end", "value"): "2026-03-31",
                              ("tp-grouping", "value"): "week", ("cs-tz", "data"): offset},
         "analyst"),
        ("rl-body.children", {("cs-tz", "data"): offset, ("rl-query", "data"): {"state": "open"}},
         "manager"),
    ):  # fmt: skip
        payload = callback_payload(web.app, find_output_key(web.app, fragment), values)
        response = client_as(web.app, web.world.user_id(user)).post(
            "/_dash-update-component", json=payload
        )
        assert response.status_code == 200, (fragment, response.data[:200])
        assert b"Something went wrong" not in response.data


@pytest.mark.parametrize(("start", "end", "message"), [
    ("9999-01-01", "9999-12-31", b"must be between 2000-01-01 and 2099-12-31"),
    ("0001-01-01", "2026-01-01", b"must be between 2000-01-01 and 2099-12-31"),
])  # fmt: skip
def test_dashboard_days_out_of_range_get_a_message(web, start, end, message):
    values = {("tp-start", "value"): start, ("tp-end", "value"): end,
              ("tp-grouping", "value"): "week", ("cs-tz", "data"): 0}  # fmt: skip
    payload = callback_payload(web.app, find_output_key(web.app, "tp-body.children"), values)
    response = client_as(web.app, web.world.user_id("analyst")).post(
        "/_dash-update-component", json=payload
    )
    assert response.status_code == 200 and message in response.data


def test_the_development_server_names_no_software(web):
    import requests
    from werkzeug.serving import make_server

    from app import QuietRequestHandler

    server = make_server("127.0.0.1", 0, web.app.server, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = requests.get(f"http://127.0.0.1:{server.server_port}/login", timeout=10)
    finally:
        server.shutdown()
    assert response.headers["Server"] == "Countersign"
    assert "Werkzeug" not in response.text and "Python" not in response.headers["Server"]


def _start_app(url: str, key: str, results) -> None:
    from app import create_app
    from data.config import Settings

    try:
        create_app(Settings(database_url=url, secret_key=key, demo=True, host="127.0.0.1",
                            port=8050))  # fmt: skip
        results.put("ok")
    except Exception as error:  # noqa: BLE001 - the test reports what a worker met
        results.put(f"{type(error).__name__}: {error}")


def test_two_workers_starting_on_an_empty_demo_database_seed_it_once(tmp_path):
    from data.db import Database
    from data.models import User

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_start_app, args=(url, "k", results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
    assert sorted(results.get(timeout=5) for _ in workers) == ["ok", "ok"]
    database = Database(url)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.username == "clerk")) == 1
    database.dispose()
