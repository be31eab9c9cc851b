"""Every service refuses a user without the role, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data import requests as svc
from data import users as user_svc
from data.customers import create_customer, find_customer, get_customer, save_customer
from data.errors import PermissionDenied
from data.models import Base, ChangeRequest
from data.parameters import update_parameters
from data.workflows import StepSpec, activate_version, create_definition, save_version

NEW_CUSTOMER = {
    "account": "C999",
    "name": "New",
    "customer_group": "RETAIL",
    "currency": "EUR",
    "on_hold": "No",
}


def snapshot(world):
    """Every row of every table: the strongest 'nothing changed'."""

    def work(session):
        return {
            table.name: sorted(map(tuple, session.execute(select(table)).all()), key=repr)
            for table in Base.metadata.sorted_tables
        }

    return world.query(work)


def pending_request(world):
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"}, expected_version=world.version_of("C001")).request.id
    world.act("clerk", svc.submit, request_id)
    return request_id


def draft_request(world):
    return world.act("clerk", save_customer, "C001", {"credit_limit": "20000"}, expected_version=world.version_of("C001")).request.id


def first_assignment(world, request_id):
    return world.query(lambda s: s.get(ChangeRequest, request_id).steps[0].assignments[0].id)


# service name → (set-up returning args, call, users who must be refused)
NOT_CLERKS = ["approver", "manager", "analyst", "admin"]
NOT_ADMINS = ["clerk", "approver", "manager", "analyst"]
CASES = {
    "create_customer": (lambda w: (), lambda w, u: w.act(u, create_customer, NEW_CUSTOMER), NOT_CLERKS),
    "save_customer": (lambda w: (), lambda w, u: w.act(u, save_customer, "C001", {"city": "X"}, expected_version=w.version_of("C001")), NOT_CLERKS),
    "save_customer_gated": (lambda w: (), lambda w, u: w.act(u, save_customer, "C001", {"credit_limit": "1"}, expected_version=w.version_of("C001")), NOT_CLERKS),
    "delete_proposal": (draft_request, lambda w, u, r: w.act(u, svc.delete_proposal, r, "credit_limit"), NOT_CLERKS),
    "discard_all": (draft_request, lambda w, u, r: w.act(u, svc.discard_all, r), NOT_CLERKS),
    "submit": (draft_request, lambda w, u, r: w.act(u, svc.submit, r), NOT_CLERKS),
    "recall": (pending_request, lambda w, u, r: w.act(u, svc.recall, r), ["clerk2", "approver", "manager", "admin"]),
    "approve": (pending_request, lambda w, u, r: w.act(u, svc.approve, r, seen_round=w.seen(r)), ["clerk", "clerk2", "manager", "analyst", "admin"]),
    "reject": (pending_request, lambda w, u, r: w.act(u, svc.reject, r, "no", seen_round=w.seen(r)), ["clerk", "manager", "analyst", "admin"]),
    "request_change": (pending_request, lambda w, u, r: w.act(u, svc.request_change, r, "x", seen_round=w.seen(r)), ["clerk", "manager", "analyst"]),
    "delegate": (pending_request, lambda w, u, r: w.act(u, svc.delegate, r, w.user_id("approver"), ""), ["clerk", "manager", "analyst", "admin"]),
    "reassign": (
        lambda w: (first_assignment(w, pending_request(w)),),
        lambda w, u, a: w.act(u, svc.reassign, a, w.user_id("approver3")),
        ["clerk", "approver", "analyst", "admin"],
    ),
    "update_parameters": (lambda w: (), lambda w, u: w.act(u, update_parameters, approvals_enabled=False), NOT_ADMINS),
    "gate_field": (lambda w: (), lambda w, u: w.act(u, update_parameters, gated={"city": True}), NOT_ADMINS),
    "create_definition": (lambda w: (), lambda w, u: w.act(u, create_definition), NOT_ADMINS),
    "save_version": (
        lambda w: (1,),
        lambda w, u, d: w.act(u, save_version, d, [StepSpec(name="x", assignee_role="approver")]),
        NOT_ADMINS,
    ),
    "activate_version": (lambda w: (1,), lambda w, u, v: w.act(u, activate_version, v), NOT_ADMINS),
    "create_user": (lambda w: (), lambda w, u: w.act(u, user_svc.create_user, "eve", "Eve", "pw12", ["admin"]), NOT_ADMINS),
    "set_roles": (lambda w: (w.user_id("clerk"),), lambda w, u, i: w.act(u, user_svc.set_roles, i, ["admin"]), NOT_ADMINS),
    "set_active": (lambda w: (w.user_id("admin"),), lambda w, u, i: w.act(u, user_svc.set_active, i, False), NOT_ADMINS),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_service_refuses_users_without_the_role(world, case):
    setup, call, refused = CASES[case]
    args = setup(world)
    args = args if isinstance(args, tuple) else (args,)
    before = snapshot(world)
    for username in refused:
        with pytest.raises(PermissionDenied):
            call(world, username, *args)
    assert snapshot(world) == before


def test_deactivated_user_is_refused_everywhere(world):
    world.act("admin", user_svc.set_active, world.user_id("clerk2"), False)
    before = snapshot(world)
    with pytest.raises(PermissionDenied):
        world.act("clerk2", save_customer, "C001", {"city": "X"}, expected_version=world.version_of("C001"))
    with pytest.raises(PermissionDenied):
        world.act("clerk2", get_customer, "C001")
    assert snapshot(world) == before
    assert user_svc.sign_in(world.db, "clerk2", "secret") is None


def test_no_user_at_all_is_refused(world):
    with pytest.raises(PermissionDenied):
        world.db.run(lambda s: save_customer(s, None, "C001", {"city": "X"}, expected_version=1))
    assert world.query(lambda s: find_customer(s, "C001").city) is None


def test_sign_in_does_not_say_which_part_was_wrong(world):
    assert user_svc.sign_in(world.db, "nobody", "secret") is None
    assert user_svc.sign_in(world.db, "clerk", "wrong") is None
    assert user_svc.sign_in(world.db, "Clerk ", "secret").user_id == world.user_id("clerk")
    assert user_svc.sign_in(world.db, "ｃｌｅｒｋ", "secret").user_id == world.user_id("clerk")


def test_sign_in_locks_a_name_after_five_failures_known_or_not(world):
    from datetime import UTC, datetime, timedelta

    from data.clock import clock_at
    from data.users import LOCKED_MESSAGE, SignInLocked, sign_in

    def attempt(username, password, moment):
        with clock_at(moment):
            signed_in = sign_in(world.db, username, password)
            names = {world.user_id(n): n for n in ("clerk", "approver")}
            return names.get(signed_in.user_id) if signed_in else None

    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    for name in ("clerk", "nobody-here"):
        for minute in range(5):
            assert attempt(name, "wrong", start + timedelta(minutes=minute)) is None
        with pytest.raises(SignInLocked) as locked:
            attempt(name, "secret", start + timedelta(minutes=6))
        assert locked.value.message == LOCKED_MESSAGE  # the same words for both names
    # after the lockout the right password works, and resets the count
    assert attempt("clerk", "secret", start + timedelta(minutes=21)) == "clerk"
    for minute in range(4):
        assert attempt("clerk", "wrong", start + timedelta(minutes=30 + minute)) is None
    assert attempt("clerk", "secret", start + timedelta(minutes=35)) == "clerk"
    # failures spread wider than the window never lock
    for hour in range(8):
        assert attempt("approver", "wrong", start + timedelta(hours=hour)) is None
    assert attempt("approver", "secret", start + timedelta(hours=8)) == "approver"


def test_no_one_delegates_to_themselves_or_decides_what_is_not_theirs(world):
    from data.errors import DomainError

    world.workflow([StepSpec(name="Finance", assignee_user_ids=[world.user_id("approver3")])])
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "99000"}, expected_version=world.version_of("C001")).request.id
    world.act("clerk", svc.submit, request_id)
    before = snapshot(world)
    with pytest.raises(DomainError):
        world.act("approver3", svc.delegate, request_id, world.user_id("approver3"), "me")
    for username in ("approver", "approver2", "clerkapprover"):  # approvers, but not asked
        with pytest.raises(DomainError):
            world.act(username, svc.approve, request_id, seen_round=world.seen(request_id))
        with pytest.raises(DomainError):
            world.act(username, svc.reject, request_id, "not mine", seen_round=world.seen(request_id))
    with pytest.raises(DomainError):
        world.act("clerk2", svc.recall, request_id)  # someone else's request
    with pytest.raises(DomainError):
        world.act("clerk", save_customer, "C001", {"credit_limit": "1000"}, expected_version=world.version_of("C001"))  # locked while pending
    assert snapshot(world) == before
