"""In-app notifications: assigned to you, your request was decided, a step is overdue."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.models import ChangeRequest, Notification, User
from data.users import require_active

KIND_LABELS = {
    "assigned": "Waiting for you",
    "approved": "Approved",
    "rejected": "Rejected",
    "change_requested": "Sent back to you",
    "overdue": "Overdue",
}


def notify(session: Session, user_id: int, kind: str, request: ChangeRequest, text: str) -> None:
    session.add(Notification(user_id=user_id, kind=kind, request_id=request.id, text=text))


def recent_notifications(session: Session, actor: User, limit: int = 50) -> list[Notification]:
    require_active(actor)
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == actor.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, actor: User) -> int:
    return session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == actor.id, Notification.read_at.is_(None)
        )
    )


def mark_all_read(session: Session, actor: User) -> None:
    require_active(actor)
    session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
