"""SPEC "Workflow": steps, policies, conditions, versions, delegation, time limits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from data import requests as svc
from data.customers import find_customer, save_customer
from data.errors import InvalidTransition, PermissionDenied, ValidationFailed
from data.models import ChangeRequest, RequestEvent, utcnow
from data.workflows import (
    StepSpec,
    activate_version,
    create_definition,
    describe_condition,
    evaluate_condition,
    save_version,
)


def submit(world, values, clerk="clerk"):
    request_id = world.act(clerk, save_customer, "C001", values, expected_version=world.version_of("C001")).request.id
    world.act(clerk, svc.submit, request_id)
    return request_id


def state(world, request_id):
    return world.query(lambda s: s.get(ChangeRequest, request_id).state)


def steps(world, request_id):
    return world.query(
        lambda s: [(st.name, st.state) for st in s.get(ChangeRequest, request_id).steps]
    )


def credit_limit(world):
    return world.query(lambda s: find_customer(s, "C001").credit_limit)


def named(world, *usernames):
    return [world.user_id(name) for name in usernames]


CONDITION_CASES = [
    # condition, changes, runs
    (None, {"on_hold": ("No", "All")}, True),
    ({"kind": "changed", "field": "credit_limit"}, {"credit_limit": ("1.00", "2.00")}, True),
    ({"kind": "changed", "field": "credit_limit"}, {"on_hold": ("No", "All")}, False),
    ({"kind": "increase", "field": "credit_limit", "amount": 50000}, {"credit_limit": ("10000.00", "60000.01")}, True),
    ({"kind": "increase", "field": "credit_limit", "amount": 50000}, {"credit_limit": ("10000.00", "60000.00")}, False),
    ({"kind": "increase", "field": "credit_limit", "amount": 50000}, {"credit_limit": ("90000.00", "10000.00")}, False),
    ({"kind": "increase", "field": "credit_limit", "amount": 50000}, {"credit_limit": (None, "50000.50")}, True),
    ({"kind": "decrease", "field": "credit_limit", "amount": 1000}, {"credit_limit": ("5000.00", "3000.00")}, True),
    ({"kind": "decrease", "field": "credit_limit", "amount": 1000}, {"credit_limit": ("5000.00", "4500.00")}, False),
    ({"kind": "increase_pct", "field": "credit_limit", "percent": 20}, {"credit_limit": ("1000.00", "1200.00")}, False),
    ({"kind": "increase_pct", "field": "credit_limit", "percent": 20}, {"credit_limit": ("1000.00", "1200.01")}, True),
    ({"kind": "increase_pct", "field": "credit_limit", "percent": 20}, {"credit_limit": ("0.00", "1.00")}, True),
    ({"kind": "decrease_pct", "field": "payment_terms_base_days", "percent": 50}, {"payment_terms_base_days": ("30", "10")}, True),
    ({"kind": "decrease_pct", "field": "payment_terms_base_days", "percent": 50}, {"payment_terms_base_days": ("30", "20")}, False),
]


@pytest.mark.parametrize(("condition", "changes", "runs"), CONDITION_CASES)
def test_condition_evaluation(condition, changes, runs):
    assert evaluate_condition(condition, changes) is runs


def test_condition_descriptions_read_as_sentences():
    assert describe_condition({"kind": "changed", "field": "credit_limit"}) == (
        "Credit limit is among the changed fields"
    )
    assert describe_condition({"kind": "increase", "field": "credit_limit", "amount": 50000}) == (
        "Credit limit increases by more than 50,000"
    )


def test_conditional_second_step_runs_only_for_big_increases(world):
    world.workflow(
        [
            StepSpec(name="Credit control", assignee_role="approver"),
            StepSpec(
                name="Finance manager",
                assignee_user_ids=named(world, "manager"),
                condition={"kind": "increase", "field": "credit_limit", "amount": 50000},
            ),
        ]
    )
    small = submit(world, {"credit_limit": "20000"})
    assert steps(world, small) == [("Credit control", "active"), ("Finance manager", "skipped")]
    world.act("approver", svc.approve, small, seen_round=world.seen(small))
    assert state(world, small) == "approved"

    big = submit(world, {"credit_limit": "100000"})
    world.act("approver", svc.approve, big, seen_round=world.seen(big))
    assert steps(world, big) == [("Credit control", "approved"), ("Finance manager", "active")]
    assert credit_limit(world) == Decimal("20000.00")  # not yet: all approvals must complete
    with pytest.raises(PermissionDenied):
        world.act("approver2", svc.approve, big, seen_round=world.seen(big))
    world.act("manager", svc.approve, big, seen_round=world.seen(big))
    assert state(world, big) == "approved"
    assert credit_limit(world) == Decimal("100000.00")


def test_every_step_skipped_applies_at_submit(world):
    world.workflow(
        [
            StepSpec(
                name="Credit",
                assignee_role="approver",
                condition={"kind": "changed", "field": "credit_limit"},
            )
        ]
    )
    request_id = submit(world, {"on_hold": "All"})
    assert state(world, request_id) == "approved"
    assert world.query(lambda s: find_customer(s, "C001").on_hold) == "All"


def _three_approvers(world, policy, percentage=None):
    world.workflow(
        [
            StepSpec(
                name="Board",
                assignee_user_ids=named(world, "approver", "approver2", "approver3"),
                policy=policy,
                percentage=percentage,
            )
        ]
    )
    return submit(world, {"credit_limit": "20000"})


def test_policy_single_first_response_decides(world):
    request_id = _three_approvers(world, "single")
    world.act("approver2", svc.reject, request_id, "no", seen_round=world.seen(request_id))
    assert state(world, request_id) == "rejected"


def test_policy_all_needs_everyone(world):
    request_id = _three_approvers(world, "all")
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "pending"
    world.act("approver3", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"


def test_policy_all_one_rejection_rejects(world):
    request_id = _three_approvers(world, "all")
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    world.act("approver3", svc.reject, request_id, "no", seen_round=world.seen(request_id))
    assert state(world, request_id) == "rejected"
    assert credit_limit(world) == Decimal("10000.00")


def test_policy_majority(world):
    request_id = _three_approvers(world, "majority")
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "pending"
    world.act("approver3", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"


def test_policy_majority_rejects_when_it_can_no_longer_be_reached(world):
    request_id = _three_approvers(world, "majority")
    world.act("approver", svc.reject, request_id, "no", seen_round=world.seen(request_id))
    assert state(world, request_id) == "pending"
    world.act("approver2", svc.reject, request_id, "no", seen_round=world.seen(request_id))
    assert state(world, request_id) == "rejected"


def test_policy_percentage(world):
    request_id = _three_approvers(world, "percentage", percentage=60)
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "pending"  # 33 % < 60 %
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"  # 67 % >= 60 %


def test_an_approver_decides_a_step_once(world):
    request_id = _three_approvers(world, "all")
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    with pytest.raises(InvalidTransition):
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))


def test_delegation_hands_the_assignment_over(world):
    world.workflow([StepSpec(name="Credit", assignee_user_ids=named(world, "approver"))])
    request_id = submit(world, {"credit_limit": "20000"})

    with pytest.raises(ValidationFailed):
        world.act("approver", svc.delegate, request_id, world.user_id("approver"), "me")
    with pytest.raises(ValidationFailed):
        world.act("approver", svc.delegate, request_id, world.user_id("clerk"), "submitter")
    with pytest.raises(PermissionDenied):
        world.act("approver2", svc.delegate, request_id, world.user_id("approver3"))

    world.act("approver", svc.delegate, request_id, world.user_id("approver2"), "on leave")
    with pytest.raises(PermissionDenied):
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"
    delegated = world.query(
        lambda s: s.scalar(select(RequestEvent).where(RequestEvent.action == "delegated"))
    )
    assert (delegated.comment, delegated.details) == ("on leave", {"to": "approver2"})


def test_manager_reassigns_a_stuck_assignment(world):
    world.workflow([StepSpec(name="Credit", assignee_user_ids=named(world, "approver"))])
    request_id = submit(world, {"credit_limit": "20000"})
    assignment_id = world.query(
        lambda s: s.get(ChangeRequest, request_id).steps[0].assignments[0].id
    )
    with pytest.raises(PermissionDenied):
        world.act("approver2", svc.reassign, assignment_id, world.user_id("approver2"))
    world.act("manager", svc.reassign, assignment_id, world.user_id("approver3"), "holiday")
    world.act("approver3", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"


def test_requests_keep_the_workflow_version_they_were_submitted_under(world):
    world.workflow([StepSpec(name="Old step", assignee_role="approver")])
    request_id = submit(world, {"credit_limit": "20000"})
    world.workflow([StepSpec(name="New step", assignee_role="manager")])

    assert steps(world, request_id) == [("Old step", "active")]
    world.act("approver", svc.request_change, request_id, "again", seen_round=world.seen(request_id))
    world.act("clerk", svc.resubmit, request_id)
    assert steps(world, request_id)[-1] == ("Old step", "active")
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"


def test_activation_refuses_incomplete_definitions(world):
    def build(session, steps):
        admin = world.user(session, "admin")
        definition = create_definition(session, admin)
        return save_version(session, admin, definition.id, steps).id

    empty = world.query(lambda s: build(s, []))
    with pytest.raises(ValidationFailed, match="at least one approval step"):
        world.act("admin", activate_version, empty)
    nobody = world.query(lambda s: build(s, [StepSpec(name="Nobody")]))
    with pytest.raises(ValidationFailed, match="has no assignees"):
        world.act("admin", activate_version, nobody)
    with pytest.raises(ValidationFailed, match="unknown field"):
        world.query(
            lambda s: build(
                s,
                [StepSpec(name="X", assignee_role="approver", condition={"kind": "changed", "field": "shoe_size"})],
            )
        )
    with pytest.raises(PermissionDenied):
        world.act("approver", activate_version, empty)


def test_submit_refuses_a_step_nobody_may_approve(world):
    world.workflow([StepSpec(name="Only me", assignee_user_ids=named(world, "clerkapprover"))])
    request_id = world.act("clerkapprover", save_customer, "C001", {"credit_limit": "1"}, expected_version=world.version_of("C001")).request.id
    with pytest.raises(InvalidTransition, match="nobody who may approve"):
        world.act("clerkapprover", svc.submit, request_id)
    assert state(world, request_id) == "draft"


def test_overdue_step_escalates_once_and_the_escalation_target_decides(world):
    world.workflow(
        [
            StepSpec(
                name="Credit",
                assignee_user_ids=named(world, "approver", "approver2"),
                policy="all",
                time_limit_hours=4,
                escalate_to_user_id=world.user_id("manager"),
            )
        ]
    )
    request_id = submit(world, {"credit_limit": "20000"})
    assert world.query(lambda s: svc.overdue_steps(s)) == []

    later = utcnow() + timedelta(hours=5)
    assert [st.name for st in world.query(lambda s: svc.overdue_steps(s, later))] == ["Credit"]
    assert world.db.run(lambda s: svc.escalate_overdue(s, later)) == 1
    assert world.db.run(lambda s: svc.escalate_overdue(s, later)) == 0

    world.act("manager", svc.approve, request_id, "escalated: fine", seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"


def test_the_history_reads_in_the_steps_order(world):
    """A step skipped at submission is listed where it stands in the workflow: after the
    step that starts, when it comes after it; and so from an import too."""
    from data.importfile import read_import_file
    from data.imports import import_customers
    from data.parameters import update_parameters

    big = {"kind": "increase", "field": "credit_limit", "amount": 50000}
    world.workflow([StepSpec(name="Credit control", assignee_role="approver"),
                    StepSpec(name="Finance", assignee_role="approver", condition=big)])  # fmt: skip

    def history(request_id):
        return world.query(lambda s: [(e.action, e.step_name) for e in s.scalars(
            select(RequestEvent).where(RequestEvent.request_id == request_id)
            .order_by(RequestEvent.id))])  # fmt: skip

    expected = [("submitted", None), ("step_started", "Credit control"),
                ("step_skipped", "Finance")]  # fmt: skip
    assert history(submit(world, {"credit_limit": "20000"})) == expected
    world.act("admin", update_parameters, data_entity_behavior="propose")
    world.customer("C002"), world.customer("C003")
    text = "account,credit_limit\nC002,20000\nC003,20000\n"  # two rows: the set-based writer
    import_customers(world.db, world.user_id("clerk"), read_import_file("f.csv", text.encode()))
    imported = world.query(lambda s: s.scalars(select(ChangeRequest.id).order_by(
        ChangeRequest.id.desc()).limit(1)).one())  # fmt: skip
    assert history(imported) == expected
