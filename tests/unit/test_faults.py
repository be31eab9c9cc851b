"""A database error in the middle of a piece of work leaves nothing partial, and a retry works."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import data.audit as audit_module
import data.requests as requests_module
from data import requests as svc
from data.customers import find_customer, save_customer
from data.errors import Conflict, DomainError
from data.models import AuditEntry, ChangeRequest, RequestEvent


class Fault:
    """Break the Nth call of a function, once or for good."""

    def __init__(self, monkeypatch, module, name, *, on_call=2, forever=False, error=None):
        self.real = getattr(module, name)
        self.calls = 0
        self.on_call, self.forever = on_call, forever
        self.error = error or OperationalError("INSERT", {}, Exception("disk I/O error"))
        monkeypatch.setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.on_call or (self.forever and self.calls >= self.on_call):
            raise self.error
        return self.real(*args, **kwargs)


def two_field_request(world):
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "30000", "on_hold": "All"}, expected_version=world.version_of("C001"))
    world.act("clerk", svc.submit, result.request.id)
    return result.request.id


def state_of(world, request_id):
    def read(session):
        customer = find_customer(session, "C001")
        return (
            session.get(ChangeRequest, request_id).state,
            customer.credit_limit,
            customer.on_hold,
            session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.request_id == request_id)),
            session.scalar(select(func.count(RequestEvent.id)).where(
                RequestEvent.request_id == request_id, RequestEvent.action == "approved")),
        )

    return world.query(read)


def test_a_fault_while_an_approval_applies_leaves_nothing_and_a_retry_applies_all(world, monkeypatch):
    request_id = two_field_request(world)
    fault = Fault(monkeypatch, audit_module, "record_customer_change", on_call=2, forever=True)
    with pytest.raises((DomainError, OperationalError)):
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert fault.calls >= 2  # the first field was written before the fault
    assert state_of(world, request_id) == ("pending", Decimal("10000.00"), "No", 0, 0)

    monkeypatch.setattr(audit_module, "record_customer_change", fault.real)
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert state_of(world, request_id) == ("approved", Decimal("30000.00"), "All", 2, 1)


def test_a_passing_fault_is_retried_by_the_unit_of_work(world, monkeypatch):
    """A transient error (a lost race) midway is retried whole, from fresh data."""
    request_id = two_field_request(world)
    lost_race = OperationalError("UPDATE", {}, Exception("could not serialize access"))
    fault = Fault(monkeypatch, audit_module, "record_customer_change", on_call=2,
                  error=lost_race)  # fmt: skip
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert fault.calls == 4  # two fields, the second failing once, then both again
    assert state_of(world, request_id) == ("approved", Decimal("30000.00"), "All", 2, 1)


def test_a_fault_in_a_workflow_transition_leaves_the_request_as_it_was(world, monkeypatch):
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "30000"}, expected_version=world.version_of("C001"))
    Fault(monkeypatch, requests_module, "_event", on_call=1, forever=True)
    with pytest.raises((DomainError, OperationalError, Conflict)):
        world.act("clerk", svc.submit, result.request.id)
    assert world.query(lambda s: s.get(ChangeRequest, result.request.id).state) == "draft"
    assert world.query(lambda s: s.scalar(select(func.count(RequestEvent.id)))) == 0


def test_the_approver_sees_a_clear_message_and_can_try_again(web, monkeypatch):
    import pages.request as page
    from tests.callbacks.test_customer_editor import text_of

    request_id = two_field_request(web.world)
    fault = Fault(monkeypatch, audit_module, "record_customer_change", on_call=2, forever=True)
    with web.signed_in("approver"):
        _body, alert = page.decision_response("approve", request_id, None, None, False, 1)
    assert "nothing was changed" in text_of(alert).lower()
    assert state_of(web.world, request_id)[0] == "pending"
    monkeypatch.setattr(audit_module, "record_customer_change", fault.real)
    with web.signed_in("approver"):
        _body, alert = page.decision_response("approve", request_id, None, None, False, 1)
    assert "Approved." in text_of(alert)


def _view_summary(view):
    return (view.request.state, view.request.version, view.rows, view.step_name, view.actions,
            [(e.action, e.actor.full_name if e.actor else None) for e in view.events],
            [e.id for e in view.recent_changes], view.customer.credit_limit, view.customer.version)  # fmt: skip


def test_a_decision_shows_its_outcome_from_its_own_session_as_a_fresh_read_would(world, monkeypatch):
    """What a page shows after a decision is read once the decision has committed, in its
    session (what it loaded or wrote is not read again): the same as a read of its own, and
    a lost race retried before shows once."""
    from data.inbox import request_view

    request_id = two_field_request(world)
    seen = world.seen(request_id)
    lost_race = OperationalError("UPDATE", {}, Exception("could not serialize access"))
    Fault(monkeypatch, audit_module, "record_customer_change", on_call=2, error=lost_race)
    shown = []

    def approve(session):
        return svc.approve(session, world.user(session, "approver"), request_id, seen_round=seen)

    def show(session, request):
        shown.append(_view_summary(request_view(session, world.user(session, "approver"),
                                                request.id)))  # fmt: skip

    world.db.run(approve, writes=True, then=show)
    fresh = world.act("approver", lambda session, actor: _view_summary(
        request_view(session, actor, request_id)))  # fmt: skip
    assert len(shown) == 1 and shown[0] == fresh
    assert fresh[0] == "approved" and fresh[7] == Decimal("30000.00")
    assert [action for action, _who in fresh[5]][-2:] == ["approved", "applied"]


def test_a_failure_to_show_a_decision_leaves_it_made(world):
    request_id = two_field_request(world)
    seen = world.seen(request_id)

    def approve(session):
        return svc.approve(session, world.user(session, "approver"), request_id, seen_round=seen)

    def show(_session, _request):
        raise RuntimeError("the page could not be drawn")

    with pytest.raises(RuntimeError):
        world.db.run(approve, writes=True, then=show)
    assert state_of(world, request_id) == ("approved", Decimal("30000.00"), "All", 2, 1)


def test_the_session_check_reads_the_database_as_it_is_now_and_survives_a_lost_connection(world):
    """Every request's session check (Database.lookup) reads on a connection its thread
    keeps: each call sees the latest commit, leaves no transaction open, and a connection
    that broke is replaced."""
    from app import SESSION_CHECK
    from data.models import User

    db = world.db
    clerk = world.user_id("clerk")
    assert db.lookup(SESSION_CHECK, {"user_id": clerk})[1:] == (0, None)
    db.run(lambda s: setattr(s.get(User, clerk), "session_epoch", 7), writes=True)
    is_active, epoch, _locale = db.lookup(SESSION_CHECK, {"user_id": clerk})
    assert is_active and epoch == 7
    assert db.lookup(SESSION_CHECK, {"user_id": 10**9}) is None

    held = db._lookups.held.connection
    driver = held.driver_connection
    open_transaction = (driver.in_transaction if db.dialect == "sqlite"
                        else driver.info.transaction_status != 0)  # fmt: skip
    assert not open_transaction
    driver.close()  # the server went away, say
    assert db.lookup(SESSION_CHECK, {"user_id": clerk})[1] == 7
    assert db._lookups.held.connection is not held


def test_a_server_thread_gives_its_session_check_connection_back_when_it_ends(world):
    """A development server starts a thread per request: each thread's connection for the
    session check goes back to the pool when the thread ends (the pool ran dry before)."""
    import threading

    from app import SESSION_CHECK

    clerk = world.user_id("clerk")
    answers = []
    for _ in range(40):  # more than the pool holds
        thread = threading.Thread(
            target=lambda: answers.append(world.db.lookup(SESSION_CHECK, {"user_id": clerk})))
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert len(answers) == 40 and all(answers)
    assert world.db.engine.pool.checkedout() == 0
