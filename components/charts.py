"""Dashboard pieces: KPI cards, plotly figures with drill-through links, figure tables."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as html_escape
from typing import Any

import dash_bootstrap_components as dbc
from babel.dates import get_day_names, get_month_names
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
from dash import dcc, html

from components.controls import dom_id
from data.i18n import DEFAULT_LOCALE, _, current_language

PALETTE = {
    "submitted": "#0d6efd",
    "approved": "#198754",
    "rejected": "#dc3545",
    "change_requested": "#fd7e14",
    "delegated": "#6f42c1",
    "median": "#0d6efd",
    "p90": "#6c757d",
    "neutral": "#0dcaf0",
}
AGE_COLOURS = ("#198754", "#ffc107", "#fd7e14", "#dc3545")
CHART_HEIGHT = 300
"""Every chart's height, and its placeholder's while the figures load: nothing moves."""


def kpi_card(title: str, value: str, hint: str = "", href: str | None = None, kpi_id: str = ""):
    body = dbc.Card(
        dbc.CardBody(
            [
                html.Div(title, className="text-muted small text-uppercase fw-semibold"),
                html.Div(value, className="fs-3 fw-semibold kpi-value", id=f"kpi-{kpi_id}"),
                html.Div(hint, className="small text-muted"),
            ]
        ),
        className="h-100 shadow-sm kpi-card" + (" kpi-link" if href else ""),
    )
    if href:
        return dcc.Link(body, href=href, className="text-reset text-decoration-none")
    return body


Figure = dict[str, Any]
"""A plotly figure as the JSON plotly.js takes: built as plain dicts, which costs far
less than plotly.graph_objects' validation on every dashboard refresh."""


def _layout(
    *, height: int = CHART_HEIGHT, stacked: bool = False, xaxis=None, yaxis=None, **extra
) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 40, "r": 10, "t": 10, "b": 40},
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "legend": {"orientation": "h", "y": -0.2},
        "barmode": "stack" if stacked else "group",
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        # plotly's decimal and thousands separators, as the reader writes numbers
        "separators": get_decimal_symbol(current_language()) + get_group_symbol(current_language()),
        "xaxis": {"automargin": True, **(xaxis or {})},
        "yaxis": {"gridcolor": "#eee", "rangemode": "tozero", **(yaxis or {})},
        **extra,
    }


def _title(text: str) -> dict[str, Any]:
    return {"title": {"text": text}} if text else {}


def empty_figure(message: str | None = None) -> Figure:
    message = message or _("Nothing in this range")
    return {
        "data": [],
        "layout": _layout(
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {"text": message, "showarrow": False, "font": {"color": "#6c757d", "size": 14}}
            ],
        ),  # fmt: skip
    }


def plot_text(value: Any) -> Any:
    """A label as plotly shows it: text, never markup (plotly reads <a href>, <b>, <br> in
    labels and hovers; names typed by people must not become links)."""
    return html_escape(value, quote=False) if isinstance(value, str) else value


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    links: Sequence[str] | None = None,
    colour: str = PALETTE["submitted"],
    horizontal: bool = True,
    value_title: str = "",
) -> Figure:
    """One series of bars; ``links`` (one per bar) make each bar a drill-through."""
    if not labels:
        return empty_figure(_("Nothing waiting"))
    labels = [plot_text(label) for label in labels]
    bar: dict[str, Any] = {
        "type": "bar",
        "x": list(values) if horizontal else list(labels),
        "y": list(labels) if horizontal else list(values),
        "orientation": "h" if horizontal else "v",
        "marker": {"color": colour},
        "hovertemplate": ("%{y}: %{x}" if horizontal else "%{x}: %{y}") + "<extra></extra>",
    }
    if links:
        bar["customdata"] = list(links)
    extra = {"bargap": 0.6} if len(labels) <= 2 else {}
    if horizontal:
        layout = _layout(
            height=max(220, 40 + 32 * len(labels)),
            xaxis={**_title(value_title), "gridcolor": "#eee", "rangemode": "tozero"},
            yaxis={"autorange": "reversed", "automargin": True},
            **extra,
        )
    else:
        layout = _layout(height=300, yaxis=_title(value_title), **extra)
    return {"data": [bar], "layout": layout}


def series_chart(
    x: Sequence[Any],
    series: dict[str, Sequence[float]],
    *,
    kind: str = "bar",
    stacked: bool = False,
    links: dict[str, Sequence[str]] | None = None,
    colours: dict[str, str] | None = None,
    value_title: str = "",
    two_line_labels: bool = False,
) -> Figure:
    """Several named series over the same x (periods, buckets); ``two_line_labels`` sets
    each x label upright on two lines (its first space becomes a line break)."""
    if not x:
        return empty_figure()
    x = [plot_text(value) for value in x]
    if two_line_labels:
        x = [value.replace(" ", "<br>", 1) if isinstance(value, str) else value for value in x]
    traces = []
    for index, (name, values) in enumerate(series.items()):
        colour = (colours or {}).get(name) or AGE_COLOURS[index % len(AGE_COLOURS)]
        trace: dict[str, Any] = {"x": x, "y": list(values), "name": plot_text(name)}
        if links and name in links:
            trace["customdata"] = list(links[name])
        if kind == "bar":
            trace.update(type="bar", marker={"color": colour})
        else:
            trace.update(type="scatter", mode="lines+markers",
                         line={"color": colour, "width": 2})  # fmt: skip
        traces.append(trace)
    extra = {"bargap": 0.6} if kind == "bar" and len(x) <= 2 else {}
    layout = _layout(stacked=stacked, yaxis=_title(value_title), **extra)
    return {"data": traces, "layout": layout}


def graph_config() -> dict[str, Any]:
    """plotly's settings for the reader: no mode bar, and dates and numbers on the axes in
    their language (month and day names from the CLDR, through Babel)."""
    language = current_language()
    config: dict[str, Any] = {"displayModeBar": False, "responsive": True}
    if language != DEFAULT_LOCALE:

        def names(kind: str, width: str) -> list[str]:
            found = kind(width, locale=language)
            return [found[key] for key in sorted(found)]

        days = names(get_day_names, "wide")
        short_days = names(get_day_names, "abbreviated")
        # plotly counts the week from Sunday, the CLDR from Monday
        config["locale"] = language
        config["locales"] = {
            language: {
                "dictionary": {},
                "format": {
                    "days": days[-1:] + days[:-1],
                    "shortDays": short_days[-1:] + short_days[:-1],
                    "months": names(get_month_names, "wide"),
                    "shortMonths": names(get_month_names, "abbreviated"),
                    "date": "%d/%m/%Y",
                    "decimal": get_decimal_symbol(language),
                    "thousands": get_group_symbol(language),
                },
            }
        }
    return config


def drill_graph(graph_id: str, figure: Figure, kind: str = "drill") -> dcc.Graph:
    """A graph whose bars carry links in ``customdata``: a click opens the list behind it."""
    return dcc.Graph(
        id={"type": kind, "chart": graph_id},
        figure=figure,
        config=graph_config(),
        className="drill-graph",
        style={"height": f"{CHART_HEIGHT}px"},
    )


def plain_graph(graph_id: str, figure: Figure) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id, figure=figure, config=graph_config(), style={"height": f"{CHART_HEIGHT}px"}
    )


def chart_card(title: str, graph, footer=None, *, subtitle: str = "") -> dbc.Card:
    header = [html.Span(title, className="fw-semibold")]
    if subtitle:
        header.append(html.Span(f" · {subtitle}", className="text-muted small"))
    parts = [dbc.CardHeader(header, className="bg-white"), dbc.CardBody(graph, className="p-2")]
    if footer is not None:
        parts.append(dbc.CardFooter(footer, className="bg-white"))
    return dbc.Card(parts, className="shadow-sm h-100")


def figure_table(
    table_id: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], kind: str = "csv",
    links: Sequence[str | None] | None = None,
):  # fmt: skip
    """The numbers behind a chart, with a Download CSV button; ``links`` (one per row) make
    each row's count a link to the requests behind it: the chart's drill-through, reached
    by keyboard."""

    def cells(index: int, row: Sequence[Any]) -> list:
        shown = [html.Td(_cell(v)) for v in row]
        link = links[index] if links and index < len(links) else None
        if link:
            shown[-1] = html.Td(dcc.Link(_cell(row[-1]), href=link))
        return shown

    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in headers])),
            html.Tbody([html.Tr(cells(i, row)) for i, row in enumerate(rows)]),
        ]
        if rows
        else [html.Tbody(html.Tr(html.Td(_("No figures in this range."), className="text-muted")))],
        size="sm",
        striped=True,
        className="mb-2 figure-table",
        id=f"table-{table_id}",
    )
    button = dbc.Button(
        _("Download CSV"),
        id={"type": kind, "table": table_id},
        color="outline-secondary",
        size="sm",
        disabled=not rows,
    )
    # the numbers are there for whoever wants them, folded so the charts come first
    return html.Details(
        [
            html.Summary(_("Show data"), className="small text-muted"),
            html.Div(table, className="figure-table-wrap mt-2"),
            button,
        ],
        className="figure-table-block",
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return format_decimal(value, "#,##0.0", locale=current_language())
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value, "#,##0", locale=current_language())
    return "" if value is None else str(value)


def csv_download(tables: dict, table: str, prefix: str, to_csv) -> Any:
    """The dcc.Download data for one figure table, or no_update when there is none."""
    from dash import no_update

    if table not in tables:
        return no_update
    headers, rows = tables[table]
    return {"content": to_csv(headers, rows), "filename": f"{prefix}-{table}.csv",
            "type": "text/csv"}  # fmt: skip


GRAPHS_STORE = "chart-graphs"
"""Where a dashboard's answer keeps its charts until the browser draws them."""


def charts_after_numbers(body: html.Div) -> html.Div:
    """A dashboard's figures with each chart kept aside, in its place an empty box of the
    chart's height: the numbers show at once, and the charts are drawn into their boxes
    next, as soon as plotly.js is there (assets/charts.js, wired in app.py), instead of the
    whole answer waiting for it."""
    graphs: dict[str, dict[str, Any]] = {}

    def set_aside(node: Any) -> Any:
        if isinstance(node, dcc.Graph):
            key = node.id if isinstance(node.id, str) else dom_id(node.id)
            # the graph's properties, not the graph: the page would wait for plotly.js to
            # show an answer that holds a graph anywhere
            graphs[key] = {name: getattr(node, name) for name in node._prop_names
                           if getattr(node, name, None) is not None}  # fmt: skip
            return html.Div(id={"type": "chart-slot", "key": key},
                            style={"height": f"{CHART_HEIGHT}px"})  # fmt: skip
        if isinstance(node, list | tuple):
            return [set_aside(child) for child in node]
        if hasattr(node, "children"):
            node.children = set_aside(node.children)
        return node

    return html.Div([set_aside(body), dcc.Store(id=GRAPHS_STORE, data=graphs)])
