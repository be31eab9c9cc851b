"""Webhooks: endpoints that other systems listen on, and every delivery to them (admins)."""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from components.controls import labelled, scroll_region
from components.feedback import success_alert
from data.i18n import N_, _
from data.localtime import local_text
from data.outbox import EVENT_KINDS, EVENT_LABELS
from data.webhooks import add_endpoint, delivery_log, list_endpoints, replay, set_endpoint_active
from pages._support import act, attempt, guard, page_title, read, viewer_zone

dash.register_page(__name__, path="/webhooks", title=page_title(N_("Webhooks")), order=8)

DELIVERY_STATES = {"pending": N_("Pending"), "delivered": N_("Delivered"), "failed": N_("Failed")}


def endpoints_table(endpoints):
    if not endpoints:
        return html.P(_("No endpoints yet."), className="text-muted mb-0")
    rows = [
        html.Tr([
            html.Td(html.Code(endpoint.url, className="text-break")),
            html.Td(", ".join(EVENT_LABELS.get(kind, kind) for kind in endpoint.events),
                    className="small"),
            html.Td(_("Active") if endpoint.is_active else _("Paused")),
            html.Td(dbc.Button(
                [_("Pause") if endpoint.is_active else _("Resume"),
                 html.Span(f" {endpoint.url}", className="visually-hidden")],
                id={"type": "hook-toggle", "id": endpoint.id}, size="sm", outline=True,
                color="secondary")),
        ])
        for endpoint in endpoints
    ]  # fmt: skip
    head = html.Thead(html.Tr([html.Th(h) for h in (_("Address"), _("Events"), _("Status"), "")]))
    return scroll_region(dbc.Table([head, html.Tbody(rows)], size="sm", className="mb-0",
                                   id="hooks-table"), _("Endpoints"))  # fmt: skip


def deliveries_table(deliveries, zone):
    if not deliveries:
        return html.P(_("Nothing delivered yet."), className="text-muted mb-0")
    rows = [
        html.Tr([
            html.Td(local_text(delivery.event.created_at, zone), className="text-nowrap"),
            html.Td(EVENT_LABELS.get(delivery.event.kind, delivery.event.kind)),
            html.Td(delivery.event.account or ""),
            html.Td(html.Code(delivery.endpoint.url, className="small text-break")),
            html.Td(_(DELIVERY_STATES.get(delivery.state, delivery.state)),
                    className="text-danger" if delivery.state == "failed" else ""),
            html.Td(str(delivery.attempts)),
            html.Td(str(delivery.last_status or delivery.last_error or ""), className="small"),
            html.Td(dbc.Button([_("Replay"), html.Span(f" {delivery.event.event_id}",
                                                       className="visually-hidden")],
                               id={"type": "hook-replay", "id": delivery.id}, size="sm",
                               outline=True, color="primary")
                    if delivery.state != "pending" else None),
        ])
        for delivery in deliveries
    ]  # fmt: skip
    headers = (_("Event time"), _("Event"), _("Customer"), _("Address"), _("Status"),
               _("Attempts"), _("Last answer"), "")  # fmt: skip
    return scroll_region(
        dbc.Table([html.Thead(html.Tr([html.Th(h) for h in headers])), html.Tbody(rows)],
                  size="sm", className="mb-0", id="deliveries-table"),
        _("Deliveries"),
    )  # fmt: skip


def endpoints_view():
    endpoints, alert = attempt(lambda: read(list_endpoints))
    return alert or endpoints_table(endpoints)


def deliveries_view():
    deliveries, alert = attempt(lambda: read(delivery_log))
    return alert or deliveries_table(deliveries, viewer_zone())


def layout(**_query):
    denied = guard("webhooks")
    if denied is not None:
        return denied
    register = dbc.Card(
        [
            dbc.CardHeader(_("New endpoint"), className="fw-semibold"),
            dbc.CardBody([
                *labelled(dbc.Input(id="hook-url", type="url", maxLength=500,
                                    placeholder="https://crm.example.com/countersign"),
                          _("Address"), small=False),
                dbc.Label(_("Events"), className="mt-2"),
                dbc.Checklist(id="hook-events",
                              options=[{"label": EVENT_LABELS[kind], "value": kind}
                                       for kind in EVENT_KINDS],
                              value=list(EVENT_KINDS), className="mb-3"),
                dbc.Button(_("Add endpoint"), id="hook-add", color="primary"),
                html.Div(id="hook-made", className="mt-3"),
            ]),
        ],
        className="shadow-sm mb-3",
    )  # fmt: skip
    return html.Div(
        [
            html.H1(_("Webhooks"), className="h3 mb-3"),
            html.P(_("Each endpoint is sent the events it chose, as JSON, signed with its "
                     "secret; a failed delivery is retried for 24 hours."),
                   className="text-muted"),  # fmt: skip
            html.Div(id="hook-message"),
            dbc.Row(
                [
                    dbc.Col(register, lg=4),
                    dbc.Col(dbc.Card([dbc.CardHeader(_("Endpoints"), className="fw-semibold"),
                                      dbc.CardBody(html.Div(endpoints_view(), id="hook-list"))],
                                     className="shadow-sm mb-3"), lg=8),  # fmt: skip
                ]
            ),
            dbc.Card(
                [dbc.CardHeader(_("Deliveries"), className="fw-semibold"),
                 dbc.CardBody(html.Div(deliveries_view(), id="hook-deliveries"))],
                className="shadow-sm",
            ),  # fmt: skip
        ]
    )


@callback(
    Output("hook-made", "children"),
    Output("hook-list", "children", allow_duplicate=True),
    Input("hook-add", "n_clicks"),
    State("hook-url", "value"),
    State("hook-events", "value"),
    prevent_initial_call=True,
)
def on_add(_clicks, url, events):
    """The endpoint's secret is shown once, for the receiver to check signatures with."""
    made, alert = attempt(lambda: act(add_endpoint, url or "", list(events or [])))
    if made is None:
        return alert, no_update
    return (
        dbc.Alert([
            html.Div(_("Added. Give the receiver this secret to check signatures with:"),
                     className="fw-semibold"),
            html.Code(made.secret, id="hook-secret", className="d-block text-break mt-2"),
        ], color="success", dismissable=True),
        endpoints_view(),
    )  # fmt: skip


@callback(
    Output("hook-message", "children", allow_duplicate=True),
    Output("hook-list", "children", allow_duplicate=True),
    Output("hook-deliveries", "children", allow_duplicate=True),
    Input({"type": "hook-toggle", "id": ALL}, "n_clicks"),
    Input({"type": "hook-replay", "id": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def on_row_action(toggles, replays):
    target = ctx.triggered_id
    if not isinstance(target, dict) or not any((toggles or []) + (replays or [])):
        return no_update, no_update, no_update
    return row_action(target.get("type"), target.get("id"))


def row_action(kind, item_id) -> tuple:
    if type(item_id) is not int:
        return no_update, no_update, no_update
    if kind == "hook-replay":
        done, alert = attempt(lambda: act(replay, item_id))
        message = _("The delivery will be sent again.")
    else:
        done, alert = attempt(lambda: act(set_endpoint_active, item_id))
        message = _("Saved.")
    if done is None:
        return alert, no_update, no_update
    return success_alert(message), endpoints_view(), deliveries_view()
