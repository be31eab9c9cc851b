"""Background work on Celery workers, when COUNTERSIGN_JOBS_URL names a Redis server.

Webhook and email delivery is one task, ``countersign.deliver`` (a pass of
data/webhooks.py's ``deliver_due`` and data/mail.py's ``send_due``). It is queued each
time a transaction that wrote outbox events or email commits, so they go out at once;
and Celery beat queues it every ``RETRY_EVERY`` seconds for the retries (and digests)
that come due later (run beat with the worker, ``celery -A app:celery_app worker -B``,
or as ``celery -A app:celery_app beat``). Several workers may run passes at once: each
endpoint, and each email, is leased to one sender at a time, so every endpoint still
receives its events one after another, in order, and no email is sent twice.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from data.db import Database
from data.mail import send_due
from data.schedule import EVERY as SCHEDULE_EVERY
from data.schedule import run_schedule
from data.webhooks import deliver_due

log = logging.getLogger(__name__)

DELIVER = "countersign.deliver"
SCHEDULE = "countersign.schedule"
"""Reminders and escalation (data/schedule.py), queued by beat every minute."""
RETRY_EVERY = 5.0
PASS_LIMIT = 100
"""Attempts in one pass; a pass that reached it queues the next at once."""


def use_celery(celery: Any, database: Database) -> None:
    """Register this database's tasks on ``celery`` and queue them as events commit."""

    @celery.task(name=DELIVER, ignore_result=True)
    def deliver() -> int:
        tried = deliver_due(database, limit=PASS_LIMIT) + send_due(database)
        if tried >= PASS_LIMIT:
            deliver.delay()
        return tried

    @celery.task(name=SCHEDULE, ignore_result=True)
    def schedule() -> tuple[int, int]:
        return run_schedule(database)

    celery.conf.beat_schedule = {
        "deliver": {"task": DELIVER, "schedule": RETRY_EVERY},
        "schedule": {"task": SCHEDULE, "schedule": SCHEDULE_EVERY},
    }
    database.events_committed.append(Queuer(lambda: celery.send_task(DELIVER)).soon)


class Queuer:
    """Queues a task from a thread of its own: the request whose commit asks for it never
    waits on the queue (a Redis that is down can take seconds to say so; that is logged and
    beat queues the pass later). Asks made while one is on its way are sent as one."""

    def __init__(self, send: Callable[[], Any]):
        self._send = send
        self._asked = threading.Event()
        self._pid: int | None = None
        self._lock = threading.Lock()

    def soon(self) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first ask in this process (or in a fork)
                self._pid = os.getpid()
                self._asked = threading.Event()
                threading.Thread(target=self._run, args=(self._asked,),
                                 name="countersign-queue", daemon=True).start()  # fmt: skip
            self._asked.set()

    def _run(self, asked: threading.Event) -> None:
        while True:
            asked.wait()
            asked.clear()
            try:
                self._send()
            except Exception:
                log.exception("queueing a background task failed")
