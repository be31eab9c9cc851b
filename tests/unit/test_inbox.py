"""The approver's inbox, the request view, bulk approve and notifications."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from data import requests as svc
from data.clock import clock_at, utcnow
from data.customers import find_customer, save_customer
from data.errors import PermissionDenied
from data.inbox import bulk_approve, inbox, inbox_counts, next_waiting, request_view
from data.models import Notification
from data.parameters import update_parameters
from data.workflows import StepSpec


def submitted(world, account, values, clerk="clerk"):
    request_id = world.act(clerk, save_customer, account, values, expected_version=world.version_of(account)).request.id
    world.act(clerk, svc.submit, request_id)
    return request_id


def ids(rows):
    return [row.request_id for row in rows]


def test_tabs_filters_and_oldest_first(world):
    world.customer("C002", customer_group="WHOLESALE", name="Zeta Logistics")
    world.workflow([StepSpec(name="Credit", assignee_user_ids=[world.user_id("approver")], time_limit_hours=2)])
    with clock_at(utcnow() - timedelta(hours=5)):
        old = submitted(world, "C002", {"on_hold": "All"})
    new = submitted(world, "C001", {"credit_limit": "20000"})

    assert ids(world.act("approver", inbox, "waiting")) == [old, new]
    assert ids(world.act("approver", inbox, "overdue")) == [old]
    assert ids(world.act("approver", inbox, "waiting", field="credit_limit")) == [new]
    assert ids(world.act("approver", inbox, "waiting", customer_group="wholesale")) == [old]
    assert ids(world.act("approver", inbox, "waiting", search="zeta")) == [old]
    assert ids(world.act("approver", inbox, "waiting", overdue_only=True)) == [old]
    rows = world.act("approver", inbox, "waiting")
    assert (rows[0].account, rows[0].submitter, rows[0].step, rows[0].fields, rows[0].overdue) == (
        "C002", "Clerk", "Credit", 1, True)

    world.act("approver", svc.delegate, new, world.user_id("approver2"), "yours")
    world.act("approver", svc.approve, old, seen_round=world.seen(old))
    assert ids(world.act("approver2", inbox, "delegated")) == [new]
    assert ids(world.act("approver", inbox, "decided")) == [old]
    assert world.act("approver", inbox_counts) == {"waiting": 0, "delegated": 0, "overdue": 0, "decided": 1}
    assert world.act("approver2", inbox_counts)["waiting"] == 1
    assert world.act("approver2", next_waiting, None) == new
    with pytest.raises(PermissionDenied):
        world.act("clerk", inbox, "waiting")
    with pytest.raises(PermissionDenied):
        world.act("analyst", inbox_counts)


def test_request_view_shows_the_diff_with_current_values_and_differences(world):
    request_id = submitted(world, "C001", {"credit_limit": "12500", "on_hold": "Invoice"})
    view = world.act("approver", request_view, request_id)
    rows = {row.field: row for row in view.rows}
    assert (rows["credit_limit"].original, rows["credit_limit"].current, rows["credit_limit"].new) == (
        "10,000.00", "10,000.00", "12,500.00")
    assert rows["credit_limit"].change == "+2,500.00 (+25.0 %)"
    assert rows["on_hold"].change == "" and not view.stale
    assert (view.step_name, view.step_number, view.step_count) == ("Credit control", 1, 1)
    assert "decide" in view.actions and "recall" not in view.actions
    assert "recall" in world.act("clerk", request_view, request_id).actions

    def direct_change(session):
        find_customer(session, "C001").credit_limit = Decimal("11000")

    world.query(direct_change)
    view = world.act("approver", request_view, request_id)
    assert view.stale and [r.field for r in view.rows if r.stale] == ["credit_limit"]


def test_bulk_approve_reports_each_request(world):
    world.customer("C002")
    world.customer("C003")
    world.customer("C004")
    plain = submitted(world, "C001", {"credit_limit": "20000"})
    own = submitted(world, "C002", {"credit_limit": "20000"}, clerk="clerkapprover")
    stale = submitted(world, "C003", {"credit_limit": "20000"})
    world.query(lambda s: setattr(find_customer(s, "C003"), "credit_limit", Decimal("1")))
    done = submitted(world, "C004", {"credit_limit": "20000"})
    world.act("approver2", svc.approve, done, seen_round=world.seen(done))

    results = bulk_approve(world.db, world.user_id("clerkapprover"),
                           [(rid, world.seen(rid)) for rid in (plain, own, stale, done)])
    outcome = {r.request_id: (r.approved, r.message) for r in results}
    assert outcome[plain] == (True, "Approved.")
    assert outcome[own][0] is False and "proposed or submitted" in outcome[own][1]
    assert outcome[stale][0] is False and "confirm" in outcome[stale][1]
    assert outcome[done][0] is False and "no longer be decided" in outcome[done][1]
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("20000.00")
    assert world.query(lambda s: find_customer(s, "C003").credit_limit) == Decimal("1.00")


def notifications_of(world, username):
    user_id = world.user_id(username)
    return world.query(lambda s: [n.kind for n in s.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id))])


def test_notifications_for_assignment_decisions_and_sending_back(world):
    first = submitted(world, "C001", {"credit_limit": "20000"})
    assert notifications_of(world, "approver") == ["assigned"]
    world.act("approver", svc.request_change, first, "Lower", seen_round=world.seen(first))
    assert notifications_of(world, "clerk") == ["change_requested"]
    world.act("clerk", svc.resubmit, first)
    world.act("approver2", svc.approve, first, seen_round=world.seen(first))
    world.customer("C002")
    second = submitted(world, "C002", {"credit_limit": "20000"})
    world.act("approver3", svc.reject, second, "No", seen_round=world.seen(second))
    assert notifications_of(world, "clerk") == ["change_requested", "approved", "rejected"]


def test_overdue_steps_notify_their_assignees(world):
    world.workflow([StepSpec(name="Credit", assignee_user_ids=[world.user_id("approver")],
                             time_limit_hours=1, escalate_to_user_id=world.user_id("manager"))])
    submitted(world, "C001", {"credit_limit": "20000"})
    world.db.run(lambda s: svc.escalate_overdue(s, utcnow() + timedelta(hours=2)))
    assert notifications_of(world, "approver") == ["assigned", "overdue"]
    assert notifications_of(world, "manager") == ["assigned"]


def test_tab_counts_stop_at_the_cap(world, monkeypatch):
    """A long history of decisions is counted up to the cap and shown as "cap+"."""
    import data.inbox as inbox_module
    from data.customers import save_customer
    from data.inbox import count_label, inbox_counts
    from data.requests import approve, submit

    monkeypatch.setattr(inbox_module, "COUNT_CAP", 2)
    for number in range(2, 6):
        world.customer(f"C{number:03d}")
    for number in range(1, 6):
        request_id = world.act("clerk", save_customer, f"C{number:03d}",
                               {"credit_limit": "99000"}, expected_version=world.version_of(f"C{number:03d}")).request.id  # fmt: skip
        world.act("clerk", submit, request_id)
        if number <= 4:
            world.act("approver", approve, request_id, seen_round=world.seen(request_id))
    counts = world.act("approver", inbox_counts)
    assert counts["decided"] == 3 and counts["waiting"] == 1
    assert (count_label(3), count_label(2)) == ("2+", "2")


def test_a_decided_request_shows_its_outcome_not_a_conflict(world):
    world.workflow([StepSpec(name="Credit", assignee_user_ids=[world.user_id("approver")])])
    request_id = submitted(world, "C001", {"credit_limit": "20000"})
    assert not world.act("approver", request_view, request_id).stale
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    view = world.act("approver", request_view, request_id)
    assert [(row.original, row.current, row.new, row.stale) for row in view.rows] == [
        ("10,000.00", "20,000.00", "20,000.00", False)]
    assert not view.stale
    # a later change to the customer is not a conflict with a request already applied
    world.act("admin", update_parameters, gated={"credit_limit": False})
    world.act("clerk", save_customer, "C001", {"credit_limit": "30000"},
              expected_version=world.version_of("C001"))
    assert not world.act("approver", request_view, request_id).stale


def test_notifications_are_newest_first_once_each_with_their_requests_state(world):
    from data.notifications import mark_all_read, mark_read, recent_notifications, unread_count

    world.workflow([StepSpec(name="Credit", assignee_user_ids=[world.user_id("approver")])])
    with clock_at(utcnow() - timedelta(hours=3)):
        first = submitted(world, "C001", {"credit_limit": "20000"})
    world.act("approver", svc.request_change, first, "Why?", seen_round=world.seen(first))
    world.act("clerk", svc.resubmit, first)  # the same news again: "waits for your decision"
    world.customer("C002")
    second = submitted(world, "C002", {"credit_limit": "30000"})
    listed = world.act("approver", recent_notifications)
    assert [(n.request_id, n.kind) for n in listed] == [(second, "assigned"), (first, "assigned")]
    assert [n.read for n in listed] == [False, False]
    assert world.act("approver", unread_count) == 2
    world.act("approver", svc.approve, first, seen_round=world.seen(first))
    assert [n.request_state for n in world.act("approver", recent_notifications)] == [
        "pending", "approved"]  # the old news says where the request stands now
    clerk_news = world.act("clerk", recent_notifications)
    world.act("approver", mark_read, clerk_news[0].id)  # not theirs: nothing happens
    assert not world.act("clerk", recent_notifications)[0].read
    world.act("approver", mark_read, listed[1].id)
    assert world.act("approver", unread_count) == 1
    world.act("approver", mark_all_read)
    assert world.act("approver", unread_count) == 0


def test_a_clerk_lists_their_own_requests_by_where_they_stand(world):
    from data.inbox import my_requests

    world.workflow([StepSpec(name="Credit", assignee_user_ids=[world.user_id("approver")])])
    for account in ("C002", "C003", "C004"):
        world.customer(account)
    sent_back = submitted(world, "C001", {"credit_limit": "20000"})
    world.act("approver", svc.request_change, sent_back, "Which limit?", seen_round=world.seen(sent_back))
    pending = submitted(world, "C002", {"credit_limit": "30000"})
    decided = submitted(world, "C003", {"credit_limit": "40000"})
    world.act("approver", svc.approve, decided, seen_round=world.seen(decided))
    draft = world.act("clerk", save_customer, "C004", {"credit_limit": "50000"},
                      expected_version=world.version_of("C004")).request.id
    mine = world.act("clerk", my_requests)
    assert {row.request_id: row.state for row in mine} == {
        sent_back: "change_requested", pending: "pending", decided: "approved", draft: "draft"}
    [back] = world.act("clerk", my_requests, "change_requested")
    assert back.comment == "Which limit?"
    assert back.changes == ["Credit limit: 10,000.00 → 20,000.00 (+10,000.00 (+100.0 %))"]
    assert [row.request_id for row in world.act("clerk", my_requests, "decided")] == [decided]
    assert world.act("clerk2", my_requests) == []  # another clerk's requests are not theirs
    with pytest.raises(PermissionDenied):
        world.act("approver", my_requests)


def test_the_tab_counts_read_indexes_alone(world):
    """SQLite: counting an approver's overdue and decided requests reads their assignments
    from an index alone, in their steps' order, not row by row from the table (with a long
    history, thousands of rows each time the inbox is drawn); the waiting tab still reads
    its index in the order it shows."""
    from sqlalchemy import event

    if world.db.engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    submitted(world, "C001", {"credit_limit": "20000"})
    seen = []

    def note(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM assignments" in statement:
            seen.append((statement, parameters))

    event.listen(world.db.engine, "before_cursor_execute", note)
    try:
        world.act("approver", inbox_counts)
        world.act("approver", inbox, "waiting")
    finally:
        event.remove(world.db.engine, "before_cursor_execute", note)
    plans = []
    with world.db.engine.connect() as connection:
        for statement, parameters in seen:
            plans.append(" | ".join(row[-1] for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)))  # fmt: skip
    waiting, overdue, decided, rows = plans
    for plan in (overdue, decided):
        assert "COVERING INDEX ix_assignments_user_state_step" in plan, plan
    assert "COVERING INDEX ix_assignments_user_state_created" in waiting, waiting
    assert "INDEX ix_assignments_user_state_created" in rows, rows
    assert "B-TREE FOR ORDER BY" not in rows, rows  # read in order, not sorted
