"""The append-only audit trail of applied changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from data.fields import field_spec
from data.models import AuditEntry, Customer, User


def current_value_text(customer: Customer, field: str) -> str | None:
    """The customer's value of ``field`` as the canonical text proposals and audits hold."""
    return field_spec(field).to_text(getattr(customer, field))


def apply_values(
    session: Session,
    customer: Customer,
    values: dict[str, Any],
    actor: User | None,
    source: str,
    *,
    batch_id: int | None = None,
    request_id: int | None = None,
) -> list[str]:
    """Set typed values on the customer now, each with its audit entry; returns the fields.

    The one path by which values reach a customer: the clerk's Save and an import
    (source direct_edit, import) and an approval (approved_request, with its request)."""
    for name, value in values.items():
        old_text = current_value_text(customer, name)
        setattr(customer, name, value)
        record_customer_change(session, customer, name, old_text, field_spec(name).to_text(value),
                               source, actor, request_id=request_id, batch_id=batch_id)  # fmt: skip
    session.flush()
    return list(values)


def record_customer_change(
    session: Session,
    customer: Customer,
    field: str,
    old_text: str | None,
    new_text: str | None,
    source: str,
    user: User | None,
    request_id: int | None = None,
    batch_id: int | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        entity="customer",
        customer_id=customer.id,
        field=field,
        old_value=old_text,
        new_value=new_text,
        source=source,
        request_id=request_id,
        batch_id=batch_id,
        user_id=user.id if user else None,
    )
    session.add(entry)
    return entry


def customer_history(session: Session, customer_id: int, limit: int = 200) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.customer_id == customer_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
            .options(joinedload(AuditEntry.user).lazyload(User.role_rows))
        )
    )


@dataclass
class AuditCheck:
    customers: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit(session: Session, *, chunk: int = 1000, limit: int = 100) -> AuditCheck:
    """Replay each customer's audit trail from blank; it must give the current values.

    Each entry's old value must also be the value the entries before it left,
    so a lost, doubled or altered entry shows. Customers are read a chunk at
    a time, so memory stays flat however many there are. At most ``limit``
    problems are listed.
    """
    from data.fields import EDITABLE_FIELDS

    check = AuditCheck()
    blank = {spec.name: spec.to_text(spec.blank) for spec in EDITABLE_FIELDS}
    after = 0
    while True:
        customers = list(
            session.scalars(
                select(Customer).where(Customer.id > after).order_by(Customer.id).limit(chunk)
            )
        )
        if not customers:
            return check
        after = customers[-1].id
        replayed: dict[int, dict[str, str | None]] = {c.id: dict(blank) for c in customers}
        entries = session.execute(
            select(AuditEntry.customer_id, AuditEntry.field, AuditEntry.old_value,
                   AuditEntry.new_value, AuditEntry.id)
            .where(AuditEntry.entity == "customer",
                   AuditEntry.customer_id.in_(list(replayed)))
            .order_by(AuditEntry.id)
        )  # fmt: skip
        accounts = {c.id: c.account for c in customers}
        for customer_id, name, old, new, entry_id in entries:
            check.entries += 1
            state = replayed[customer_id]
            if name not in state:
                continue
            if old != state[name] and not (old is None and state[name] == blank[name]):
                text = (
                    f"{accounts[customer_id]} {name}: audit entry {entry_id} starts from "
                    f"{old!r}, but the trail had {state[name]!r}"
                )
                _problem(check, limit, text)
            state[name] = new
        for customer in customers:
            check.customers += 1
            for spec in EDITABLE_FIELDS:
                current = spec.to_text(getattr(customer, spec.name))
                expected = replayed[customer.id][spec.name]
                if current != expected:
                    text = (
                        f"{customer.account} {spec.name}: the value is {current!r}, "
                        f"the audit trail gives {expected!r}"
                    )
                    _problem(check, limit, text)
        session.expunge_all()


def _problem(check: AuditCheck, limit: int, text: str) -> None:
    if len(check.problems) < limit:
        check.problems.append(text)
    elif len(check.problems) == limit:
        check.problems.append("… and more")
