"""Dashboard figures against a small hand-built history whose answers are worked out by hand.

The history (UTC; "now" is Tuesday 2026-03-10 12:00):

- R1 C001 credit limit 10,000 → 20,000: submitted Feb 28 12:00, approved by Approver 14:00.
- R2 C002 on hold No → All: submitted Mar 1 12:00, rejected by Approver2 Mar 2 18:00 (30 h).
- R6 C001 on hold No → Invoice: submitted Mar 2 12:00; still pending; Approver2's
  assignment reassigned to Approver3 by the manager.
- R3 C003 credit limit 10,000 → 100,000: submitted Mar 5 12:00, Credit control approved
  13:00, Finance (no time limit) approved by Approver3 Mar 6 12:00 (24 h in all).
- R4 C004 name: submitted Mar 6 12:00, sent back by Approver 17:00, resubmitted Mar 8 12:00.
- R5 C005 credit limit and terms of payment: submitted Mar 10 06:00.

Credit control (Approver, Approver2; 24 h limit) runs always; Finance (Approver3)
only when the credit limit rises by more than 50,000.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from data import requests as workflow
from data.clock import clock_at
from data.customers import save_customer
from data.dashboards.pending import pending_overview
from data.dashboards.request_list import RequestFilters, request_list
from data.dashboards.throughput import ThroughputFilters, throughput
from data.errors import PermissionDenied, ValidationFailed
from data.inbox import open_assignments
from data.workflows import StepSpec

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def history(world):
    return build_history(world)


def build_history(world) -> dict[str, int]:
    ids = {u: world.user_id(u) for u in ("approver", "approver2", "approver3")}
    world.workflow([
        StepSpec(name="Credit control", assignee_user_ids=[ids["approver"], ids["approver2"]],
                 time_limit_hours=24),
        StepSpec(name="Finance", assignee_user_ids=[ids["approver3"]],
                 condition={"kind": "increase", "field": "credit_limit", "amount": 50000}),
    ])  # fmt: skip
    for account in ("C002", "C003", "C004", "C005"):
        world.customer(account)

    def propose(moment, account, **values):
        with clock_at(moment):
            result = world.act("clerk", save_customer, account, values, expected_version=world.version_of(account))
            world.act("clerk", workflow.submit, result.request.id)
        return result.request.id

    def as_user(moment, username, service, *args):
        with clock_at(moment):
            return world.act(username, service, *args)

    def decide(moment, username, service, request_id, *args):
        with clock_at(moment):
            return world.act(username, service, request_id, *args,
                             seen_round=world.seen(request_id))

    r1 = propose(at(2, 28, 12), "C001", credit_limit="20000")
    decide(at(2, 28, 14), "approver", workflow.approve, r1)
    r2 = propose(at(3, 1, 12), "C002", on_hold="All")
    decide(at(3, 2, 18), "approver2", workflow.reject, r2, "Not now")
    r6 = propose(at(3, 2, 12), "C001", on_hold="Invoice")
    r3 = propose(at(3, 5, 12), "C003", credit_limit="100000")
    decide(at(3, 5, 13), "approver", workflow.approve, r3)
    decide(at(3, 6, 12), "approver3", workflow.approve, r3)
    r4 = propose(at(3, 6, 12), "C004", name="Customer C004 S.p.A.")
    decide(at(3, 6, 17), "approver", workflow.request_change, r4, "Full legal name, please")
    as_user(at(3, 8, 12), "clerk", workflow.resubmit, r4)
    r5 = propose(at(3, 10, 6), "C005", credit_limit="15000", terms_of_payment="Net60")
    stuck = next(a for a, holder, _ in world.act("manager", open_assignments, r6) if holder == "Approver2")
    as_user(at(3, 9, 9), "manager", workflow.reassign, stuck, ids["approver3"], "On leave")
    return {"r1": r1, "r2": r2, "r3": r3, "r4": r4, "r5": r5, "r6": r6, **ids}


def hours(delta: timedelta | None) -> float | None:
    return delta.total_seconds() / 3600 if delta is not None else None


def test_pending_kpis_and_charts(world, history):
    overview = world.act("manager", pending_overview, days=12, now=NOW)
    assert overview.open_requests == 3  # R4, R5, R6
    assert overview.changes_waiting == 4  # name; credit limit + terms; on hold
    assert overview.overdue_steps == 2  # R4 (due Mar 9 12:00) and R6 (due Mar 3 12:00)
    assert hours(overview.oldest_age) == 8 * 24  # R6
    assert hours(overview.median_age) == 2 * 24  # of 6 h, 2 days, 8 days
    assert overview.by_step == [("Credit control", 3)]
    assert [(name, count) for _, name, count in overview.by_approver] == [
        ("Approver", 3), ("Approver2", 2), ("Approver3", 1),
    ]  # fmt: skip
    assert overview.ageing == [
        ("< 1 day", "Credit control", 1),
        ("1–3 days", "Credit control", 1),
        ("> 7 days", "Credit control", 1),
    ]
    assert overview.by_field == [
        ("credit_limit", 1), ("name", 1), ("on_hold", 1), ("terms_of_payment", 1),
    ]  # fmt: skip
    assert overview.backlog == [
        (date(2026, 2, 27), 0), (date(2026, 2, 28), 0), (date(2026, 3, 1), 1),
        (date(2026, 3, 2), 1), (date(2026, 3, 3), 1), (date(2026, 3, 4), 1),
        (date(2026, 3, 5), 2), (date(2026, 3, 6), 2), (date(2026, 3, 7), 2),
        (date(2026, 3, 8), 2), (date(2026, 3, 9), 2), (date(2026, 3, 10), 3),
    ]  # fmt: skip


def test_backlog_days_follow_the_viewers_time_zone(world, history):
    # 14 hours east of UTC it is already Mar 11 02:00, and R5 (Mar 10 06:00 UTC) came on Mar 10
    overview = world.act("manager", pending_overview, days=3, zone=14 * 60, now=NOW)
    assert overview.backlog == [(date(2026, 3, 9), 2), (date(2026, 3, 10), 3), (date(2026, 3, 11), 3)]
    # 10 hours west it is Mar 10 02:00, and R5 came on Mar 9 at 20:00
    overview = world.act("manager", pending_overview, days=2, zone=-10 * 60, now=NOW)
    assert overview.backlog == [(date(2026, 3, 9), 3), (date(2026, 3, 10), 3)]


def test_drill_through_lists_the_requests_behind_each_figure(world, history):
    def listed(**query):
        total, rows = world.act("manager", request_list, RequestFilters.from_query(query), now=NOW)
        assert total == len(rows)
        return [row.request_id for row in rows]

    h = history
    assert listed(state="open") == [h["r6"], h["r4"], h["r5"]]
    assert listed(state="pending", step="Credit control", overdue="1") == [h["r6"], h["r4"]]
    assert listed(state="pending", approver=str(h["approver3"])) == [h["r6"]]
    assert listed(state="pending", approver=str(h["approver2"])) == [h["r4"], h["r5"]]
    assert listed(state="pending", age="> 7 days") == [h["r6"]]
    assert listed(state="pending", age="1–3 days") == [h["r4"]]
    assert listed(state="pending", field="terms_of_payment") == [h["r5"]]
    assert listed(state="rejected") == [h["r2"]]
    _, rows = world.act("manager", request_list, RequestFilters(state="pending", age="> 7 days"), now=NOW)
    assert (rows[0].account, rows[0].step, rows[0].holders, rows[0].fields) == (
        "C001", "Credit control", ["Approver", "Approver3"], ["On hold"],
    )  # fmt: skip


@pytest.mark.parametrize("query", [{"state": "nope"}, {"field": "password"}, {"age": "ages"}, {"approver": "x"}])
def test_bad_drill_through_queries_are_refused(query):
    with pytest.raises(ValidationFailed):
        RequestFilters.from_query(query)


def range_filters(**kwargs):
    return ThroughputFilters.make("2026-02-27", "2026-03-10", kwargs.pop("grouping", "day"), today=NOW.date(), **kwargs)


def test_throughput_volume_cycle_time_and_histogram(world, history):
    figures = world.act("analyst", throughput, range_filters())
    assert figures.volume == [
        ("2026-02-28", 1, 1, 0), ("2026-03-01", 1, 0, 0), ("2026-03-02", 1, 0, 1),
        ("2026-03-05", 1, 0, 0), ("2026-03-06", 1, 1, 0), ("2026-03-10", 1, 0, 0),
    ]  # fmt: skip
    assert [(p, n, round(m, 6), round(p90, 6)) for p, n, m, p90 in figures.cycle] == [
        ("2026-02-28", 1, 2.0, 2.0), ("2026-03-02", 1, 30.0, 30.0), ("2026-03-06", 1, 24.0, 24.0),
    ]  # fmt: skip
    n, median, p90 = figures.cycle_overall
    assert (n, round(median, 6), round(p90, 6)) == (3, 24.0, 30.0)
    assert figures.histogram == [
        ("< 1 hour", 0), ("1–4 hours", 1), ("4–24 hours", 0),
        ("1–3 days", 2), ("3–7 days", 0), ("> 7 days", 0),
    ]  # fmt: skip


def test_throughput_steps_fields_approvers_and_sla(world, history):
    figures = world.act("analyst", throughput, range_filters())
    assert [(s, n, round(m, 6), round(p, 6)) for s, n, m, p in figures.per_step] == [
        ("Credit control", 4, 2.0, 30.0),  # 1 h, 2 h, 5 h, 30 h
        ("Finance", 1, 23.0, 23.0),
    ]
    assert figures.per_field == [("Credit limit", 2, 0, 0), ("Name", 0, 0, 1), ("On hold", 1, 1, 0)]
    assert figures.per_approver == [
        ("Approver", 2, 0, 1, 0), ("Approver2", 0, 1, 0, 0), ("Approver3", 1, 0, 0, 0),
    ]  # fmt: skip
    assert figures.sla == [("Credit control", 4, 3)]


def test_throughput_filters_and_grouping(world, history):
    by_step = world.act("analyst", throughput, range_filters(step="Finance"))
    assert by_step.volume == [("2026-03-05", 1, 0, 0), ("2026-03-06", 0, 1, 0)]
    assert by_step.per_step[0][0] == "Finance" and len(by_step.per_step) == 1
    by_field = world.act("analyst", throughput, range_filters(field_name="credit_limit"))
    assert [row[:2] for row in by_field.volume] == [("2026-02-28", 1), ("2026-03-05", 1), ("2026-03-06", 0), ("2026-03-10", 1)]
    by_approver = world.act("analyst", throughput, range_filters(approver_id=history["approver3"]))
    assert [row[0] for row in by_approver.per_approver] == ["Approver3"]
    weekly = world.act("analyst", throughput, range_filters(grouping="week"))
    assert weekly.volume == [("2026-02-23", 2, 1, 0), ("2026-03-02", 3, 1, 1), ("2026-03-09", 1, 0, 0)]
    monthly = world.act("analyst", throughput, range_filters(grouping="month"))
    assert monthly.volume == [("2026-02-01", 1, 1, 0), ("2026-03-01", 5, 1, 1)]
    groups = world.act("analyst", throughput, range_filters(customer_group="wholesale"))
    assert groups.volume == []


def test_throughput_periods_follow_the_viewers_time_zone(world, history):
    figures = world.act("analyst", throughput, range_filters(), zone=14 * 60)
    assert figures.volume[0] == ("2026-03-01", 1, 1, 0)  # R1, Feb 28 12:00 and 14:00 UTC


@pytest.mark.parametrize(
    "kwargs",
    [{"start": "2026-13-01"}, {"start": "2026-03-10", "end": "2026-03-01"}, {"grouping": "year"},
     {"field_name": "nope"}, {"approver_id": "someone"}, {"start": "2020-01-01"}],
)  # fmt: skip
def test_bad_throughput_filters_are_refused(kwargs):
    with pytest.raises(ValidationFailed):
        ThroughputFilters.make(today=NOW.date(), **kwargs)


def test_only_managers_see_the_backlog_and_only_analysts_and_managers_the_throughput(world):
    for username in ("clerk", "approver", "analyst", "admin"):
        with pytest.raises(PermissionDenied):
            world.act(username, pending_overview)
    for username in ("clerk", "approver", "admin"):
        with pytest.raises(PermissionDenied):
            world.act(username, throughput, range_filters())
        with pytest.raises(PermissionDenied):
            world.act(username, request_list, RequestFilters())
    world.act("manager", throughput, range_filters())


def test_analysts_cannot_reassign(world, history):
    assignment = world.act("manager", open_assignments, history["r5"])[0][0]
    with pytest.raises(PermissionDenied):
        world.act("analyst", workflow.reassign, assignment, history["approver3"])
    with pytest.raises(PermissionDenied):
        world.act("analyst", open_assignments, history["r5"])


def test_local_days_follow_daylight_saving_changes(world):
    """In Rome a day starts at 23:00 UTC in winter and at 22:00 UTC in summer; a
    dashboard looked at in December still puts a June evening in the right day."""
    world.customer("C002")
    submitted = {"C001": datetime(2026, 1, 10, 22, 30, tzinfo=UTC),   # Jan 10 23:30 CET
                 "C002": datetime(2026, 6, 10, 22, 30, tzinfo=UTC)}   # Jun 11 00:30 CEST
    for account, moment in submitted.items():
        with clock_at(moment):
            request = world.act("clerk", save_customer, account, {"credit_limit": "12000"},
                                expected_version=world.version_of(account)).request
            world.act("clerk", workflow.submit, request.id)
    with clock_at(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):  # CET again
        for field_name in (None, "credit_limit"):  # from the rollups, and counted live
            filters = ThroughputFilters.make("2026-01-01", "2026-06-30", "day", field_name,
                                             today=date(2026, 12, 1))  # fmt: skip
            figures = world.act("analyst", throughput, filters, zone="Europe/Rome")
            assert [row[:2] for row in figures.volume] == [("2026-01-10", 1), ("2026-06-11", 1)]
            weekly = world.act("analyst", throughput, ThroughputFilters.make(
                "2026-06-01", "2026-06-30", "week", field_name, today=date(2026, 12, 1)),
                zone="Europe/Rome")  # fmt: skip
            assert [row[:2] for row in weekly.volume] == [("2026-06-08", 1)]
    # the backlog's days too: Jun 11 has the June request open, Jun 10 does not yet
    overview = world.act("manager", pending_overview, days=2, zone="Europe/Rome",
                         now=datetime(2026, 6, 11, 8, 0, tzinfo=UTC))  # fmt: skip
    assert overview.backlog == [(date(2026, 6, 10), 1), (date(2026, 6, 11), 2)]
    # a zone whose days start on the half hour is counted live, the same way
    india = world.act("analyst", throughput, ThroughputFilters.make(
        "2026-06-01", "2026-06-30", "day", today=date(2026, 12, 1)), zone="Asia/Kolkata")
    assert [row[:2] for row in india.volume] == [("2026-06-11", 1)]  # 04:00 IST


def test_every_screen_counts_open_requests_the_same_way(world, history):
    """One definition of each count, whichever page shows it: the open requests are those at
    a step plus those sent back; the proposals per field pending approval are the same on
    the Parameters page and on the managers' dashboard."""
    from data.parameters import parameters_view

    world.customer("C006")
    world.act("clerk", save_customer, "C006", {"credit_limit": "70000"},
              expected_version=world.version_of("C006"))  # a draft: open, not submitted
    overview = world.act("manager", pending_overview, now=NOW)
    assert (overview.open_requests, overview.at_a_step, overview.sent_back) == (3, 3, 0)
    assert sum(count for _, count in overview.by_step) == overview.at_a_step
    listed, _rows = world.act("manager", request_list, RequestFilters(state="open"), now=NOW)
    assert listed == overview.open_requests
    pending_per_field = {row.name: row.pending for row in world.act("admin", parameters_view).fields
                         if row.pending}  # fmt: skip
    assert pending_per_field == dict(overview.by_field)
    open_per_field = {row.name: row.open for row in world.act("admin", parameters_view).fields}
    assert open_per_field["credit_limit"] == dict(overview.by_field)["credit_limit"] + 1  # the draft
    # a request sent back is open but at no step, and the split says so
    world.act("approver", workflow.request_change, history["r5"], "Which terms?",
              seen_round=world.seen(history["r5"]))
    overview = world.act("manager", pending_overview, now=NOW)
    assert (overview.open_requests, overview.at_a_step, overview.sent_back) == (3, 2, 1)
    assert sum(count for _, count in overview.by_step) == overview.at_a_step
