"""Analysts' dashboard: approval throughput, cycle time, rejection rates, SLA."""

from __future__ import annotations

from datetime import timedelta

import dash
import dash_bootstrap_components as dbc
from babel.numbers import format_decimal, format_percent
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from components.charts import (
    PALETTE,
    bar_chart,
    chart_card,
    csv_download,
    figure_table,
    plain_graph,
    series_chart,
)
from data.clock import utcnow
from data.fields import FIELDS
from data.i18n import N_, Labels, _, current_language, ngettext
from data.metrics import (
    EXACT_LIMIT,
    ThroughputFilters,
    filter_choices,
    table_csv,
    throughput,
    throughput_tables,
)
from data.rollups import ACCURACY
from pages._support import attempt, guard, page_title, read

dash.register_page(__name__, path="/dashboards/throughput", title=page_title(N_("Throughput")))

GROUPINGS = Labels({"day": N_("Day"), "week": N_("Week"), "month": N_("Month")})
GROUPING_SUBTITLES = Labels(
    {"day": N_("per day"), "week": N_("per week"), "month": N_("per month")}
)
FILTERS = ("tp-range", "tp-grouping", "tp-field", "tp-group", "tp-step", "tp-approver")


def layout(**_query):
    denied = guard("throughput")
    if denied is not None:
        return denied
    choices, alert = attempt(lambda: read(filter_choices))
    if choices is None:
        return alert
    today = utcnow().date()
    start = today - timedelta(days=89)
    steps = [{"label": s, "value": s} for s in choices["steps"]]
    filters = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(_("Date range"), className="small mb-1"),
                            dcc.DatePickerRange(
                                id="tp-range",
                                start_date=start,
                                end_date=today,
                                display_format="YYYY-MM-DD",
                                first_day_of_week=1,
                                minimum_nights=0,
                            ),
                        ],
                        lg=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("Group by"), className="small mb-1"),
                            dbc.RadioItems(
                                id="tp-grouping",
                                value="week",
                                inline=True,
                                options=[
                                    {"label": label, "value": g} for g, label in GROUPINGS.items()
                                ],
                            ),
                        ],
                        lg=2,
                    ),
                    dbc.Col(
                        _dropdown(
                            _("Field"),
                            "tp-field",
                            [
                                {"label": s.label, "value": s.name}
                                for s in FIELDS
                                if s.name != "account"
                            ],
                        ),
                        lg=True,
                    ),
                    dbc.Col(
                        _dropdown(
                            _("Customer group"),
                            "tp-group",
                            [{"label": g, "value": g} for g in choices["groups"] if g],
                        ),
                        lg=True,
                    ),
                    dbc.Col(_dropdown(_("Step"), "tp-step", steps), lg=True),
                    dbc.Col(
                        _dropdown(
                            _("Approver"),
                            "tp-approver",
                            [{"label": n, "value": i} for i, n in choices["approvers"]],
                        ),
                        lg=True,
                    ),
                ],  # fmt: skip
                className="g-3 align-items-end",
            )
        ),
        className="shadow-sm mb-3",
    )
    return html.Div(
        [
            dcc.Download(id="tp-download"),
            html.H1(_("Approval throughput"), className="h3 mb-3"),
            filters,
            dcc.Loading(html.Div(id="tp-body"), type="dot", delay_show=300),
        ],
        id="throughput-dashboard",
    )


def _dropdown(label: str, component_id: str, options: list[dict]):
    return [
        dbc.Label(label, className="small mb-1"),
        dcc.Dropdown(id=component_id, options=options, placeholder=_("All"), clearable=True),
    ]


def _figures(start, end, grouping, field, group, step, approver, offset):
    filters = ThroughputFilters.make(start, end, grouping, field, group, step, approver,
                                     today=utcnow().date())  # fmt: skip
    return read(throughput, filters, zone=offset)


FILTER_INPUTS = [
    Input("tp-range", "start_date"),
    Input("tp-range", "end_date"),
    Input("tp-grouping", "value"),
    Input("tp-field", "value"),
    Input("tp-group", "value"),
    Input("tp-step", "value"),
    Input("tp-approver", "value"),
    Input("cs-tz", "data"),
]


@callback(Output("tp-body", "children"), *FILTER_INPUTS)
def on_filters(*values):
    return render(*values)


def render(*values):
    figures, alert = attempt(lambda: _figures(*values))
    if figures is None:
        return alert
    tables = throughput_tables(figures)

    def card(title, graph_id, figure, table, subtitle=""):
        headers, rows = tables[table]
        return chart_card(
            title,
            plain_graph(f"tp-{graph_id}", figure),
            figure_table(table, headers, rows, "tp-csv"),
            subtitle=subtitle,
        )

    periods = [row[0] for row in figures.volume]
    volume = series_chart(
        periods,
        {_("Submitted"): [r[1] for r in figures.volume],
         _("Approved"): [r[2] for r in figures.volume],
         _("Rejected"): [r[3] for r in figures.volume]},
        colours={_("Submitted"): PALETTE["submitted"], _("Approved"): PALETTE["approved"],
                 _("Rejected"): PALETTE["rejected"]},
        value_title=_("requests"),
    )  # fmt: skip
    cycle = series_chart(
        [r[0] for r in figures.cycle],
        {_("Median"): [round(r[2], 1) for r in figures.cycle],
         _("90th percentile"): [round(r[3], 1) for r in figures.cycle]},
        kind="line",
        colours={_("Median"): PALETTE["median"], _("90th percentile"): PALETTE["p90"]},
        value_title=_("hours"),
    )  # fmt: skip
    histogram = bar_chart([_(label) for label, _count in figures.histogram],
                          [count for _label, count in figures.histogram], horizontal=False,
                          colour=PALETTE["neutral"], value_title=_("requests"))  # fmt: skip
    per_step = series_chart(
        [r[0] for r in figures.per_step],
        {_("Median"): [round(r[2], 1) for r in figures.per_step],
         _("90th percentile"): [round(r[3], 1) for r in figures.per_step]},
        colours={_("Median"): PALETTE["median"], _("90th percentile"): PALETTE["p90"]},
        value_title=_("hours in the step"),
    )  # fmt: skip
    field_rows = tables["per-field"][1]
    per_field = series_chart(
        [r[0] for r in field_rows],
        {_("Rejection rate %"): [r[3] for r in field_rows],
         _("Request change rate %"): [r[5] for r in field_rows]},
        colours={_("Rejection rate %"): PALETTE["rejected"],
                 _("Request change rate %"): PALETTE["change_requested"]},
        value_title="%", two_line_labels=True,
    )  # fmt: skip
    per_approver = series_chart(
        [r[0] for r in figures.per_approver],
        {_("Approved"): [r[1] for r in figures.per_approver],
         _("Rejected"): [r[2] for r in figures.per_approver],
         _("Change requested"): [r[3] for r in figures.per_approver],
         _("Delegated"): [r[4] for r in figures.per_approver]},
        stacked=True,
        colours={_("Approved"): PALETTE["approved"], _("Rejected"): PALETTE["rejected"],
                 _("Change requested"): PALETTE["change_requested"],
                 _("Delegated"): PALETTE["delegated"]},
        value_title=_("decisions"),
    )  # fmt: skip
    sla_rows = tables["sla"][1]
    sla = bar_chart([r[0] for r in sla_rows], [r[3] for r in sla_rows], colour=PALETTE["approved"],
                    value_title=_("% of steps decided within their time limit"))  # fmt: skip
    count, median, p90 = figures.cycle_overall
    language = current_language()
    summary = html.P(
        ngettext(
            "{count} request decided in the range; cycle time from submission to the final "
            "decision: median {median} h, 90th percentile {p90} h.",
            "{count} requests decided in the range; cycle time from submission to the final "
            "decision: median {median} h, 90th percentile {p90} h.",
            count,
        ).format(
            count=format_decimal(count, locale=language),
            median=format_decimal(median, "0.0", locale=language),
            p90=format_decimal(p90, "0.0", locale=language),
        )
        + (
            " "
            + _(
                "With more than {count} decisions, percentiles are estimated to within {share}."
            ).format(
                count=format_decimal(EXACT_LIMIT, locale=language),
                share=format_percent(ACCURACY, locale=language),
            )
            if figures.estimated
            else ""
        ),
        className="text-muted",
        id="tp-summary",
    )
    row = lambda *cols: dbc.Row([dbc.Col(c, lg=6) for c in cols], className="g-3 mb-3")  # noqa: E731
    return html.Div(
        [
            summary,
            row(
                card(
                    _("Submitted, approved and rejected"),
                    "volume",
                    volume,
                    "volume",
                    GROUPING_SUBTITLES[figures.filters.grouping],
                ),
                card(_("Cycle time"), "cycle", cycle, "cycle", _("submission to final decision")),
            ),
            row(
                card(_("Cycle time distribution"), "histogram", histogram, "histogram"),
                card(_("Time spent per step"), "per-step", per_step, "per-step"),
            ),
            row(
                card(
                    _("Rejection and request-change rate per field"),
                    "per-field",
                    per_field,
                    "per-field",
                ),
                card(_("Volume per approver"), "per-approver", per_approver, "per-approver"),
            ),
            row(
                card(
                    _("SLA"), "sla", sla, "sla", _("share of steps decided within their time limit")
                )
            ),
        ]  # fmt: skip
    )


@callback(
    Output("tp-download", "data"),
    Input({"type": "tp-csv", "table": ALL}, "n_clicks"),
    *[State(i.component_id, i.component_property) for i in FILTER_INPUTS],
    prevent_initial_call=True,
)
def on_download(_clicks, *values):
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update
    return download(ctx.triggered_id["table"], *values)


def download(table, *values):
    figures, _alert = attempt(lambda: _figures(*values))
    tables = throughput_tables(figures) if figures is not None else {}
    return csv_download(tables, table, "throughput", table_csv)
