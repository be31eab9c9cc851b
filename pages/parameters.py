"""Accounts receivable parameters: the Customer approval section (admins)."""

import dash
import dash_bootstrap_components as dbc
from babel.numbers import format_decimal
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from components.feedback import error_alert, success_alert
from data import labels
from data.customer_groups import add_customer_group, customer_groups
from data.errors import readable
from data.i18n import N_, _, current_language
from data.parameters import (
    MAX_LINK_HOURS,
    PARAMETER_LABELS,
    parameters_view,
    update_parameters,
)
from data.reasons import add_reason, list_reasons, set_reason_active
from pages._support import act, attempt, guard, page_title, read

dash.register_page(__name__, path="/parameters", title=page_title(N_("Parameters")), order=5)

GATE = "params-gate"
JUSTIFY = "params-justify"


def yes_no() -> list[dict]:
    return [{"label": _("Yes"), "value": True}, {"label": _("No"), "value": False}]


def behavior_options():
    return [
        {
            "label": html.Span(
                [
                    html.Span(labels.DATA_ENTITY_BEHAVIOR_LABELS[key], className="fw-semibold"),
                    html.Span(
                        " — " + labels.DATA_ENTITY_BEHAVIOR_HELP[key], className="text-muted small"
                    ),
                ]
            ),
            "value": key,
        }
        for key in ("allow", "reject", "propose")
    ]


def field_table(fields):
    rows = [
        html.Tr(
            [
                html.Td(dbc.Checkbox(id={"type": GATE, "field": row.name}, value=row.gated,
                                     label=row.label, label_class_name="visually-hidden")),
                html.Td(dbc.Checkbox(id={"type": JUSTIFY, "field": row.name},
                                     value=row.needs_justification,
                                     label=_("{field}: justification at submit").format(
                                         field=row.label),
                                     label_class_name="visually-hidden")),  # fmt: skip
                html.Td(row.label),
                html.Td(_(row.group), className="text-muted"),
                html.Td(
                    dbc.Badge(
                        _("{pending} pending approval, {count} open").format(
                            pending=row.pending, count=row.open
                        ),
                        color="warning",
                        text_color="dark",
                        title=_("Open: not submitted, pending approval or sent back"),
                    )
                    if row.open
                    else "",
                    className="text-end",
                ),
            ]
        )
        for row in fields
    ]
    head = html.Thead(
        html.Tr(
            [
                html.Th(labels.ENABLE),
                html.Th(_("Justification"), title=_("A request that changes this field is "
                                                    "submitted with a justification")),
                html.Th(_("Field")),
                html.Th(_("Group")),
                html.Th(_("Proposals"), className="text-end"),
            ]
        )
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, id="params-fields")


def layout(**_query):
    denied = guard("parameters")
    if denied is not None:
        return denied
    view, alert = attempt(lambda: read(parameters_view))
    if view is None:
        return alert
    return html.Div(
        [
            html.H1(labels.PARAMETERS_PAGE, className="h3 mb-3"),
            html.Div(id="params-message"),
            dbc.Card(
                [
                    dbc.CardHeader(labels.CUSTOMER_APPROVAL, className="fw-semibold"),
                    dbc.CardBody(
                        [
                            dbc.Label(labels.ENABLE_CUSTOMER_APPROVALS, className="fw-semibold"),
                            dbc.RadioItems(
                                id="params-enabled",
                                options=yes_no(),
                                value=view.approvals_enabled,
                                inline=True,
                                className="mb-1",
                            ),
                            html.P(
                                _(
                                    "Off: every edit applies at once. Requests already pending "
                                    "finish their workflow."
                                ),
                                className="text-muted small",
                            ),
                            dbc.Label(labels.DATA_ENTITY_BEHAVIOR, className="fw-semibold"),
                            dbc.RadioItems(
                                id="params-behavior",
                                options=behavior_options(),
                                value=view.data_entity_behavior,
                                className="mb-3",
                            ),
                            dbc.Label(
                                labels.DISALLOW_APPROVAL_BY_SUBMITTER, className="fw-semibold"
                            ),
                            dbc.RadioItems(
                                id="params-disallow",
                                options=yes_no(),
                                value=view.disallow_submitter_approval,
                                inline=True,
                                className="mb-1",
                            ),
                            html.P(
                                _("Yes: whoever submits a request cannot approve it."),
                                className="text-muted small",
                            ),
                            html.H2(_("Customer fields"), className="h6 mt-3"),
                            html.P(
                                _(
                                    "Tick {enable} for each field whose changes need approval."
                                ).format(enable=labels.ENABLE),
                                className="text-muted small mb-2",
                            ),
                            field_table(view.fields),
                            dbc.Button(_("Save"), id="params-save", color="primary"),
                        ]
                    ),
                ],
                className="shadow-sm",
            ),
            links_card(view),
            reasons_card(),
            groups_card(),
        ]
    )


def links_card(view) -> dbc.Card:
    """How long the Approve and Reject links of an email work, and whether they ask the
    recipient to sign in first."""
    return dbc.Card(
        [
            dbc.CardHeader(_("Email decision links"), className="fw-semibold"),
            dbc.CardBody(
                [
                    html.Div(id="params-links-message"),
                    dbc.Label(PARAMETER_LABELS["link_hours"], html_for="params-link-hours",
                              className="fw-semibold"),  # fmt: skip
                    dbc.Input(id="params-link-hours", type="number", min=1, max=MAX_LINK_HOURS,
                              step=1, value=view.link_hours, className="mb-3",
                              style={"maxWidth": "10rem"}),  # fmt: skip
                    dbc.Label(PARAMETER_LABELS["link_requires_sign_in"], className="fw-semibold"),
                    dbc.RadioItems(id="params-link-sign-in", options=yes_no(), inline=True,
                                   value=view.link_requires_sign_in, className="mb-1"),  # fmt: skip
                    html.P(_("Yes: the link opens the sign-in page first; the decision is "
                             "still made by the person the email was sent to."),
                           className="text-muted small"),  # fmt: skip
                    dbc.Button(_("Save"), id="params-links-save", color="primary"),
                ]
            ),
        ],
        className="shadow-sm mt-3",
    )


def save_link_parameters(hours, sign_in):
    if isinstance(hours, float) and hours.is_integer():
        hours = int(hours)
    if not isinstance(hours, int) or isinstance(hours, bool):
        return error_alert(readable("link_hours", _("must be a whole number of hours")))
    changes, alert = attempt(
        lambda: act(update_parameters, link_hours=hours, link_requires_sign_in=sign_in)
    )
    return alert if changes is None else changes_alert(changes)


def changes_alert(changes: list[str]):
    """What a save changed, a line each (or that nothing did)."""
    if not changes:
        return success_alert(_("Nothing changed."))
    return success_alert(
        html.Div([html.Div(_("Saved:")), html.Ul([html.Li(c) for c in changes], className="mb-0")])
    )


@callback(
    Output("params-links-message", "children"),
    Input("params-links-save", "n_clicks"),
    State("params-link-hours", "value"),
    State("params-link-sign-in", "value"),
    prevent_initial_call=True,
)
def on_save_links(_clicks, hours, sign_in):
    return save_link_parameters(hours, sign_in)


def groups_table(rows) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(_("Code")), html.Th(_("Description")),
                               html.Th(_("Customers"), className="text-end")]))  # fmt: skip
    body = html.Tbody([
        html.Tr([html.Td(row.code), html.Td(row.description),
                 html.Td(format_decimal(row.customers, locale=current_language()),
                         className="text-end")])
        for row in rows
    ])  # fmt: skip
    return dbc.Table([head, body], size="sm", hover=True, className="mb-3", id="params-groups")


def labelled(label: str, input_id: str, length: int) -> list:
    return [dbc.Label(label, html_for=input_id, className="small mb-1"),
            dbc.Input(id=input_id, maxLength=length, autoComplete="off")]  # fmt: skip


def groups_card() -> dbc.Card:
    """The customer groups customers are put in (picked from this list, never typed)."""
    rows, alert = attempt(lambda: read(customer_groups))
    return dbc.Card(
        [
            dbc.CardHeader(_("Customer groups"), className="fw-semibold"),
            dbc.CardBody(
                [
                    html.P(_("A customer's group is picked from this list, in the editor and "
                             "in imports."), className="text-muted small"),  # fmt: skip
                    html.Div(alert or groups_table(rows or []), id="params-groups-list"),
                    html.Div(id="params-group-message"),
                    dbc.Row(
                        [
                            dbc.Col(labelled(_("Code"), "params-group-code", 10), sm=3),
                            dbc.Col(labelled(_("Description"), "params-group-description", 60),
                                    sm=6),  # fmt: skip
                            dbc.Col(dbc.Button(_("Add group"), id="params-group-add",
                                               color="secondary"), sm=3),  # fmt: skip
                        ],
                        className="g-2 align-items-end",
                    ),
                ]
            ),
        ],
        className="shadow-sm mt-3",
    )


def add_group(code, description) -> tuple:
    """(the message, the list of groups, what stays in the Code and Description boxes)."""
    added, alert = attempt(lambda: act(add_customer_group, code or "", description or ""))
    if added is None:
        return alert, no_update, no_update, no_update
    rows, list_alert = attempt(lambda: read(customer_groups))
    shown = list_alert or groups_table(rows or [])
    return success_alert(_("Customer group {code} added.").format(code=added)), shown, "", ""


@callback(
    Output("params-group-message", "children"),
    Output("params-groups-list", "children"),
    Output("params-group-code", "value"),
    Output("params-group-description", "value"),
    Input("params-group-add", "n_clicks"),
    State("params-group-code", "value"),
    State("params-group-description", "value"),
    prevent_initial_call=True,
)
def on_add_group(_clicks, code, description):
    return add_group(code, description)


def save_parameters(enabled, behavior, disallow, gate_values, gate_ids, justify_values=(),
                    justify_ids=()):  # fmt: skip
    gated = {item["field"]: bool(value) for item, value in zip(gate_ids, gate_values, strict=True)}
    justify = {item["field"]: bool(value)
               for item, value in zip(justify_ids or (), justify_values or (), strict=True)}
    changes, alert = attempt(
        lambda: act(
            update_parameters,
            approvals_enabled=enabled,
            data_entity_behavior=behavior,
            disallow_submitter_approval=disallow,
            gated=gated,
            justify=justify,
        )
    )
    return alert if changes is None else changes_alert(changes)


@callback(
    Output("params-message", "children"),
    Input("params-save", "n_clicks"),
    State("params-enabled", "value"),
    State("params-behavior", "value"),
    State("params-disallow", "value"),
    State({"type": GATE, "field": ALL}, "value"),
    State({"type": GATE, "field": ALL}, "id"),
    State({"type": JUSTIFY, "field": ALL}, "value"),
    State({"type": JUSTIFY, "field": ALL}, "id"),
    prevent_initial_call=True,
)
def on_save(_clicks, enabled, behavior, disallow, gate_values, gate_ids, justify_values=(),
            justify_ids=()):  # fmt: skip
    return save_parameters(enabled, behavior, disallow, gate_values, gate_ids, justify_values,
                           justify_ids)  # fmt: skip


REASON_TOGGLE = "params-reason-toggle"


def reasons_table(rows) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(_("Code")), html.Th(_("Reason")), html.Th(_("Status")),
                               html.Th(html.Span(_("Action"), className="visually-hidden"))]))
    body = html.Tbody([
        html.Tr([
            html.Td(row.code), html.Td(row.label),
            html.Td(_("In use") if row.active else _("Retired")),
            html.Td(dbc.Button(_("Retire") if row.active else _("Use again"),
                               id={"type": REASON_TOGGLE, "code": row.code}, size="sm",
                               color="link", className="p-0")),
        ])
        for row in rows
    ])  # fmt: skip
    return dbc.Table([head, body], size="sm", hover=True, className="mb-3", id="params-reasons")


def reasons_card() -> dbc.Card:
    """Why requests are rejected or sent back: while the list has reasons in use, every
    Reject and Request change names one."""
    rows, alert = attempt(lambda: read(list_reasons))
    return dbc.Card(
        [
            dbc.CardHeader(_("Reasons for rejecting or sending back"), className="fw-semibold"),
            dbc.CardBody(
                [
                    html.P(_("While this list has reasons in use, every Reject and Request "
                             "change names one; the Throughput page counts them."),
                           className="text-muted small"),  # fmt: skip
                    html.Div(alert or reasons_table(rows or []), id="params-reasons-list"),
                    html.Div(id="params-reason-message"),
                    dbc.Row(
                        [
                            dbc.Col(labelled(_("Code"), "params-reason-code", 20), sm=3),
                            dbc.Col(labelled(_("Reason"), "params-reason-label", 100), sm=6),
                            dbc.Col(dbc.Button(_("Add reason"), id="params-reason-add",
                                               color="secondary"), sm=3),  # fmt: skip
                        ],
                        className="g-2 align-items-end",
                    ),
                ]
            ),
        ],
        className="shadow-sm mt-3",
    )


def reasons_listed():
    rows, alert = attempt(lambda: read(list_reasons))
    return alert or reasons_table(rows or [])


def add_reason_response(code, label) -> tuple:
    """(the message, the list, what stays in the Code and Reason boxes)."""
    added, alert = attempt(lambda: act(add_reason, code, label))
    if added is None:
        return alert, no_update, no_update, no_update
    return (success_alert(_("Reason {code} added.").format(code=added.code)), reasons_listed(),
            "", "")  # fmt: skip


@callback(
    Output("params-reason-message", "children"),
    Output("params-reasons-list", "children"),
    Output("params-reason-code", "value"),
    Output("params-reason-label", "value"),
    Input("params-reason-add", "n_clicks"),
    State("params-reason-code", "value"),
    State("params-reason-label", "value"),
    prevent_initial_call=True,
)
def on_add_reason(_clicks, code, label):
    return add_reason_response(code, label)


@callback(
    Output("params-reason-message", "children", allow_duplicate=True),
    Output("params-reasons-list", "children", allow_duplicate=True),
    Input({"type": REASON_TOGGLE, "code": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def on_toggle_reason(_clicks):
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update, no_update
    return toggle_reason(ctx.triggered_id["code"])


def toggle_reason(code: str) -> tuple:
    rows, alert = attempt(lambda: read(list_reasons))
    current = next((row for row in rows or [] if row.code == code), None)
    if current is None:
        return alert, no_update
    done, alert = attempt(lambda: act(set_reason_active, code, not current.active))
    return (alert or None), reasons_listed()
