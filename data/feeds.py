"""Lists read page by page with a keyset (the last row's sort key, never an offset), for
other systems: customers, change requests and a customer's audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from data.customers import find_customer
from data.errors import ValidationFailed
from data.i18n import _
from data.lifecycle import AssignmentState, RequestState, StepState
from data.models import (
    Assignment,
    AuditEntry,
    ChangeRequest,
    Customer,
    RequestStep,
    User,
)
from data.users import require_active

MAX_PAGE = 200
CUSTOMER_SORTS = ("account", "-account", "name", "-name", "updated_at", "-updated_at")
CUSTOMER_FILTERS = ("customer_group", "country", "currency", "on_hold")


@dataclass
class Page:
    rows: list[Any]
    after: list[Any] | None
    """The sort key of the last row when more rows follow (the next page starts after it)."""


def _limit(limit: int) -> int:
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed({"limit": _("must be from 1 to {maximum}").format(maximum=MAX_PAGE)})
    return limit


def _page(rows: list, limit: int, key) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, key(rows[-1]) if more and rows else None)


def list_customers(
    session: Session,
    actor: User,
    *,
    sort: str = "account",
    after: list[Any] | None = None,
    limit: int = 50,
    filters: dict[str, str] | None = None,
    search: str | None = None,
    updated_since: datetime | None = None,
) -> Page:
    """Customers in ``sort`` order (a leading "-" for descending), ties broken by account."""
    require_active(actor)
    limit = _limit(limit)
    if sort not in CUSTOMER_SORTS:
        raise ValidationFailed(
            {"sort": _("must be one of {choices}").format(choices=", ".join(CUSTOMER_SORTS))}
        )
    descending = sort.startswith("-")
    column = getattr(Customer, sort.lstrip("-"))
    query = select(Customer)
    for name, value in (filters or {}).items():
        if name not in CUSTOMER_FILTERS:
            raise ValidationFailed({name: _("is not a filter")})
        query = query.where(getattr(Customer, name) == value)
    if search:
        needle = search.strip().lower()
        query = query.where(
            or_(
                Customer.account.startswith(needle.upper()),
                func.lower(Customer.name).contains(needle),
            )
        )
    if updated_since is not None:
        query = query.where(Customer.updated_at >= updated_since)
    if after is not None:
        if column is Customer.account:
            if not (len(after) == 1 and isinstance(after[0], str)):
                raise ValidationFailed({"cursor": _("is not one this list gave")})
            query = query.where(column < after[0] if descending else column > after[0])
        else:
            if not (len(after) == 2 and isinstance(after[1], str)):
                raise ValidationFailed({"cursor": _("is not one this list gave")})
            value = after[0]
            if column is Customer.updated_at:
                try:
                    value = datetime.fromisoformat(value)
                except (TypeError, ValueError):
                    raise ValidationFailed({"cursor": _("is not one this list gave")}) from None
            elif not isinstance(value, str):
                raise ValidationFailed({"cursor": _("is not one this list gave")})
            ahead = (column < value) if descending else (column > value)
            tie = and_(column == value,
                       Customer.account < after[1] if descending else Customer.account > after[1])
            query = query.where(or_(ahead, tie))  # fmt: skip
    order = [column.desc() if descending else column.asc()]
    if column is not Customer.account:
        order.append(Customer.account.desc() if descending else Customer.account.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))

    def key(customer: Customer) -> list:
        if column is Customer.account:
            return [customer.account]
        value = getattr(customer, sort.lstrip("-"))
        return [value.isoformat() if isinstance(value, datetime) else value, customer.account]

    return _page(rows, limit, key)


REQUEST_STATES = tuple(state.value for state in RequestState)


def list_requests(
    session: Session,
    actor: User,
    *,
    state: str | None = None,
    account: str | None = None,
    submitter: str | None = None,
    assigned_to_me: bool = False,
    since: datetime | None = None,
    after: list[Any] | None = None,
    limit: int = 50,
) -> Page:
    """Change requests, newest first; ``since``: changed at or after that moment."""
    require_active(actor)
    limit = _limit(limit)
    query = select(ChangeRequest).options(
        selectinload(ChangeRequest.changes),
        selectinload(ChangeRequest.customer),
        selectinload(ChangeRequest.submitted_by),
    )
    if state is not None:
        if state not in REQUEST_STATES:
            raise ValidationFailed(
                {"state": _("must be one of {choices}").format(choices=", ".join(REQUEST_STATES))}
            )
        query = query.where(ChangeRequest.state == state)
    if account is not None:
        query = query.where(ChangeRequest.customer_id == find_customer(session, account).id)
    if submitter is not None:
        user_id = session.scalar(select(User.id).where(User.username == submitter.strip().lower()))
        query = query.where(ChangeRequest.submitted_by_id == (user_id or -1))
    if assigned_to_me:
        query = query.where(
            exists()
            .where(RequestStep.request_id == ChangeRequest.id)
            .where(RequestStep.state == StepState.ACTIVE)
            .where(Assignment.request_step_id == RequestStep.id)
            .where(Assignment.user_id == actor.id, Assignment.state == AssignmentState.OPEN)
        )
    if since is not None:
        query = query.where(ChangeRequest.updated_at >= since)
    if after is not None:
        if not (len(after) == 1 and type(after[0]) is int):
            raise ValidationFailed({"cursor": _("is not one this list gave")})
        query = query.where(ChangeRequest.id < after[0])
    rows = list(session.scalars(query.order_by(ChangeRequest.id.desc()).limit(limit + 1)))
    return _page(rows, limit, lambda request: [request.id])


def audit_trail(
    session: Session,
    actor: User,
    account: str,
    *,
    after: list[Any] | None = None,
    limit: int = 50,
) -> Page:
    """A customer's applied changes, newest first."""
    require_active(actor)
    limit = _limit(limit)
    customer = find_customer(session, account)
    query = (
        select(AuditEntry)
        .where(AuditEntry.customer_id == customer.id)
        .options(selectinload(AuditEntry.user))
    )
    if after is not None:
        if not (len(after) == 1 and type(after[0]) is int):
            raise ValidationFailed({"cursor": _("is not one this list gave")})
        query = query.where(AuditEntry.id < after[0])
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    return _page(rows, limit, lambda entry: [entry.id])
