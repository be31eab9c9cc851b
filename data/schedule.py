"""Work that runs on a clock, without cron: the work of people whose absence has begun
handed to their delegates, reminders as a step's time limit nears and when it passes, and
escalation of overdue steps; and the dashboards' counts of hours that have ended folded
into one row each (data.rollups.fold_parts).

One runner per database does it every minute: the delivery worker that holds the
database's sender lock (data/webhooks.py), or Celery beat when the jobs run on Celery
(data/jobs.py). Each step is reminded, told and escalated once (its row records when),
so a second runner changes nothing. ``countersign escalate`` runs the same from cron.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from data.clock import utcnow
from data.requests import escalate_some, hand_over_absent, remind_some
from data.rollups import fold_parts

if TYPE_CHECKING:
    from data.db import Database

EVERY = 60.0
"""Seconds between two runs."""


def run_schedule(database: Database) -> tuple[int, int]:
    """(steps whose deciders were reminded or told, steps escalated); first, the work of
    whoever is away now goes to their stand-ins, who are then the ones reminded. Each
    batch of steps is a transaction of its own."""
    database.run(hand_over_absent, writes=True)
    now = utcnow()
    database.run(fold_parts, now, writes=True)
    return _in_batches(database, remind_some, now), _in_batches(database, escalate_some, now)


def _in_batches(database: Database, some, now) -> int:
    done, after = 0, None
    while True:
        count, after = database.run(some, now, after, writes=True)
        done += count
        if after is None:
            return done
        time.sleep(BATCH_PAUSE)  # whoever waits to write goes first


BATCH_PAUSE = 0.25
"""Seconds between two batches: a decision waiting for the write lock (SQLite has one,
and a waiting writer looks again every 100 ms) takes it then, instead of waiting for the
whole backlog."""
