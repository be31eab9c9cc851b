"""Imports run as background jobs: on this machine (diskcache) or on Celery workers (Redis).

The job runs as the user whose request started it (the web process puts the
signed-in user into the job's context; the browser cannot name one), and
reports progress while it works.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from data.config import INSTANCE_DIR, Settings, load_settings
from data.models import ImportBatch
from tests.dash_http import callback_payload, client_as, find_output_key, post_callback

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _import_body(app, text: str, token: str = "t1") -> dict:
    key = find_output_key(app, "imp-batches.children")
    content = base64.b64encode(text.encode()).decode()
    stored = {"filename": "jobs.csv", "contents": f"data:text/csv;base64,{content}", "token": token}
    return callback_payload(app, key, {("imp-run", "n_clicks"): 1, ("imp-file", "data"): stored},
                            changed="imp-run.n_clicks")  # fmt: skip


def test_the_jobs_folder_and_queue_come_from_the_environment(tmp_path):
    base = {"SECRET_KEY": "k", "DATABASE_URL": "postgresql://db/cs"}
    assert load_settings(base).jobs_folder() == INSTANCE_DIR / "jobs"
    assert load_settings(base).jobs_url == ""
    sqlite = Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_key="k", demo=False,
                      host="", port=0)  # fmt: skip
    assert sqlite.jobs_folder() == tmp_path / "jobs"
    chosen = load_settings({**base, "COUNTERSIGN_JOBS_DIR": str(tmp_path / "j"),
                            "COUNTERSIGN_JOBS_URL": "redis://r:6379/0"})  # fmt: skip
    assert (chosen.jobs_folder(), chosen.jobs_url) == (tmp_path / "j", "redis://r:6379/0")


def test_an_import_runs_as_a_background_job_with_progress(web):
    """The first answer is a job handle; the import lands once the job ends."""
    body = _import_body(web.app, "account,city\nC001,Lodi\n")
    client = client_as(web.app, web.world.user_id("clerk"))
    first = client.post("/_dash-update-component", json=body)
    assert first.status_code == 200 and "cacheKey" in first.get_json()
    response = post_callback(client_as(web.app, web.world.user_id("clerk")), body)
    assert b"imported" in response.data and b"1 updated" in response.data
    batches = web.world.query(lambda s: s.scalars(select(ImportBatch.created_by_id)).all())
    assert batches == [web.world.user_id("clerk"), web.world.user_id("clerk")]


def _redis_reachable(url: str) -> bool:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=1):
            return True
    except OSError:
        return False


def test_a_celery_worker_runs_the_import_for_the_web_process(web, tmp_path):
    """Two processes: the web app hands the job to Redis, a Celery worker runs it."""
    pytest.importorskip("celery")
    if not _redis_reachable(REDIS_URL):
        pytest.skip(f"no Redis at {REDIS_URL} (set TEST_REDIS_URL to run this)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    from app import create_app

    url = web.world.db.url
    settings = Settings(database_url=url, secret_key="test-key", demo=False, host="", port=0,
                        jobs_url=REDIS_URL)  # fmt: skip
    app = create_app(settings)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-key", "COUNTERSIGN_DEMO": "0",
           "COUNTERSIGN_JOBS_URL": REDIS_URL}  # fmt: skip
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed after the worker)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "app:celery_app", "worker", "--pool=solo",
         "--concurrency=1", "--without-heartbeat", "--without-mingle", "--without-gossip",
         "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready" not in (tmp_path / "worker.log").read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(0.2)
        body = _import_body(app, "account,city\nC001,Varese\n")
        response = post_callback(client_as(app, web.world.user_id("clerk")), body, timeout=60)
        assert b"1 updated" in response.data, response.data[:500]
        from data.customers import find_customer

        assert web.world.query(lambda s: find_customer(s, "C001").city) == "Varese"
        assert "succeeded" in (tmp_path / "worker.log").read_text()
        # the worker ran it as the clerk who asked; an approver's job is refused there
        body = _import_body(app, "account,city\nC001,Como\n", token="t2")
        refused = post_callback(client_as(app, web.world.user_id("approver")), body, timeout=60)
        assert b"role to do this" in refused.data
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        log.close()


def test_a_job_that_ends_while_it_is_being_stopped_is_no_error(tmp_path, monkeypatch):
    import subprocess

    import diskcache
    import psutil

    from app import _local_jobs_manager

    manager = _local_jobs_manager()(diskcache.Cache(str(tmp_path / "jobs")), expire=60)
    job = subprocess.Popen(["sleep", "30"])
    try:

        def gone(process, *args, **kwargs):
            raise psutil.NoSuchProcess(process.pid)

        # the job exits between "does it exist" and "list its children"
        monkeypatch.setattr(psutil.Process, "children", gone)
        monkeypatch.setattr(psutil.Process, "status", gone)
        manager.terminate_job(job.pid)
        assert manager.job_running(job.pid) is False
    finally:
        job.kill()
        job.wait()
