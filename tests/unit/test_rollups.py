"""The dashboards' rollup rows: what the services count equals a recount from the history,
and the figures read from them equal the figures counted from the requests."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import and_, func, select

import data.dashboards.pending as pending
import data.dashboards.throughput as throughput_module
from data import requests as workflow
from data.clock import utcnow
from data.customers import save_customer
from data.dashboards.common import DAY, period_text
from data.dashboards.throughput import ThroughputFilters, local_periods
from data.generate import generate_customers, generate_history
from data.lifecycle import CLOSED_STATES
from data.localtime import LocalDays
from data.models import ActivityRollup, ChangeRequest, Customer, User
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
    """Every count that is not 0, its parts summed."""
    counts: dict[tuple, int] = defaultdict(int)
    with db.session() as session:
        for r in session.scalars(select(ActivityRollup)):
            counts[(r.dim, r.level, r.slot, r.metric, r.key, r.bucket)] += r.n
    return {key: n for key, n in counts.items() if n}


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


def test_the_rows_per_filter_follow_what_the_requests_are_now(world):
    """A filter picks requests by what they are now: a step assigned later adds its
    approver, a customer's new group moves its requests, a proposal dropped after a
    send-back takes its field away. The rows per filter always equal a recount."""
    ids = build_history(world)
    rows = rollup_rows(world.db)
    assert any(key[0] == f"a:{ids['approver3']}" for key in rows)
    assert any(key[0].startswith("g:") for key in rows)
    world.customer("C007")
    result = world.act("clerk", save_customer, "C007", {"credit_limit": "900000",
                                                          "on_hold": "All"},
                       expected_version=world.version_of("C007"))  # fmt: skip
    request_id = result.request.id
    world.act("clerk", workflow.submit, request_id)
    world.act("approver", workflow.request_change, request_id, "Only the limit",
              seen_round=world.seen(request_id))  # fmt: skip
    assert_rollups_match_a_rebuild(world.db)
    world.act("clerk", workflow.delete_proposal, request_id, "on_hold")
    world.act("clerk", workflow.resubmit, request_id)
    world.act("approver", workflow.approve, request_id, seen_round=world.seen(request_id))
    assert_rollups_match_a_rebuild(world.db)
    world.act("approver3", workflow.delegate, request_id, ids["approver2"], "Away")
    assert_rollups_match_a_rebuild(world.db)
    world.act("approver2", workflow.approve, request_id, seen_round=world.seen(request_id))
    assert_rollups_match_a_rebuild(world.db)
    # the customer moves to another group: its requests are counted under the new one
    world.act("clerk", save_customer, "C007", {"customer_group": "EXPORT"},
              expected_version=world.version_of("C007"))  # fmt: skip
    rows = rollup_rows(world.db)
    assert any(key[0] == "g:export" for key in rows)
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


def picked(session, name: str) -> dict:
    """A throughput filter over the generated history, by name."""
    if name == "approver":
        return {"approver_id": session.scalar(select(User.id).where(User.username == "a1"))}
    if name == "group":
        group = session.scalar(select(Customer.customer_group).order_by(Customer.id))
        return {"customer_group": group.lower()}  # matched in any case
    return {"field": {"field_name": "credit_limit"}, "step": {"step": "Credit control"},
            "other step": {"step": "Finance manager"}, "none": {}}[name]


VIEWS = [
    (0, "none"), ("Europe/Rome", "none"), (-300, "none"), (14 * 60, "none"), (330, "none"),
    ("Asia/Kathmandu", "none"), ("Europe/Rome", "field"), (330, "step"), (0, "other step"),
    ("America/New_York", "approver"), (-570, "group"),
]  # fmt: skip
"""(zone, filter) views compared: zones whole, half and three quarters of an hour from UTC
with and without daylight saving, and each filter."""


def test_figures_from_rollups_equal_the_counted_ones(generated, monkeypatch):
    """One history for every view (making it is what takes time)."""
    for offset, chosen in VIEWS:
        figures_agree(generated, monkeypatch, offset, chosen)


def figures_agree(generated, monkeypatch, offset, chosen):
    today = utcnow().date()
    with generated.session() as session:
        for grouping in ("day", "week", "month"):
            view = (offset, chosen, grouping)
            filters = ThroughputFilters.make(today - timedelta(days=80), today, grouping,
                                             today=today, **picked(session, chosen))  # fmt: skip
            local = LocalDays.of(offset)
            live = throughput_module._throughput_live(session, filters, local)
            exact = throughput_module._throughput_from_rollups(session, filters, local)
            assert exact == live, view  # few decisions: exact percentiles
            monkeypatch.setattr(throughput_module, "EXACT_LIMIT", 0)
            rolled = throughput_module._throughput_from_rollups(session, filters, local)
            monkeypatch.undo()
            assert rolled.estimated and not live.estimated
            for part in ("volume", "histogram", "per_field", "per_approver", "sla", "by_reason"):
                assert getattr(rolled, part) == getattr(live, part), (view, part)
            assert [row[:2] for row in rolled.cycle] == [row[:2] for row in live.cycle], view
            for ours, theirs in zip(rolled.cycle + rolled.per_step, live.cycle + live.per_step,
                                    strict=True):  # fmt: skip
                assert ours[:2] == theirs[:2], view
                assert close(ours[2], theirs[2]) and close(ours[3], theirs[3]), (view, ours)
            assert rolled.cycle_overall[0] == live.cycle_overall[0], view
            assert close(rolled.cycle_overall[1], live.cycle_overall[1]), view
        local = LocalDays.of(offset)
        dates = [local.day_of(utcnow()) - index * DAY for index in reversed(range(30))]
        since, until = local.midnight(dates[0]), local.midnight(dates[-1] + DAY)
        assert pending._day_flows(session, dates, local) == day_flows_counted(
            session, local, since, until
        ), offset


def day_flows_counted(session, local, since, until):
    """Requests first submitted, and submitted requests closed, per local day, counted
    from the requests themselves."""
    first = ChangeRequest.first_submitted_at
    closed = and_(ChangeRequest.state.in_(CLOSED_STATES), first.is_not(None))
    day_of_open = period_text(session, first, "day", local, since, until)
    openings = dict(session.execute(
        select(day_of_open, func.count(ChangeRequest.id))
        .where(first >= since, first < until).group_by(day_of_open)
    ).all())  # fmt: skip
    day_of_close = period_text(session, ChangeRequest.decided_at, "day", local, since, until)
    closings = dict(session.execute(
        select(day_of_close, func.count(ChangeRequest.id))
        .where(closed, ChangeRequest.decided_at >= since, ChangeRequest.decided_at < until)
        .group_by(day_of_close)
    ).all())  # fmt: skip
    return openings, closings


def test_filters_combined_are_counted_from_the_requests(generated, monkeypatch):
    today = utcnow().date()
    with generated.session() as session:
        filters = ThroughputFilters.make(today - timedelta(days=80), today, "week",
                                         field_name="credit_limit", step="Finance manager",
                                         today=today)  # fmt: skip
        boss = session.scalar(select(User).where(User.username == "boss"))
        shown = throughput_module.throughput(session, boss, filters, zone=330)
        assert shown == throughput_module._throughput_live(session, filters, LocalDays.of(330))
        assert shown.volume and all(row[1] for row in shown.per_field)
        # the requests the filters pick are found once, among those still open or closed in
        # the range: the same figures as every query testing every request against them
        combos = [{"field_name": "credit_limit", "step": "Credit control"},
                  {**picked(session, "group"), **picked(session, "approver")},
                  {"field_name": "on_hold", "step": "Finance manager",
                   **picked(session, "group"), **picked(session, "approver")}]  # fmt: skip
        for chosen in combos:
            for first, last in ((today - timedelta(days=80), today),
                                (today - timedelta(days=60), today - timedelta(days=30))):
                view = ThroughputFilters.make(first, last, "week", today=today, **chosen)
                fast = throughput_module._throughput_live(session, view, LocalDays.of(60))
                with monkeypatch.context() as patch:
                    patch.setattr(throughput_module, "_picked_once",
                                  lambda _session, conditions, _since: conditions)
                    slow = throughput_module._throughput_live(session, view, LocalDays.of(60))
                assert fast == slow, (chosen, first)
                assert fast.volume and fast.per_step, (chosen, first)


def test_one_filter_is_read_from_rollups_without_finding_every_request_it_picks(world,
                                                                               monkeypatch):  # fmt: skip
    """Only filters combined find the requests they pick (all of them, in the range); a view
    with one filter counts from its rollups, and its few live figures test the rows they read."""
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "12000"},
                       expected_version=world.version_of("C001"))  # fmt: skip
    world.act("clerk", workflow.submit, result.request.id)
    world.act("approver", workflow.approve, result.request.id, seen_round=1)

    def refuse(*_args):
        raise AssertionError("a view with one filter found every request it picks")

    monkeypatch.setattr(throughput_module, "_picked_once", refuse)
    today = utcnow().date()
    with world.db.session() as session:
        boss = world.user(session, "manager")
        for chosen in ({"field_name": "credit_limit"}, {"step": "Credit control"}, {}):
            view = ThroughputFilters.make(today - timedelta(days=80), today, "week",
                                          today=today, **chosen)  # fmt: skip
            assert throughput_module.throughput(session, boss, view, zone=0).volume


def test_local_periods_start_on_local_midnights():
    filters = ThroughputFilters.make("2026-03-01", "2026-03-10", "week", today=date(2026, 3, 10))
    periods = local_periods(filters, LocalDays.of(60))
    assert [key for key, *_ in periods] == ["2026-02-23", "2026-03-02", "2026-03-09"]
    first = datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert periods[0][1:] == (first, first + DAY)
    assert periods[-1][2] == first + 10 * DAY


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


def test_a_decision_counted_in_and_out_at_a_periods_edges_leaves_no_empty_period(world):
    """A local day that is not a UTC day reads the UTC day's rows, adds the hour before it
    and takes away the hour after it. A decision in that last hour is counted in and out:
    the day has none (the next one has it), not a day with 0 decisions that the charts
    would list (Approval throughput in Rome, by day, with a field filter, showed an empty
    day before the one it belongs to)."""
    from data.clock import clock_at
    from data.rollups import CYCLE, read

    submitted = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
    decided = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # 00:30 on 26 November in Rome
    with clock_at(submitted):
        result = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                           expected_version=world.version_of("C001"))  # fmt: skip
        world.act("clerk", workflow.submit, result.request.id)
    with clock_at(decided):
        world.act("approver", workflow.approve, result.request.id,
                  seen_round=world.seen(result.request.id))  # fmt: skip
    rome = LocalDays.of("Europe/Rome")
    days = [date(2026, 11, 25), date(2026, 11, 26)]
    with world.db.session() as session:
        tallies = read(session, [(rome.midnight(day), rome.midnight(day + DAY)) for day in days],
                       [CYCLE], "f:credit_limit")  # fmt: skip
    assert tallies[0] == {}
    assert sum(tallies[1].values()) == 1


def test_decisions_committing_at_once_do_not_wait_for_each_others_counts(db):
    """PostgreSQL: two transactions add to the same hour's and day's counts. Each adds to
    the part of its own session, so the second commits while the first still holds its
    rows (with one row per count it waited for the first's commit: most of the lock waits
    the approvals benchmark saw, 91 % of them at 6ea6806)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time")
    from sqlalchemy import text

    from data.rollups import SUBMITTED, Tally, _part, write

    tally = Tally()
    tally.add(utcnow(), SUBMITTED)
    first = db.engine.connect()
    first.begin()
    write(first, tally)
    spare = []
    second = db.engine.connect()
    while _part(second) == _part(first) and len(spare) < 8:  # a server process of another part
        spare.append(second)
        second = db.engine.connect()
    with second.begin():
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        write(second, tally)
    first.commit()
    for connection in (first, second, *spare):
        connection.close()
    assert rollup_rows(db) == {key + (SUBMITTED, "", 0): 2 for key in (
        ("", "h", tally.rows()[1]["slot"]), ("", "d", tally.rows()[0]["slot"]))}


def test_the_parts_of_counts_that_have_ended_are_folded_into_one(world):
    """The counts of hours and days that have ended go back to one row each; what the
    dashboards read stays the same, and so does a recount."""
    from sqlalchemy import update

    from data.clock import clock_at
    from data.rollups import CYCLE, PARTS, ROLLUP, SUBMITTED, fold_parts, read

    now = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    for account, at in (("C001", now - timedelta(days=2)), ("C002", now - timedelta(hours=1)),
                        ("C003", now)):  # fmt: skip
        if account != "C001":
            world.customer(account)
        with clock_at(at):
            result = world.act("clerk", save_customer, account, {"credit_limit": "20000"},
                               expected_version=world.version_of(account))  # fmt: skip
            world.act("clerk", workflow.submit, result.request.id)
            world.act("approver", workflow.approve, result.request.id,
                      seen_round=world.seen(result.request.id))  # fmt: skip
    # each count moved to two other parts, as two sessions would have written it
    with world.db.engine.begin() as connection:
        rows = connection.execute(select(ROLLUP)).mappings().all()
        for row in rows:
            connection.execute(update(ROLLUP).where(*(ROLLUP.c[k] == row[k] for k in (
                "dim", "level", "slot", "metric", "key", "bucket", "part"))).values(n=0))
            one, other = [part for part in range(1, PARTS) if part != row["part"]][:2]
            connection.execute(ROLLUP.insert(), [{**row, "part": one, "n": row["n"] - 1},
                                                 {**row, "part": other, "n": 1}])  # fmt: skip
    counts = rollup_rows(world.db)
    periods = [(now - timedelta(days=3), now + timedelta(hours=1))]
    with world.db.session() as session:
        figures = read(session, periods, [SUBMITTED, CYCLE])
        figures_of_a_field = read(session, periods, [SUBMITTED, CYCLE], "f:credit_limit")
    assert sum(figures[0].values()) == 6

    hour = int(now.timestamp() // 3600)
    ended = [row for row in rows if row["slot"] < (hour // 24 if row["level"] == "d" else hour)]
    with world.db.session() as session:
        # the two parts of each, and the part it was written to (0 on SQLite)
        assert fold_parts(session, now) == sum(3 if row["part"] else 2 for row in ended)
        session.commit()
    with world.db.session() as session:
        left = session.execute(select(ROLLUP.c.level, ROLLUP.c.slot, ROLLUP.c.part)).all()
        assert read(session, periods, [SUBMITTED, CYCLE]) == figures
        assert read(session, periods, [SUBMITTED, CYCLE], "f:credit_limit") == figures_of_a_field
    assert {(level, slot) for level, slot, part in left if part} == {("h", hour), ("d", hour // 24)}
    assert rollup_rows(world.db) == counts
    assert_rollups_match_a_rebuild(world.db)


def test_the_schedule_folds_the_parts_of_ended_hours(world):
    from data.rollups import ROLLUP, SUBMITTED
    from data.schedule import run_schedule

    hour = int(utcnow().timestamp() // 3600)
    with world.db.engine.begin() as connection:
        connection.execute(ROLLUP.insert(), [
            {"dim": "", "level": "h", "slot": hour - 5, "metric": SUBMITTED, "key": "",
             "bucket": 0, "part": part, "n": 1} for part in (0, 4, 7)])  # fmt: skip
    run_schedule(world.db)
    with world.db.engine.connect() as connection:
        rows = connection.execute(select(ROLLUP.c.part, ROLLUP.c.n)
                                  .where(ROLLUP.c.slot == hour - 5)).all()  # fmt: skip
    assert rows == [(0, 3)]
