"""The dashboards' figures as tables (each chart's Show data and its CSV) and as the
texts their KPI cards show."""

from __future__ import annotations

from datetime import date, timedelta

from babel.numbers import format_decimal, format_percent

from data.csvout import csv_text
from data.dashboards.pending import PendingOverview
from data.dashboards.throughput import Throughput
from data.fields import FIELDS_BY_NAME
from data.i18n import _, current_language


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
        "by-reason": (
            [_("Reason"), _("Rejected"), _("Change requested")],
            list(figures.by_reason),
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
