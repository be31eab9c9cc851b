"""Reminders and escalation without cron: a step's deciders are reminded once as its time
limit nears and told once when it passes; the delivery worker runs that every minute (one
runner per database), Celery beat when the jobs run on Celery."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from data import requests as svc
from data.clock import utcnow
from data.customers import save_customer
from data.models import Notification, RequestStep, User
from data.workflows import StepSpec
from tests.unit.test_workflow import named, submit


def told(world) -> list[tuple[str, str]]:
    """The reminders and overdue notices so far: (kind, to whom)."""
    return world.query(lambda s: [tuple(row) for row in s.execute(
        select(Notification.kind, User.username).join(User, User.id == Notification.user_id)
        .where(Notification.kind.in_(["reminder", "overdue"])).order_by(Notification.id))])


def limited(world, hours: int, **options) -> int:
    world.workflow([StepSpec(name="Credit", assignee_user_ids=named(world, "approver", "approver2"),
                             policy="all", time_limit_hours=hours, **options)])  # fmt: skip
    return submit(world, {"credit_limit": "20000"})


def test_reminded_once_a_quarter_of_the_limit_before_and_told_once_when_it_passes(world):
    request_id = limited(world, 8)
    due = world.query(lambda s: s.scalar(select(RequestStep.due_at)))
    world.act("approver2", svc.approve, request_id, "fine", seen_round=1)  # decided: not told
    assert world.db.run(svc.remind, due - timedelta(hours=3)) == 0  # 2 hours before is the time
    assert world.db.run(svc.remind, due - timedelta(hours=1)) == 1
    assert world.db.run(svc.remind, due - timedelta(minutes=30)) == 0
    assert told(world) == [("reminder", "approver")]
    text = world.query(lambda s: s.scalar(select(Notification.text).where(
        Notification.kind == "reminder")))  # fmt: skip
    assert text.startswith(f"Request #{request_id} for C001 is due by ") and "(Credit)" in text
    assert world.db.run(svc.remind, due + timedelta(minutes=1)) == 1
    assert world.db.run(svc.remind, due + timedelta(hours=2)) == 0
    assert told(world) == [("reminder", "approver"), ("overdue", "approver")]


def test_a_long_limit_reminds_a_day_before_and_escalation_does_not_tell_twice(world):
    limited(world, 120, escalate_to_user_id=world.user_id("manager"))  # a quarter is 30 h
    due = world.query(lambda s: s.scalar(select(RequestStep.due_at)))
    assert world.db.run(svc.remind, due - timedelta(hours=25)) == 0
    assert world.db.run(svc.remind, due - timedelta(hours=23)) == 1
    assert world.db.run(svc.remind, due + timedelta(minutes=1)) == 1
    assert world.db.run(svc.escalate_overdue, due + timedelta(minutes=1)) == 1
    assert told(world).count(("overdue", "approver")) == 1
    kinds = world.query(lambda s: [n.kind for n in s.scalars(select(Notification).where(
        Notification.user_id == world.user_id("manager")))])  # fmt: skip
    assert kinds == ["assigned"]


def test_escalation_alone_still_tells_the_deciders(world):
    limited(world, 4, escalate_to_user_id=world.user_id("manager"))
    later = utcnow() + timedelta(hours=5)
    assert world.db.run(svc.escalate_overdue, later) == 1
    assert sorted(told(world)) == [("overdue", "approver"), ("overdue", "approver2")]
    assert world.db.run(svc.remind, later) == 0  # told already


def test_the_delivery_worker_runs_the_schedule_without_cron(world):
    from data.webhooks import run_worker

    limited(world, 4)
    with world.db.session() as session:  # the limit passed an hour ago
        session.execute(update(RequestStep).values(due_at=utcnow() - timedelta(hours=1)))
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(world.db, stop), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while len(told(world)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(30)
    assert sorted(told(world)) == [("overdue", "approver"), ("overdue", "approver2")]


def test_celery_beat_queues_delivery_and_the_schedule():
    from celery import Celery

    from data.db import Database
    from data.jobs import DELIVER, SCHEDULE, use_celery

    celery = Celery("countersign-test", broker="memory://")
    database = Database("sqlite://")
    use_celery(celery, database)
    beat = {entry["task"]: entry["schedule"] for entry in celery.conf.beat_schedule.values()}
    assert beat == {DELIVER: 5.0, SCHEDULE: 60.0}
    assert {DELIVER, SCHEDULE} <= set(celery.tasks)


def overdue_requests(world, count: int) -> list[int]:
    """``count`` pending requests whose one step (every approver asked, escalated to the
    manager) passed its limit an hour ago."""
    world.workflow([StepSpec(name="Credit", assignee_user_ids=named(world, "approver"),
                             time_limit_hours=1, escalate_to_user_id=world.user_id("manager"))])  # fmt: skip
    accounts = [f"C{n:03d}" for n in range(2, count + 1)]
    for account in accounts:
        world.customer(account)
    ids = []
    for account in ["C001", *accounts]:
        result = world.act("clerk", save_customer, account, {"credit_limit": "20000"},
                           expected_version=world.version_of(account))  # fmt: skip
        world.act("clerk", svc.submit, result.request.id)
        ids.append(result.request.id)
    world.db.run(lambda s: s.execute(update(RequestStep).values(
        due_at=utcnow() - timedelta(hours=1))), writes=True)  # fmt: skip
    return ids


def units_of_work(world, monkeypatch) -> list[str]:
    """The names of the units of work run from now on (a list that grows)."""
    names = []
    real_run = world.db.run

    def counted(work, *args, **options):
        names.append(getattr(work, "__name__", ""))
        return real_run(work, *args, **options)

    monkeypatch.setattr(world.db, "run", counted)
    return names


def test_a_long_backlog_is_told_in_short_transactions_each_step_once(world, monkeypatch):
    """The first run over a large history tells thousands of deciders: it goes in batches,
    each its own transaction, so a decision meanwhile waits for one batch at most."""
    from data.schedule import run_schedule

    ids = overdue_requests(world, 6)
    monkeypatch.setattr(svc, "SCHEDULE_BATCH", 2)
    transactions = units_of_work(world, monkeypatch)
    assert run_schedule(world.db) == (6, 6)
    assert transactions.count("remind_some") == 4 and transactions.count("escalate_some") == 4
    assert told(world).count(("overdue", "approver")) == 6
    assert run_schedule(world.db) == (0, 0)
    escalated = world.query(lambda s: s.scalar(select(func.count()).select_from(RequestStep)
                                               .where(RequestStep.escalated_at.is_not(None))))
    assert escalated == len(ids)


def test_a_batch_that_takes_long_ends_early_and_the_next_goes_on_from_there(world, monkeypatch):
    """Steps with many deciders make long batches: a batch ends once it has worked
    BATCH_SECONDS, so the rows it locked are free again soon; every step is still told
    once, in order."""
    import data.schedule as schedule

    overdue_requests(world, 4)
    monkeypatch.setattr(svc, "BATCH_SECONDS", 0)  # every batch is out of time after one step
    monkeypatch.setattr(schedule, "BATCH_PAUSE", 0)
    batches = units_of_work(world, monkeypatch)
    assert schedule.run_schedule(world.db) == (4, 4)
    assert batches.count("remind_some") == 4 and batches.count("escalate_some") == 4
    assert told(world).count(("overdue", "approver")) == 4
    assert schedule.run_schedule(world.db) == (0, 0)
