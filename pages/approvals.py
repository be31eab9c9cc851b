"""The approver's inbox: what waits for me, filters, and bulk approve."""

import json

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

from components.controls import segmented
from components.editor import EVENT_LABELS
from components.feedback import error_alert
from components.grid import open_on_enter, opened_path, row_link
from data.customer_groups import customer_groups
from data.fields import gateable_field_options
from data.i18n import N_, _, ngettext
from data.inbox import (
    INBOX_BLOCK,
    INBOX_MOST,
    TAB_LABELS,
    TABS,
    bulk_approve,
    count_label,
    inbox_counts,
    inbox_page,
)
from data.localtime import local_text
from pages._support import (
    attempt,
    database,
    guard,
    page_title,
    read,
    signed_in_user_id,
)

dash.register_page(__name__, path="/approvals", title=page_title(N_("Approvals")), order=2)


ANY = "*"
"""The filters' first choice: any field, any customer group."""


def columns() -> list[dict]:
    return [
        {"field": "request_id", "headerName": "#", "width": 80, **row_link("/requests/")},
        {"field": "account", "headerName": _("Customer"), "width": 115},
        {"field": "customer_name", "headerName": _("Name"), "flex": 1, "minWidth": 170},
        {"field": "changes", "headerName": _("Changes"), "flex": 2, "minWidth": 340,
         "wrapText": True, "autoHeight": True, "cellClass": "inbox-changes"},
        {"field": "step", "headerName": _("Step"), "width": 140},
        {"field": "since", "headerName": _("Since"), "width": 175,
         "headerTooltip": _("When it reached you (on Decided by me: when you decided)")},
        {"field": "submitter", "headerName": _("Submitter"), "width": 140},
        {"field": "submitted_at", "headerName": _("Submitted"), "width": 175},
        {
            "field": "status",
            "headerName": "",
            "width": 130,
            "cellClassRules": {
                "text-danger fw-semibold": f"params.value == {json.dumps(_('Overdue'))}"
            },
        },
    ]  # fmt: skip


def layout(**_query):
    denied = guard("approvals")
    if denied is not None:
        return denied
    groups, _alert = attempt(lambda: read(customer_groups))
    return html.Div(
        [
            # the filters' names for screen readers (each shows its name as its first choice)
            *[dbc.Label(text, html_for=control, className="visually-hidden")
              for control, text in (("inbox-field", _("Field")),
                                    ("inbox-group", _("Customer group")),
                                    ("inbox-search", _("Search customer")))],  # fmt: skip
            dcc.Location(id="inbox-nav", refresh="callback-nav"),
            dcc.Store(id="inbox-refresh", data=0),
            dcc.Store(id="inbox-shown", data=INBOX_BLOCK),
            html.H1(_("Approvals"), className="h3 mb-3"),
            segmented("inbox-tabs", [{"label": TAB_LABELS[tab], "value": tab} for tab in TABS],
                      "waiting", _("Show")),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Select(
                            id="inbox-field",
                            options=[{"label": _("Any field"), "value": ANY}]
                            + gateable_field_options(),
                            value=ANY,
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Select(
                            id="inbox-group",
                            options=[{"label": _("Any customer group"), "value": ANY}]
                            + [{"label": row.code, "value": row.code} for row in groups or []],
                            value=ANY,
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Input(
                            id="inbox-search",
                            type="search",
                            debounce=True,
                            placeholder=_("Search customer"),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        dbc.Switch(id="inbox-overdue", label=_("Overdue only"), value=False),
                        md=2,
                        className="pt-2",
                    ),
                    dbc.Col(
                        dbc.Button(
                            bulk_label(0),
                            id="inbox-bulk",
                            color="success",
                            outline=True,
                            disabled=True,
                        ),
                        md=2,
                        className="text-md-end d-none d-sm-block",  # ticking is the grid's
                    ),
                ],
                className="g-2 mb-3",
            ),
            html.Div(id="inbox-message"),
            html.Div(id="inbox-note"),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle(_("Approve these requests?"),
                                                   id="inbox-confirm-title")),
                    dbc.ModalBody(id="inbox-confirm-body"),
                    dbc.ModalFooter(
                        [
                            dbc.Button(_("Cancel"), id="inbox-confirm-cancel",
                                       color="secondary", outline=True),
                            dbc.Button(_("Approve"), id="inbox-confirm", color="success"),
                        ]  # fmt: skip
                    ),
                ],
                id="inbox-confirm-dialog",
                labelledby="inbox-confirm-title",
                is_open=False,
                size="lg",
                scrollable=True,
            ),
            dag.AgGrid(
                id="inbox-grid",
                columnDefs=columns(),
                rowData=[],
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={
                    "rowSelection": {
                        "mode": "multiRow",
                        "checkboxes": True,
                        "headerCheckbox": True,
                        "enableClickSelection": False,
                    },
                    "animateRows": False,
                },
                getRowId="params.data.row_id",
                eventListeners=open_on_enter("/requests/", "request_id"),
                style={"height": "calc(100vh - 300px)", "minHeight": "360px"},
                className="shadow-sm d-none d-sm-block",
            ),
            # on a phone the same requests are cards, one below the other, each a link
            html.Ol(id="inbox-cards", className="list-unstyled d-sm-none mb-0",
                    **{"aria-label": _("Requests")}),
            dcc.Store(id="inbox-empty", data=_("No requests here.")),
            dbc.Button(_("Show {count} more").format(count=INBOX_BLOCK), id="inbox-more",
                       color="secondary", outline=True, className="d-none"),
            html.P(
                _("Select a request, or press Enter on it, to open it; tick boxes to approve "
                  "several at once."),
                className="text-muted small mt-2 d-none d-sm-block",
            ),
        ]
    )


def inbox_rows(tab, field, group, overdue, search, shown=INBOX_BLOCK, counted=True):
    """(grid rows, tab labels, an alert, a note that more are there, whether more are
    there) for the first ``shown`` requests of the tab; the labels, with each tab's count,
    are None unless ``counted``."""
    shown = shown if isinstance(shown, int) and 0 < shown <= INBOX_MOST else INBOX_BLOCK
    found, alert = attempt(
        lambda: read(
            inbox_page,
            tab or "waiting",
            field=None if field in (None, "", ANY) else field,
            customer_group=None if group in (None, "", ANY) else group,
            overdue_only=bool(overdue),
            search=search,
            limit=shown + 1,
            counted=counted,
        )
    )
    if found is None:  # the tabs' counts still show
        rows, zone = None, None
        counts = attempt(lambda: read(inbox_counts))[0] if counted else None
    else:
        rows, counts, zone = found
    labels = ([f"{TAB_LABELS[t]} ({count_label((counts or {}).get(t, 0))})" for t in TABS]
              if counted else None)  # fmt: skip
    if rows is None:
        return [], labels, alert, None, False
    more = len(rows) > shown
    rows = rows[:shown]
    data = [
        {
            "row_id": str(r.request_id),
            "request_id": r.request_id,
            "round": r.round,
            "account": r.account,
            "customer_name": r.customer_name,
            "submitter": r.submitter,
            "since": local_text(r.since, zone),
            "submitted_at": local_text(r.submitted_at, zone),
            "step": r.step,
            "changes": "\n".join(r.changes),
            "change_lines": r.changes,
            "status": _("Overdue") if r.overdue else EVENT_LABELS.get(r.decision or "", ""),
            "overdue": r.overdue,
        }
        for r in rows
    ]
    note = None
    if more:
        text = (
            _("Showing the {count} most recently decided; show more below, or choose a field, "
              "a customer group or search to find others.")
            if tab == "decided"
            else _("Showing the {count} that have waited longest; show more below, or choose "
                   "a field, a customer group or search to find others.")
        )  # fmt: skip
        note = html.P(
            text.format(count=count_label(len(rows))),
            className="text-muted small mb-2",
            id="inbox-limited",
        )
    return data, labels, None, note, more and shown < INBOX_MOST


# on a narrow screen the same rows are cards, drawn in the browser (assets/inbox.js)
clientside_callback(
    ClientsideFunction(namespace="countersign", function_name="inboxCards"),
    Output("inbox-cards", "children"),
    Input("inbox-grid", "rowData"),
    State("inbox-empty", "data"),
)


@callback(
    Output("inbox-grid", "rowData"),
    Output("inbox-tabs", "options"),
    Output("inbox-message", "children", allow_duplicate=True),
    Output("inbox-note", "children"),
    Output("inbox-shown", "data"),
    Output("inbox-more", "className"),
    Input("inbox-tabs", "value"),
    Input("inbox-field", "value"),
    Input("inbox-group", "value"),
    Input("inbox-overdue", "value"),
    Input("inbox-search", "value"),
    Input("inbox-refresh", "data"),
    Input("inbox-more", "n_clicks"),
    State("inbox-shown", "data"),
    prevent_initial_call="initial_duplicate",
)
def on_filters(tab, field, group, overdue, search, _refresh, _more, shown):
    return inbox_answer(ctx.triggered_id, tab, field, group, overdue, search, shown)


def inbox_answer(trigger, tab, field, group, overdue, search, shown):
    """The first block of the tab's requests; Show more lists the next block too (a refresh
    after a decision keeps what was shown; another filter starts from the first block).

    The tabs' counts do not depend on the tab, the filters or the search: they are counted
    as the page opens and after each decision made on it, not again for each of those."""
    if trigger == "inbox-more" and isinstance(shown, int):
        shown += INBOX_BLOCK
    elif trigger != "inbox-refresh" or not isinstance(shown, int):
        shown = INBOX_BLOCK
    counted = trigger in (None, "inbox-refresh")
    data, labels, alert, note, more = inbox_rows(tab, field, group, overdue, search, shown,
                                                 counted)  # fmt: skip
    options = no_update if labels is None else [
        {"label": label, "value": tab} for tab, label in zip(TABS, labels, strict=True)]
    return (data, options, alert if alert else no_update, note, shown,
            "mt-2" if more else "d-none")  # fmt: skip


def bulk_summary(selected) -> html.Div:
    chosen = [
        (row["request_id"], row["round"])
        for row in selected or []
        if isinstance(row, dict)
        and all(type(row.get(key)) is int for key in ("request_id", "round"))
    ]
    if not chosen:
        return error_alert(_("Select the requests to approve first."))
    results, alert = attempt(lambda: bulk_approve(database(), signed_in_user_id(), chosen))
    if results is None:
        return alert
    passed = [r for r in results if r.approved]
    failed = [r for r in results if not r.approved]
    items = [html.Li(f"#{r.request_id} {r.account}: {r.message}") for r in failed + passed]
    return dbc.Alert(
        [
            html.Div(
                _("Approved {passed} of {total}.").format(passed=len(passed), total=len(results))
            ),
            html.Ul(items, className="mb-0"),
        ],
        color="success" if not failed else "warning",
        dismissable=True,
        id="inbox-bulk-result",
    )


def bulk_label(count: int) -> str:
    if not count:
        return _("Approve selected")
    return ngettext("Approve {count} request", "Approve {count} requests", count).format(
        count=count
    )


@callback(
    Output("inbox-bulk", "children"),
    Output("inbox-bulk", "disabled"),
    Output("inbox-confirm", "children"),
    Input("inbox-grid", "selectedRows"),
)
def on_selection(selected):
    """Approving in bulk is offered only for ticked rows, and says how many."""
    count = len([row for row in selected or [] if isinstance(row, dict)])
    return bulk_label(count), not count, bulk_label(count)


def confirmation(selected) -> list:
    """Every ticked request with each field's old → new value, to approve knowingly."""
    rows = [row for row in selected or [] if isinstance(row, dict)]
    return [
        html.P(_("Each request is approved as listed here; a request that changed since "
                 "this list was drawn is not approved."), className="text-muted small"),
        html.Ul(
            [
                html.Li(
                    [
                        html.Strong(f"#{row.get('request_id')} {row.get('account', '')} "
                                    f"{row.get('customer_name', '')}"),
                        html.Ul([html.Li(str(line)) for line in row.get("change_lines") or []]),
                    ]
                )
                for row in rows
            ],
            className="list-unstyled mb-0",
            id="inbox-confirm-list",
        ),
    ]  # fmt: skip


@callback(
    Output("inbox-confirm-dialog", "is_open"),
    Output("inbox-confirm-body", "children"),
    Input("inbox-bulk", "n_clicks"),
    Input("inbox-confirm-cancel", "n_clicks"),
    State("inbox-grid", "selectedRows"),
    prevent_initial_call=True,
)
def on_bulk_asked(_ask, _cancel, selected):
    if ctx.triggered_id != "inbox-bulk" or not selected:
        return False, no_update
    return True, confirmation(selected)


@callback(
    Output("inbox-message", "children", allow_duplicate=True),
    Output("inbox-refresh", "data"),
    Output("inbox-confirm-dialog", "is_open", allow_duplicate=True),
    Input("inbox-confirm", "n_clicks"),
    State("inbox-grid", "selectedRows"),
    State("inbox-refresh", "data"),
    prevent_initial_call=True,
)
def on_bulk(_clicks, selected, refresh):
    return bulk_summary(selected), (refresh or 0) + 1, False


@callback(
    Output("inbox-nav", "pathname"),
    Input("inbox-grid", "cellClicked"),
    Input("inbox-grid", "eventData"),
    prevent_initial_call=True,
)
def on_open(cell, event):
    """A click on a row, or Enter on it, opens its request."""
    clicked = "inbox-grid.cellClicked" in ctx.triggered_prop_ids
    return opened_path("/requests/", cell, event, clicked)
