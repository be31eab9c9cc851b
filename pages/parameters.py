"""Accounts receivable parameters: the Customer approval section (admins)."""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, html

from components.feedback import success_alert
from data import labels
from data.i18n import N_, _
from data.parameters import parameters_view, update_parameters
from pages._support import act, attempt, guard, page_title, read

dash.register_page(__name__, path="/parameters", title=page_title(N_("Parameters")), order=5)

GATE = "params-gate"


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
                html.Td(dbc.Checkbox(id={"type": GATE, "field": row.name}, value=row.gated)),
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
        ]
    )


def save_parameters(enabled, behavior, disallow, gate_values, gate_ids):
    gated = {item["field"]: bool(value) for item, value in zip(gate_ids, gate_values, strict=True)}
    changes, alert = attempt(
        lambda: act(
            update_parameters,
            approvals_enabled=enabled,
            data_entity_behavior=behavior,
            disallow_submitter_approval=disallow,
            gated=gated,
        )
    )
    if changes is None:
        return alert
    if not changes:
        return success_alert(_("Nothing changed."))
    return success_alert(
        html.Div([html.Div(_("Saved:")), html.Ul([html.Li(c) for c in changes], className="mb-0")])
    )


@callback(
    Output("params-message", "children"),
    Input("params-save", "n_clicks"),
    State("params-enabled", "value"),
    State("params-behavior", "value"),
    State("params-disallow", "value"),
    State({"type": GATE, "field": ALL}, "value"),
    State({"type": GATE, "field": ALL}, "id"),
    prevent_initial_call=True,
)
def on_save(_clicks, enabled, behavior, disallow, gate_values, gate_ids):
    return save_parameters(enabled, behavior, disallow, gate_values, gate_ids)
