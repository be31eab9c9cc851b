"""Out of office: a user sets the days they are away and who decides for them, in every
workflow or in one. Meanwhile the steps that would ask them ask their delegate, and the
work already waiting for them is handed over when the absence starts (data/requests.py:
``hand_over_absent``, run by the schedule every minute and at once when an absence that
has begun is set). A chain is followed (a delegate away too hands on to theirs), a cycle
is refused when it is set, and nobody ever decides a request they proposed or submitted:
the chain stops before such a person.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session, joinedload

from data.access import may_decide
from data.clock import utcnow
from data.errors import NotFound, PermissionDenied, ValidationFailed
from data.i18n import _
from data.localtime import zone_of
from data.models import Absence, User, WorkflowDefinition
from data.users import require_active, require_role

LONGEST = timedelta(days=366)


def _midnight(day: date, zone: str | None) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone_of(zone)).astimezone(zone_of("UTC"))


def _delegates(session: Session, user_ids: Collection[int], definition_id: int | None,
               at: datetime) -> dict[int, int]:  # fmt: skip
    """For each of ``user_ids`` away at ``at`` (in this workflow), their delegate's id: one
    light query, whatever the number of users."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(Absence.user_id, Absence.delegate_id)
        .where(Absence.user_id.in_(list(user_ids)), Absence.starts_at <= at, Absence.ends_at > at,
               or_(Absence.definition_id.is_(None), Absence.definition_id == definition_id))
        .order_by(Absence.starts_at)
    )  # fmt: skip
    return {user_id: delegate_id for user_id, delegate_id in rows}  # the latest start wins


def stand_ins(session: Session, users: Collection[User], definition_id: int | None,
              excluded: Collection[int], at: datetime) -> dict[int, User]:  # fmt: skip
    """Who decides for each of ``users`` at ``at``: themselves when they are not away, else
    their delegate, followed along the chain; the chain stops before anyone who may not
    decide (inactive, no approver, an author of the request) and at a loop."""
    away = _delegates(session, [user.id for user in users], definition_id, at)
    chosen = {}
    for user in users:
        current, seen = user, {user.id}
        delegate_id = away.get(user.id)
        while delegate_id is not None:
            delegate = session.get(User, delegate_id)
            if (delegate is None or delegate.id in seen or delegate.id in excluded
                    or not delegate.is_active or not may_decide(delegate)):  # fmt: skip
                break
            seen.add(delegate.id)
            current = delegate
            delegate_id = _delegates(session, [delegate.id], definition_id, at).get(delegate.id)
        chosen[user.id] = current
    return chosen


def stand_in(session: Session, user: User, definition_id: int | None,
             excluded: Collection[int], at: datetime) -> User:  # fmt: skip
    """Who decides for ``user`` at ``at`` (``stand_ins`` for one)."""
    return stand_ins(session, [user], definition_id, excluded, at)[user.id]


def set_absence(session: Session, actor: User, starts_on: date | None, ends_on: date | None,
                delegate_id: int | None, definition_id: int | None = None) -> Absence:  # fmt: skip
    """The actor is away from the start of ``starts_on`` to the end of ``ends_on`` (their
    time zone); ``delegate_id`` decides for them meanwhile."""
    require_active(actor)
    errors = {}
    if starts_on is None:
        errors["starts_on"] = _("choose the first day away")
    if ends_on is None:
        errors["ends_on"] = _("choose the last day away")
    if delegate_id is None:
        errors["delegate"] = _("choose who decides for you meanwhile")
    if errors:
        raise ValidationFailed(errors)
    starts_at = _midnight(starts_on, actor.time_zone)
    ends_at = _midnight(ends_on + timedelta(days=1), actor.time_zone)
    if ends_on < starts_on:
        raise ValidationFailed({"ends_on": _("must be on or after the first day")})
    if ends_at <= utcnow():
        raise ValidationFailed({"ends_on": _("is in the past")})
    if ends_at - starts_at > LONGEST:
        raise ValidationFailed({"ends_on": _("must be within a year of the first day")})
    delegate = session.get(User, delegate_id)
    if delegate is None or not delegate.is_active or delegate.id == actor.id:
        raise ValidationFailed({"delegate": _("choose another active user")})
    if not may_decide(delegate):
        raise ValidationFailed({"delegate": _("{name} is not an approver").format(
            name=delegate.full_name)})  # fmt: skip
    if definition_id is not None and session.get(WorkflowDefinition, definition_id) is None:
        raise ValidationFailed({"workflow": _("choose a workflow from the list")})
    _refuse_cycle(session, actor, delegate, definition_id, starts_at, ends_at)
    absence = Absence(user_id=actor.id, delegate_id=delegate.id, definition_id=definition_id,
                      starts_at=starts_at, ends_at=ends_at)  # fmt: skip
    session.add(absence)
    session.flush()
    if starts_at <= utcnow():
        from data.requests import hand_over_absent

        hand_over_absent(session)
    return absence


def _refuse_cycle(session: Session, actor: User, delegate: User, definition_id: int | None,
                  starts_at: datetime, ends_at: datetime) -> None:  # fmt: skip
    """Refuse a delegate whose chain of absences, overlapping these days, leads back to
    the actor (their work would go round and reach nobody)."""
    covers = (true() if definition_id is None else
              or_(Absence.definition_id.is_(None), Absence.definition_id == definition_id))
    current, seen = delegate, {delegate.id}
    while True:
        away = session.scalar(
            select(Absence)
            .where(Absence.user_id == current.id, Absence.starts_at < ends_at,
                   Absence.ends_at > starts_at, covers)
            .limit(1)
        )  # fmt: skip
        if away is None or away.delegate_id in seen:
            return
        if away.delegate_id == actor.id:
            raise ValidationFailed({"delegate": _(
                "{name} is away on some of these days and hands their work to you; choose "
                "someone else").format(name=delegate.full_name)})  # fmt: skip
        seen.add(away.delegate_id)
        current = away.delegate


def cancel_absence(session: Session, actor: User, absence_id: int) -> None:
    """End one's own absence now (an administrator may end anyone's). Work already handed
    over stays with the delegate."""
    require_active(actor)
    absence = session.get(Absence, absence_id)
    if absence is None:
        raise NotFound(_("This absence does not exist."))
    if absence.user_id != actor.id and not actor.has_role("admin"):
        raise PermissionDenied(_("You can end only your own absences."))
    now = utcnow()
    if absence.starts_at > now:
        session.delete(absence)
    else:
        absence.ends_at = min(absence.ends_at, now)
    session.flush()


def my_absences(session: Session, actor: User) -> list[Absence]:
    """The actor's absences that have not ended, soonest first."""
    require_active(actor)
    return list(session.scalars(
        select(Absence).where(Absence.user_id == actor.id, Absence.ends_at > utcnow())
        .options(joinedload(Absence.delegate), joinedload(Absence.definition))
        .order_by(Absence.starts_at)
    ))  # fmt: skip


@dataclass
class Away:
    name: str
    since: datetime
    until: datetime
    """The first moment they are back."""
    delegate: str
    workflow: str | None
    now: bool
    """Away at this moment (else from ``since``)."""

    def days(self, zone: str | None) -> tuple[date, date]:
        """The first and last day away, in ``zone``."""
        local = zone_of(zone)
        return (self.since.astimezone(local).date(),
                (self.until.astimezone(local) - timedelta(seconds=1)).date())  # fmt: skip


SOON = timedelta(days=14)


def who_is_away(session: Session, actor: User, within: timedelta = SOON) -> list[Away]:
    """Who is away now or within ``within``, until when, and who decides for them: for
    the managers watching the backlog."""
    require_role(actor, "manager")
    now = utcnow()
    rows = session.scalars(
        select(Absence).where(Absence.ends_at > now, Absence.starts_at <= now + within)
        .options(joinedload(Absence.user), joinedload(Absence.delegate),
                 joinedload(Absence.definition))
        .order_by(Absence.starts_at)
    )  # fmt: skip
    return [Away(a.user.full_name, a.starts_at, a.ends_at, a.delegate.full_name,
                 a.definition.name if a.definition else None, a.starts_at <= now)
            for a in rows]  # fmt: skip


def delegate_choices(session: Session, actor: User) -> list[User]:
    """Who may decide for the actor while they are away: active approvers but them."""
    require_active(actor)
    return [user for user in session.scalars(select(User).where(User.is_active)
                                             .order_by(User.full_name))
            if user.id != actor.id and may_decide(user)]  # fmt: skip


def workflow_choices(session: Session, actor: User) -> list[tuple[int, str]]:
    """The workflows an absence may be limited to: (id, name)."""
    require_active(actor)
    return [tuple(row) for row in session.execute(
        select(WorkflowDefinition.id, WorkflowDefinition.name).order_by(WorkflowDefinition.name))]
