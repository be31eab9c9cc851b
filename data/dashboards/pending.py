"""The managers' dashboard: the pending backlog, who holds what, and for how long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    case,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from data import rollups
from data.clock import utcnow
from data.dashboards.common import (
    AGE_BUCKETS,
    DAY,
    MAX_RANGE_DAYS,
    invalid,
)
from data.i18n import _
from data.lifecycle import (
    OPEN_STATES,
    SUBMITTED_OPEN,
)
from data.localtime import LocalDays
from data.models import (
    Assignment,
    ChangeRequest,
    ProposedChange,
    RequestStep,
    User,
)
from data.users import require_role


@dataclass
class PendingOverview:
    now: datetime
    open_requests: int
    changes_waiting: int
    overdue_steps: int
    oldest_age: timedelta | None
    median_age: timedelta | None
    by_step: list[tuple[str, int]]
    by_approver: list[tuple[int, str, int]]
    ageing: list[tuple[str, str, int]]
    """(bucket label, step name, requests)"""
    by_field: list[tuple[str, int]]
    backlog: list[tuple[date, int]]
    at_a_step: int = 0
    """open requests waiting at a step (pending approval): what by_step adds up to"""
    sent_back: int = 0
    """open requests sent back to their submitter (at no step); with at_a_step, all open"""


def _age_bucket(now: datetime, submitted=ChangeRequest.submitted_at):
    whens = []
    for label, low, _high in reversed(AGE_BUCKETS):
        whens.append((submitted <= now - low * DAY, literal(label)))
    return case(*whens, else_=literal(AGE_BUCKETS[0][0]))


def age_bounds(bucket: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(submitted after, submitted at or before) for an ageing bucket's requests."""
    for label, low, high in AGE_BUCKETS:
        if label == bucket:
            return (now - high * DAY if high is not None else None), now - low * DAY
    raise invalid({"age": _("there is no age bucket {bucket}").format(bucket=repr(bucket))})


def pending_overview(
    session: Session,
    actor: User,
    *,
    days: int = 30,
    zone: object = None,
    now: datetime | None = None,
) -> PendingOverview:
    """The managers' dashboard: what waits, where, for whom and for how long.

    Each figure is driven from the open requests' own rows (their state, their
    active step, their open assignments, their proposals), never from the
    whole history; the backlog over time reads the rollups. ``zone``: the viewer's
    IANA time zone (or minutes east of UTC), whose local days the backlog counts.
    """
    require_role(actor, "manager")
    days = _checked_days(days)
    now = now or utcnow()
    pending = ChangeRequest.state == "pending"
    by_state = dict(
        session.execute(
            select(ChangeRequest.state, func.count(ChangeRequest.id))
            .where(ChangeRequest.state.in_(SUBMITTED_OPEN))
            .group_by(ChangeRequest.state)
        ).all()
    )
    count_pending = by_state.get("pending", 0)
    # oldest and median age walk ix_change_requests_state_submitted
    oldest = session.scalar(select(func.min(ChangeRequest.submitted_at)).where(pending))
    median_at = None
    if count_pending:
        # the median age is the age of the middle request, newest first (nearest rank)
        median_at = session.scalar(
            select(ChangeRequest.submitted_at)
            .where(pending)
            .order_by(ChangeRequest.submitted_at.desc())
            .offset((count_pending + 1) // 2 - 1)
            .limit(1)
        )
    # the running step of each pending request (only pending requests have one): by
    # step, by age and overdue, in one pass over ix_request_steps_running
    running = (
        select(_age_bucket(now, RequestStep.submitted_at).label("bucket"),
               RequestStep.name.label("step"),
               case((RequestStep.due_at < now, 1), else_=0).label("overdue"))
        .where(RequestStep.state == "active")
        .subquery()
    )  # fmt: skip
    counted: dict[tuple[str, str], int] = {}
    by_step_counts: dict[str, int] = {}
    overdue_steps = 0
    for bucket, step, overdue, count in session.execute(
        select(running.c.bucket, running.c.step, func.sum(running.c.overdue), func.count())
        .group_by(running.c.bucket, running.c.step)
    ):  # fmt: skip
        counted[(bucket, step)] = count
        by_step_counts[step] = by_step_counts.get(step, 0) + count
        overdue_steps += int(overdue or 0)
    by_step = sorted(by_step_counts.items(), key=lambda item: (-item[1], item[0]))
    ageing = [
        (label, step, counted[(label, step)])
        for label, *_ in AGE_BUCKETS
        for step in sorted(by_step_counts)
        if (label, step) in counted
    ]
    # open assignments: one per approver on the running step of a pending request
    held = (
        select(Assignment.user_id, func.count().label("n"))
        .where(Assignment.state == "open")
        .group_by(Assignment.user_id)
        .subquery()
    )
    by_approver = [
        (user_id, full_name, count)
        for user_id, full_name, count in session.execute(
            select(User.id, User.full_name, held.c.n)
            .join(held, held.c.user_id == User.id)
            .order_by(held.c.n.desc(), User.full_name)
        )
    ]
    # driven from the pending requests, not from every proposal ever made
    pending_ids = select(ChangeRequest.id).where(pending).scalar_subquery()
    by_field = [
        (name, count)
        for name, count in session.execute(
            select(ProposedChange.field, func.count(ProposedChange.id))
            .where(ProposedChange.request_id.in_(pending_ids))
            .group_by(ProposedChange.field)
            .order_by(func.count(ProposedChange.id).desc(), ProposedChange.field)
        )
    ]
    return PendingOverview(
        now=now,
        open_requests=sum(by_state.values()),
        changes_waiting=sum(count for _, count in by_field),
        overdue_steps=overdue_steps,
        oldest_age=(now - oldest) if oldest else None,
        median_age=(now - median_at) if median_at else None,
        by_step=by_step,
        by_approver=by_approver,
        ageing=ageing,
        by_field=by_field,
        backlog=backlog(session, now, days, LocalDays.of(zone)),
        at_a_step=count_pending,
        sent_back=by_state.get("change_requested", 0),
    )


def _checked_days(days: Any) -> int:
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise invalid({"days": _("choose a number of days")}) from None
    if not 1 <= days <= MAX_RANGE_DAYS:
        raise invalid({"days": _("choose between 1 and {days} days").format(days=MAX_RANGE_DAYS)})
    return days


def backlog(session: Session, now: datetime, days: int, local: LocalDays) -> list[tuple[date, int]]:
    """Requests submitted and not yet decided at the end of each local day of the range.

    Today's level is the number of such requests now (a small, indexed
    count); earlier days step back through the openings and closings of the
    range, counted per day from the rollups. Nothing outside the range is scanned.
    """
    today = local.day_of(now)
    dates = [today - (days - 1 - index) * DAY for index in range(days)]
    first = ChangeRequest.first_submitted_at
    level = session.scalar(
        select(func.count(ChangeRequest.id)).where(
            ChangeRequest.state.in_(OPEN_STATES), first.is_not(None)
        )
    )
    openings, closings = _day_flows(session, dates, local)
    series = []
    level = level or 0
    for day in reversed(dates):
        series.append((day, level))
        key = day.isoformat()
        level -= openings.get(key, 0) - closings.get(key, 0)
    series.reverse()
    return series


def _day_flows(session: Session, dates: list[date], local: LocalDays):
    """Requests first submitted, and submitted requests closed, per local day (rollups)."""
    tallies = rollups.read(
        session,
        [(local.midnight(day), local.midnight(day + DAY)) for day in dates],
        (rollups.SUBMITTED, rollups.CLOSED_REQUEST),
    )  # fmt: skip
    openings, closings = {}, {}
    for day, tally in zip(dates, tallies, strict=True):
        key = day.isoformat()
        for (metric, _key, _bucket), n in tally.items():
            target = openings if metric == rollups.SUBMITTED else closings
            target[key] = target.get(key, 0) + n
    return openings, closings
