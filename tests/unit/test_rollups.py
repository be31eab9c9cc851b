"""The dashboards' rollup rows: what the services count equals a recount from the history,
and the figures read from them equal the figures counted from the requests."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

import data.dashboards.pending as pending
import data.dashboards.throughput as throughput_module
from data import requests as workflow
from data.clock import utcnow
from data.customers import save_customer
from data.dashboards.common import DAY
from data.dashboards.throughput import ThroughputFilters, local_periods
from data.generate import generate_customers, generate_history
from data.localtime import LocalDays
from data.models import ActivityRollup
from data.rollups import (
    ACCURACY,
    bucket_seconds,
    duration_bucket,
    percentile_from,
    rebuild,
)
from tests.unit.test_generate import history_users
from tests.unit.test_metrics import build_history


def rollup_rows(db) -> dict[tuple, int]:
    with db.session() as session:
        return {
            (r.level, r.slot, r.metric, r.key, r.bucket): r.n
            for r in session.scalars(select(ActivityRollup))
            if r.n
        }


def assert_rollups_match_a_rebuild(db) -> None:
    kept = rollup_rows(db)
    with db.engine.begin() as connection:
        rebuild(connection)
    assert rollup_rows(db) == kept


def test_the_services_count_what_a_recount_finds(world):
    ids = build_history(world)
    # more of the life of a request: delegated, discarded after a send-back
    world.customer("C006")
    result = world.act("clerk", save_customer, "C006", {"credit_limit": "12000"}, expected_version=world.version_of("C006"))
    world.act("clerk", workflow.submit, result.request.id)
    world.act("approver", workflow.delegate, result.request.id, ids["approver3"], "Away")
    world.act("approver3", workflow.request_change, result.request.id, "Why?", seen_round=world.seen(result.request.id))
    world.act("clerk", workflow.discard_all, result.request.id)
    assert rollup_rows(world.db)
    assert_rollups_match_a_rebuild(world.db)


def test_histogram_percentiles_are_within_their_accuracy():
    rng = random.Random(3)
    for _ in range(20):
        values = sorted(rng.expovariate(1 / 50_000) + rng.random() for _ in range(rng.randint(1, 400)))
        histogram: dict[int, int] = {}
        for value in values:
            histogram[duration_bucket(value)] = histogram.get(duration_bucket(value), 0) + 1
        n = len(values)
        for rank in ((n + 1) // 2, (9 * n + 9) // 10, 1, n):
            exact = values[rank - 1]
            assert abs(percentile_from(histogram, rank) - exact) <= ACCURACY * exact + 1
    assert bucket_seconds(duration_bucket(0.2)) == 0


@pytest.fixture
def generated(db):
    generate_customers(db, 1500)
    clerk, first, second, finance, _manager = history_users(db)
    generate_history(db, 3000, clerk_id=clerk, approver_ids=(first, second), finance_id=finance,
                     days=100, batch=1000)  # fmt: skip
    return db


def close(a: float, b: float) -> bool:
    return abs(a - b) <= ACCURACY * abs(b) + 1e-6


@pytest.mark.parametrize("offset", [0, "Europe/Rome", -300, 14 * 60])
def test_figures_from_rollups_equal_the_counted_ones(generated, monkeypatch, offset):
    today = utcnow().date()
    with generated.session() as session:
        for grouping in ("day", "week", "month"):
            filters = ThroughputFilters.make(today - timedelta(days=80), today, grouping,
                                             today=today)  # fmt: skip
            local = LocalDays.of(offset)
            live = throughput_module._throughput_live(session, filters, local)
            exact = throughput_module._throughput_from_rollups(session, filters, local)
            assert exact == live, grouping  # few decisions: exact percentiles
            monkeypatch.setattr(throughput_module, "EXACT_LIMIT", 0)
            rolled = throughput_module._throughput_from_rollups(session, filters, local)
            monkeypatch.undo()
            assert rolled.estimated and not live.estimated
            for part in ("volume", "histogram", "per_field", "per_approver", "sla"):
                assert getattr(rolled, part) == getattr(live, part), (grouping, part)
            assert [row[:2] for row in rolled.cycle] == [row[:2] for row in live.cycle]
            for ours, theirs in zip(rolled.cycle + rolled.per_step, live.cycle + live.per_step,
                                    strict=True):  # fmt: skip
                assert ours[:2] == theirs[:2]
                assert close(ours[2], theirs[2]) and close(ours[3], theirs[3]), (ours, theirs)
            assert rolled.cycle_overall[0] == live.cycle_overall[0]
            assert close(rolled.cycle_overall[1], live.cycle_overall[1])
        local = LocalDays.of(offset)
        dates = [local.day_of(utcnow()) - index * DAY for index in reversed(range(30))]
        since, until = local.midnight(dates[0]), local.midnight(dates[-1] + DAY)
        assert pending._day_flows(session, dates, local) == pending._day_flows_live(
            session, local, since, until
        )


def test_local_periods_start_on_local_midnights():
    filters = ThroughputFilters.make("2026-03-01", "2026-03-10", "week", today=date(2026, 3, 10))
    periods = local_periods(filters, LocalDays.of(60))
    assert [key for key, *_ in periods] == ["2026-02-23", "2026-03-02", "2026-03-09"]
    first_hour = (date(2026, 3, 1) - date(1970, 1, 1)).days * 24 - 1
    assert periods[0][1:] == (first_hour, first_hour + 24)
    assert periods[-1][2] == first_hour + 10 * 24


def test_counts_of_a_transaction_undone_are_forgotten(world):
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "12000"}, expected_version=world.version_of("C001"))
    world.act("clerk", workflow.submit, result.request.id)
    before = rollup_rows(world.db)

    with pytest.raises(RuntimeError), world.db.session() as session:
        approver = world.user(session, "approver")
        workflow.approve(session, approver, result.request.id, seen_round=1)
        session.flush()
        raise RuntimeError("the transaction fails after the decision")
    assert rollup_rows(world.db) == before
    with world.db.session() as session, session.begin_nested():
        workflow.approve(session, world.user(session, "approver"), result.request.id,
                         seen_round=1)
    assert rollup_rows(world.db) != before
    assert_rollups_match_a_rebuild(world.db)
