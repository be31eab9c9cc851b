"""Reason codes: an administrator's list; while it has reasons in use, every Reject and
Request change names one; the history shows it; the Throughput page counts rejections by
reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from data import requests as svc
from data.clock import utcnow
from data.dashboards.throughput import ThroughputFilters, throughput
from data.errors import PermissionDenied, ValidationFailed
from data.models import RequestEvent
from data.reasons import active_reasons, add_reason, set_reason_active
from tests.unit.test_workflow import submit


@pytest.fixture
def reasons(world):
    world.act("admin", add_reason, "POLICY", "Against credit policy")
    world.act("admin", add_reason, "incomplete", "  Information   missing ")
    return world


def test_no_reason_is_asked_while_the_list_is_empty(world):
    request_id = submit(world, {"credit_limit": "20000"})
    world.act("approver", svc.reject, request_id, "no", seen_round=1)


def test_reject_and_request_change_name_a_reason_in_use(reasons):
    world = reasons
    assert world.query(active_reasons) == [("POLICY", "Against credit policy"),
                                           ("INCOMPLETE", "Information missing")]  # by label
    request_id = submit(world, {"credit_limit": "20000"})
    with pytest.raises(ValidationFailed) as refused:
        world.act("approver", svc.reject, request_id, "no", seen_round=1)
    assert "reason" in refused.value.errors
    with pytest.raises(ValidationFailed):
        world.act("approver", svc.reject, request_id, "no", seen_round=1, reason="NOPE")
    world.act("approver", svc.request_change, request_id, "add the balance sheet",
              seen_round=1, reason="INCOMPLETE")  # fmt: skip
    world.act("clerk", svc.resubmit, request_id)
    world.act("admin", set_reason_active, "INCOMPLETE", False)
    with pytest.raises(ValidationFailed):  # retired: not offered, not taken
        world.act("approver", svc.reject, request_id, "no", seen_round=2, reason="INCOMPLETE")
    world.act("approver", svc.reject, request_id, "no", seen_round=2, reason="POLICY")
    given = world.query(lambda s: [(e.action, e.reason) for e in s.scalars(
        select(RequestEvent).where(RequestEvent.reason.is_not(None)).order_by(RequestEvent.id))])
    assert given == [("change_requested", "INCOMPLETE"), ("rejected", "POLICY")]


def test_throughput_counts_rejections_by_reason(reasons):
    world = reasons
    first = submit(world, {"credit_limit": "20000"})
    world.act("approver", svc.reject, first, "no", seen_round=1, reason="POLICY")
    world.customer("C002")
    from data.customers import save_customer

    second = world.act("clerk", save_customer, "C002", {"on_hold": "All"},
                       expected_version=world.version_of("C002")).request.id  # fmt: skip
    world.act("clerk", svc.submit, second)
    world.act("approver", svc.request_change, second, "why?", seen_round=1, reason="POLICY")
    today = utcnow().date()
    filters = ThroughputFilters(start=today - timedelta(days=7), end=today)
    figures = world.act("analyst", throughput, filters)
    assert figures.by_reason == [("Against credit policy", 1, 1)]
    only_limits = ThroughputFilters(start=today - timedelta(days=7), end=today,
                                    field="credit_limit")  # fmt: skip
    assert world.act("analyst", throughput, only_limits).by_reason == [
        ("Against credit policy", 1, 0)]


def test_only_administrators_keep_the_list_and_bad_entries_are_named(world):
    with pytest.raises(PermissionDenied):
        world.act("manager", add_reason, "X", "x")
    with pytest.raises(ValidationFailed) as refused:
        world.act("admin", add_reason, "two words", "")
    assert set(refused.value.errors) == {"reason_code", "reason_label"}
    world.act("admin", add_reason, "DUP", "Duplicate")
    with pytest.raises(ValidationFailed, match="set up already"):
        world.act("admin", add_reason, "dup", "Again")
