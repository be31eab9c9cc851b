"""Managers' dashboard: the pending backlog, who holds what, and for how long."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from babel.numbers import format_decimal
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.charts import (
    AGE_COLOURS,
    PALETTE,
    bar_chart,
    chart_card,
    charts_after_numbers,
    csv_download,
    drill_graph,
    figure_table,
    kpi_card,
    series_chart,
)
from components.controls import labelled
from data.absence import who_is_away
from data.dashboards.common import AGE_BUCKETS
from data.dashboards.pending import pending_overview
from data.dashboards.tables import kpi_texts, pending_tables, table_csv
from data.fields import FIELDS_BY_NAME
from data.i18n import N_, _, current_language, gettext
from pages._support import (
    already_drawn,
    attempt,
    drawn_for,
    guard,
    page_title,
    read,
    viewer_zone,
)

dash.register_page(__name__, path="/dashboards/pending", title=page_title(N_("Pending changes")))

RANGES = ((7, N_("Last 7 days")), (30, N_("Last 30 days")), (90, N_("Last 90 days")))


def count_text(count: int) -> str:
    """A count written as the reader writes numbers (1,500 or 1.500)."""
    return format_decimal(count, locale=current_language())


def requests_href(**query) -> str:
    return "/requests?" + urlencode({k: v for k, v in query.items() if v not in (None, "")})


def layout(**_query):
    denied = guard("pending")
    if denied is not None:
        return denied
    return html.Div(
        [
            dcc.Location(id="pd-go", refresh="callback-nav"),
            dcc.Download(id="pd-download"),
            html.Div(
                [
                    html.H1(_("Pending changes"), className="h3 mb-0"),
                    html.Div(
                        labelled(dbc.Select(
                            id="pd-days",
                            options=[{"label": _(label), "value": str(d)} for d, label in RANGES],
                            value="30",
                            style={"maxWidth": "12rem"},
                            size="sm",
                        ), _("Period"), hidden=True),
                    ),
                ],
                className="d-flex justify-content-between align-items-center mb-3",
            ),
            away_card(),
            dcc.Loading(
                # the figures come with the page (for its first period, in the zone the
                # viewer's browser reported last): one round trip less before they show
                html.Div(render("30", viewer_zone()), id="pd-body"),
                type="dot",
                delay_show=300,
                overlay_style={"visibility": "visible", "opacity": 0.6},
            ),
        ],
        id="pending-dashboard",
    )


def away_card():
    """Who is away now or in the next two weeks, until when, and who decides for them."""
    away, alert = attempt(lambda: read(who_is_away))
    if away is None:
        return alert
    if not away:
        return None
    zone = viewer_zone()
    lines = []
    for item in away:
        first, last = item.days(zone)
        text = (_("{name} is away until {last}; {delegate} decides for them") if item.now
                else _("{name} is away from {first} to {last}; {delegate} decides for them"))
        scope = f" ({_(item.workflow)})" if item.workflow else ""
        lines.append(html.Li(text.format(name=item.name, first=first.isoformat(),
                                         last=last.isoformat(), delegate=item.delegate) + scope,
                             className="mb-1"))  # fmt: skip
    return dbc.Card(
        [
            dbc.CardHeader(html.H2(_("Out of office"), className="h6 mb-0")),
            dbc.CardBody(html.Ul(lines, className="mb-0 ps-3"), className="py-2"),
        ],
        className="mb-3",
        id="pd-away",
    )


def render(days, offset):
    overview, alert = attempt(lambda: read(pending_overview, days=days, zone=offset))
    if overview is None:
        return drawn_for("pd-shown", None, alert)
    kpis = kpi_texts(overview)
    tables = pending_tables(overview)
    cards = dbc.Row(
        [
            dbc.Col(
                kpi_card(
                    _("Open requests"),
                    kpis["open"],
                    _("{at_step} at a step, {sent_back} sent back").format(
                        at_step=count_text(overview.at_a_step),
                        sent_back=count_text(overview.sent_back),
                    ),
                    requests_href(state="open"),
                    "open",
                ),
                md=4,
                lg=True,
            ),
            dbc.Col(
                kpi_card(
                    _("Proposed field changes waiting"),
                    kpis["changes"],
                    _("on requests pending approval"),
                    requests_href(state="pending"),
                    "changes",
                ),
                md=4,
                lg=True,
            ),
            dbc.Col(
                kpi_card(
                    _("Overdue steps"),
                    kpis["overdue"],
                    _("past their time limit"),
                    requests_href(state="pending", overdue=1),
                    "overdue",
                ),
                md=4,
                lg=True,
            ),
            dbc.Col(
                kpi_card(
                    _("Oldest waiting"),
                    kpis["oldest"],
                    _("since submission"),
                    requests_href(state="pending"),
                    "oldest",
                ),
                md=6,
                lg=True,
            ),
            dbc.Col(
                kpi_card(
                    _("Median age"),
                    kpis["median"],
                    _("of requests pending approval"),
                    kpi_id="median",
                ),
                md=6,
                lg=True,
            ),
        ],  # fmt: skip
        className="g-3 mb-3",
    )
    by_step = bar_chart(
        [name for name, _ in overview.by_step],
        [count for _, count in overview.by_step],
        links=[requests_href(state="pending", step=name) for name, _ in overview.by_step],
        value_title=_("open requests"),
    )
    by_approver = bar_chart(
        [name for _, name, _ in overview.by_approver],
        [count for *_, count in overview.by_approver],
        links=[requests_href(state="pending", approver=uid) for uid, *_ in overview.by_approver],
        colour=PALETTE["delegated"],
        value_title=_("open requests"),
    )
    steps = sorted({step for _, step, _ in overview.ageing})
    counted = {(label, step): count for label, step, count in overview.ageing}
    ageing = series_chart(
        steps,
        {
            gettext(label): [counted.get((label, step), 0) for step in steps]
            for label, *_rest in AGE_BUCKETS
        },
        stacked=True,
        links={
            gettext(label): [requests_href(state="pending", age=label, step=step) for step in steps]
            for label, *_rest in AGE_BUCKETS
        },
        colours=dict(
            zip([gettext(label) for label, *_rest in AGE_BUCKETS], AGE_COLOURS, strict=True)
        ),
        value_title=_("open requests"),
    )
    by_field = bar_chart(
        [FIELDS_BY_NAME[name].label for name, _ in overview.by_field],
        [count for _, count in overview.by_field],
        links=[requests_href(state="pending", field=name) for name, _ in overview.by_field],
        colour=PALETTE["change_requested"],
        value_title=_("proposed changes"),
    )
    backlog = series_chart(
        [day.isoformat() for day, _ in overview.backlog],
        {_("Open requests"): [count for _day, count in overview.backlog]},
        kind="line",
        colours={_("Open requests"): PALETTE["submitted"]},
    )

    def card(graph_id, figure):
        title, subtitle = CHARTS[graph_id]
        headers, rows = tables[graph_id]
        return chart_card(
            _(title),
            drill_graph(graph_id, figure, "pd-drill"),
            figure_table(graph_id, headers, rows, "pd-csv", links=row_links.get(graph_id)),
            subtitle=_(subtitle) if subtitle else "",
        )

    # each table row leads where its bar does (the tables' rows are in the figures' order)
    row_links = {
        "by-step": [requests_href(state="pending", step=name) for name, _ in overview.by_step],
        "by-approver": [requests_href(state="pending", approver=uid)
                        for uid, *_ in overview.by_approver],
        "ageing": [requests_href(state="pending", age=label, step=step)
                   for label, step, _ in overview.ageing],
        "by-field": [requests_href(state="pending", field=name) for name, _ in overview.by_field],
    }  # fmt: skip

    figures = {"by-step": by_step, "by-approver": by_approver, "ageing": ageing,
               "by-field": by_field, "backlog": backlog}  # fmt: skip
    return drawn_for("pd-shown", (days, offset), charts_after_numbers(
        arranged(cards, {name: card(name, figure) for name, figure in figures.items()})))


# each chart: its title and subtitle (message ids), in the order the page shows them
CHARTS = {
    "by-step": (N_("Open requests by step"), ""),
    "by-approver": (N_("Who is holding what"), N_("open assignments")),
    "ageing": (N_("Ageing"), N_("time since submission")),
    "by-field": (N_("Pending changes by field"), ""),
    "backlog": (N_("Backlog over time"), N_("open requests at the end of each day")),
}


def arranged(kpis, cards: dict) -> html.Div:
    """The KPI row, then the charts two by two."""
    pair = lambda a, b: dbc.Row([dbc.Col(cards[a], lg=6), dbc.Col(cards[b], lg=6)],  # noqa: E731
                                className="g-3 mb-3")  # fmt: skip
    return html.Div(
        [
            kpis,
            html.P(
                _("Click a card or a bar to see the requests behind it."),
                className="text-muted small",
            ),
            pair("by-step", "by-approver"),
            pair("ageing", "by-field"),
            cards["backlog"],
        ]
    )


@callback(Output("pd-body", "children"), Input("pd-days", "value"), Input("cs-tz", "data"),
          State("pd-shown", "data"))  # fmt: skip
def on_range(days, offset, shown):
    if already_drawn((days, offset), shown):
        raise PreventUpdate
    return render(days, offset)


@callback(
    Output("pd-go", "href"),
    Input({"type": "pd-drill", "chart": ALL}, "clickData"),
    prevent_initial_call=True,
)
def on_drill(_clicks):
    return drill_target(ctx.triggered[0]["value"] if ctx.triggered else None)


def drill_target(click_data):
    """The request list a click on a bar leads to (only links the page itself made)."""
    points = (click_data or {}).get("points") or []
    link = points[0].get("customdata") if points else None
    if isinstance(link, str) and link.startswith("/requests?"):
        return link
    return no_update


@callback(
    Output("pd-download", "data"),
    Input({"type": "pd-csv", "table": ALL}, "n_clicks"),
    State("pd-days", "value"),
    State("cs-tz", "data"),
    prevent_initial_call=True,
)
def on_download(_clicks, days, offset):
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update
    return download(ctx.triggered_id["table"], days, offset)


def download(table, days, offset):
    overview, _alert = attempt(
        lambda: read(pending_overview, days=days, zone=offset)
    )
    tables = pending_tables(overview) if overview is not None else {}
    return csv_download(tables, table, "pending", table_csv)
