"""Set-based writes for imports: many customers created, updated or sent for approval at once.

Each function writes the rows that the one-at-a-time services write
(``create_customer``, ``apply_values``, ``submit_new``), with one statement
per table for a whole chunk instead of a dozen per row;
``tests/unit/test_imports_bulk.py`` compares the two row by row. Callers
validate first: these functions check nothing but the database's constraints
and the customers' versions, and raise when either fails, so the caller's
transaction is rolled back whole.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from data import outbox, rollups
from data.audit import current_value_text
from data.clock import utcnow
from data.errors import Conflict
from data.fields import EDITABLE_FIELDS, field_spec
from data.i18n import _
from data.models import (
    Assignment,
    AuditEntry,
    ChangeRequest,
    Customer,
    Notification,
    ProposedChange,
    RequestAuthor,
    RequestEvent,
    RequestStep,
    User,
    WorkflowStep,
)
from data.notifications import written_for
from data.parameters import get_parameters
from data.requests import ASSIGNED, excluded_deciders
from data.users import require_role
from data.workflows import ChangeSet, RoundPlan, active_version, plan_round, resolve_assignees

_CUSTOMERS = Customer.__table__


def _column_defaults() -> dict[str, Any]:
    defaults = {}
    for column in _CUSTOMERS.columns:
        if column.primary_key:
            continue
        default = column.default
        defaults[column.name] = default.arg if default is not None and default.is_scalar else None
    return defaults


def _audit_row(now, customer_id: int, name: str, old, new, source, actor, batch_id) -> dict:
    return {
        "at": now,
        "entity": "customer",
        "customer_id": customer_id,
        "field": name,
        "old_value": old,
        "new_value": new,
        "source": source,
        "request_id": None,
        "batch_id": batch_id,
        "user_id": actor.id if actor else None,
    }


def create_customers(
    session: Session,
    actor: User,
    rows: list[dict[str, Any]],
    source: str,
    batch_id: int | None,
) -> dict[str, int]:
    """Insert validated new customers (parsed values); returns their ids by account."""
    if not rows:
        return {}
    now = utcnow()
    defaults = _column_defaults()
    records = [{**defaults, **row, "version": 1, "created_at": now, "updated_at": now}
               for row in rows]  # fmt: skip
    inserted = session.execute(
        insert(_CUSTOMERS).returning(_CUSTOMERS.c.id, _CUSTOMERS.c.account), records
    )
    ids = {account: customer_id for customer_id, account in inserted}
    audit = []
    for record in records:
        for spec in EDITABLE_FIELDS:
            text = spec.to_text(record[spec.name])
            if text != spec.to_text(spec.blank):
                audit.append(_audit_row(now, ids[record["account"]], spec.name, None, text,
                                        source, actor, batch_id))  # fmt: skip
    if audit:
        session.execute(insert(AuditEntry.__table__), audit)
        outbox.emit(session, outbox.customer_events(session, audit))
    return ids


def update_customers(
    session: Session,
    actor: User,
    changes: list[tuple[Customer, dict[str, Any]]],
    source: str,
    batch_id: int | None,
) -> None:
    """Set parsed values on loaded customers, each with its audit entry.

    Every UPDATE names the version the customer was read at; a customer changed
    by someone else since then raises Conflict.
    """
    if not changes:
        return
    now = utcnow()
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    audit = []
    for customer, values in changes:
        names = tuple(sorted(values))
        record = {"b_id": customer.id, "b_version": customer.version, "b_now": now}
        for name in names:
            record[f"v_{name}"] = values[name]
            audit.append(_audit_row(now, customer.id, name, current_value_text(customer, name),
                                    field_spec(name).to_text(values[name]), source, actor,
                                    batch_id))  # fmt: skip
        groups.setdefault(names, []).append(record)
    columns = _CUSTOMERS.c
    regrouped = [record["b_id"] for names, records in groups.items() if "customer_group" in names
                 for record in records]  # fmt: skip
    if regrouped:
        rollups.customers_regrouped(session, regrouped)
    for names, records in groups.items():
        statement = (
            update(_CUSTOMERS)
            .where(
                columns.id == bindparam("b_id", type_=columns.id.type),
                columns.version == bindparam("b_version", type_=columns.version.type),
            )
            .values(
                {
                    **{name: bindparam(f"v_{name}", type_=columns[name].type) for name in names},
                    "version": columns.version + 1,
                    "updated_at": bindparam("b_now", type_=columns.updated_at.type),
                }
            )
        )
        result = session.connection().execute(statement, records)
        if session.bind.dialect.supports_sane_multi_rowcount and result.rowcount != len(records):
            raise Conflict(_("A customer in this part of the file was changed by someone else."))
    session.execute(insert(AuditEntry.__table__), audit)
    outbox.emit(session, outbox.customer_events(session, audit))


class BatchSubmission:
    """New requests submitted straight to the active workflow, many at once.

    Reads the workflow, the parameters and every step's assignees once.
    ``steps_for`` tells which requests it can submit; the others (no active
    workflow, no step that runs, a running step nobody may decide) go through
    ``data.requests.submit``, which explains the problem.
    """

    def __init__(self, session: Session, actor: User):
        require_role(actor, "clerk")
        self.actor = actor
        self.version = active_version(session)
        self.steps: list[WorkflowStep] = list(self.version.steps) if self.version else []
        # the importing user is each request's only author
        exclude = excluded_deciders(get_parameters(session), frozenset({actor.id}))
        self.assignees = {step.id: resolve_assignees(session, step, exclude) for step in self.steps}

    def steps_for(self, changes: ChangeSet) -> RoundPlan | None:
        """The round these changes would start, or None when this cannot submit them."""
        if self.version is None:
            return None
        plan = plan_round(self.steps, changes, lambda step: self.assignees[step.id])
        if plan.first is None or plan.unstaffed is not None:
            return None
        return plan

    def submit(self, session: Session, items: list[tuple[Customer, ChangeSet]]) -> dict[int, int]:
        """Create and submit one request per customer; returns request ids by customer id."""
        if not items:
            return {}
        now = utcnow()
        actor_id = self.actor.id
        inserted = session.execute(
            insert(ChangeRequest.__table__).returning(
                ChangeRequest.__table__.c.id, ChangeRequest.__table__.c.customer_id
            ),
            [
                {
                    "customer_id": customer.id,
                    "state": "pending",
                    "created_by_id": actor_id,
                    "submitted_by_id": actor_id,
                    "created_at": now,
                    "submitted_at": now,
                    "first_submitted_at": now,
                    "decided_at": None,
                    "workflow_version_id": self.version.id,
                    "round": 1,
                    "last_comment": None,
                    "updated_at": now,
                    "version": 1,
                }
                for customer, _ in items
            ],
        )
        request_ids = {customer_id: request_id for request_id, customer_id in inserted}
        rollups.record(session, [(now, rollups.SUBMITTED, "", 0)] * len(request_ids))
        rollups.requests_added(session, request_ids.values())

        proposals, events, steps, started = [], [], [], {}
        for customer, changes in items:
            request_id = request_ids[customer.id]
            for name, (original, new) in changes.items():
                proposals.append({"request_id": request_id, "field": name,
                                  "original_value": original, "new_value": new,
                                  "proposed_by_id": actor_id, "proposed_at": now})  # fmt: skip
            events.append(self._event(now, request_id, actor_id, "submitted", None,
                                      {"workflow_version": self.version.number}))  # fmt: skip
            plan = self.steps_for(changes)
            first = plan.first
            for step in plan.steps:
                state = plan.state_of(step)
                hours = step.time_limit_hours
                due = now + timedelta(hours=hours) if step is first and hours else None
                steps.append({"request_id": request_id, "round": 1, "position": step.position,
                              "workflow_step_id": step.id, "name": step.name,
                              "policy": step.policy, "percentage": step.percentage,
                              "state": state, "due_at": due, "completed_at": None,
                              "started_at": now if step is first else None,
                              "escalated_at": None, "submitted_at": now})  # fmt: skip
            # the history reads in the steps' order, as the engine writes it
            events += [self._event(now, request_id, None, kind, step.name)
                       for kind, step in plan.history()]  # fmt: skip
            started[request_id] = (first, customer.account)

        session.execute(insert(ProposedChange.__table__), proposals)
        session.execute(
            insert(RequestAuthor.__table__),
            [{"request_id": rid, "user_id": actor_id} for rid in request_ids.values()],
        )
        table = RequestStep.__table__
        step_rows = session.execute(
            insert(table).returning(table.c.id, table.c.request_id, table.c.state), steps
        )
        assignments, notifications = [], []
        for step_id, request_id, state in step_rows:
            if state != "active":
                continue
            step, account = started[request_id]
            for user, via, via_role in self.assignees[step.id]:
                assignments.append({"request_step_id": step_id, "user_id": user.id, "via": via,
                                    "via_role": via_role, "state": "open", "decided_at": None,
                                    "comment": None, "delegated_from_id": None,
                                    "created_at": now})  # fmt: skip
                text = written_for(user, ASSIGNED, id=request_id, account=account, step=step.name)
                notifications.append({"user_id": user.id, "at": now, "kind": "assigned",
                                      "request_id": request_id, "read_at": None,
                                      "text": text})  # fmt: skip
        session.execute(insert(Assignment.__table__), assignments)
        session.execute(insert(Notification.__table__), notifications)
        session.execute(insert(RequestEvent.__table__), events)
        outbox.emit(session, outbox.request_events(session, {
            row["request_id"]: ["request.submitted"] for row in events
            if row["action"] == "submitted"}))  # fmt: skip
        return request_ids

    @staticmethod
    def _event(now, request_id: int, actor_id, action: str, step_name, details=None) -> dict:
        return {"request_id": request_id, "at": now, "actor_id": actor_id, "action": action,
                "step_name": step_name, "comment": None, "details": details}  # fmt: skip
