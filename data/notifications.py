"""In-app notifications: assigned to you, your request was decided, a step is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload

from data.clock import utcnow
from data.i18n import N_, Labels, _, speaking
from data.mail import queue as queue_email
from data.models import ChangeRequest, Notification, User
from data.users import require_active

KIND_LABELS = Labels(
    {
        "assigned": N_("Waiting for you"),
        "approved": N_("Approved"),
        "rejected": N_("Rejected"),
        "change_requested": N_("Sent back to you"),
        "overdue": N_("Overdue"),
        "reminder": N_("Due soon"),
        "progress": N_("Progress"),
    }
)


def notify(
    session: Session, user_id: int, kind: str, request: ChangeRequest, message: str, **values
) -> None:
    """Tell a user; ``message`` (a message id) is written in their language with ``values``."""
    recipient = session.get(User, user_id, options=[lazyload(User.role_rows)])  # its name only
    text = written_for(recipient, message, **values)
    session.add(Notification(user_id=user_id, kind=kind, request_id=request.id, text=text))
    queue_email(session, recipient, kind, request.id, text)


def written_for(recipient: User | None, message: str, **values) -> str:
    with speaking(recipient.locale if recipient is not None else None):
        return _(message).format(**values)


@dataclass
class NotificationView:
    """One notification as its reader sees it, with where its request stands now."""

    id: int
    kind: str
    at: datetime
    text: str
    request_id: int | None
    read: bool
    request_state: str | None


def recent_notifications(session: Session, actor: User, limit: int = 50) -> list[NotificationView]:
    """The actor's notifications, newest first; the same news about the same request
    (a second "waits for your decision" after a resubmission) is shown once, unread while
    any of its copies is."""
    require_active(actor)
    rows = session.execute(
        select(Notification, ChangeRequest.state)
        .outerjoin(ChangeRequest, ChangeRequest.id == Notification.request_id)
        .where(Notification.user_id == actor.id)
        .order_by(Notification.at.desc(), Notification.id.desc())
        .limit(limit * 2)
    ).all()
    shown: dict[tuple, NotificationView] = {}
    for notification, state in rows:
        key = (notification.request_id, notification.kind, notification.text)
        if key in shown:
            shown[key].read = shown[key].read and notification.read_at is not None
            continue
        shown[key] = NotificationView(
            notification.id, notification.kind, notification.at, notification.text,
            notification.request_id, notification.read_at is not None, state,
        )  # fmt: skip
    return list(shown.values())[:limit]


def mark_read(session: Session, actor: User, notification_id: int) -> None:
    """The actor has read this notification (and its copies about the same request); another
    user's notification is left alone."""
    require_active(actor)
    read = session.get(Notification, notification_id)
    if read is None or read.user_id != actor.id:
        return
    session.execute(
        update(Notification)
        .where(
            Notification.user_id == actor.id,
            Notification.request_id == read.request_id,
            Notification.kind == read.kind,
            Notification.text == read.text,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )


def unread_count(session: Session, actor: User) -> int:
    """Unread notifications as the page lists them (copies of the same news count once)."""
    unread = (
        select(Notification.request_id, Notification.kind, Notification.text)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .distinct()
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(unread))


def mark_all_read(session: Session, actor: User) -> None:
    require_active(actor)
    session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
