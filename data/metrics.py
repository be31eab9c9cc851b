"""Dashboard figures: the managers' pending backlog and the analysts' throughput.

Every figure is aggregated in SQL that runs the same on SQLite and
PostgreSQL; only counts and a few hundred period rows come back to Python.
Times are stored in UTC; periods (day, week, month) are cut in the viewer's
time zone (data.localtime.LocalDays), each moment at the offset the zone had
then, so local days stay whole across daylight-saving changes. Percentiles use the
nearest-rank method: the p-th percentile of n sorted values is the value at
rank ceil(p * n).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel.numbers import format_decimal, format_percent
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from data import rollups
from data.clock import utcnow
from data.csvout import csv_text
from data.errors import ValidationFailed
from data.fields import FIELDS_BY_NAME
from data.i18n import N_, Labels, _, current_language
from data.labels import REQUEST_STATE_LABELS
from data.lifecycle import (
    CLOSED_STATES,
    DECIDED_STATES,
    OPEN_STATES,
    STEP_DECIDED,
    SUBMITTED_OPEN,
)
from data.localtime import LocalDays
from data.models import (
    Assignment,
    ChangeRequest,
    Customer,
    ProposedChange,
    RequestEvent,
    RequestStep,
    User,
    WorkflowStep,
)
from data.rollups import CYCLE_BUCKETS
from data.users import require_role

DAY = timedelta(days=1)
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    (N_("< 1 day"), 0, 1),
    (N_("1–3 days"), 1, 3),
    (N_("3–7 days"), 3, 7),
    (N_("> 7 days"), 7, None),
)
"""(label, from days, up to days): the label (English) names the bucket in queries and
addresses, and is translated where it is shown."""
GROUPINGS = ("day", "week", "month")
MAX_RANGE_DAYS = 3 * 366


FILTER_LABELS = Labels(
    {
        "start": N_("Start date"),
        "end": N_("End date"),
        "grouping": N_("Group by"),
        "field": N_("Field"),
        "approver": N_("Approver"),
        "state": N_("State"),
        "age": N_("Waiting"),
        "days": N_("Range"),
    }
)


def _invalid(errors: dict[str, str]) -> ValidationFailed:
    """A refusal of dashboard filters, worded for the person who chose them."""
    message = " ".join(f"{FILTER_LABELS.get(key, key)}: {text}." for key, text in errors.items())
    return ValidationFailed(errors, message)


# ---------------------------------------------------------------- dialect helpers


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _period(session: Session, column, grouping: str, days: LocalDays, since: datetime,
            until: datetime):  # fmt: skip
    """The start of ``column``'s local day, week (Monday) or month, as 'YYYY-MM-DD' text,
    for values in [since, until).

    Each moment is shifted by the zone's offset at that moment (a CASE with a branch
    for each stretch between daylight-saving changes). The grouping, offsets and
    instants of change are written into the SQL as literals (computed here, none
    typed by a person), so the same expression can appear in SELECT and GROUP BY.
    """
    if grouping not in GROUPINGS:
        raise _invalid({"grouping": _("choose day, week or month")})
    postgresql = _dialect(session) == "postgresql"

    def shift_by(minutes: int):
        minutes = int(minutes)
        return literal_column(f"interval '{minutes} minutes'" if postgresql
                              else f"'{minutes:+d} minutes'")  # fmt: skip

    stretches = days.stretches(since, until)
    shift = shift_by(stretches[0][1])
    if len(stretches) > 1:
        branches = []
        for (_start, minutes), (change, _next) in zip(stretches, stretches[1:], strict=False):
            instant = change.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            boundary = literal_column(f"TIMESTAMP '{instant}'" if postgresql else f"'{instant}'")
            branches.append((column < boundary, shift_by(minutes)))
        shift = case(*branches, else_=shift_by(stretches[-1][1]))
    if postgresql:
        truncated = func.date_trunc(literal_column(f"'{grouping}'"), column + shift)
        return func.to_char(truncated, literal_column("'YYYY-MM-DD'"))
    if grouping == "day":
        return func.strftime(literal_column("'%Y-%m-%d'"), column, shift)
    if grouping == "week":
        return func.date(column, shift, literal_column("'weekday 0'"), literal_column("'-6 days'"))
    return func.strftime(literal_column("'%Y-%m-01'"), column, shift)


def _seconds(session: Session, start, end):
    """Seconds from ``start`` to ``end``."""
    return rollups.seconds_between(_dialect(session), start, end)


def _percentiles(session: Session, rows, key, value) -> dict[Any, tuple[int, float, float]]:
    """{key: (n, median, p90)} over a subquery, nearest rank, by window functions."""
    ranked = (
        select(
            key.label("key"),
            value.label("value"),
            func.row_number().over(partition_by=key, order_by=value).label("rank"),
            func.count().over(partition_by=key).label("n"),
        )
        .select_from(rows)
        .subquery()
    )
    statement = select(
        ranked.c.key,
        func.max(ranked.c.n),
        func.max(case((ranked.c.rank == (ranked.c.n + 1) // 2, ranked.c.value))),
        func.max(case((ranked.c.rank == (ranked.c.n * 9 + 9) // 10, ranked.c.value))),
    ).group_by(ranked.c.key)
    return {
        row[0]: (int(row[1]), float(row[2] or 0), float(row[3] or 0))
        for row in session.execute(statement)
    }


# ---------------------------------------------------------------- pending changes


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
    raise _invalid({"age": _("there is no age bucket {bucket}").format(bucket=repr(bucket))})


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
        raise _invalid({"days": _("choose a number of days")}) from None
    if not 1 <= days <= MAX_RANGE_DAYS:
        raise _invalid({"days": _("choose between 1 and {days} days").format(days=MAX_RANGE_DAYS)})
    return days


def backlog(session: Session, now: datetime, days: int, local: LocalDays) -> list[tuple[date, int]]:
    """Requests submitted and not yet decided at the end of each local day of the range.

    Today's level is the number of such requests now (a small, indexed
    count); earlier days step back through the openings and closings of the
    range, counted per day from the rollups (or in SQL, in a zone whose days do not
    start on whole UTC hours). Nothing outside the range is scanned.
    """
    today = local.day_of(now)
    dates = [today - (days - 1 - index) * DAY for index in range(days)]
    first = ChangeRequest.first_submitted_at
    level = session.scalar(
        select(func.count(ChangeRequest.id)).where(
            ChangeRequest.state.in_(OPEN_STATES), first.is_not(None)
        )
    )
    since, until = local.midnight(dates[0]), max(now, local.midnight(today + DAY))
    if local.whole_hours(since, until):
        openings, closings = _day_flows(session, dates, local)
    else:
        openings, closings = _day_flows_live(session, local, since, until)
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
        [(rollups.hour_of(local.midnight(day)), rollups.hour_of(local.midnight(day + DAY)))
         for day in dates],
        (rollups.SUBMITTED, rollups.CLOSED_REQUEST),
    )  # fmt: skip
    openings, closings = {}, {}
    for day, tally in zip(dates, tallies, strict=True):
        key = day.isoformat()
        for (metric, _key, _bucket), n in tally.items():
            target = openings if metric == rollups.SUBMITTED else closings
            target[key] = target.get(key, 0) + n
    return openings, closings


def _day_flows_live(session: Session, local: LocalDays, since: datetime, until: datetime):
    """Requests first submitted, and submitted requests closed, per local day (live)."""
    first = ChangeRequest.first_submitted_at
    closed = and_(ChangeRequest.state.in_(CLOSED_STATES), first.is_not(None))
    day_of_open = _period(session, first, "day", local, since, until)
    openings = dict(
        session.execute(
            select(day_of_open, func.count(ChangeRequest.id))
            .where(first >= since, first < until)
            .group_by(day_of_open)
        ).all()
    )
    day_of_close = _period(session, ChangeRequest.decided_at, "day", local, since, until)
    closings = dict(
        session.execute(
            select(day_of_close, func.count(ChangeRequest.id))
            .where(closed, ChangeRequest.decided_at >= since, ChangeRequest.decided_at < until)
            .group_by(day_of_close)
        ).all()
    )
    return openings, closings


# ---------------------------------------------------------------- the request list


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
            raise _invalid({"approver": _("is not a user")})
        field_name = query.get("field") or None
        if field_name is not None and field_name not in FIELDS_BY_NAME:
            raise _invalid(
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
            raise _invalid(
                {"state": _("there is no request state {state}").format(state=repr(state))}
            )
        age = query.get("age") or None
        if age is not None and age not in [label for label, *_ in AGE_BUCKETS]:
            raise _invalid({"age": _("there is no age bucket {bucket}").format(bucket=repr(age))})
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
        conditions.append(_proposes(filters.field))
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


# ---------------------------------------------------------------- throughput


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
"""The days a dashboard range may name."""


@dataclass
class ThroughputFilters:
    start: date
    end: date
    """inclusive, in the viewer's local days"""
    grouping: str = "week"
    field: str | None = None
    customer_group: str | None = None
    step: str | None = None
    approver_id: int | None = None

    @classmethod
    def make(
        cls,
        start: Any = None,
        end: Any = None,
        grouping: str | None = "week",
        field_name: str | None = None,
        customer_group: str | None = None,
        step: str | None = None,
        approver_id: Any = None,
        *,
        today: date,
    ) -> ThroughputFilters:
        errors: dict[str, str] = {}

        def day(value: Any, default: date, key: str) -> date:
            if value in (None, ""):
                return default
            if isinstance(value, date):
                return value
            try:
                return date.fromisoformat(str(value)[:10])
            except ValueError:
                errors[key] = _("is not a date (YYYY-MM-DD)")
                return default

        end_day = day(end, today, "end")
        start_day = day(start, end_day - timedelta(days=89), "start")
        outside = [key for key, value in (("start", start_day), ("end", end_day))
                   if not FIRST_DAY <= value <= LAST_DAY]  # fmt: skip
        for key in outside:
            errors[key] = _("must be between {first} and {last}").format(
                first=FIRST_DAY, last=LAST_DAY
            )
        if not outside and start_day > end_day:
            errors["start"] = _("comes after the end of the range")
        elif not outside and (end_day - start_day).days >= MAX_RANGE_DAYS:
            errors["start"] = _("the range can span at most {days} days").format(
                days=MAX_RANGE_DAYS
            )
        grouping = grouping or "week"
        if grouping not in GROUPINGS:
            errors["grouping"] = _("choose day, week or month")
        if field_name and field_name not in FIELDS_BY_NAME:
            errors["field"] = _("there is no customer field {field}").format(field=repr(field_name))
        approver = None
        if approver_id not in (None, ""):
            try:
                approver = int(approver_id)
            except (TypeError, ValueError):
                errors["approver"] = "is not a user"
        if errors:
            raise _invalid(errors)
        return cls(start_day, end_day, grouping, field_name or None,
                   (customer_group or "").strip() or None, step or None, approver)  # fmt: skip


@dataclass
class Throughput:
    filters: ThroughputFilters
    volume: list[tuple[str, int, int, int]]
    """(period, submitted, approved, rejected)"""
    cycle: list[tuple[str, int, float, float]]
    """(period, decided, median hours, p90 hours)"""
    cycle_overall: tuple[int, float, float]
    histogram: list[tuple[str, int]]
    per_step: list[tuple[str, int, float, float]]
    """(step, steps decided, median hours, p90 hours)"""
    per_field: list[tuple[str, int, int, int]]
    """(field label, requests decided, rejected, sent back with Request change)"""
    per_approver: list[tuple[str, int, int, int, int]]
    """(approver, approved, rejected, change requested, delegated)"""
    sla: list[tuple[str, int, int]]
    """(step, steps with a time limit decided, decided within the limit)"""
    estimated: bool = False
    """percentiles read from histograms (within data.rollups.ACCURACY of the exact ones)"""


def _range_bounds(filters: ThroughputFilters, local: LocalDays) -> tuple[datetime, datetime]:
    """[first local midnight, last local midnight) of the range, as UTC instants."""
    return local.midnight(filters.start), local.midnight(filters.end + DAY)


def _proposes(field_name: str) -> ColumnElement:
    """The request has a proposal for ``field_name``."""
    return (
        select(ProposedChange.id)
        .where(ProposedChange.request_id == ChangeRequest.id, ProposedChange.field == field_name)
        .correlate(ChangeRequest)
        .exists()
    )


def _request_conditions(filters: ThroughputFilters) -> list[ColumnElement]:
    """The filters that pick requests (field, customer group, step, approver)."""
    conditions: list[ColumnElement] = []
    if filters.field:
        conditions.append(_proposes(filters.field))
    if filters.customer_group:
        conditions.append(
            select(Customer.id)
            .where(
                Customer.id == ChangeRequest.customer_id,
                func.lower(Customer.customer_group) == filters.customer_group.lower(),
            )
            .correlate(ChangeRequest)
            .exists()
        )
    if filters.step:
        conditions.append(
            select(RequestStep.id)
            .where(
                RequestStep.request_id == ChangeRequest.id,
                RequestStep.name == filters.step,
                RequestStep.state.not_in(("skipped", "cancelled")),
            )
            .correlate(ChangeRequest)
            .exists()
        )
    if filters.approver_id:
        conditions.append(
            select(Assignment.id)
            .join(RequestStep, RequestStep.id == Assignment.request_step_id)
            .where(
                RequestStep.request_id == ChangeRequest.id,
                Assignment.user_id == filters.approver_id,
            )
            .correlate(ChangeRequest)
            .exists()
        )
    return conditions


def _with_request(query, chosen: list[ColumnElement]):
    """A query over request steps joined to their request, when a filter needs the request."""
    if not chosen:
        return query
    return query.join(ChangeRequest, ChangeRequest.id == RequestStep.request_id)


EXACT_LIMIT = 5_000
"""Up to this many decisions in the range, percentiles are exact; above, read from histograms."""


def _rolled_up(filters: ThroughputFilters, local: LocalDays) -> bool:
    """Whether the rollup rows answer this view: no filter on requests, and local days that
    start on whole UTC hours all through the range."""
    unfiltered = not (filters.field or filters.customer_group or filters.step
                      or filters.approver_id)  # fmt: skip
    return unfiltered and local.whole_hours(*_range_bounds(filters, local))


def throughput(
    session: Session, actor: User, filters: ThroughputFilters, *, zone: object = None
) -> Throughput:
    """The analysts' dashboard over the chosen range, grouping and filters, in the local
    days of ``zone`` (the viewer's IANA time zone, or minutes east of UTC).

    Without filters on requests (and in a zone whose days start on whole UTC
    hours) it reads the rollup rows (data.rollups); else it counts the requests in SQL.
    """
    require_role(actor, "analyst", "manager")
    local = LocalDays.of(zone)
    if _rolled_up(filters, local):
        return _throughput_from_rollups(session, filters, local)
    return _throughput_live(session, filters, local)


class _Live:
    """The throughput figures counted from the requests themselves."""

    def __init__(self, session: Session, filters: ThroughputFilters, local: LocalDays):
        self.session, self.filters, self.local = session, filters, local
        self.since, self.until = _range_bounds(filters, local)
        self.chosen = _request_conditions(filters)

    def in_range(self, column) -> ColumnElement:
        return and_(column >= self.since, column < self.until)

    def period(self, column):
        return _period(self.session, column, self.filters.grouping, self.local, self.since,
                       self.until)  # fmt: skip

    def volume(self) -> list[tuple[str, int, int, int]]:
        """First submissions, and final decisions, per period."""
        first = ChangeRequest.first_submitted_at
        submitted = select(
            self.period(first).label("period"), literal("submitted").label("kind")
        ).where(self.in_range(first), *self.chosen)
        decided = select(
            self.period(ChangeRequest.decided_at).label("period"), ChangeRequest.state.label("kind")
        ).where(ChangeRequest.state.in_(DECIDED_STATES), self.in_range(ChangeRequest.decided_at),
                *self.chosen)  # fmt: skip
        both = union_all(submitted, decided).subquery()
        counts: dict[str, dict[str, int]] = {}
        for period_key, kind, count in self.session.execute(
            select(both.c.period, both.c.kind, func.count()).group_by(both.c.period, both.c.kind)
        ):
            counts.setdefault(period_key, {})[kind] = count
        return [
            (key, c.get("submitted", 0), c.get("approved", 0), c.get("rejected", 0))
            for key, c in sorted(counts.items())
        ]

    def cycle(self):
        """Cycle time from first submission to the final decision, in hours: per period,
        overall, and in the histogram's bands."""
        session, first = self.session, ChangeRequest.first_submitted_at
        hours = _seconds(session, first, ChangeRequest.decided_at) / 3600.0
        decided_rows = (
            select(self.period(ChangeRequest.decided_at).label("period"), hours.label("hours"))
            .where(
                ChangeRequest.state.in_(DECIDED_STATES),
                self.in_range(ChangeRequest.decided_at),
                first.is_not(None),
                *self.chosen,
            )
            .subquery()
        )
        stats = _percentiles(session, decided_rows, decided_rows.c.period, decided_rows.c.hours)
        cycle = [(key, *stats[key]) for key in sorted(stats)]
        overall = _percentiles(session, decided_rows, literal_column("'all'"), decided_rows.c.hours)
        bucket_whens = [
            (decided_rows.c.hours < high, literal(label))
            for label, _low, high in CYCLE_BUCKETS
            if high is not None
        ]
        bucketed = select(
            case(*bucket_whens, else_=literal(CYCLE_BUCKETS[-1][0])).label("bucket")
        ).subquery()
        counts = dict(
            session.execute(
                select(bucketed.c.bucket, func.count()).group_by(bucketed.c.bucket)
            ).all()
        )
        histogram = [(label, counts.get(label, 0)) for label, *_ in CYCLE_BUCKETS]
        return cycle, overall.get("all", (0, 0.0, 0.0)), histogram

    def per_step(self) -> list[tuple[str, int, float, float]]:
        """Time spent in each step, among steps decided in the range."""
        filters, chosen = self.filters, self.chosen
        step_hours = _seconds(self.session, RequestStep.started_at, RequestStep.completed_at) / 3600
        step_rows = (
            _with_request(select(RequestStep.name.label("step"), step_hours.label("hours")), chosen)
            .where(
                RequestStep.state.in_(STEP_DECIDED),
                RequestStep.started_at.is_not(None),
                self.in_range(RequestStep.completed_at),
                *chosen,
                *([RequestStep.name == filters.step] if filters.step else []),
            )
            .subquery()
        )
        stats = _percentiles(self.session, step_rows, step_rows.c.step, step_rows.c.hours)
        return [(name, *stats[name]) for name in sorted(stats)]

    def per_field(self) -> list[tuple[str, int, int, int]]:
        """Per field: requests decided and rejected in the range, and times sent back in it."""
        field_only = [ProposedChange.field == self.filters.field] if self.filters.field else []
        counts: dict[str, list[int]] = {}
        for name, decided, rejected in self.session.execute(
            select(ProposedChange.field, func.count(),
                   func.sum(case((ChangeRequest.state == "rejected", 1), else_=0)))
            .join(ChangeRequest, ChangeRequest.id == ProposedChange.request_id)
            .where(ChangeRequest.state.in_(DECIDED_STATES), self.in_range(ChangeRequest.decided_at),
                   *self.chosen, *field_only)
            .group_by(ProposedChange.field)
        ):  # fmt: skip
            counts.setdefault(name, [0, 0, 0])[:2] = [int(decided), int(rejected or 0)]
        sent_back = (
            select(ProposedChange.field, func.count())
            .join(RequestEvent, RequestEvent.request_id == ProposedChange.request_id)
            .where(RequestEvent.action == "change_requested", self.in_range(RequestEvent.at),
                   *field_only)
        )  # fmt: skip
        if self.chosen:
            sent_back = sent_back.join(
                ChangeRequest, ChangeRequest.id == ProposedChange.request_id
            ).where(*self.chosen)
        for name, times in self.session.execute(sent_back.group_by(ProposedChange.field)):
            counts.setdefault(name, [0, 0, 0])[2] = int(times)
        return _field_rows(counts)

    def per_approver(self) -> list[tuple[str, int, int, int, int]]:
        """Each approver's decisions in the range."""
        filters, chosen = self.filters, self.chosen
        decision = Assignment.state
        by_approver = select(Assignment.user_id, decision, func.count(Assignment.id).label("n"))
        if chosen or filters.step:
            by_approver = by_approver.join(
                RequestStep, RequestStep.id == Assignment.request_step_id
            )
            by_approver = _with_request(by_approver, chosen)
        counted = (
            by_approver.where(
                decision.in_(tuple(rollups.DECISIONS)),
                self.in_range(Assignment.decided_at),
                *chosen,
                *([Assignment.user_id == filters.approver_id] if filters.approver_id else []),
                *([RequestStep.name == filters.step] if filters.step else []),
            )
            .group_by(Assignment.user_id, decision)
            .subquery()
        )
        approvers: dict[str, dict[str, int]] = {}
        for name, state, count in self.session.execute(
            select(User.full_name, counted.c.state, counted.c.n).join(
                User, User.id == counted.c.user_id
            )
        ):
            approvers.setdefault(name, {})[state] = count
        return _approver_rows(approvers)

    def sla(self) -> list[tuple[str, int, int]]:
        """Steps with a time limit decided in the range, and those decided in time."""
        filters, chosen = self.filters, self.chosen
        rows = self.session.execute(
            _with_request(
                select(
                    RequestStep.name,
                    func.count(RequestStep.id),
                    func.sum(case((RequestStep.completed_at <= RequestStep.due_at, 1), else_=0)),
                ),
                chosen,
            )
            .where(
                RequestStep.due_at.is_not(None),
                RequestStep.state.in_(STEP_DECIDED),
                self.in_range(RequestStep.completed_at),
                *chosen,
                *([RequestStep.name == filters.step] if filters.step else []),
            )
            .group_by(RequestStep.name)
            .order_by(RequestStep.name)
        ).all()
        return [(name, int(total), int(within or 0)) for name, total, within in rows]


def _field_rows(counts: dict[str, list[int]]) -> list[tuple[str, int, int, int]]:
    """(label, decided, rejected, sent back), the busiest fields first."""
    return sorted(
        ((FIELDS_BY_NAME[name].label, d, r, c) for name, (d, r, c) in counts.items()),
        key=lambda row: (-row[1] - row[3], row[0]),
    )


def _approver_rows(approvers: dict[str, dict[str, int]]) -> list[tuple[str, int, int, int, int]]:
    return sorted(
        ((name, c.get("approved", 0), c.get("rejected", 0), c.get("change_requested", 0),
          c.get("delegated", 0)) for name, c in approvers.items()),
        key=lambda row: (-sum(row[1:]), row[0]),
    )  # fmt: skip


def _throughput_live(
    session: Session, filters: ThroughputFilters, local: LocalDays
) -> Throughput:
    live = _Live(session, filters, local)
    cycle, overall, histogram = live.cycle()
    return Throughput(filters, live.volume(), cycle, overall, histogram, live.per_step(),
                      live.per_field(), live.per_approver(), live.sla())  # fmt: skip


def local_periods(filters: ThroughputFilters, local: LocalDays) -> list[tuple[str, int, int]]:
    """The range's periods as (key, first UTC hour, end UTC hour), for local days that start
    on whole UTC hours (each at its own offset, daylight saving included).

    The key is the local start of the day, week (Monday) or month, as the
    live queries name it; the first and last period are cut to the range.
    """

    def hour_at(day: date) -> int:
        return rollups.hour_of(local.midnight(day))

    periods = []
    cursor, stop = filters.start, filters.end + DAY
    while cursor < stop:
        if filters.grouping == "day":
            key, following = cursor, cursor + DAY
        elif filters.grouping == "week":
            key = cursor - timedelta(days=cursor.weekday())
            following = key + 7 * DAY
        else:
            key = cursor.replace(day=1)
            following = (key + 32 * DAY).replace(day=1)
        end = min(following, stop)
        periods.append((key.isoformat(), hour_at(cursor), hour_at(end)))
        cursor = end
    return periods


def _stats(histogram: dict[int, int]) -> tuple[int, float, float]:
    """(n, median hours, p90 hours) of a duration histogram, nearest rank."""
    n = sum(histogram.values())
    if not n:
        return 0, 0.0, 0.0
    median = rollups.percentile_from(histogram, (n + 1) // 2) / 3600
    return n, median, rollups.percentile_from(histogram, (n * 9 + 9) // 10) / 3600


def _throughput_from_rollups(
    session: Session, filters: ThroughputFilters, local: LocalDays
) -> Throughput:
    periods = local_periods(filters, local)
    tallies = rollups.read(
        session,
        [(low, high) for _, low, high in periods],
        (rollups.SUBMITTED, rollups.CLOSED_REQUEST, rollups.CYCLE, rollups.STEP, rollups.SLA,
         rollups.APPROVER, rollups.FIELD_DECIDED, rollups.FIELD_SENT_BACK),
    )  # fmt: skip
    volume: dict[str, list[int]] = {}
    cycles: dict[str, dict[int, int]] = {}
    overall: dict[int, int] = defaultdict(int)
    bands = [0] * len(CYCLE_BUCKETS)
    steps: dict[str, dict[int, int]] = {}
    sla: dict[str, list[int]] = {}
    approvers: dict[int, dict[str, int]] = {}
    fields: dict[str, list[int]] = {}
    for (key, _low, _high), tally in zip(periods, tallies, strict=True):
        row = volume.setdefault(key, [0, 0, 0])
        for (metric, name, bucket), n in tally.items():
            if metric == rollups.SUBMITTED:
                row[0] += n
            elif metric == rollups.CLOSED_REQUEST and name in DECIDED_STATES:
                row[1 if name == "approved" else 2] += n
                bands[bucket] += n
            elif metric == rollups.CYCLE:
                histogram = cycles.setdefault(key, defaultdict(int))
                histogram[bucket] += n
                overall[bucket] += n
            elif metric == rollups.STEP:
                steps.setdefault(name, defaultdict(int))[bucket] += n
            elif metric == rollups.SLA:
                sla.setdefault(name, [0, 0])[0] += n
                sla[name][1] += n if bucket else 0
            elif metric == rollups.APPROVER:
                state = rollups.DECISION_NAMES[bucket]
                decisions = approvers.setdefault(int(name), defaultdict(int))
                decisions[state] += n
            elif metric == rollups.FIELD_DECIDED:
                counts = fields.setdefault(name, [0, 0, 0])
                counts[0] += n
                counts[1] += n if bucket else 0
            elif metric == rollups.FIELD_SENT_BACK:
                fields.setdefault(name, [0, 0, 0])[2] += n

    live = _Live(session, filters, local)
    decided = sum(overall.values())
    estimated = decided > EXACT_LIMIT
    if estimated:
        cycle = [(key, *_stats(cycles[key])) for key in sorted(cycles)]
        cycle_overall = _stats(overall)
    else:
        cycle, cycle_overall, _bands = live.cycle()
    if sum(sum(h.values()) for h in steps.values()) > EXACT_LIMIT:
        estimated = True
        per_step = [(name, *_stats(steps[name])) for name in sorted(steps)]
    else:
        per_step = live.per_step()
    names = dict(
        session.execute(select(User.id, User.full_name).where(User.id.in_(list(approvers)))).all()
    )
    return Throughput(
        filters,
        [(key, *counts) for key, counts in sorted(volume.items()) if any(counts)],
        cycle,
        cycle_overall,
        [(label, bands[i]) for i, (label, *_) in enumerate(CYCLE_BUCKETS)],
        per_step,
        _field_rows(fields),
        _approver_rows({names[uid]: dict(c) for uid, c in approvers.items() if uid in names}),
        [(name, total, within) for name, (total, within) in sorted(sla.items())],
        estimated=estimated,
    )


def filter_choices(session: Session, actor: User) -> dict[str, list]:
    """Steps, approvers and customer groups that the throughput filters offer."""
    require_role(actor, "analyst", "manager")
    steps = sorted(set(session.scalars(select(WorkflowStep.name).distinct())))
    deciders = aliased(User)
    approvers = [
        (user_id, name)
        for user_id, name in session.execute(
            select(deciders.id, deciders.full_name)
            .where(select(Assignment.id).where(Assignment.user_id == deciders.id).exists())
            .order_by(deciders.full_name)
        )
    ]
    groups = list(
        session.scalars(
            select(Customer.customer_group).distinct().order_by(Customer.customer_group).limit(200)
        )
    )
    return {"steps": steps, "approvers": approvers, "groups": groups}


# ---------------------------------------------------------------- tables and CSV


def _hours(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    total = delta.total_seconds() / 3600
    language = current_language()
    if total < 48:
        return _("{hours} h").format(hours=format_decimal(total, "0.0", locale=language))
    return _("{days} days").format(days=format_decimal(total / 24, "0.0", locale=language))


def _share(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def pending_tables(overview: PendingOverview) -> dict[str, tuple[list[str], list[tuple]]]:
    """The numbers behind each chart of the managers' dashboard."""
    return {
        "by-step": ([_("Step"), _("Open requests")], list(overview.by_step)),
        "by-approver": (
            [_("Approver"), _("Open requests")],
            [(name, count) for _, name, count in overview.by_approver],
        ),
        "ageing": (
            [_("Waiting"), _("Step"), _("Open requests")],
            [(_(bucket), step, count) for bucket, step, count in overview.ageing],
        ),
        "by-field": (
            [_("Field"), _("Proposed changes")],
            [(FIELDS_BY_NAME[name].label, count) for name, count in overview.by_field],
        ),
        "backlog": (
            [_("Day"), _("Open requests at the end of the day")],
            [(day.isoformat(), count) for day, count in overview.backlog],
        ),
    }


def throughput_tables(figures: Throughput) -> dict[str, tuple[list[str], list[tuple]]]:
    """The numbers behind each chart of the analysts' dashboard."""
    return {
        "volume": (
            [_("Period"), _("Submitted"), _("Approved"), _("Rejected")],
            list(figures.volume),
        ),
        "cycle": (
            [_("Period"), _("Decided"), _("Median hours"), _("90th percentile hours")],
            [(p, n, round(m, 2), round(p90, 2)) for p, n, m, p90 in figures.cycle],
        ),
        "histogram": (
            [_("Cycle time"), _("Requests")],
            [(_(band), count) for band, count in figures.histogram],
        ),
        "per-step": (
            [_("Step"), _("Steps decided"), _("Median hours"), _("90th percentile hours")],
            [(s, n, round(m, 2), round(p90, 2)) for s, n, m, p90 in figures.per_step],
        ),
        "per-field": (
            [
                _("Field"),
                _("Requests decided"),
                _("Rejected"),
                _("Rejection rate %"),
                _("Sent back"),
                _("Request change rate %"),
            ],
            [
                (
                    label,
                    decided,
                    rejected,
                    _share(rejected, decided),
                    sent_back,
                    _share(sent_back, decided + sent_back),
                )
                for label, decided, rejected, sent_back in figures.per_field
            ],
        ),  # fmt: skip
        "per-approver": (
            [_("Approver"), _("Approved"), _("Rejected"), _("Change requested"), _("Delegated")],
            list(figures.per_approver),
        ),
        "sla": (
            [_("Step"), _("Steps with a time limit"), _("Decided in time"), _("Share in time %")],
            [(step, total, within, _share(within, total)) for step, total, within in figures.sla],
        ),
    }


def table_csv(headers: list[str], rows: list[tuple]) -> str:
    """A figure table as CSV (see data.csvout)."""
    return csv_text(headers, rows)


def period_keys(start: date, end: date, grouping: str) -> list[str]:
    """Every period from ``start`` to ``end`` (inclusive) as the figures name them
    ('YYYY-MM-DD' of its first day; weeks start on Monday): the x a chart needs so that a
    period without decisions is a gap, not a missing tick between its neighbours."""
    if grouping == "day":
        first, step = start, timedelta(days=1)
    elif grouping == "week":
        first, step = start - timedelta(days=start.weekday()), timedelta(days=7)
    else:
        first, step = start.replace(day=1), None
    keys, current = [], first
    while current <= end:
        keys.append(current.isoformat())
        if step is not None:
            current += step
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def throughput_kpis(figures: Throughput) -> dict[str, str]:
    """The throughput dashboard's headline numbers, written for the reader."""
    language = current_language()
    approved = sum(row[2] for row in figures.volume)
    rejected = sum(row[3] for row in figures.volume)
    count, median, p90 = figures.cycle_overall
    steps = sum(total for _step, total, _within in figures.sla)
    within = sum(inside for _step, _total, inside in figures.sla)

    def share(part: int, whole: int) -> str:
        return format_percent(part / whole, locale=language) if whole else "—"

    def hours(value: float) -> str:
        return _hours(timedelta(hours=value)) if count else "—"

    return {
        "decided": format_decimal(count, locale=language),
        "approved": share(approved, approved + rejected),
        "median": hours(median),
        "p90": hours(p90),
        "sla": share(within, steps),
    }


def kpi_texts(overview: PendingOverview) -> dict[str, str]:
    return {
        "open": format_decimal(overview.open_requests, locale=current_language()),
        "changes": format_decimal(overview.changes_waiting, locale=current_language()),
        "overdue": format_decimal(overview.overdue_steps, locale=current_language()),
        "oldest": _hours(overview.oldest_age),
        "median": _hours(overview.median_age),
    }
