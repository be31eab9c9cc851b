"""Approval integrity: who may decide, how often, and on what they saw."""

from __future__ import annotations

from decimal import Decimal

import pytest

from data import requests as svc
from data.customers import find_customer, save_customer
from data.errors import InvalidTransition, PermissionDenied, ValidationFailed
from data.inbox import bulk_approve, open_assignments
from data.models import Assignment, ChangeRequest, RequestStep
from data.users import add_user, update_user
from data.workflows import StepSpec


def propose(world, username: str, values: dict, account: str = "C001") -> int:
    result = world.act(username, save_customer, account, values,
                       expected_version=world.version_of(account))  # fmt: skip
    return result.request.id


def named(world, *usernames: str) -> list[int]:
    return [world.user_id(name) for name in usernames]


def credit_limit(world, account: str = "C001") -> Decimal:
    return world.query(lambda s: find_customer(s, account).credit_limit)


def state(world, request_id: int) -> str:
    return world.query(lambda s: s.get(ChangeRequest, request_id).state)


# 1. segregation of duties: the proposer, not only the submitter


def test_a_proposer_cannot_decide_a_request_someone_else_submitted(world):
    request_id = propose(world, "clerkapprover", {"credit_limit": "280000"})
    world.act("clerk2", svc.submit, request_id)

    with pytest.raises(PermissionDenied, match="proposed or submitted"):
        world.act("clerkapprover", svc.approve, request_id, seen_round=world.seen(request_id))
    assert credit_limit(world) == Decimal("10000.00")
    assert state(world, request_id) == "pending"
    asked = world.query(lambda s: [a.user.username for a in svc.current_step(
        s.get(ChangeRequest, request_id)).assignments])  # fmt: skip
    assert "clerkapprover" not in asked


def test_whoever_last_edited_a_proposal_cannot_decide_it(world):
    request_id = propose(world, "clerk", {"credit_limit": "20000"})
    propose(world, "clerkapprover", {"name": "Renamed S.p.A."})
    world.act("clerkapprover", svc.delete_proposal, request_id, "name")
    world.act("clerk", svc.submit, request_id)
    with pytest.raises(PermissionDenied, match="proposed or submitted"):
        world.act("clerkapprover", svc.reject, request_id, "no", seen_round=world.seen(request_id))


def test_nobody_can_hand_a_request_to_one_of_its_authors(world):
    request_id = propose(world, "clerkapprover", {"credit_limit": "20000"})
    world.act("clerk", svc.submit, request_id)
    with pytest.raises(ValidationFailed, match="proposed or submitted"):
        world.act("approver", svc.delegate, request_id, world.user_id("clerkapprover"))
    stuck = world.act("manager", open_assignments, request_id)[0][0]
    with pytest.raises(ValidationFailed, match="proposed or submitted"):
        world.act("manager", svc.reassign, stuck, world.user_id("clerkapprover"))


def test_the_parameter_off_lets_authors_decide(world):
    from data.parameters import update_parameters

    world.act("admin", update_parameters, disallow_submitter_approval=False)
    request_id = propose(world, "clerkapprover", {"credit_limit": "20000"})
    world.act("clerk", svc.submit, request_id)
    world.act("clerkapprover", svc.approve, request_id, seen_round=world.seen(request_id))
    assert credit_limit(world) == Decimal("20000.00")


# 2. one person, one vote per step


def all_three(world) -> int:
    world.workflow([StepSpec(name="Board", policy="all",
                             assignee_user_ids=named(world, "approver", "approver2", "approver3"))])  # fmt: skip
    request_id = propose(world, "clerk", {"credit_limit": "90000"})
    world.act("clerk", svc.submit, request_id)
    return request_id


def test_a_delegation_to_someone_who_already_decided_is_refused(world):
    request_id = all_three(world)
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    with pytest.raises(ValidationFailed, match="already decided this step"):
        world.act("approver", svc.delegate, request_id, world.user_id("approver2"))
    world.act("approver3", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "pending"  # approver's vote is still missing


def test_a_reassignment_to_someone_who_already_decided_is_refused(world):
    request_id = all_three(world)
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    holders = {holder: a_id for a_id, holder, _ in world.act("manager", open_assignments, request_id)}
    with pytest.raises(ValidationFailed, match="already decided this step"):
        world.act("manager", svc.reassign, holders["Approver"], world.user_id("approver2"))


def test_a_manager_who_takes_an_assignment_is_held_to_the_approvers_rules(world):
    with world.db.session() as session:
        add_user(session, "boss", "Boss", "secret", ["manager", "clerk"])
    request_id = all_three(world)
    boss = world.user_id("boss")
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    holders = {holder: a_id for a_id, holder, _ in world.act("manager", open_assignments, request_id)}
    world.act("boss", svc.reassign, holders["Approver"], boss)
    world.act("boss", svc.approve, request_id, seen_round=world.seen(request_id))
    # boss has voted: a second assignment for boss on the same step is refused
    with pytest.raises(ValidationFailed, match="already decided this step"):
        world.act("boss", svc.reassign, holders["Approver3"], boss)
    assert state(world, request_id) == "pending"


def test_a_manager_cannot_take_a_request_they_proposed(world):
    with world.db.session() as session:
        add_user(session, "boss", "Boss", "secret", ["manager", "clerk"])
    request_id = propose(world, "boss", {"credit_limit": "20000"})
    world.act("clerk", svc.submit, request_id)
    stuck = world.act("boss", open_assignments, request_id)[0][0]
    with pytest.raises(ValidationFailed, match="proposed or submitted"):
        world.act("boss", svc.reassign, stuck, world.user_id("boss"))


def test_one_person_counts_once_whatever_assignments_they_hold():
    step = RequestStep(policy="all", percentage=None)
    step.assignments = [
        Assignment(user_id=2, via="user", state="approved"),
        Assignment(user_id=1, via="user", state="delegated"),
        Assignment(user_id=2, via="delegation", state="approved"),
        Assignment(user_id=3, via="user", state="open"),
    ]
    assert svc.step_outcome(step) is None  # user 3 has not decided: 1 of 2 people approved


# 3. a decision names what the approver saw


def test_approving_a_request_resubmitted_since_it_was_opened_is_refused(world):
    request_id = propose(world, "clerk", {"credit_limit": "20000"})
    world.act("clerk", svc.submit, request_id)
    seen = world.seen(request_id)  # the approver opens the request

    world.act("clerk", svc.recall, request_id)
    propose(world, "clerk", {"credit_limit": "900000"})
    world.act("clerk", svc.submit, request_id)

    with pytest.raises(svc.RequestChanged, match="changed since you opened it"):
        world.act("approver", svc.approve, request_id, seen_round=seen)
    with pytest.raises(svc.RequestChanged):
        world.act("approver", svc.reject, request_id, "no", seen_round=seen)
    assert credit_limit(world) == Decimal("10000.00")
    results = bulk_approve(world.db, world.user_id("approver"), [(request_id, seen)])
    assert not results[0].approved and "changed since you opened it" in results[0].message
    assert credit_limit(world) == Decimal("10000.00")
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert credit_limit(world) == Decimal("900000.00")


# 4. the role is checked when deciding, and losing it hands the work back


def test_removing_the_approver_role_hands_open_assignments_back(world):
    world.workflow([StepSpec(name="Board", policy="all",
                             assignee_user_ids=named(world, "approver", "approver2"))])  # fmt: skip
    request_id = propose(world, "clerk", {"credit_limit": "90000"})
    world.act("clerk", svc.submit, request_id)
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))

    world.act("admin", update_user, world.user_id("approver"), roles=["clerk"], active=True)

    with pytest.raises(PermissionDenied):
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "pending"  # letting go decides nothing
    events = world.query(lambda s: [(e.action, e.comment) for e in s.get(ChangeRequest, request_id).events])
    assert ("released", "Approver no longer holds a role that decides approvals; "
            "a manager can reassign it.") in events  # fmt: skip
    handed_back = world.act("manager", open_assignments, request_id)
    assert [holder for _, holder, _ in handed_back] == ["Approver (handed back)"]
    world.act("manager", svc.reassign, handed_back[0][0], world.user_id("approver3"))
    world.act("approver3", svc.approve, request_id, seen_round=world.seen(request_id))
    assert credit_limit(world) == Decimal("90000.00")


def test_a_deactivated_approvers_assignments_are_handed_back(world):
    request_id = propose(world, "clerk", {"credit_limit": "20000"})
    world.act("clerk", svc.submit, request_id)
    world.act("admin", update_user, world.user_id("approver"), roles=["approver"], active=False)
    states = world.query(lambda s: {a.user.username: a.state for a in svc.current_step(
        s.get(ChangeRequest, request_id)).assignments})  # fmt: skip
    assert states["approver"] == "released" and states["approver2"] == "open"
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state(world, request_id) == "approved"


def test_deciding_needs_the_role_at_the_moment_of_deciding(world):
    from data.models import User, UserRole

    request_id = propose(world, "clerk", {"credit_limit": "20000"})
    world.act("clerk", svc.submit, request_id)

    def strip_roles(session):  # a role row removed without the service (say, by SQL)
        user = world.user(session, "approver")
        session.query(UserRole).filter(UserRole.user_id == user.id).delete()
        session.expire(user)
        return session.get(User, user.id)

    world.query(strip_roles)
    with pytest.raises(PermissionDenied, match="no longer include deciding"):
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))


# 5. the concurrent-edit check cannot be skipped


@pytest.mark.parametrize("version", [None, "1", 1.0, True])
def test_a_save_that_does_not_name_the_version_it_edits_is_refused(world, version):
    newer = world.version_of("C001")
    world.act("clerk2", save_customer, "C001", {"city": "Newer"}, expected_version=newer)
    with pytest.raises(ValidationFailed, match="which version"):
        world.act("clerk", save_customer, "C001", {"city": "Older"}, expected_version=version)
    assert world.query(lambda s: find_customer(s, "C001").city) == "Newer"


def test_a_save_on_an_older_version_is_refused(world):
    opened = world.version_of("C001")
    world.act("clerk2", save_customer, "C001", {"city": "Newer"}, expected_version=opened)
    from data.errors import Conflict

    with pytest.raises(Conflict):
        world.act("clerk", save_customer, "C001", {"city": "Older"}, expected_version=opened)
    assert world.query(lambda s: find_customer(s, "C001").city) == "Newer"


def test_already_decided_is_said_plainly(world):
    request_id = all_three(world)
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    with pytest.raises(InvalidTransition, match="already decided"):
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
