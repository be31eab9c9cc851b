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
the transaction commits (``before_commit``), so every service that changes
requests through a session counts them; writers that insert rows directly (the
set-based import, the history generator) call ``record`` or ``rebuild``. On
PostgreSQL each session adds to a part of a count of its own (``PARTS``): the
current hour's rows are not shared by decisions committing at once. The parts
of an hour that has ended are folded into one row (``fold_parts``, every
minute with the schedule).

The throughput dashboard's filters (a field, a step, an approver, a customer
group) pick requests by what they are now: a request gains an approver when
a step is assigned, a customer moves to another group. So the rows per filter
(``dim``, UTC days only) are kept by recounting each request a transaction
touches: its facts before the transaction's first change to it are taken away
and its facts at commit added, both counted by the same SQL as the rebuild
(``_facts``). A period's ends that fall inside a slot (a zone half an hour from
UTC; any zone, for the days of a filter) are counted from the requests
themselves over those few hours.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    exists,
    func,
    inspect,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import NO_VALUE
from sqlalchemy.orm.util import identity_key

from data.i18n import N_
from data.lifecycle import CLOSED_STATES, STEP_DECIDED
from data.models import (
    ActivityRollup,
    Assignment,
    ChangeRequest,
    Customer,
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
REASON = "why"
"""a Reject (bucket 0) or Request change (bucket 1) that gave a reason; key: reason code"""
REASON_ACTIONS = {"rejected": 0, "change_requested": 1}

FILTER_KINDS = {"field": "f", "step": "s", "approver": "a", "group": "g"}
"""The throughput filters with rollup rows of their own, and their dimension's prefix."""


def dimension(kind: str, value: object) -> str:
    """The rollup dimension of one throughput filter (customer groups match in any case)."""
    text = str(value).lower() if kind == "group" else str(value)
    return f"{FILTER_KINDS[kind]}:{text}"


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
            {"dim": "", "level": level, "slot": slot, "metric": metric, "key": key,
             "bucket": bucket, "n": n}
            for (level, slot, metric, key, bucket), n in sorted(levels.items())
            if n
        ]  # fmt: skip


def _upsert(connection: Connection | Session):
    """INSERT into the rollups that adds to a row already there."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    return _upsert_for(bind.dialect.name)


def _upsert_for(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(ROLLUP)


_KEY = ("dim", "level", "slot", "metric", "key", "bucket")
"""What a count is of (its parts have one ``part`` each)."""


def _adding(statement):
    return statement.on_conflict_do_update(
        index_elements=[*_KEY, "part"],
        set_={"n": ROLLUP.c.n + statement.excluded.n},
    )


PARTS = 16
"""A count is kept in up to this many parts, summed when read. On PostgreSQL a transaction
adds to the part of its database session (its server process's id modulo PARTS): decisions
committing at once add to the same hour's and day's counts, and with a row each they
would wait for one another's row locks until each commits. SQLite lets one transaction
write at a time: part 0."""


def _part(connection: Connection | Session) -> int:
    if isinstance(connection, Session):
        connection = connection.connection()
    if connection.dialect.name != "postgresql":
        return 0
    info = getattr(connection.connection.dbapi_connection, "info", None)
    return getattr(info, "backend_pid", 0) % PARTS


def write(connection: Connection | Session, tally: Tally) -> None:
    """Add a tally's counts to the rollup rows (created when missing)."""
    _write_rows(connection, tally.rows())


def _write_rows(connection: Connection | Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        part = _part(connection)
        connection.execute(_adding(_upsert(connection)), [{**row, "part": part} for row in rows])


def fold_parts(session: Session, now: datetime | None = None) -> int:
    """Add the parts of every count of an hour (or day) that has ended into its part 0,
    so a dashboard reads one row per count; returns how many parts were folded.

    A transaction adding to a part as it is folded waits for the fold to commit and
    then makes that part anew: no count is lost or added twice."""
    hour = hour_of(now or datetime.now(UTC))
    ended = or_(and_(ROLLUP.c.level == "h", ROLLUP.c.slot < hour),
                and_(ROLLUP.c.level == "d", ROLLUP.c.slot < hour // 24))  # fmt: skip
    folded = session.execute(delete(ROLLUP).where(ROLLUP.c.part != 0, ended)
                             .returning(*(ROLLUP.c[name] for name in _KEY), ROLLUP.c.n)).all()
    sums: dict[tuple, int] = defaultdict(int)
    for *row_key, n in folded:
        sums[tuple(row_key)] += n
    rows = [dict(zip(_KEY, row_key, strict=True), part=0, n=n)
            for row_key, n in sorted(sums.items()) if n]  # fmt: skip
    if rows:
        session.execute(_adding(_upsert(session)), rows)
    return len(folded)


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


def _fields(connection: Connection, request: ChangeRequest | int) -> list[str]:
    """The fields a request proposes to change (its proposals as loaded, when they are)."""
    request_id = request
    if isinstance(request, ChangeRequest):
        changes = _loaded(request, "changes")
        if changes is not None:
            return [change.field for change in changes]
        request_id = request.id
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
                    for name in _fields(connection, obj):
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
        elif isinstance(obj, RequestEvent) and obj in session.new:
            if obj.action == "change_requested":
                for name in _sent_back_fields(obj.details) or _fields(connection, obj.request_id):
                    tally.add(obj.at, FIELD_SENT_BACK, name)
            if obj.reason and obj.action in REASON_ACTIONS:
                tally.add(obj.at, REASON, obj.reason, REASON_ACTIONS[obj.action])
    if nested and tally:
        write(connection, tally)


def _write_pending(session: Session) -> None:
    # the last changes first, then the counts: the rollup rows every decision adds
    # to stay locked only while the transaction commits
    session.flush()
    tally = session.info.pop("rollups", None)
    if tally:
        write(session, tally)
    _recount_touched(session)


def _forget_pending(session: Session, *_args: Any) -> None:
    session.info.pop("rollups", None)


def _forget_touched(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("recount", None)


def count_activity(sessions: sessionmaker) -> None:
    """Sessions from ``sessions`` count the dashboards' facts as they flush and write them
    with their commit (forgotten on a rollback). Database attaches this to its own
    sessions; nothing else in the process is touched."""
    event.listen(sessions, "before_flush", _note_touched)
    event.listen(sessions, "after_flush", _collect)
    event.listen(sessions, "before_commit", _write_pending)
    event.listen(sessions, "after_rollback", _forget_pending)
    event.listen(sessions, "after_transaction_end", _forget_touched)


# ---------------------------------------------------------------- the rows per filter


class _Recount:
    """The requests a transaction touched, with their facts per filter before it did."""

    def __init__(self) -> None:
        self.before: dict[tuple, int] = defaultdict(int)
        self.seen: set[int] = set()
        self.later: list[Any] = []
        """new rows whose request is known only once they are flushed"""


def _recount(session: Session) -> _Recount:
    recount = session.info.get("recount")
    if recount is None:
        recount = session.info["recount"] = _Recount()
    return recount


def _loaded(obj: Any, name: str) -> Any:
    value = inspect(obj).attrs[name].loaded_value
    return None if value is NO_VALUE else value


def _request_of(obj: Any) -> tuple[int | None, int | None]:
    """(request id, step id) that a row belongs to, as far as known before it is flushed."""
    if isinstance(obj, ChangeRequest):
        return obj.id, None
    if isinstance(obj, Assignment):
        step = _loaded(obj, "step")
        if step is None and obj.request_step_id is not None:
            # loaded with its step's assignments: the step is in the session, unlinked
            step = inspect(obj).session.identity_map.get(
                identity_key(RequestStep, obj.request_step_id))
        if step is None:
            return None, obj.request_step_id
        obj = step
    request_id = obj.request_id
    if request_id is None:
        parent = _loaded(obj, "request")
        request_id = parent.id if parent is not None else None
    return request_id, None


_COUNTED = {
    # collections too: a proposal taken off a request is deleted only within the flush
    ChangeRequest: ("state", "first_submitted_at", "decided_at", "customer_id", "changes",
                    "steps", "events"),
    RequestStep: ("state", "name", "started_at", "completed_at", "due_at", "request_id",
                  "assignments"),
    Assignment: ("state", "decided_at", "user_id", "request_step_id"),
    ProposedChange: ("field", "request_id"),
    RequestEvent: ("action", "at", "reason", "request_id"),
}
"""What a request's facts and filters are made of, per row: a row changed in none of these
columns changes no count."""


def _note_touched(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: the requests it changes, with their facts as they are until then."""
    recount = session.info.get("recount")
    if recount is not None and recount.later:
        # rows of requests new in this transaction, flushed since: nothing was counted before
        recount.seen.update(_new_requests(session, recount))
    request_ids: set[int] = set()
    step_ids: set[int] = set()
    customer_ids: set[int] = set()
    dirty = session.dirty
    for obj in (*session.new, *dirty, *session.deleted):
        if isinstance(obj, Customer):
            if obj.id is not None and inspect(obj).attrs.customer_group.history.has_changes():
                customer_ids.add(obj.id)
            continue
        counted = _COUNTED.get(type(obj))
        if counted is None:
            continue
        if obj in dirty and not any(inspect(obj).attrs[name].history.has_changes()
                                    for name in counted):  # fmt: skip
            continue  # a reminder sent, a version bumped: no fact changes
        recount = recount or _recount(session)
        request_id, step_id = _request_of(obj)
        if request_id is not None:
            request_ids.add(request_id)
        elif step_id is not None:
            step_ids.add(step_id)
        else:
            recount.later.append(obj)
    if not (request_ids or step_ids or customer_ids):
        return
    connection = session.connection()
    if step_ids:
        request_ids.update(connection.execute(
            select(RequestStep.request_id).where(RequestStep.id.in_(step_ids))).scalars())
    if customer_ids:
        request_ids.update(_requests_of_customers(connection, customer_ids))
    _take_before(session, connection, request_ids)


def _requests_of_customers(connection: Connection, customer_ids: Iterable[int]) -> list[int]:
    return list(connection.execute(
        select(ChangeRequest.id).where(ChangeRequest.customer_id.in_(list(customer_ids)),
                                       ChangeRequest.first_submitted_at.is_not(None))
    ).scalars())  # fmt: skip


def _take_before(session: Session, connection: Connection, request_ids: Iterable[int]) -> None:
    recount = _recount(session)
    fresh = [rid for rid in request_ids if rid not in recount.seen]
    if not fresh:
        return
    recount.seen.update(fresh)
    for key, n in _request_facts(connection, fresh).items():
        recount.before[key] += n


def customers_regrouped(session: Session, customer_ids: Iterable[int]) -> None:
    """Call before a set-based UPDATE that moves customers to another group: their
    requests are counted again under their new group when the transaction commits."""
    connection = session.connection()
    _take_before(session, connection, _requests_of_customers(connection, customer_ids))


def requests_added(session: Session, request_ids: Iterable[int]) -> None:
    """Requests inserted without the ORM in this transaction: counted per filter at commit."""
    _recount(session).seen.update(request_ids)


def _new_requests(session: Session, recount: _Recount) -> set[int]:
    """The requests of the rows in ``later`` that have been flushed (taken off the list)."""
    found, waiting = set(), []
    for obj in recount.later:
        request_id, step_id = _request_of(obj)
        if request_id is None and step_id is not None:
            request_id = session.connection().scalar(
                select(RequestStep.request_id).where(RequestStep.id == step_id))
        if request_id is None:
            waiting.append(obj)
        else:
            found.add(request_id)
    recount.later = waiting
    return found


def _recount_touched(session: Session) -> None:
    recount = session.info.pop("recount", None)
    if recount is None:
        return
    ids = recount.seen | _new_requests(session, recount)
    if not ids:
        return
    change = defaultdict(int, {key: -n for key, n in recount.before.items()})
    for key, n in _request_facts(session.connection(), sorted(ids)).items():
        change[key] += n
    _write_rows(session, [
        {"dim": dim, "level": "d", "slot": day, "metric": metric, "key": key, "bucket": bucket,
         "n": n}
        for (dim, day, metric, key, bucket), n in sorted(change.items()) if n
    ])  # fmt: skip


# ---------------------------------------------------------------- facts in SQL

_R = ChangeRequest.__table__.c
_S = RequestStep.__table__.c
_A = Assignment.__table__.c
_P = ProposedChange.__table__.c
_E = RequestEvent.__table__.c
_C = Customer.__table__.c
METRICS = (SUBMITTED, CLOSED_REQUEST, CYCLE, STEP, SLA, APPROVER, FIELD_DECIDED,
           FIELD_SENT_BACK, REASON)  # fmt: skip


def _text(value: str):
    return literal_column("'" + value.replace("'", "''") + "'", String)


def _number(value: int):
    return literal_column(str(int(value)), Integer)


def _slot_sql(dialect: str, column, unit: int):
    """Whole ``unit`` seconds since 1970-01-01 UTC of a timestamp column."""
    if dialect == "postgresql":
        epoch = func.extract("epoch", column)
        return cast(func.floor(epoch.op("/")(literal_column(str(unit)))), Integer)
    seconds = func.strftime(literal_column("'%s'"), column)
    return cast(seconds, Integer).op("/")(literal_column(str(unit)))


def _rounded_seconds(dialect: str, start, end):
    """Seconds from ``start`` to ``end`` to the millisecond, as ``_milliseconds``."""
    if dialect == "postgresql":
        return cast(func.round(cast(seconds_between(dialect, start, end), Numeric), 3), Float)
    return func.round(seconds_between(dialect, start, end), 3)


def _duration_bucket_sql(dialect: str, seconds):
    """``duration_bucket`` in SQL."""
    larger = func.greatest if dialect == "postgresql" else func.max
    steps = func.ceil(func.ln(seconds) / literal_column(repr(_LOG_GAMMA)) - literal_column("1e-9"))
    return case((seconds < 1, _number(0)), else_=larger(_number(1), cast(steps, Integer)))


def _cycle_band_sql(seconds):
    """``cycle_band`` in SQL."""
    hours = seconds / literal_column("3600.0")
    return case(*((hours < high, _number(i)) for i, high in enumerate(CYCLE_BANDS)),
                else_=_number(len(CYCLE_BANDS)))  # fmt: skip


def _facts(dialect: str, metrics: Iterable[str], pick=None, windows=None):
    """Every fact of ``metrics`` as rows (request, at, metric, key, bucket, step, field,
    user): the step, field and user it concerns, where it concerns one.

    ``pick``: a condition on the request id column; ``windows``: [(from, to)) instants
    the fact's moment falls in."""

    spans = _windows_table(windows) if windows is not None else None

    def where(moment, request) -> list:
        return [pick(request)] if pick is not None else []

    nothing = cast(null(), String)

    def row(request, moment, metric, key, bucket, step=nothing, field=nothing, user=nothing):
        columns = select(request.label("request"), moment.label("at"),
                         _text(metric).label("metric"), key.label("key"), bucket.label("bucket"),
                         step.label("step"), field.label("field"), user.label("user"))  # fmt: skip
        if spans is None:
            return columns.add_columns(cast(null(), Integer).label("window"))
        # each window is an index range on the moment's column
        return columns.add_columns(spans.c.idx.label("window")).join_from(
            spans, moment.table, and_(moment >= spans.c.low, moment < spans.c.high))

    seconds = lambda a, b: _rounded_seconds(dialect, a, b)  # noqa: E731
    first, decided = _R.first_submitted_at, _R.decided_at
    closed = [first.is_not(None), decided.is_not(None)]
    final = [state for state in CLOSED_STATES if state != "discarded"]
    step_done = [_S.state.in_(STEP_DECIDED), _S.completed_at.is_not(None)]
    user = cast(_A.user_id, String)
    parts = {
        SUBMITTED: lambda: row(_R.id, first, SUBMITTED, _text(""), _number(0))
        .where(first.is_not(None), *where(first, _R.id)),
        CLOSED_REQUEST: lambda: row(_R.id, decided, CLOSED_REQUEST, _R.state,
                                    _cycle_band_sql(seconds(first, decided)))
        .where(_R.state.in_(CLOSED_STATES), *closed, *where(decided, _R.id)),
        CYCLE: lambda: row(_R.id, decided, CYCLE, _text(""),
                           _duration_bucket_sql(dialect, seconds(first, decided)))
        .where(_R.state.in_(final), *closed, *where(decided, _R.id)),
        FIELD_DECIDED: lambda: row(_R.id, decided, FIELD_DECIDED, _P.field,
                                   case((_R.state == "rejected", _number(1)), else_=_number(0)),
                                   field=_P.field)
        .join(ProposedChange.__table__, _P.request_id == _R.id)
        .where(_R.state.in_(final), *closed, *where(decided, _R.id)),
        FIELD_SENT_BACK: lambda: row(_E.request_id, _E.at, FIELD_SENT_BACK, _P.field, _number(0),
                                     field=_P.field)
        .join(ProposedChange.__table__, _P.request_id == _E.request_id)
        .where(_E.action == "change_requested", *where(_E.at, _E.request_id)),
        STEP: lambda: row(_S.request_id, _S.completed_at, STEP, _S.name,
                          _duration_bucket_sql(dialect, seconds(_S.started_at, _S.completed_at)),
                          step=_S.name)
        .where(*step_done, _S.started_at.is_not(None), *where(_S.completed_at, _S.request_id)),
        SLA: lambda: row(_S.request_id, _S.completed_at, SLA, _S.name,
                         case((_S.completed_at <= _S.due_at, _number(1)), else_=_number(0)),
                         step=_S.name)
        .where(*step_done, _S.due_at.is_not(None), *where(_S.completed_at, _S.request_id)),
        APPROVER: lambda: row(_S.request_id, _A.decided_at, APPROVER, user,
                              case(*((_A.state == name, _number(code))
                                     for name, code in DECISIONS.items())),
                              step=_S.name, user=user)
        .join(RequestStep.__table__, _S.id == _A.request_step_id)
        .where(_A.state.in_(tuple(DECISIONS)), _A.decided_at.is_not(None),
               *where(_A.decided_at, _S.request_id)),
        REASON: lambda: row(_E.request_id, _E.at, REASON, _E.reason,
                            case((_E.action == "rejected", _number(0)), else_=_number(1)))
        .where(_E.action.in_(tuple(REASON_ACTIONS)), _E.reason.is_not(None),
               *where(_E.at, _E.request_id)),
    }  # fmt: skip
    return union_all(*(parts[metric]() for metric in METRICS if metric in metrics)).subquery("f")


def _windows_table(windows: list[tuple[datetime, datetime]]):
    """The windows as rows (idx, low, high)."""
    kind = ChangeRequest.__table__.c.decided_at.type
    return union_all(*(
        select(_number(i).label("idx"), literal(low, kind).label("low"),
               literal(high, kind).label("high"))
        for i, (low, high) in enumerate(windows)
    )).subquery("w")  # fmt: skip


def _dimensions(pick):
    """(request, kind, value) of every filter each picked request matches."""
    steps_kept = _S.state.not_in(("skipped", "cancelled"))
    return union(
        select(_P.request_id.label("request"), _text("f").label("kind"), _P.field.label("value"))
        .where(pick(_P.request_id)),
        select(_S.request_id, _text("s"), _S.name).where(steps_kept, pick(_S.request_id)),
        select(_S.request_id, _text("a"), cast(_A.user_id, String))
        .join(RequestStep.__table__, _S.id == _A.request_step_id).where(pick(_S.request_id)),
        select(_R.id, _text("g"), func.lower(_C.customer_group))
        .join(Customer.__table__, _C.id == _R.customer_id).where(pick(_R.id)),
    ).subquery("d")  # fmt: skip


def _concerns(facts, kind, value):
    """The fact counts for the filter (kind, value): a step filter counts only that step's
    steps and decisions, a field filter that field, an approver filter that approver."""
    return and_(
        or_(kind != "s", facts.c.step.is_(None), facts.c.step == value),
        or_(kind != "f", facts.c.field.is_(None), facts.c.field == value),
        or_(kind != "a", facts.c.user.is_(None), facts.c.user == value),
    )


def _per_filter(dialect: str, pick):
    """SELECT (dim, day, metric, key, bucket, n) of the picked requests' facts per filter."""
    facts = _facts(dialect, METRICS, pick=pick)
    dims = _dimensions(pick)
    dim = (dims.c.kind + literal_column("':'") + dims.c.value).label("dim")
    day = _slot_sql(dialect, facts.c.at, 86400).label("slot")
    return (
        select(dim, day, facts.c.metric, facts.c.key, facts.c.bucket, func.count().label("n"))
        .join(dims, and_(dims.c.request == facts.c.request,
                         _concerns(facts, dims.c.kind, dims.c.value)))
        .where(true())
        .group_by(dim, day, facts.c.metric, facts.c.key, facts.c.bucket)
    )  # fmt: skip


@cache
def _per_filter_of(dialect: str):
    """``_per_filter`` for the requests whose ids are given as ``request_ids`` (built once:
    every transaction that touches a request runs it twice)."""
    ids = bindparam("request_ids", expanding=True)
    return _per_filter(dialect, lambda column: column.in_(ids))


def _request_facts(connection: Connection, request_ids: list[int]) -> dict[tuple, int]:
    """{(dim, day, metric, key, bucket): n} of these requests' facts per filter."""
    counts: dict[tuple, int] = {}
    ordered = sorted(request_ids)
    statement = _per_filter_of(connection.dialect.name)
    for start in range(0, len(ordered), 500):
        rows = connection.execute(statement, {"request_ids": ordered[start:start + 500]})
        for dim, day, metric, key, bucket, n in rows:
            counts[(dim, int(day), metric, key, int(bucket))] = int(n)
    return counts


def _rebuild_per_filter(connection: Connection, chunk: int = 50_000) -> None:
    low, high = connection.execute(select(func.min(_R.id), func.max(_R.id))).one()
    if low is None:
        return
    statement = _per_filter_rebuild_of(connection.dialect.name)
    for start in range(low, high + 1, chunk):
        connection.execute(statement, {"first_id": start, "last_id": start + chunk - 1})


@cache
def _per_filter_rebuild_of(dialect: str):
    """The rows per filter of the requests with ids from ``first_id`` to ``last_id``, added
    to the rollups (built once)."""
    first, last = bindparam("first_id"), bindparam("last_id")
    rows = _per_filter(dialect, lambda column: column.between(first, last)).subquery()
    columns = ["dim", "slot", "metric", "key", "bucket", "n"]
    insert = _upsert_for(dialect).from_select(
        ["level", *columns],
        select(literal_column("'d'", String), *(rows.c[name] for name in columns)).where(true()),
    )
    return _adding(insert)


def _window_counts(
    session: Session, windows: list[tuple[datetime, datetime]], metrics: Iterable[str], dim: str
) -> list[dict[tuple[str, str, int], int]]:
    """For each [from, to) window: {(metric, key, bucket): n}, counted from the requests."""
    result: list[dict[tuple[str, str, int], int]] = [defaultdict(int) for _ in windows]
    if not windows:
        return result
    dialect = session.get_bind().dialect.name
    facts = _facts(dialect, metrics, windows=windows)
    which = facts.c.window
    statement = select(which, facts.c.metric, facts.c.key, facts.c.bucket, func.count())
    if dim:
        kind, value = dim.split(":", 1)
        statement = statement.where(_picks(facts.c.request, kind, value),
                                    _concerns(facts, _text(kind), _text(value)))  # fmt: skip
    statement = statement.group_by(which, facts.c.metric, facts.c.key, facts.c.bucket)
    for index, metric, key, bucket, n in session.execute(statement):
        if index is not None:
            result[int(index)][(metric, key, int(bucket))] += int(n)
    return result


def _picks(request, kind: str, value: str):
    """The request matches the filter (kind, value), as the filter reads requests now."""
    if kind == "f":
        return exists().where(_P.request_id == request, _P.field == value)
    if kind == "s":
        return exists().where(_S.request_id == request, _S.name == value,
                              _S.state.not_in(("skipped", "cancelled")))  # fmt: skip
    if kind == "a":
        return exists().where(_S.request_id == request, _A.request_step_id == _S.id,
                              cast(_A.user_id, String) == value)  # fmt: skip
    return exists().where(_R.id == request, _C.id == _R.customer_id,
                          func.lower(_C.customer_group) == value)


# ---------------------------------------------------------------- rebuilding


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
    dialect = connection.dialect.name
    hour = lambda column: _slot_sql(dialect, column, 3600)  # noqa: E731
    seconds = lambda a, b: seconds_between(dialect, a, b)  # noqa: E731
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

    for slot, reason, action, n in connection.execute(
        select(hour(events.at), events.reason, events.action, func.count())
        .where(events.action.in_(tuple(REASON_ACTIONS)), events.reason.is_not(None))
        .group_by(hour(events.at), events.reason, events.action)
    ):  # fmt: skip
        counts[(int(slot), REASON, reason, REASON_ACTIONS[action])] += n

    connection.execute(delete(ROLLUP))
    rows = tally.rows()
    for start in range(0, len(rows), 10_000):
        connection.execute(ROLLUP.insert(), rows[start : start + 10_000])
    _rebuild_per_filter(connection)
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


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def read(
    session: Session,
    periods: list[tuple[datetime, datetime]],
    metrics: Iterable[str],
    dim: str = "",
) -> list[dict[tuple[str, str, int], int]]:
    """For each period [from, to) (UTC instants): {(metric, key, bucket): count}, of every
    request or, with ``dim``, of the requests that filter picks.

    The rollup rows answer whole UTC hours (days for a filter); what lies between a
    period's end and the nearest slot boundary is counted from the requests. Only counts
    that are not 0 are there."""
    metrics = tuple(metrics)
    unit = 86400 if dim else 3600
    result: list[dict[tuple[str, str, int], int]] = [defaultdict(int) for _ in periods]
    pieces: list[tuple[int, str, int, int, int]] = []
    windows: dict[tuple[float, float], list[tuple[int, int]]] = defaultdict(list)
    for index, (since, until) in enumerate(periods):
        low, high = _epoch(since), _epoch(until)
        if high <= low:
            continue
        first, last = round(low / unit), round(high / unit)
        if first >= last:
            windows[(low, high)].append((index, 1))
            continue
        for edge, sign in ((low, 1), (high, -1)):
            slot_edge = round(edge / unit) * unit
            if slot_edge > edge:
                windows[(edge, slot_edge)].append((index, sign))
            elif slot_edge < edge:
                windows[(slot_edge, edge)].append((index, -sign))
        cover = [("d", first, last, 1)] if dim else _cover(first, last)
        pieces += [(index, *piece) for piece in cover]
    for index, tally in _rollup_rows(session, pieces, metrics, dim):
        for key, n in tally.items():
            result[index][key] += n
    spans = list(windows)
    counted = _window_counts(session, [(_instant(a), _instant(b)) for a, b in spans], metrics, dim)
    for span, tally in zip(spans, counted, strict=True):
        for index, sign in windows[span]:
            for key, n in tally.items():
                result[index][key] += sign * n
    # a period's edge counted in and out again leaves keys at 0: nothing is there
    return [{key: n for key, n in tally.items() if n} for tally in result]


def _rollup_rows(session: Session, pieces: list[tuple[int, str, int, int, int]],
                 metrics: tuple[str, ...], dim: str):  # fmt: skip
    """(period index, {(metric, key, bucket): n}) summed over the pieces' rollup rows."""
    if not pieces:
        return

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
            .join(ROLLUP, (ROLLUP.c.dim == dim) & (ROLLUP.c.level == ranges.c.level)
                  & (ROLLUP.c.slot >= ranges.c.low) & (ROLLUP.c.slot < ranges.c.high))
            .where(ROLLUP.c.metric.in_(metrics))
            .group_by(ranges.c.idx, ROLLUP.c.metric, ROLLUP.c.key, ROLLUP.c.bucket)
        )  # fmt: skip
        tallies: dict[int, dict[tuple[str, str, int], int]] = defaultdict(dict)
        for index, metric, key, bucket, n in session.execute(statement):
            if n:
                tallies[int(index)][(metric, key, int(bucket))] = int(n)
        yield from tallies.items()
