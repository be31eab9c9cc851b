"""Customers: a grid paged, sorted and filtered in SQL, with a quick search."""

import json

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from babel.numbers import format_decimal
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from components.grid import open_on_enter, opened_path, row_link
from data import labels
from data.customer_grid import COUNT_CAP, list_customers
from data.fields import field_label
from data.i18n import N_, _, current_language, ngettext
from pages._support import attempt, guard, page_title, read

dash.register_page(__name__, path="/customers", title=page_title(N_("Customers")), order=1)

PAGE_SIZE = 100
TEXT = {"filter": "agTextColumnFilter", "filterParams": {"buttons": ["reset"], "debounceMs": 400}}


def columns() -> list[dict]:
    """The grid's columns in the viewer's language (the rows come written as they read)."""
    states = labels.REQUEST_STATE_LABELS
    return [
        {
            "field": "account",
            "headerName": _("Account"),
            "width": 130,
            "pinned": "left",
            **TEXT,
            **row_link("/customers/"),
        },
        {"field": "name", "headerName": field_label("name"), "flex": 2, "minWidth": 220, **TEXT},
        {
            "field": "customer_group",
            "headerName": field_label("customer_group"),
            "width": 150,
            **TEXT,
        },  # fmt: skip
        {"field": "city", "headerName": field_label("city"), "width": 140, **TEXT},
        {"field": "country", "headerName": field_label("country"), "width": 110, **TEXT},
        {"field": "currency", "headerName": field_label("currency"), "width": 110, **TEXT},
        {
            "field": "credit_limit",
            "headerName": field_label("credit_limit"),
            "width": 150,
            "type": "rightAligned",
            "filter": "agNumberColumnFilter",
            "filterParams": {"buttons": ["reset"]},
        },
        {"field": "on_hold", "headerName": field_label("on_hold"), "width": 110, **TEXT},
        {
            "field": "request_state",
            "headerName": _("Open request"),
            "width": 270,
            **TEXT,
            "cellClassRules": {
                "state-pending": f"params.value == {json.dumps(states['pending'])}",
                "state-draft": f"params.value == {json.dumps(states['draft'])}",
                "state-change-requested": (
                    f"params.value == {json.dumps(states['change_requested'])}"
                ),
            },
        },
    ]


def layout(**_query):
    denied = guard("customers")
    if denied is not None:
        return denied
    return html.Div(
        [
            dcc.Location(id="customers-nav", refresh="callback-nav"),
            dcc.Store(id="customers-search-applied"),
            dcc.Store(id="customers-cursor"),
            html.Div(
                [
                    html.H1(_("Customers"), className="h3 mb-0"),
                    dbc.Label(
                        _("Search customers"),
                        html_for="customers-search",
                        className="visually-hidden",
                    ),  # fmt: skip
                    dbc.Input(
                        id="customers-search",
                        type="search",
                        debounce=True,
                        placeholder=_("Account number or name starts with…"),
                        className="ms-auto",
                        style={"maxWidth": "22rem"},
                    ),
                ],
                className="d-flex align-items-center gap-3 mb-3",
            ),
            html.Div(id="customers-message"),
            dag.AgGrid(
                id="customers-grid",
                columnDefs=columns(),
                rowModelType="infinite",
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={
                    "cacheBlockSize": PAGE_SIZE,
                    "maxBlocksInCache": 20,
                    # one getRowsRequest prop carries one request: ask block by block
                    "maxConcurrentDatasourceRequests": 1,
                    "blockLoadDebounceMillis": 100,
                    "rowSelection": {"mode": "singleRow", "checkboxes": False},
                    "animateRows": False,
                    "tooltipShowDelay": 300,
                    "localeText": {"noRowsToShow": _("No customer matches.")},
                },
                getRowId="params.data.account",
                eventListeners=open_on_enter("/customers/", "account"),
                style={"height": "calc(100vh - 220px)", "minHeight": "420px"},
                className="ag-theme-quartz shadow-sm",
            ),
            html.Div(
                [
                    html.Span(id="customers-count", className="me-2"),
                    _("Select a customer, or press Enter on it, to open it."),
                ],
                className="text-muted small mt-2",
            ),
        ]
    )


def rows_for(request: dict | None, search: str | None, cursor: dict | None = None):
    """The grid's next block of rows (or an error message and an empty block), and the
    cursor that lets the block after it be read by key rather than by skipping rows."""
    request = request or {}
    start, end = int(request.get("startRow", 0)), int(request.get("endRow", PAGE_SIZE))
    sort, filters = request.get("sortModel"), request.get("filterModel")
    query = json.dumps([sort, filters, search], sort_keys=True)
    after = None
    if isinstance(cursor, dict) and cursor.get("query") == query and cursor.get("end") == start:
        after = cursor.get("after") if isinstance(cursor.get("after"), list) else None
    page, alert = attempt(
        lambda: read(
            list_customers, start, end, sort, filters, search, count=start == 0, after=after
        )  # fmt: skip
    )
    if page is None:
        return {"rowData": [], "rowCount": 0}, alert, None, ""
    kept = None
    if page.cursor is not None:
        kept = {"query": query, "end": start + len(page.rows), "after": page.cursor}
    response = {"rowData": page.rows, "rowCount": -1 if page.total is None else page.total}
    return response, None, kept, count_text(page.total) if start == 0 else no_update


def count_text(total: int | None) -> str:
    """How many customers the grid holds: counted up to COUNT_CAP, beyond it "more than"."""
    language = current_language()
    if total is None:
        return _("More than {count} customers.").format(
            count=format_decimal(COUNT_CAP, locale=language)
        )
    return ngettext("{count} customer.", "{count} customers.", total).format(
        count=format_decimal(total, locale=language)
    )


@callback(
    Output("customers-grid", "getRowsResponse"),
    Output("customers-message", "children"),
    Output("customers-cursor", "data"),
    Output("customers-count", "children"),
    Input("customers-grid", "getRowsRequest"),
    State("customers-search", "value"),
    State("customers-cursor", "data"),
)
def on_rows_requested(request, search, cursor):
    return rows_for(request, search, cursor)


# A new search drops the grid's cached blocks, so it asks again from the first row
# (keeping its sort and column filters); the rows callback reads the search box.
clientside_callback(
    """async function (search) {
        const api = await dash_ag_grid.getApiAsync("customers-grid");
        api.purgeInfiniteCache();
        return search || "";
    }""",
    Output("customers-search-applied", "data"),
    Input("customers-search", "value"),
    prevent_initial_call=True,
)


@callback(
    Output("customers-nav", "pathname"),
    Input("customers-grid", "cellClicked"),
    Input("customers-grid", "eventData"),
    prevent_initial_call=True,
)
def on_customer_opened(cell, event):
    """A click on a row, or Enter on it, opens the customer."""
    clicked = "customers-grid.cellClicked" in ctx.triggered_prop_ids
    return opened_path("/customers/", cell, event, clicked)
