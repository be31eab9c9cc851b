"""Random sequences of edits, submits, decisions and recalls keep the lifecycle's invariants.

- a gated field only ever changes through an approved request;
- at most one open request per customer, at most one proposal per field;
- a pending request has exactly one active step;
- the audit trail accounts for every applied change (replaying it gives the customer).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from data import requests as svc
from data.customers import find_customer, save_customer
from data.errors import DomainError
from data.fields import FIELDS, field_spec
from data.models import (
    Assignment,
    AuditEntry,
    ChangeRequest,
    Customer,
    ProposedChange,
    RequestStep,
)
from data.parameters import gated_fields, update_parameters
from data.workflows import StepSpec
from tests.conftest import DIALECTS, World, fresh_database
from tests.unit.test_rollups import assert_rollups_match_a_rebuild

ACCOUNTS = ("C001", "C002")
CLERKS = ("clerk", "clerk2", "clerkapprover")
APPROVERS = ("approver", "approver2", "approver3", "clerkapprover")
VALUES = {
    "credit_limit": ("10000", "12000", "20000", "90000"),
    "on_hold": ("No", "Invoice", "All"),
    "terms_of_payment": ("Net30", "Net60"),
    "city": ("Milano", "Roma"),
    "email": ("a@example.com", "b@example.com"),
}
TRACKED = tuple(VALUES)


def values_of(session, account):
    customer = find_customer(session, account)
    return {name: field_spec(name).to_text(getattr(customer, name)) for name in TRACKED}


class LifecycleMachine(RuleBasedStateMachine):
    world_factory = None

    def __init__(self):
        super().__init__()
        self._states = None  # each account's open request (id, state), read once per step
        self._acted = True  # a request or a customer may have changed since the last check
        self.world: World = type(self).world_factory()
        self.world.customer("C002")
        self.world.workflow(
            [
                StepSpec(name="Review", assignee_role="approver"),
                StepSpec(
                    name="Finance",
                    assignee_user_ids=[self.world.user_id("approver3")],
                    condition={"kind": "increase", "field": "credit_limit", "amount": 5000},
                ),
            ]
        )

    def teardown(self):
        self.world.db.dispose()

    # ------------------------------------------------------------ helpers

    def _snapshot(self, account):
        return self.world.query(lambda s: values_of(s, account))

    def _gated(self):
        return self.world.query(gated_fields)

    def _open_request(self, account):
        def work(session):
            customer = find_customer(session, account)
            request = svc.open_request_for(session, customer.id)
            return (request.id, request.state) if request else (None, None)

        return self.world.query(work)

    def _accounts_in(self, *states):
        # asked by the preconditions, many times between two steps: read once per step
        if self._states is None:
            self._states = {account: self._open_request(account) for account in ACCOUNTS}
        return [a for a in ACCOUNTS if self._states[a][1] in states]

    def _attempt(self, username, service, *args, **kwargs):
        self._acted = True
        try:
            return self.world.act(username, service, *args, **kwargs)
        except DomainError:
            return None

    def _check_changes(self, account, before, allowed):
        after = self._snapshot(account)
        changed = {name for name in TRACKED if before[name] != after[name]}
        assert changed <= allowed, (changed, allowed)

    # ------------------------------------------------------------ rules

    @rule(
        clerk=st.sampled_from(CLERKS),
        account=st.sampled_from(ACCOUNTS),
        edits=st.dictionaries(
            st.sampled_from(TRACKED), st.integers(0, 3), min_size=1, max_size=3
        ),
    )
    def edit(self, clerk, account, edits):
        raw = {name: VALUES[name][index % len(VALUES[name])] for name, index in edits.items()}
        gated = self._gated()
        before = self._snapshot(account)
        self._attempt(clerk, save_customer, account, raw, expected_version=self.world.version_of(account))
        self._check_changes(account, before, set(raw) - gated)

    @precondition(lambda self: self._accounts_in("draft"))
    @rule(clerk=st.sampled_from(CLERKS), data=st.data())
    def submit(self, clerk, data):
        account = data.draw(st.sampled_from(self._accounts_in("draft")))
        request_id, _ = self._open_request(account)
        if request_id:
            before = self._snapshot(account)
            self._attempt(clerk, svc.submit, request_id)
            self._check_changes(account, before, self._applied_fields(request_id))

    @precondition(lambda self: self._accounts_in("pending"))
    @rule(
        approver=st.sampled_from(APPROVERS),
        decision=st.sampled_from(("approve", "approve", "approve", "reject", "request_change", "delegate")),
        confirm=st.booleans(),
        data=st.data(),
    )
    def decide(self, approver, decision, confirm, data):
        account = data.draw(st.sampled_from(self._accounts_in("pending")))
        request_id, _ = self._open_request(account)
        if not request_id:
            return
        before = self._snapshot(account)
        if decision == "approve":
            self._attempt(approver, svc.approve, request_id, "ok", confirm_stale=confirm,
                          seen_round=self.world.seen(request_id))
        elif decision == "reject":
            self._attempt(approver, svc.reject, request_id, "no",
                          seen_round=self.world.seen(request_id))
        elif decision == "request_change":
            self._attempt(approver, svc.request_change, request_id, "please fix",
                          seen_round=self.world.seen(request_id))
        else:
            target = self.world.user_id("approver2" if approver != "approver2" else "approver")
            self._attempt(approver, svc.delegate, request_id, target, "over to you")
        self._check_changes(account, before, self._applied_fields(request_id))

    @precondition(lambda self: self._accounts_in("pending", "change_requested"))
    @rule(clerk=st.sampled_from(CLERKS), account=st.sampled_from(ACCOUNTS))
    def recall_or_resubmit(self, clerk, account):
        request_id, state = self._open_request(account)
        if request_id and state == "pending":
            self._attempt(clerk, svc.recall, request_id)
        elif request_id and state == "change_requested":
            self._attempt(clerk, svc.resubmit, request_id)

    @precondition(lambda self: self._accounts_in("draft", "change_requested"))
    @rule(
        clerk=st.sampled_from(CLERKS),
        account=st.sampled_from(ACCOUNTS),
        field=st.sampled_from(TRACKED),
        everything=st.booleans(),
    )
    def discard(self, clerk, account, field, everything):
        request_id, _ = self._open_request(account)
        if request_id and everything:
            self._attempt(clerk, svc.discard_all, request_id)
        elif request_id:
            self._attempt(clerk, svc.delete_proposal, request_id, field)

    @rule(
        field=st.sampled_from(TRACKED),
        gated=st.booleans(),
        enabled=st.sampled_from((True, True, True, False)),
    )
    def admin_changes_parameters(self, field, gated, enabled):
        self.world.act(
            "admin", update_parameters, approvals_enabled=enabled, gated={field: gated}
        )

    def _applied_fields(self, request_id):
        """Fields an action may change: those of the request, if it is now approved."""

        def work(session):
            request = session.get(ChangeRequest, request_id)
            if request is None or request.state != "approved":
                return set()
            event("a request was approved and applied")
            return {change.field for change in request.changes}

        return self.world.query(work)

    # ------------------------------------------------------------ invariants

    @invariant()
    def one_open_request_per_customer_and_one_proposal_per_field(self):
        def work(session):
            open_counts = session.execute(
                select(ChangeRequest.customer_id, func.count())
                .where(ChangeRequest.state.in_(("draft", "pending", "change_requested")))
                .group_by(ChangeRequest.customer_id)
            ).all()
            proposal_counts = session.execute(
                select(ProposedChange.request_id, ProposedChange.field, func.count()).group_by(
                    ProposedChange.request_id, ProposedChange.field
                )
            ).all()
            return open_counts, proposal_counts

        open_counts, proposal_counts = self.world.query(work)
        assert all(count == 1 for _, count in open_counts)
        assert all(count == 1 for *_, count in proposal_counts)

    @invariant()
    def pending_requests_have_one_active_step(self):
        def work(session):
            pending = session.scalars(select(ChangeRequest).where(ChangeRequest.state == "pending"))
            return [
                session.scalar(
                    select(func.count(RequestStep.id)).where(
                        RequestStep.request_id == r.id,
                        RequestStep.round == r.round,
                        RequestStep.state == "active",
                    )
                )
                for r in pending
            ]

        assert all(count == 1 for count in self.world.query(work))

    @invariant()
    def open_assignments_belong_to_running_steps_of_pending_requests(self):
        # the inbox counts and the pending dashboard rely on this
        def work(session):
            return session.execute(
                select(Assignment.user_id, RequestStep.request_id, RequestStep.state,
                       ChangeRequest.state)
                .join(RequestStep, RequestStep.id == Assignment.request_step_id)
                .join(ChangeRequest, ChangeRequest.id == RequestStep.request_id)
                .where(Assignment.state == "open")
            ).all()  # fmt: skip

        rows = self.world.query(work)
        assert all(step == "active" and request == "pending" for *_, step, request in rows)
        assert len({(user, request_id) for user, request_id, *_ in rows}) == len(rows)

    @invariant()
    def running_steps_belong_to_pending_requests_and_carry_their_submission(self):
        def work(session):
            return session.execute(
                select(ChangeRequest.state, ChangeRequest.submitted_at, RequestStep.submitted_at)
                .join(RequestStep, RequestStep.request_id == ChangeRequest.id)
                .where(RequestStep.state == "active")
            ).all()

        assert all(state == "pending" and ours == theirs for state, theirs, ours in
                   self.world.query(work))  # fmt: skip

    @invariant()
    def dashboard_counts_match_a_recount(self):
        # a step that only changed the parameters left every request as it was
        if self._acted:
            assert_rollups_match_a_rebuild(self.world.db)
        self._acted = False
        self._states = None  # the next step's preconditions read the requests again

    @invariant()
    def audit_trail_replays_to_the_current_customers(self):
        def work(session):
            for customer in session.scalars(select(Customer)):
                replayed = {spec.name: spec.to_text(spec.blank) for spec in FIELDS}
                replayed["account"] = customer.account
                entries = session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.customer_id == customer.id)
                    .order_by(AuditEntry.id)
                )
                for entry in entries:
                    assert entry.old_value == replayed[entry.field], entry.field
                    replayed[entry.field] = entry.new_value
                current = {spec.name: spec.to_text(getattr(customer, spec.name)) for spec in FIELDS}
                assert replayed == current

        self.world.query(work)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_lifecycle_state_machine(dialect, request, tmp_path):
    counter = iter(range(10_000))

    def make_world():
        path = tmp_path / f"example-{next(counter)}"
        path.mkdir()
        return World(fresh_database(dialect, request, path))

    machine = type("Machine", (LifecycleMachine,), {"world_factory": staticmethod(make_world)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=50 if dialect == "sqlite" else 15,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        ),
    )
