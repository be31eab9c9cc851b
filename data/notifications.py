"""In-app notifications: assigned to you, your request was decided, a step is overdue."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.i18n import N_, Labels, _, speaking
from data.models import ChangeRequest, Notification, User
from data.users import require_active

KIND_LABELS = Labels(
    {
        "assigned": N_("Waiting for you"),
        "approved": N_("Approved"),
        "rejected": N_("Rejected"),
        "change_requested": N_("Sent back to you"),
        "overdue": N_("Overdue"),
    }
)


def notify(
    session: Session, user_id: int, kind: str, request: ChangeRequest, message: str, **values
) -> None:
    """Tell a user; ``message`` (a message id) is written in their language with ``values``."""
    recipient = session.get(User, user_id)
    text = written_for(recipient, message, **values)
    session.add(Notification(user_id=user_id, kind=kind, request_id=request.id, text=text))


def written_for(recipient: User | None, message: str, **values) -> str:
    with speaking(recipient.locale if recipient is not None else None):
        return _(message).format(**values)


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
