"""The requests behind a dashboard figure: a filtered list, each row linking to its request."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from babel.numbers import format_decimal
from dash import Input, Output, State, callback, dcc, html

from components.controls import scroll_region
from components.request import when
from components.status import status_badge
from data.dashboards.request_list import LIST_LIMIT, RequestFilters, request_list
from data.i18n import N_, _, current_language, ngettext
from data.localtime import zone_name
from pages._support import attempt, guard, page_title, read

dash.register_page(__name__, path="/requests", title=page_title(N_("Requests")))


def layout(**query):
    denied = guard("requests")
    if denied is not None:
        return denied
    return html.Div(
        [
            dcc.Store(id="rl-query", data={k: v for k, v in query.items() if isinstance(v, str)}),
            html.Div(
                [
                    html.H1(_("Requests"), className="h3 mb-0"),
                    dcc.Link(
                        "← " + _("Pending changes"), href="/dashboards/pending", className="small"
                    ),
                ],
                className="d-flex justify-content-between align-items-baseline mb-3",
            ),
            html.Div(id="rl-body"),
        ]
    )


@callback(Output("rl-body", "children"), Input("cs-tz", "data"), State("rl-query", "data"))
def on_load(offset, query):
    return render(query or {}, offset)


def render(query: dict, offset):
    found, alert = attempt(lambda: _listed(query))
    if found is None:
        return alert
    filters, total, rows = found
    language = current_language()
    shown = (
        ngettext("{count} request", "{count} requests", total).format(
            count=format_decimal(total, locale=language)
        )
        if total <= len(rows)
        else _("The oldest {shown} of {count} requests").format(
            shown=format_decimal(len(rows), locale=language),
            count=format_decimal(total, locale=language),
        )
    )
    summary = html.P([html.Span(shown, id="rl-count"), f" — {filters.describe()}."],
                     className="text-muted")  # fmt: skip
    if not rows:
        return html.Div([summary, dbc.Alert(_("No request matches."), color="light")])
    table = dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(h)
                        for h in (
                            _("Request"),
                            _("Customer"),
                            _("State"),
                            _("Step"),
                            _("Waiting on"),
                            _("Fields"),
                            _("Submitted"),
                            _("Due"),
                        )
                    ]
                    # fmt: skip
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(
                                dcc.Link(f"#{row.request_id}", href=f"/requests/{row.request_id}")
                            ),
                            html.Td(
                                [
                                    html.Span(row.account, className="fw-semibold"),
                                    " ",
                                    html.Span(row.customer_name, className="text-muted"),
                                ]
                            ),
                            html.Td(status_badge(row.state)),
                            html.Td(row.step or "—"),
                            html.Td(", ".join(row.holders) or "—"),
                            html.Td(", ".join(row.fields)),
                            html.Td(when(row.submitted_at, zone_name(offset))),
                            html.Td(when(row.due_at, zone_name(offset))),
                        ],  # fmt: skip
                        className="request-row",
                    )
                    for row in rows
                ]
            ),
        ],
        hover=True,
        size="sm",
        className="bg-white shadow-sm",
        id="rl-table",
    )
    return html.Div([summary, scroll_region(table, _("Requests"))])


def _listed(query: dict):
    filters = RequestFilters.from_query(query)
    total, rows = read(request_list, filters, limit=LIST_LIMIT)
    return filters, total, rows
