"""The analysts' dashboard: approval throughput, cycle time, rejection rates and SLA,
read from the rollups (data.rollups) with no filter or one, counted live with several.

Over 500 lines on purpose: the live count and the rollup reading stay side by side, as
they must give the same figures (tests/unit/test_rollups.py compares them)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    and_,
    any_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from data import rollups
from data.dashboards.common import (
    DAY,
    GROUPINGS,
    MAX_RANGE_DAYS,
    invalid,
    percentiles,
    period_text,
    proposes,
    seconds_between,
)
from data.fields import FIELDS_BY_NAME
from data.i18n import _
from data.lifecycle import (
    DECIDED_STATES,
    STEP_DECIDED,
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
from data.reasons import reason_labels
from data.rollups import CYCLE_BUCKETS
from data.users import require_role

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
            raise invalid(errors)
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
    by_reason: list[tuple[str, int, int]] = field(default_factory=list)
    """(reason, rejections, requests for change) in the range, most first."""
    """(step, steps with a time limit decided, decided within the limit)"""
    estimated: bool = False
    """percentiles read from histograms (within data.rollups.ACCURACY of the exact ones)"""


def _range_bounds(filters: ThroughputFilters, local: LocalDays) -> tuple[datetime, datetime]:
    """[first local midnight, last local midnight) of the range, as UTC instants."""
    return local.midnight(filters.start), local.midnight(filters.end + DAY)


def _request_conditions(filters: ThroughputFilters) -> list[ColumnElement]:
    """The filters that pick requests (field, customer group, step, approver)."""
    conditions: list[ColumnElement] = []
    if filters.field:
        conditions.append(proposes(filters.field))
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


def _dimension(filters: ThroughputFilters) -> str | None:
    """The rollup rows that answer this view: "" for every request, one filter's own, or
    None when filters are combined (those views are counted from the requests)."""
    chosen = [(kind, value) for kind, value in (
        ("field", filters.field), ("group", filters.customer_group), ("step", filters.step),
        ("approver", filters.approver_id)) if value]  # fmt: skip
    if not chosen:
        return ""
    if len(chosen) == 1:
        return rollups.dimension(*chosen[0])
    return None


def throughput(
    session: Session, actor: User, filters: ThroughputFilters, *, zone: object = None
) -> Throughput:
    """The analysts' dashboard over the chosen range, grouping and filters, in the local
    days of ``zone`` (the viewer's IANA time zone, or minutes east of UTC).

    With no filter on requests, or one, it reads the rollup rows (data.rollups);
    filters combined are counted from the requests in SQL.
    """
    require_role(actor, "analyst", "manager")
    local = LocalDays.of(zone)
    if _dimension(filters) is not None:
        return _throughput_from_rollups(session, filters, local)
    return _throughput_live(session, filters, local)


def _by_reason(session: Session, filters: ThroughputFilters,
               local: LocalDays) -> list[tuple[str, int, int]]:  # fmt: skip
    """Rejections and requests for change in the range, by the reason they gave."""
    start, end = _range_bounds(filters, local)
    query = (
        select(RequestEvent.reason, RequestEvent.action, func.count())
        .where(RequestEvent.action.in_(["rejected", "change_requested"]),
               RequestEvent.at >= start, RequestEvent.at < end, RequestEvent.reason.is_not(None))
        .group_by(RequestEvent.reason, RequestEvent.action)
    )  # fmt: skip
    chosen = _request_conditions(filters)
    if chosen:
        query = query.join(ChangeRequest, ChangeRequest.id == RequestEvent.request_id).where(
            *chosen)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for reason, action, count in session.execute(query):
        counts[reason][rollups.REASON_ACTIONS[action]] += count
    return _reason_rows(session, counts)


def _reason_rows(session: Session, counts: dict[str, list[int]]) -> list[tuple[str, int, int]]:
    """(reason label, rejections, requests for change), the most given first."""
    labels = reason_labels(session)
    return sorted(((labels.get(code, code), *pair) for code, pair in counts.items() if any(pair)),
                  key=lambda row: (-(row[1] + row[2]), row[0]))  # fmt: skip


def _picked_once(session: Session, conditions: list[ColumnElement],
                 since: datetime) -> list[ColumnElement]:  # fmt: skip
    """The filters' conditions as one: the requests they pick, found once, among those
    that can count in a range from ``since`` on, instead of asking every figure's query to
    test every request against each filter again (seven queries, each over the range).

    A request counts in the range only through something that happened in it, and a
    request's ``decided_at`` is set once, when it closes: so it is either still open (and
    was submitted) or closed on or after ``since``."""
    if not conditions:
        return []
    alive = or_(ChangeRequest.decided_at >= since,
                and_(ChangeRequest.decided_at.is_(None),
                     ChangeRequest.first_submitted_at.is_not(None)))  # fmt: skip
    ids = sorted(session.scalars(select(ChangeRequest.id).where(alive, *conditions)))
    if session.get_bind().dialect.name == "postgresql":
        return [ChangeRequest.id == any_(literal(ids, ARRAY(Integer)))]
    # SQLite: the list as one JSON parameter, read back as rows (a statement cannot have
    # a parameter for each of tens of thousands of ids)
    listed = func.json_each(json.dumps(ids)).table_valued("value")
    return [ChangeRequest.id.in_(select(listed.c.value))]


class _Live:
    """The throughput figures counted from the requests themselves."""

    def __init__(self, session: Session, filters: ThroughputFilters, local: LocalDays, *,
                 every_figure: bool = False):  # fmt: skip
        """``every_figure``: all of them will be counted, so the filters' requests are found
        once first (``_picked_once``); a figure or two (beside the rollups, which count the
        rest) test the requests they read against the filters instead."""
        self.session, self.filters, self.local = session, filters, local
        self.since, self.until = _range_bounds(filters, local)
        conditions = _request_conditions(filters)
        self.chosen = _picked_once(session, conditions, self.since) if every_figure else conditions

    def in_range(self, column) -> ColumnElement:
        return and_(column >= self.since, column < self.until)

    def period(self, column):
        return period_text(self.session, column, self.filters.grouping, self.local, self.since,
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
        hours = seconds_between(session, first, ChangeRequest.decided_at) / 3600.0
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
        stats = percentiles(session, decided_rows, decided_rows.c.period, decided_rows.c.hours)
        cycle = [(key, *stats[key]) for key in sorted(stats)]
        overall = percentiles(session, decided_rows, literal_column("'all'"), decided_rows.c.hours)
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
        step_hours = (
            seconds_between(self.session, RequestStep.started_at, RequestStep.completed_at) / 3600
        )
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
        stats = percentiles(self.session, step_rows, step_rows.c.step, step_rows.c.hours)
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
    live = _Live(session, filters, local, every_figure=True)
    cycle, overall, histogram = live.cycle()
    return Throughput(filters, live.volume(), cycle, overall, histogram, live.per_step(),
                      live.per_field(), live.per_approver(), live.sla(),
                      _by_reason(session, filters, local))  # fmt: skip


def local_periods(filters: ThroughputFilters,
                  local: LocalDays) -> list[tuple[str, datetime, datetime]]:  # fmt: skip
    """The range's periods as (key, first instant, end instant), in UTC: each local day
    at its own offset, daylight saving included.

    The key is the local start of the day, week (Monday) or month, as the
    live queries name it; the first and last period are cut to the range.
    """
    hour_at = local.midnight
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
    tallies = rollups.read(session, [(low, high) for _, low, high in periods], rollups.METRICS,
                           _dimension(filters) or "")  # fmt: skip
    volume: dict[str, list[int]] = {}
    cycles: dict[str, dict[int, int]] = {}
    overall: dict[int, int] = defaultdict(int)
    bands = [0] * len(CYCLE_BUCKETS)
    steps: dict[str, dict[int, int]] = {}
    sla: dict[str, list[int]] = {}
    approvers: dict[int, dict[str, int]] = {}
    fields: dict[str, list[int]] = {}
    reasons: dict[str, list[int]] = {}
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
            elif metric == rollups.REASON:
                reasons.setdefault(name, [0, 0])[bucket] += n

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
        _reason_rows(session, reasons),
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
