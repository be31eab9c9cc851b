"""Hourly and daily counts behind the dashboards, kept current as things happen.

Every fact the dashboards count — a first submission, a request closed, a
step decided, an approver's decision, a request sent back — adds one to a
row of ``activity_rollups`` for the UTC hour it happened in and one to the
row for its UTC day, in the same transaction as the change itself. A
dashboard then reads a few thousand rollup rows for its range instead of
every request, step and assignment in it.

A period in the viewer's time zone (whole-hour offsets) starts and ends on
UTC hour boundaries: it is read as whole UTC days, plus or minus the few
hours at each end where the local day and the UTC day differ.

Durations (cycle time, time in a step) are kept as histograms with
logarithmic buckets 4% wide: a percentile read from them is within 2% of
the exact value. The six cycle-time bands of the histogram chart are kept
exactly.

Facts are taken from the ORM flush (``after_flush``) and written just before
the transaction commits (``before_commit``: the hot rows of the current hour
stay locked only while it commits), so every service that changes requests
through a session counts them; writers that insert rows directly (the
set-based import, the history generator) call ``record`` or ``rebuild``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    case,
    cast,
    delete,
    event,
    func,
    inspect,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from data.i18n import N_
from data.lifecycle import CLOSED_STATES, STEP_DECIDED
from data.models import (
    ActivityRollup,
    Assignment,
    ChangeRequest,
    ProposedChange,
    RequestEvent,
    RequestStep,
)

ROLLUP = ActivityRollup.__table__
ACCURACY = 0.02
"""A percentile read from a duration histogram is within this share of the exact one."""
GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
CYCLE_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    (N_("< 1 hour"), 0, 1),
    (N_("1–4 hours"), 1, 4),
    (N_("4–24 hours"), 4, 24),
    (N_("1–3 days"), 24, 72),
    (N_("3–7 days"), 72, 168),
    (N_("> 7 days"), 168, None),
)
"""The cycle-time histogram's bands: (label, from hours, up to hours); the English label
is the band's name, translated where it is shown."""
CYCLE_BANDS = tuple(high for _label, _low, high in CYCLE_BUCKETS if high is not None)
DECISIONS = {"approved": 1, "rejected": 2, "change_requested": 3, "delegated": 4}
DECISION_NAMES = {code: name for name, code in DECISIONS.items()}

# metric names (short: they are in every row)
SUBMITTED = "sub"
"""a request's first submission"""
CLOSED_REQUEST = "close"
"""a submitted request approved, rejected or discarded; key: state; bucket: cycle band"""
CYCLE = "cyc"
"""an approved or rejected request's cycle time; bucket: duration bucket"""
STEP = "step"
"""a step decided; key: step name; bucket: duration bucket of its time"""
SLA = "sla"
"""a step with a time limit decided; key: step name; bucket: 1 when in time"""
APPROVER = "appr"
"""an approver's decision; key: user id; bucket: DECISIONS code"""
FIELD_DECIDED = "fdec"
"""a field of an approved or rejected request; key: field; bucket: 1 when rejected"""
FIELD_SENT_BACK = "fback"
"""a field of a request sent back with Request change; key: field"""


# ---------------------------------------------------------------- buckets


def duration_bucket(seconds: float) -> int:
    """The histogram bucket of a duration: bucket k holds (GAMMA^(k-1), GAMMA^k] seconds."""
    if seconds < 1:
        return 0
    return max(1, math.ceil(math.log(seconds) / _LOG_GAMMA - 1e-9))


def bucket_seconds(bucket: int) -> float:
    """The value a bucket stands for: within ACCURACY of every duration in it."""
    if bucket <= 0:
        return 0.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


def cycle_band(seconds: float) -> int:
    """The index of the cycle-time band (see CYCLE_BANDS) a duration falls in."""
    hours = seconds / 3600
    return next((i for i, high in enumerate(CYCLE_BANDS) if hours < high), len(CYCLE_BANDS))


def percentile_from(histogram: dict[int, int], rank: int) -> float:
    """The value at ``rank`` (1-based, nearest rank) of a duration histogram, in seconds."""
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_seconds(bucket)
    return 0.0


# ---------------------------------------------------------------- writing


def hour_of(moment: datetime) -> int:
    """Hours since 1970-01-01 00:00 UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp() / 3600)


class Tally:
    """Facts waiting to be written: (hour, metric, key, bucket) → count."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, str, str, int], int] = defaultdict(int)

    def add(self, moment: datetime, metric: str, key: str = "", bucket: int = 0, n: int = 1):
        self.counts[(hour_of(moment), metric, key, bucket)] += n

    def __bool__(self) -> bool:
        return bool(self.counts)

    def rows(self) -> list[dict[str, Any]]:
        """Rollup rows for both levels, in key order (concurrent writers lock alike)."""
        levels: dict[tuple[str, int, str, str, int], int] = defaultdict(int)
        for (hour, metric, key, bucket), n in self.counts.items():
            levels[("h", hour, metric, key, bucket)] += n
            levels[("d", hour // 24, metric, key, bucket)] += n
        return [
            {"level": level, "slot": slot, "metric": metric, "key": key, "bucket": bucket, "n": n}
            for (level, slot, metric, key, bucket), n in sorted(levels.items())
            if n
        ]


def write(connection: Connection | Session, tally: Tally) -> None:
    """Add a tally's counts to the rollup rows (created when missing)."""
    rows = tally.rows()
    if not rows:
        return
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(ROLLUP)
    statement = statement.on_conflict_do_update(
        index_elements=["level", "slot", "metric", "key", "bucket"],
        set_={"n": ROLLUP.c.n + statement.excluded.n},
    )
    connection.execute(statement, rows)


def _pending(session: Session) -> Tally:
    """The facts of this transaction, written just before it commits."""
    tally = session.info.get("rollups")
    if tally is None:
        tally = session.info["rollups"] = Tally()
    return tally


def record(session: Session, facts: Iterable[tuple[datetime, str, str, int]]) -> None:
    """Count facts written without the ORM: (moment, metric, key, bucket) each."""
    tally = _pending(session)
    for moment, metric, key, bucket in facts:
        tally.add(moment, metric, key, bucket)


def _became_set(obj: Any, attribute: str) -> datetime | None:
    """The new value of a timestamp that went from empty to set in this flush."""
    history = inspect(obj).attrs[attribute].history
    if not history.added or history.added[0] is None:
        return None
    if history.deleted and history.deleted[0] is not None:
        return None
    return history.added[0]


def _fields(connection: Connection, request_id: int) -> list[str]:
    return list(
        connection.execute(
            select(ProposedChange.field).where(ProposedChange.request_id == request_id)
        ).scalars()
    )


def _milliseconds(delta: timedelta) -> float:
    """Seconds to the millisecond, as the recount gets them from SQL date arithmetic."""
    return round(delta.total_seconds(), 3)


def _sent_back_fields(details: Any) -> list[str]:
    """The fields a Request change event names (it records them as they were)."""
    fields = details.get("fields") if isinstance(details, dict) else None
    return [name for name in fields if isinstance(name, str)] if isinstance(fields, list) else []


def _collect(session: Session, _context: Any) -> None:
    # inside a savepoint the counts go in at once, to be undone with it if it is
    nested = session.in_nested_transaction()
    tally = Tally() if nested else _pending(session)
    connection = session.connection()
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, ChangeRequest):
            first = _became_set(obj, "first_submitted_at")
            if first is not None:
                tally.add(first, SUBMITTED)
            decided = _became_set(obj, "decided_at")
            if decided is not None and obj.state in CLOSED_STATES and obj.first_submitted_at:
                seconds = _milliseconds(decided - obj.first_submitted_at)
                tally.add(decided, CLOSED_REQUEST, obj.state, cycle_band(seconds))
                if obj.state != "discarded":
                    tally.add(decided, CYCLE, "", duration_bucket(seconds))
                    rejected = int(obj.state == "rejected")
                    for name in _fields(connection, obj.id):
                        tally.add(decided, FIELD_DECIDED, name, rejected)
        elif isinstance(obj, RequestStep):
            completed = _became_set(obj, "completed_at")
            if completed is not None and obj.state in STEP_DECIDED:
                if obj.started_at is not None:
                    seconds = _milliseconds(completed - obj.started_at)
                    tally.add(completed, STEP, obj.name, duration_bucket(seconds))
                if obj.due_at is not None:
                    tally.add(completed, SLA, obj.name, int(completed <= obj.due_at))
        elif isinstance(obj, Assignment):
            decided = _became_set(obj, "decided_at")
            if decided is not None and obj.state in DECISIONS:
                tally.add(decided, APPROVER, str(obj.user_id), DECISIONS[obj.state])
        elif (
            isinstance(obj, RequestEvent)
            and obj in session.new
            and obj.action == "change_requested"
        ):
            for name in _sent_back_fields(obj.details) or _fields(connection, obj.request_id):
                tally.add(obj.at, FIELD_SENT_BACK, name)
    if nested and tally:
        write(connection, tally)


def _write_pending(session: Session) -> None:
    # the last changes first, then the counts: the rollup rows every decision adds
    # to stay locked only while the transaction commits
    session.flush()
    tally = session.info.pop("rollups", None)
    if tally:
        write(session, tally)


def _forget_pending(session: Session, *_args: Any) -> None:
    session.info.pop("rollups", None)


def count_activity(sessions: sessionmaker) -> None:
    """Sessions from ``sessions`` count the dashboards' facts as they flush and write them
    with their commit (forgotten on a rollback). Database attaches this to its own
    sessions; nothing else in the process is touched."""
    event.listen(sessions, "after_flush", _collect)
    event.listen(sessions, "before_commit", _write_pending)
    event.listen(sessions, "after_rollback", _forget_pending)


# ---------------------------------------------------------------- rebuilding


def _hour_sql(connection: Connection, column):
    if connection.dialect.name == "postgresql":
        epoch = func.extract("epoch", column)
        return cast(func.floor(epoch.op("/")(literal_column("3600"))), Integer)
    seconds = func.strftime(literal_column("'%s'"), column)
    return cast(seconds, Integer).op("/")(literal_column("3600"))


def seconds_between(dialect: str, start, end):
    """SQL for the seconds from ``start`` to ``end``."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def rebuild(connection: Connection) -> dict[str, int]:
    """Recount every rollup row from the requests, steps and assignments (one transaction).

    For databases filled without the services (the history generator, a
    restore): the result equals what the services would have counted.
    """
    hour = lambda column: _hour_sql(connection, column)  # noqa: E731
    seconds = lambda a, b: seconds_between(connection.dialect.name, a, b)  # noqa: E731
    tally = Tally()
    counts = tally.counts
    requests = ChangeRequest.__table__.c
    steps = RequestStep.__table__.c
    first = requests.first_submitted_at

    for slot, n in connection.execute(
        select(hour(first), func.count()).where(first.is_not(None)).group_by(hour(first))
    ):
        counts[(int(slot), SUBMITTED, "", 0)] += n
    for slot, state, took in connection.execute(
        select(hour(requests.decided_at), requests.state,
               seconds(first, requests.decided_at))
        .where(requests.state.in_(CLOSED_STATES), first.is_not(None),
               requests.decided_at.is_not(None))
    ):  # fmt: skip
        slot, took = int(slot), round(float(took), 3)
        counts[(slot, CLOSED_REQUEST, state, cycle_band(took))] += 1
        if state != "discarded":
            counts[(slot, CYCLE, "", duration_bucket(took))] += 1
    for slot, name, state, n in connection.execute(
        select(hour(requests.decided_at), ProposedChange.field, requests.state, func.count())
        .join(ProposedChange, ProposedChange.request_id == requests.id)
        .where(requests.state.in_(("approved", "rejected")), first.is_not(None),
               requests.decided_at.is_not(None))
        .group_by(hour(requests.decided_at), ProposedChange.field, requests.state)
    ):  # fmt: skip
        counts[(int(slot), FIELD_DECIDED, name, int(state == "rejected"))] += n
    step_done = steps.state.in_(STEP_DECIDED) & steps.completed_at.is_not(None)
    for slot, name, took in connection.execute(
        select(hour(steps.completed_at), steps.name, seconds(steps.started_at, steps.completed_at))
        .where(step_done, steps.started_at.is_not(None))
    ):  # fmt: skip
        counts[(int(slot), STEP, name, duration_bucket(round(float(took), 3)))] += 1
    in_time = case((steps.completed_at <= steps.due_at, 1), else_=0)
    for slot, name, within, n in connection.execute(
        select(hour(steps.completed_at), steps.name, in_time, func.count())
        .where(step_done, steps.due_at.is_not(None))
        .group_by(hour(steps.completed_at), steps.name, in_time)
    ):  # fmt: skip
        counts[(int(slot), SLA, name, int(bool(within)))] += n
    assignments = Assignment.__table__.c
    for slot, user_id, state, n in connection.execute(
        select(hour(assignments.decided_at), assignments.user_id, assignments.state, func.count())
        .where(assignments.state.in_(tuple(DECISIONS)), assignments.decided_at.is_not(None))
        .group_by(hour(assignments.decided_at), assignments.user_id, assignments.state)
    ):  # fmt: skip
        counts[(int(slot), APPROVER, str(user_id), DECISIONS[state])] += n
    # a Request change names the fields it sent back; older events (and generated
    # ones) do not, and count the request's proposals
    events = RequestEvent.__table__.c
    unnamed: dict[int, list[int]] = defaultdict(list)
    for slot, request_id, details in connection.execute(
        select(hour(events.at), events.request_id, events.details)
        .where(events.action == "change_requested")
    ):  # fmt: skip
        named = _sent_back_fields(details)
        for name in named:
            counts[(int(slot), FIELD_SENT_BACK, name, 0)] += 1
        if not named:
            unnamed[request_id].append(int(slot))
    pending = list(unnamed)
    for start in range(0, len(pending), 5_000):
        for request_id, name in connection.execute(
            select(ProposedChange.request_id, ProposedChange.field).where(
                ProposedChange.request_id.in_(pending[start : start + 5_000])
            )
        ):
            for slot in unnamed[request_id]:
                counts[(slot, FIELD_SENT_BACK, name, 0)] += 1

    connection.execute(delete(ROLLUP))
    rows = tally.rows()
    for start in range(0, len(rows), 10_000):
        connection.execute(ROLLUP.insert(), rows[start : start + 10_000])
    return {"facts": sum(counts.values()), "rows": len(rows)}


# ---------------------------------------------------------------- reading


def _cover(low: int, high: int) -> list[tuple[str, int, int, int]]:
    """[low, high) in hours as (level, from, to, sign) ranges: whole days ± edge hours."""
    first_day = round(low / 24)
    last_day = round(high / 24)
    if first_day >= last_day:
        return [("h", low, high, 1)]
    pieces = [("d", first_day, last_day, 1)]
    if first_day * 24 < low:
        pieces.append(("h", first_day * 24, low, -1))
    elif first_day * 24 > low:
        pieces.append(("h", low, first_day * 24, 1))
    if last_day * 24 > high:
        pieces.append(("h", high, last_day * 24, -1))
    elif last_day * 24 < high:
        pieces.append(("h", last_day * 24, high, 1))
    return pieces


READ_PIECES = 400
"""Ranges read in one statement (SQLite's limit on a compound SELECT is 500 terms)."""


def read(
    session: Session, periods: list[tuple[int, int]], metrics: Iterable[str]
) -> list[dict[tuple[str, str, int], int]]:
    """For each period [from hour, to hour): {(metric, key, bucket): count}."""
    metrics = tuple(metrics)
    result: list[dict[tuple[str, str, int], int]] = [defaultdict(int) for _ in periods]
    pieces = [
        (index, *piece)
        for index, (low, high) in enumerate(periods)
        if high > low
        for piece in _cover(low, high)
    ]
    if not pieces:
        return result

    def number(value: int):
        return literal_column(str(int(value)))

    # SQLite takes at most 500 terms in a compound SELECT: a long range is read in parts
    for first in range(0, len(pieces), READ_PIECES):
        ranges = union_all(
            *(
                select(number(index).label("idx"), literal_column(f"'{level}'").label("level"),
                       number(low).label("low"), number(high).label("high"),
                       number(sign).label("sign"))
                for index, level, low, high, sign in pieces[first:first + READ_PIECES]
            )
        ).subquery("ranges")  # fmt: skip
        statement = (
            select(ranges.c.idx, ROLLUP.c.metric, ROLLUP.c.key, ROLLUP.c.bucket,
                   func.sum(ROLLUP.c.n * ranges.c.sign))
            .join(ROLLUP, (ROLLUP.c.level == ranges.c.level) & (ROLLUP.c.slot >= ranges.c.low)
                  & (ROLLUP.c.slot < ranges.c.high))
            .where(ROLLUP.c.metric.in_(metrics))
            .group_by(ranges.c.idx, ROLLUP.c.metric, ROLLUP.c.key, ROLLUP.c.bucket)
        )  # fmt: skip
        for index, metric, key, bucket, n in session.execute(statement):
            if n:
                result[int(index)][(metric, key, int(bucket))] += int(n)
    return result
