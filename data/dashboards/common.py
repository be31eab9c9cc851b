"""What the dashboards' figures share: SQL that cuts local periods, durations and
percentiles the same way on SQLite and PostgreSQL, the age bands and filter names.

Times are stored in UTC; periods (day, week, month) are cut in the viewer's time zone
(data.localtime.LocalDays), each moment at the offset the zone had then, so local days
stay whole across daylight-saving changes. Percentiles use the nearest-rank method: the
p-th percentile of n sorted values is the value at rank ceil(p * n).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    case,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from data import rollups
from data.errors import ValidationFailed
from data.i18n import N_, Labels, _
from data.localtime import LocalDays
from data.models import (
    ChangeRequest,
    ProposedChange,
)

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


def invalid(errors: dict[str, str]) -> ValidationFailed:
    """A refusal of dashboard filters, worded for the person who chose them."""
    message = " ".join(f"{FILTER_LABELS.get(key, key)}: {text}." for key, text in errors.items())
    return ValidationFailed(errors, message)


# ---------------------------------------------------------------- dialect helpers


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def period_text(session: Session, column, grouping: str, days: LocalDays, since: datetime,
            until: datetime):  # fmt: skip
    """The start of ``column``'s local day, week (Monday) or month, as 'YYYY-MM-DD' text,
    for values in [since, until).

    Each moment is shifted by the zone's offset at that moment (a CASE with a branch
    for each stretch between daylight-saving changes). The grouping, offsets and
    instants of change are written into the SQL as literals (computed here, none
    typed by a person), so the same expression can appear in SELECT and GROUP BY.
    """
    if grouping not in GROUPINGS:
        raise invalid({"grouping": _("choose day, week or month")})
    postgresql = dialect_name(session) == "postgresql"

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


def seconds_between(session: Session, start, end):
    """Seconds from ``start`` to ``end``."""
    return rollups.seconds_between(dialect_name(session), start, end)


def percentiles(session: Session, rows, key, value) -> dict[Any, tuple[int, float, float]]:
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


def proposes(field_name: str) -> ColumnElement:
    """The request has a proposal for ``field_name``."""
    return (
        select(ProposedChange.id)
        .where(ProposedChange.request_id == ChangeRequest.id, ProposedChange.field == field_name)
        .correlate(ChangeRequest)
        .exists()
    )
