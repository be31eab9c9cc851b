"""The append-only audit trail of applied changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from data.models import AuditEntry, Customer, User


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
            .options(joinedload(AuditEntry.user))
        )
    )
