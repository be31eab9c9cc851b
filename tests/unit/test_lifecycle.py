"""SPEC "Change request lifecycle": each rule, checked against what the database holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from data import requests as svc
from data.customers import find_customer, save_customer
from data.errors import Conflict, InvalidTransition, PermissionDenied, StaleChange, ValidationFailed
from data.models import AuditEntry, ChangeRequest, ProposedChange, RequestEvent
from data.parameters import update_parameters


def customer(world, account="C001"):
    return world.query(lambda s: find_customer(s, account))


def request_of(world, account="C001"):
    def work(session):
        c = find_customer(session, account)
        request = session.scalar(
            select(ChangeRequest).where(ChangeRequest.customer_id == c.id).order_by(ChangeRequest.id.desc())
        )
        if request is not None:
            request.changes, request.steps, request.events  # noqa: B018 - load while open
            for step in request.steps:
                step.assignments  # noqa: B018
        return request

    return world.query(work)


def propose_and_submit(world, clerk="clerk", **values):
    result = world.act(clerk, save_customer, "C001", values or {"credit_limit": "20000"}, expected_version=world.version_of("C001"))
    world.act(clerk, svc.submit, result.request.id)
    return result.request.id


def test_gated_field_becomes_proposal_and_non_gated_applies_at_once(world):
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "25000", "city": "Milano"}, expected_version=world.version_of("C001"))

    assert result.applied == ["city"]
    assert [(c.field, c.original_value, c.new_value) for c in result.proposed] == [
        ("credit_limit", "10000.00", "25000.00")
    ]
    stored = customer(world)
    assert stored.city == "Milano"
    assert stored.credit_limit == Decimal("10000.00")
    request = request_of(world)
    assert request.state == "draft"
    assert [(c.field, c.new_value) for c in request.changes] == [("credit_limit", "25000.00")]


def test_changing_a_gated_field_again_replaces_its_proposal(world):
    world.act("clerk", save_customer, "C001", {"credit_limit": "25000"}, expected_version=world.version_of("C001"))
    world.act("clerk2", save_customer, "C001", {"credit_limit": "30000"}, expected_version=world.version_of("C001"))

    request = request_of(world)
    assert [(c.field, c.new_value) for c in request.changes] == [("credit_limit", "30000.00")]
    assert world.query(lambda s: s.scalar(select(func.count(ChangeRequest.id)))) == 1


def test_setting_a_gated_field_back_to_its_original_value_withdraws_the_proposal(world):
    world.act("clerk", save_customer, "C001", {"credit_limit": "25000", "on_hold": "All"}, expected_version=world.version_of("C001"))
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "10000"}, expected_version=world.version_of("C001"))

    assert result.withdrawn == ["credit_limit"]
    assert [c.field for c in request_of(world).changes] == ["on_hold"]


def test_invalid_value_refuses_the_whole_save(world):
    with pytest.raises(ValidationFailed) as error:
        world.act("clerk", save_customer, "C001", {"city": "Roma", "credit_limit": "-5"}, expected_version=world.version_of("C001"))

    assert set(error.value.errors) == {"credit_limit"}
    assert "Credit limit" in error.value.errors["credit_limit"]
    assert customer(world).city is None
    assert request_of(world) is None


def test_approvals_disabled_applies_every_edit_at_once(world):
    world.act("admin", update_parameters, approvals_enabled=False)
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "25000"}, expected_version=world.version_of("C001"))

    assert result.applied == ["credit_limit"]
    assert customer(world).credit_limit == Decimal("25000.00")
    assert request_of(world) is None


def test_unticked_field_applies_at_once(world):
    world.act("admin", update_parameters, gated={"credit_limit": False})
    world.act("clerk", save_customer, "C001", {"credit_limit": "25000"}, expected_version=world.version_of("C001"))

    assert customer(world).credit_limit == Decimal("25000.00")


def test_discard_one_proposal_and_discard_all(world):
    result = world.act("clerk", save_customer, "C001", {"credit_limit": "25000", "on_hold": "All"}, expected_version=world.version_of("C001"))
    world.act("clerk", svc.delete_proposal, result.request.id, "credit_limit")
    assert [c.field for c in request_of(world).changes] == ["on_hold"]

    world.act("clerk", svc.discard_all, result.request.id)
    assert request_of(world) is None  # a never-submitted draft leaves nothing behind
    assert customer(world).on_hold == "No"


def test_submit_moves_to_pending_and_assigns_the_step(world):
    request_id = propose_and_submit(world)

    request = request_of(world)
    assert request.id == request_id
    assert request.state == "pending"
    assert request.submitted_at is not None
    [step] = request.steps
    assert step.state == "active"
    assigned = sorted(world.query(lambda s: [a.user.username for a in s.get(ChangeRequest, request_id).steps[0].assignments]))
    assert assigned == ["approver", "approver2", "approver3", "clerkapprover"]


def test_gated_fields_are_read_only_while_pending(world):
    propose_and_submit(world)

    with pytest.raises(ValidationFailed) as error:
        world.act("clerk", save_customer, "C001", {"on_hold": "All"}, expected_version=world.version_of("C001"))
    assert "pending approval" in error.value.errors["on_hold"]
    with pytest.raises(InvalidTransition):
        world.act("clerk", svc.discard_all, request_of(world).id)
    # a non-gated field still saves
    world.act("clerk", save_customer, "C001", {"city": "Torino"}, expected_version=world.version_of("C001"))
    assert customer(world).city == "Torino"


def test_approval_applies_every_value_in_one_go_with_audit(world):
    request_id = propose_and_submit(world, credit_limit="20000", on_hold="Invoice")
    world.act("approver", svc.approve, request_id, "fine", seen_round=world.seen(request_id))

    stored = customer(world)
    assert stored.credit_limit == Decimal("20000.00")
    assert stored.on_hold == "Invoice"
    request = request_of(world)
    assert request.state == "approved"
    assert request.decided_at is not None
    audit = world.query(
        lambda s: [
            (a.field, a.old_value, a.new_value, a.source, a.request_id)
            for a in s.scalars(select(AuditEntry).where(AuditEntry.source == "approved_request"))
        ]
    )
    assert sorted(audit) == [
        ("credit_limit", "10000.00", "20000.00", "approved_request", request_id),
        ("on_hold", "No", "Invoice", "approved_request", request_id),
    ]
    actions = [e.action for e in request.events]
    assert actions[0] == "submitted" and "approved" in actions and actions[-1] == "applied"


def test_reject_applies_nothing_and_needs_a_comment(world):
    request_id = propose_and_submit(world)
    with pytest.raises(ValidationFailed):
        world.act("approver", svc.reject, request_id, "  ", seen_round=world.seen(request_id))
    assert request_of(world).state == "pending"

    world.act("approver", svc.reject, request_id, "Too high", seen_round=world.seen(request_id))
    assert request_of(world).state == "rejected"
    assert customer(world).credit_limit == Decimal("10000.00")


def test_request_change_then_resubmit_by_submitter_only(world):
    request_id = propose_and_submit(world)
    world.act("approver", svc.request_change, request_id, "Use 15,000", seen_round=world.seen(request_id))
    request = request_of(world)
    assert request.state == "change_requested"
    assert request.last_comment == "Use 15,000"

    with pytest.raises(PermissionDenied):
        world.act("clerk2", save_customer, "C001", {"credit_limit": "15000"}, expected_version=world.version_of("C001"))
    world.act("clerk", save_customer, "C001", {"credit_limit": "15000"}, expected_version=world.version_of("C001"))
    with pytest.raises(PermissionDenied):
        world.act("clerk2", svc.resubmit, request_id)
    world.act("clerk", svc.resubmit, request_id)

    request = request_of(world)
    assert request.state == "pending"
    assert request.round == 2
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    assert customer(world).credit_limit == Decimal("15000.00")


def test_recall_returns_to_draft_and_only_the_submitter_may(world):
    request_id = propose_and_submit(world)
    with pytest.raises(PermissionDenied):
        world.act("clerk2", svc.recall, request_id)
    world.act("clerk", svc.recall, request_id)

    request = request_of(world)
    assert request.state == "draft"
    assert all(a.state == "cancelled" for a in request.steps[0].assignments)
    with pytest.raises(InvalidTransition):
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    # discarding a recalled request keeps its history as Discarded
    world.act("clerk", svc.discard_all, request_id)
    assert request_of(world).state == "discarded"


def test_one_open_request_per_customer(world):
    first = world.act("clerk", save_customer, "C001", {"credit_limit": "25000"}, expected_version=world.version_of("C001")).request.id
    second = world.act("clerk2", save_customer, "C001", {"on_hold": "All"}, expected_version=world.version_of("C001")).request.id

    assert first == second
    assert world.query(lambda s: s.scalar(select(func.count(ProposedChange.id)))) == 2


def test_stale_proposal_needs_explicit_confirmation(world):
    request_id = propose_and_submit(world, credit_limit="20000")
    # someone changes the value outside the workflow (as an import allowed without approval)
    world.act("admin", update_parameters, gated={"credit_limit": False})

    def direct(session):
        c = find_customer(session, "C001")
        c.credit_limit = Decimal("12000")

    world.query(direct)

    with pytest.raises(StaleChange) as error:
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert error.value.fields == ["credit_limit"]
    assert request_of(world).state == "pending"

    world.act("approver", svc.approve, request_id, confirm_stale=True, seen_round=world.seen(request_id))
    assert customer(world).credit_limit == Decimal("20000.00")
    audit = world.query(
        lambda s: s.scalar(select(AuditEntry).where(AuditEntry.source == "approved_request"))
    )
    assert (audit.old_value, audit.new_value) == ("12000.00", "20000.00")


def test_submitter_cannot_approve_own_request_unless_parameter_off(world):
    request_id = propose_and_submit(world, clerk="clerkapprover")
    assigned = world.query(lambda s: [a.user.username for a in s.get(ChangeRequest, request_id).steps[0].assignments])
    assert "clerkapprover" not in assigned
    with pytest.raises(PermissionDenied):
        world.act("clerkapprover", svc.approve, request_id, seen_round=world.seen(request_id))
    assert request_of(world).state == "pending"

    world.act("clerkapprover", svc.recall, request_id)
    world.act("admin", update_parameters, disallow_submitter_approval=False)
    world.act("clerkapprover", svc.submit, request_id)
    world.act("clerkapprover", svc.approve, request_id, seen_round=world.seen(request_id))
    assert request_of(world).state == "approved"


def test_disabling_approvals_does_not_drop_pending_requests(world):
    request_id = propose_and_submit(world)
    world.act("admin", update_parameters, approvals_enabled=False, gated={"credit_limit": False})

    assert request_of(world).state == "pending"
    with pytest.raises(ValidationFailed):  # its field stays locked until it is decided
        world.act("clerk", save_customer, "C001", {"credit_limit": "99"}, expected_version=world.version_of("C001"))
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    assert customer(world).credit_limit == Decimal("20000.00")


def test_stale_form_is_refused(world):
    version = customer(world).version
    world.act("clerk2", save_customer, "C001", {"city": "Bari"}, expected_version=world.version_of("C001"))

    with pytest.raises(Conflict):
        world.act("clerk", save_customer, "C001", {"city": "Lecce"}, expected_version=version)
    assert customer(world).city == "Bari"


def test_history_records_every_action(world):
    request_id = propose_and_submit(world)
    world.act("clerk", svc.recall, request_id)
    world.act("clerk", svc.submit, request_id)
    world.act("approver", svc.approve, request_id, "ok", seen_round=world.seen(request_id))

    actions = world.query(
        lambda s: [
            (e.action, e.actor.username if e.actor else None, e.comment)
            for e in s.scalars(select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id))
        ]
    )
    assert actions == [
        ("submitted", "clerk", None),
        ("step_started", None, None),
        ("recalled", "clerk", None),
        ("submitted", "clerk", None),
        ("step_started", None, None),
        ("approved", "approver", "ok"),
        ("applied", None, None),
    ]
