"""The requests behind a dashboard figure (a drill-through), filtered in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    func,
    select,
)
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.dashboards.common import AGE_BUCKETS, invalid, proposes
from data.dashboards.pending import age_bounds
from data.fields import FIELDS_BY_NAME
from data.i18n import _
from data.labels import REQUEST_STATE_LABELS
from data.lifecycle import (
    SUBMITTED_OPEN,
)
from data.models import (
    Assignment,
    ChangeRequest,
    Customer,
    ProposedChange,
    RequestStep,
    User,
)
from data.users import require_role


@dataclass
class RequestFilters:
    """What a drill-through asks for; every part optional."""

    state: str | None = None
    """'open' (pending or sent back), 'pending', or one request state"""
    step: str | None = None
    approver_id: int | None = None
    field: str | None = None
    age: str | None = None
    overdue: bool = False

    @classmethod
    def from_query(cls, query: dict[str, Any]) -> RequestFilters:
        approver = query.get("approver")
        if approver not in (None, "") and not str(approver).isdigit():
            raise invalid({"approver": _("is not a user")})
        field_name = query.get("field") or None
        if field_name is not None and field_name not in FIELDS_BY_NAME:
            raise invalid(
                {"field": _("there is no customer field {field}").format(field=repr(field_name))}
            )
        state = query.get("state") or None
        known = (
            "open",
            "pending",
            "draft",
            "change_requested",
            "approved",
            "rejected",
            "discarded",
        )
        if state is not None and state not in known:
            raise invalid(
                {"state": _("there is no request state {state}").format(state=repr(state))}
            )
        age = query.get("age") or None
        if age is not None and age not in [label for label, *_ in AGE_BUCKETS]:
            raise invalid({"age": _("there is no age bucket {bucket}").format(bucket=repr(age))})
        return cls(
            state=state,
            step=query.get("step") or None,
            approver_id=int(approver) if approver not in (None, "") else None,
            field=field_name,
            age=age,
            overdue=str(query.get("overdue", "")).lower() in ("1", "true", "yes"),
        )

    def describe(self) -> str:
        parts = []
        if self.state:
            parts.append(
                _("open")
                if self.state == "open"
                else _("pending approval")
                if self.state == "pending"
                else REQUEST_STATE_LABELS.get(self.state, self.state).lower()
            )
        if self.step:
            parts.append(_("at step “{step}”").format(step=self.step))
        if self.approver_id:
            parts.append(_("held by the chosen approver"))
        if self.field:
            parts.append(_("changing {field}").format(field=FIELDS_BY_NAME[self.field].label))
        if self.age:
            parts.append(_("waiting {age}").format(age=_(self.age)))
        if self.overdue:
            parts.append(_("with an overdue step"))
        return ", ".join(parts) or _("all requests")


@dataclass
class RequestRow:
    request_id: int
    account: str
    customer_name: str
    state: str
    step: str | None
    submitted_at: datetime | None
    due_at: datetime | None
    fields: list[str] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)


LIST_LIMIT = 500


def request_list(
    session: Session,
    actor: User,
    filters: RequestFilters,
    *,
    now: datetime | None = None,
    limit: int = LIST_LIMIT,
) -> tuple[int, list[RequestRow]]:
    """(how many match, the oldest ``limit`` of them) for a dashboard drill-through."""
    require_role(actor, "manager", "analyst")
    now = now or utcnow()
    conditions: list[ColumnElement] = []
    if filters.state == "open":
        conditions.append(ChangeRequest.state.in_(SUBMITTED_OPEN))
    elif filters.state:
        conditions.append(ChangeRequest.state == filters.state)
    step_conditions = [RequestStep.request_id == ChangeRequest.id, RequestStep.state == "active"]
    if filters.step:
        step_conditions.append(RequestStep.name == filters.step)
    if filters.overdue:
        step_conditions.append(RequestStep.due_at < now)
    if filters.approver_id:
        step_conditions.append(
            select(Assignment.id)
            .where(
                Assignment.request_step_id == RequestStep.id,
                Assignment.user_id == filters.approver_id,
                Assignment.state == "open",
            )
            .exists()
        )
    if filters.step or filters.overdue or filters.approver_id:
        conditions.append(select(RequestStep.id).where(*step_conditions).exists())
    if filters.field:
        conditions.append(proposes(filters.field))
    if filters.age:
        after, until = age_bounds(filters.age, now)
        conditions.append(ChangeRequest.submitted_at <= until)
        if after is not None:
            conditions.append(ChangeRequest.submitted_at > after)
    total = session.scalar(select(func.count(ChangeRequest.id)).where(*conditions)) or 0
    base = (
        select(ChangeRequest.id, Customer.account, Customer.name, ChangeRequest.state,
               ChangeRequest.submitted_at)
        .join(Customer, Customer.id == ChangeRequest.customer_id)
        .where(*conditions)
        .order_by(ChangeRequest.submitted_at, ChangeRequest.id)
        .limit(limit)
    )  # fmt: skip
    rows = {
        request_id: RequestRow(request_id, account, name, state, None, submitted, None)
        for request_id, account, name, state, submitted in session.execute(base)
    }
    if rows:
        ids = list(rows)
        for request_id, step, due in session.execute(
            select(RequestStep.request_id, RequestStep.name, RequestStep.due_at).where(
                RequestStep.request_id.in_(ids), RequestStep.state == "active"
            )
        ):
            rows[request_id].step, rows[request_id].due_at = step, due
        for request_id, name in session.execute(
            select(RequestStep.request_id, User.full_name)
            .join(Assignment, Assignment.request_step_id == RequestStep.id)
            .join(User, User.id == Assignment.user_id)
            .where(
                RequestStep.request_id.in_(ids),
                RequestStep.state == "active",
                Assignment.state == "open",
            )
            .order_by(User.full_name)
        ):
            rows[request_id].holders.append(name)
        for request_id, field_name in session.execute(
            select(ProposedChange.request_id, ProposedChange.field)
            .where(ProposedChange.request_id.in_(ids))
            .order_by(ProposedChange.id)
        ):
            rows[request_id].fields.append(FIELDS_BY_NAME[field_name].label)
    return total, list(rows.values())
