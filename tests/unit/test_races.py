"""Two people acting on the same data at the same moment: exactly one outcome."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import func, select

from data import requests as svc
from data.customers import find_customer, save_customer
from data.errors import DomainError
from data.models import AuditEntry, ChangeRequest
from data.workflows import StepSpec

ROUNDS = 12


def race(*calls):
    """Run the calls in threads released together; return each one's result or error."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            outcomes[index] = call()
        except DomainError as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def submitted(world, amount):
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": amount}, expected_version=world.version_of("C001")).request.id
    world.act("clerk", svc.submit, request_id)
    return request_id


def applied_entries(world, request_id):
    return world.query(
        lambda s: s.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.request_id == request_id)
        )
    )


def test_approve_and_reject_at_once_has_exactly_one_winner(world):
    for round_number in range(ROUNDS):
        amount = str(20000 + round_number)
        request_id = submitted(world, amount)
        approve, reject = race(
            lambda rid=request_id: world.act("approver", svc.approve, rid, seen_round=world.seen(rid)),
            lambda rid=request_id: world.act("approver2", svc.reject, rid, "no", seen_round=world.seen(rid)),
        )
        winners = [o for o in (approve, reject) if not isinstance(o, DomainError)]
        assert len(winners) == 1, (approve, reject)
        loser = approve if isinstance(approve, DomainError) else reject
        assert "can no longer be decided" in loser.message

        state = world.query(lambda s, rid=request_id: s.get(ChangeRequest, rid).state)
        limit = world.query(lambda s: find_customer(s, "C001").credit_limit)
        if winners[0] is approve:
            assert state == "approved"
            assert limit == Decimal(amount)
            assert applied_entries(world, request_id) == 1
        else:
            assert state == "rejected"
            assert applied_entries(world, request_id) == 0


def test_two_approvals_of_an_all_approvers_step_both_count_and_apply_once(world):
    ids = [world.user_id("approver"), world.user_id("approver2")]
    world.workflow([StepSpec(name="Both", assignee_user_ids=ids, policy="all")])
    for round_number in range(ROUNDS):
        amount = str(30000 + round_number)
        request_id = submitted(world, amount)
        outcomes = race(
            lambda rid=request_id: world.act("approver", svc.approve, rid, seen_round=world.seen(rid)),
            lambda rid=request_id: world.act("approver2", svc.approve, rid, seen_round=world.seen(rid)),
        )
        assert not any(isinstance(o, DomainError) for o in outcomes), outcomes
        assert world.query(lambda s, rid=request_id: s.get(ChangeRequest, rid).state) == "approved"
        assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal(amount)
        assert applied_entries(world, request_id) == 1


def test_a_direct_edit_while_an_approval_applies_loses_nothing(world):
    """The clerk's editor was opened before the approval: their save lands whole, or is
    refused whole with "reload" (the customer changed under it); the approval always
    lands, and nothing is half applied."""
    for round_number in range(ROUNDS):
        amount, city = str(40000 + round_number), f"City {round_number}"
        request_id = submitted(world, amount)
        opened = world.version_of("C001")
        approved, saved = race(
            lambda rid=request_id: world.act("approver", svc.approve, rid, seen_round=world.seen(rid)),
            lambda c=city, v=opened: world.act("clerk2", save_customer, "C001", {"city": c}, expected_version=v),
        )
        assert not isinstance(approved, DomainError), approved
        customer = world.query(lambda s: find_customer(s, "C001"))
        assert customer.credit_limit == Decimal(amount)
        if isinstance(saved, DomainError):
            assert "changed by someone else" in saved.message
            assert customer.city != city
        else:
            assert customer.city == city


def test_approve_against_recall_has_exactly_one_winner(world):
    for round_number in range(ROUNDS):
        request_id = submitted(world, str(50000 + round_number))
        approve, recall = race(
            lambda rid=request_id: world.act("approver", svc.approve, rid, seen_round=world.seen(rid)),
            lambda rid=request_id: world.act("clerk", svc.recall, rid),
        )
        winners = [o for o in (approve, recall) if not isinstance(o, DomainError)]
        assert len(winners) == 1, (approve, recall)
        state = world.query(lambda s, rid=request_id: s.get(ChangeRequest, rid).state)
        assert state == ("approved" if winners[0] is approve else "draft")
        if state == "draft":
            world.act("clerk", svc.discard_all, request_id)


def test_two_imports_touching_one_customer_give_one_outcome_and_a_true_audit_trail(world):
    from data.audit import verify_audit
    from data.importfile import read_import_file
    from data.imports import import_customers
    from data.parameters import update_parameters

    world.act("admin", update_parameters, data_entity_behavior="propose")

    def run(text):
        file = read_import_file("race.csv", text.encode())
        return import_customers(world.db, world.user_id("clerk"), file)

    for round_number in range(ROUNDS):
        # non-gated values only: both imports apply, one after the other
        first, second = race(
            lambda n=round_number: run(f"account,city\nC001,Alpha {n}\n"),
            lambda n=round_number: run(f"account,city\nC001,Beta {n}\n"),
        )
        assert [r.outcome for r in first.results + second.results] == ["updated", "updated"]
        city = world.query(lambda s: find_customer(s, "C001").city)
        assert city in (f"Alpha {round_number}", f"Beta {round_number}")

        # a gated value from both: exactly one request, the other row changes nothing
        first, second = race(
            lambda n=round_number: run(f"account,credit_limit,city\nC001,{60000 + n},Gamma {n}\n"),
            lambda n=round_number: run(f"account,credit_limit,city\nC001,{70000 + n},Delta {n}\n"),
        )
        outcomes = sorted(r.outcome for r in first.results + second.results)
        assert outcomes == ["failed", "proposed"], (first.results, second.results)
        winner = first if first.results[0].outcome == "proposed" else second
        city = world.query(lambda s: find_customer(s, "C001").city)
        assert city == ("Gamma" if winner is first else "Delta") + f" {round_number}"
        open_requests = world.query(lambda s: s.scalars(
            select(ChangeRequest.id).where(ChangeRequest.state == "pending")).all())
        assert len(open_requests) == 1
        world.act("approver", svc.approve, open_requests[0], seen_round=world.seen(open_requests[0]))

    check = world.query(verify_audit)
    assert check.ok, check.problems
