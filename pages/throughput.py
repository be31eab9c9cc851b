"""Analysts' dashboard: approval throughput, cycle time, rejection rates, SLA."""

from __future__ import annotations

from datetime import timedelta

import dash
import dash_bootstrap_components as dbc
from babel.numbers import format_decimal, format_percent
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.charts import (
    PALETTE,
    bar_chart,
    chart_card,
    charts_after_numbers,
    csv_download,
    figure_table,
    kpi_card,
    plain_graph,
    series_chart,
)
from components.controls import labelled
from data.clock import utcnow
from data.dashboards.tables import period_keys, table_csv, throughput_kpis, throughput_tables
from data.dashboards.throughput import EXACT_LIMIT, ThroughputFilters, filter_choices, throughput
from data.fields import FIELDS
from data.i18n import N_, Labels, _, current_language, ngettext
from data.rollups import ACCURACY
from pages._support import (
    already_drawn,
    attempt,
    drawn_for,
    guard,
    page_title,
    read,
    viewer_zone,
)

dash.register_page(__name__, path="/dashboards/throughput", title=page_title(N_("Throughput")))

GROUPINGS = Labels({"day": N_("Day"), "week": N_("Week"), "month": N_("Month")})
GROUPING_SUBTITLES = Labels(
    {"day": N_("per day"), "week": N_("per week"), "month": N_("per month")}
)


def layout(**_query):
    denied = guard("throughput")
    if denied is not None:
        return denied
    choices, alert = attempt(lambda: read(filter_choices))
    if choices is None:
        return alert
    today = utcnow().date()
    start = today - timedelta(days=89)
    # the figures come with the page, for the filters' first values and the zone the
    # viewer's browser reported last: one round trip less before the numbers show
    first = (start.isoformat(), today.isoformat(), "week", "", "", "", "", viewer_zone())
    steps = [{"label": s, "value": s} for s in choices["steps"]]
    filters = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    # the browser's own date fields: typed or picked, named, reached by keyboard
                    dbc.Col(labelled(dbc.Input(id="tp-start", type="date", value=start.isoformat(),
                                               debounce=True), _("From")), lg=2),  # fmt: skip
                    dbc.Col(labelled(dbc.Input(id="tp-end", type="date", value=today.isoformat(),
                                               debounce=True), _("To")), lg=2),  # fmt: skip
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
            dcc.Loading(
                html.Div(render(*first), id="tp-body"),
                type="dot",
                delay_show=300,
                overlay_style={"visibility": "visible", "opacity": 0.6},
            ),
        ],
        id="throughput-dashboard",
    )


def _dropdown(label: str, component_id: str, options: list[dict]):
    choices = [{"label": _("All"), "value": ""}, *options]
    # "All" is also what the select shows before anything is chosen (its empty value)
    return labelled(dbc.Select(id=component_id, options=choices, value="", placeholder=_("All")),
                    label)  # fmt: skip


def _figures(start, end, grouping, field, group, step, approver, offset):
    filters = ThroughputFilters.make(start, end, grouping, field, group, step, approver,
                                     today=utcnow().date())  # fmt: skip
    return read(throughput, filters, zone=offset)


FILTER_INPUTS = [
    Input("tp-start", "value"),
    Input("tp-end", "value"),
    Input("tp-grouping", "value"),
    Input("tp-field", "value"),
    Input("tp-group", "value"),
    Input("tp-step", "value"),
    Input("tp-approver", "value"),
    Input("cs-tz", "data"),
]


@callback(Output("tp-body", "children"), *FILTER_INPUTS, State("tp-shown", "data"))
def on_filters(*values):
    *values, shown = values
    if already_drawn(values, shown):
        raise PreventUpdate
    return render(*values)


def render(*values):
    figures, alert = attempt(lambda: _figures(*values))
    if figures is None:
        return drawn_for("tp-shown", None, alert)
    tables = throughput_tables(figures)

    def card(graph_id, figure, subtitle=None):
        title, default_subtitle = CHARTS[graph_id]
        headers, rows = tables[graph_id]
        shown = subtitle if subtitle is not None else (_(default_subtitle) if default_subtitle
                                                       else "")  # fmt: skip
        return chart_card(
            _(title),
            plain_graph(f"tp-{graph_id}", figure),
            figure_table(graph_id, headers, rows, "tp-csv"),
            subtitle=shown,
        )

    filters = figures.filters
    volume = series_chart(
        [row[0] for row in figures.volume],
        {_("Submitted"): [r[1] for r in figures.volume],
         _("Approved"): [r[2] for r in figures.volume],
         _("Rejected"): [r[3] for r in figures.volume]},
        colours={_("Submitted"): PALETTE["submitted"], _("Approved"): PALETTE["approved"],
                 _("Rejected"): PALETTE["rejected"]},
        value_title=_("requests"),
    )  # fmt: skip
    # every period of the range on the x: one without decisions breaks the line (a gap),
    # where leaving it out would join its neighbours as if they were next to each other
    cycle_of = {row[0]: row for row in figures.cycle}
    periods = period_keys(filters.start, filters.end, filters.grouping) if figures.cycle else []
    cycle = series_chart(
        periods,
        {_("Median"): [gap(cycle_of, p, 2) for p in periods],
         _("90th percentile"): [gap(cycle_of, p, 3) for p in periods]},
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
    by_reason = series_chart(
        [r[0] for r in figures.by_reason],
        {_("Rejected"): [r[1] for r in figures.by_reason],
         _("Change requested"): [r[2] for r in figures.by_reason]},
        stacked=True,
        colours={_("Rejected"): PALETTE["rejected"],
                 _("Change requested"): PALETTE["change_requested"]},
        value_title=_("decisions"), two_line_labels=True,
    )  # fmt: skip
    kpis = throughput_kpis(figures)
    count = figures.cycle_overall[0]
    language = current_language()
    hints = {
        "decided": ngettext("request in the range", "requests in the range", count),
        "approved": _("of the requests decided"),
        "median": _("submission to final decision"),
        "p90": _("submission to final decision"),
        "sla": _("of steps decided within their time limit"),
    }
    cards = dbc.Row(
        [dbc.Col(kpi_card(_(title), kpis[key], hints[key], kpi_id=f"tp-{key}"), md=4, lg=True)
         for key, title in KPIS.items()],  # fmt: skip
        className="g-3 mb-3",
        id="tp-kpis",
    )
    note = html.P(
        _("With more than {count} decisions, percentiles are estimated to within {share}.").format(
            count=format_decimal(EXACT_LIMIT, locale=language),
            share=format_percent(ACCURACY, locale=language),
        )
        if figures.estimated
        else "",
        className="text-muted small",
        id="tp-summary",
    )
    charts = {
        "volume": card("volume", volume, GROUPING_SUBTITLES[filters.grouping]),
        "cycle": card("cycle", cycle),
        "histogram": card("histogram", histogram),
        "per-step": card("per-step", per_step),
        "per-field": card("per-field", per_field),
        "per-approver": card("per-approver", per_approver),
        "sla": card("sla", sla),
        "by-reason": card("by-reason", by_reason),
    }
    return drawn_for("tp-shown", values, charts_after_numbers(arranged(html.Div([cards, note]),
                                                                      charts)))


def gap(rows: dict, period: str, column: int) -> float | None:
    """A period's value, or None (a gap in the line) when nothing was decided in it."""
    row = rows.get(period)
    return round(row[column], 1) if row else None


# each chart: its title and subtitle (message ids), in the order the page shows them
CHARTS = {
    "volume": (N_("Submitted, approved and rejected"), ""),
    "cycle": (N_("Cycle time"), N_("submission to final decision")),
    "histogram": (N_("Cycle time distribution"), ""),
    "per-step": (N_("Time spent per step"), ""),
    "per-field": (N_("Rejection and request-change rate per field"), ""),
    "per-approver": (N_("Volume per approver"), ""),
    "sla": (N_("SLA"), N_("share of steps decided within their time limit")),
    "by-reason": (N_("Rejections by reason"), N_("Reject and Request change, by the reason given")),
}
KPIS = Labels(
    {
        "decided": N_("Decided"),
        "approved": N_("Approved"),
        "median": N_("Median cycle time"),
        "p90": N_("90th percentile"),
        "sla": N_("Within the time limit"),
    }
)


def arranged(kpis, cards: dict) -> html.Div:
    """The KPIs first, then the charts two by two."""
    names = list(CHARTS)
    rows = [
        dbc.Row([dbc.Col(cards[name], lg=6) for name in names[i : i + 2]], className="g-3 mb-3")
        for i in range(0, len(names), 2)
    ]
    return html.Div([kpis, *rows])


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
