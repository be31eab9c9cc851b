"""Accounts receivable workflows: versions, the step designer, Activate, and a test panel."""

import dash
import dash_bootstrap_components as dbc
from dash import (
    ALL,
    MATCH,
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

from components.controls import labelled
from components.feedback import success_alert
from components.workflow import (
    ALWAYS,
    NOBODY,
    STEP,
    STEP_BUTTON,
    flow_figure,
    step_card,
    step_form,
    versions_table,
)
from data import labels
from data.errors import ValidationFailed
from data.fields import gateable_field_options
from data.i18n import N_, _, current_language
from data.preview import preview_version
from data.users import list_users
from data.workflows import (
    activate_version,
    create_definition,
    describe_condition,
    list_definitions,
    save_version_from_forms,
    step_spec_from_form,
    version_detail,
)
from pages._support import act, attempt, guard, page_title, read

dash.register_page(__name__, path="/workflows", title=page_title(N_("Workflows")), order=6)


def user_options() -> list[dict]:
    users, _alert = attempt(lambda: read(list_users))
    return [{"label": u.full_name, "value": u.id} for u in users or [] if u.is_active]


def layout(**_query):
    denied = guard("workflows")
    if denied is not None:
        return denied
    definitions, alert = attempt(lambda: read(list_definitions))
    if definitions is None:
        return alert
    active = next((v for d in definitions for v in d.versions if v.is_active), None)
    state = {"definition_id": active.definition_id, "version_id": active.id} if active else {}
    forms = [step_form(step) for step in active.steps] if active else []
    users = user_options()
    return html.Div(
        [
            dcc.Store(id="wf-state", data=state),
            html.Div(
                [
                    html.H1(labels.WORKFLOWS_PAGE, className="h3 mb-0"),
                    dbc.DropdownMenu(
                        [
                            dbc.DropdownMenuItem(
                                labels.PROPOSED_CUSTOMER_CHANGE_WORKFLOW, id="wf-new"
                            )
                        ],
                        label=labels.NEW,
                        color="primary",
                        className="ms-auto",
                    ),
                ],
                className="d-flex align-items-center mb-3",
            ),
            html.Div(id="wf-message"),
            dbc.Card(
                dbc.CardBody(
                    html.Div(
                        versions_table(definitions, state.get("version_id")), id="wf-versions-box"
                    )
                ),
                className="mb-3 shadow-sm",
            ),
            html.H2(id="wf-title", children=title(state, definitions), className="h5"),
            dcc.Graph(
                id="wf-flow",
                figure=flow_figure(flow_steps(forms)),
                config={"displayModeBar": False},
                className="mb-3 border rounded bg-white",
            ),
            html.Div(id="wf-steps", children=step_cards(forms, users)),
            html.Div(
                [
                    dbc.Button(_("Add step"), id="wf-add", color="secondary", outline=True),
                    dbc.Button(_("Save as new version"), id="wf-save", color="primary"),
                    dbc.Button(_("Activate"), id="wf-activate", color="success",
                               disabled=is_active(state, definitions)),  # fmt: skip
                ],
                className="d-flex gap-2 mb-4",
            ),
            test_panel(),
        ]
    )


def test_panel() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(_("Test this workflow"), className="fw-semibold"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(labelled(dbc.Input(id="wf-test-account"),
                                             _("Account number")), md=3),  # fmt: skip
                            dbc.Col(labelled(dbc.Select(id="wf-test-field",
                                                        options=gateable_field_options(),
                                                        value="credit_limit"), _("Field")),
                                    md=4),  # fmt: skip
                            dbc.Col(labelled(dbc.Input(id="wf-test-value"), _("New value")),
                                    md=3),  # fmt: skip
                            dbc.Col(dbc.Button(_("Test"), id="wf-test", color="secondary"), md=2),
                        ],
                        className="g-2 mb-3 align-items-end",
                    ),
                    html.Div(id="wf-test-result"),
                ]
            ),
        ],
        className="shadow-sm",
    )


def is_active(state: dict, definitions: list) -> bool:
    """Whether the version open in the designer is the active one (nothing to activate)."""
    return any(version.id == state.get("version_id") and version.is_active
               for definition in definitions for version in definition.versions)  # fmt: skip


def title(state: dict, definitions: list) -> str:
    for definition in definitions:
        for version in definition.versions:
            if version.id == state.get("version_id"):
                named = (
                    _("{workflow} · version {number} (active)")
                    if version.is_active
                    else _("{workflow} · version {number}")
                )
                return named.format(workflow=_(definition.name), number=version.number)
        if definition.id == state.get("definition_id"):
            return _("{workflow} · new version").format(workflow=_(definition.name))
    return _("Open a version, or choose New")


def step_cards(forms: list[dict], users: list[dict]) -> list:
    if not forms:
        return [html.P(_("No steps yet: choose Add step."), className="text-muted")]
    return [step_card(index, form, users, len(forms)) for index, form in enumerate(forms)]


def flow_steps(forms: list[dict]) -> list[dict]:
    steps = []
    for position, form in enumerate(forms, start=1):
        try:
            spec = step_spec_from_form(form, position, current_language())
            condition = describe_condition(spec.condition)
        except (ValidationFailed, KeyError):
            condition = _("(condition incomplete)")
        steps.append({"name": form.get("name") or "", "condition": condition})
    return steps


def forms_from(values: list, ids: list) -> list[dict]:
    """The designer's step forms, in order, from the step inputs on the page."""
    forms: dict[int, dict] = {}
    for component_id, value in zip(ids, values, strict=True):
        value = None if value in (ALWAYS, NOBODY) else value
        forms.setdefault(component_id["index"], {})[component_id["key"]] = value
    return [forms[index] for index in sorted(forms)]


def designer_action(trigger, state: dict, forms: list[dict]):
    """Apply one designer click; returns (forms, state, alert)."""
    if trigger == "wf-new":
        definition, alert = attempt(lambda: act(create_definition))
        if definition is None:
            return forms, state, alert
        return (
            [],
            {"definition_id": definition.id},
            success_alert(_("New workflow: add its steps, then save it as a version.")),
        )
    if isinstance(trigger, dict) and trigger.get("type") == "wf-open":
        version, alert = attempt(lambda: read(version_detail, trigger["version"]))
        if version is None:
            return forms, state, alert
        return (
            [step_form(step) for step in version.steps],
            {"definition_id": version.definition_id, "version_id": version.id},
            None,
        )
    if trigger == "wf-add":
        blank = {"name": _("Step {number}").format(number=len(forms) + 1), "policy": "single"}
        return [*forms, blank], state, None
    if isinstance(trigger, dict) and trigger.get("type") == STEP_BUTTON:
        index, action = trigger["index"], trigger["action"]
        forms = list(forms)
        if action == "remove":
            forms.pop(index)
        elif action == "up" and index > 0:
            forms[index - 1], forms[index] = forms[index], forms[index - 1]
        elif action == "down" and index < len(forms) - 1:
            forms[index + 1], forms[index] = forms[index], forms[index + 1]
        return forms, state, None
    if trigger == "wf-save":
        if not state.get("definition_id"):
            return forms, state, attempt(_nothing_open)[1]

        version, alert = attempt(
            lambda: act(save_version_from_forms, state["definition_id"], forms)
        )
        if version is None:
            return forms, state, alert
        return (
            forms,
            {**state, "version_id": version.id},
            success_alert(
                _("Saved as version {number}. Activate it to use it for new submissions.").format(
                    number=version.number
                )
            ),
        )
    if trigger == "wf-activate":
        if not state.get("version_id"):
            return forms, state, attempt(_nothing_open)[1]
        version, alert = attempt(lambda: act(activate_version, state["version_id"]))
        if version is None:
            return forms, state, alert
        return (
            forms,
            state,
            success_alert(
                _(
                    "Version {number} is active: new submissions follow it; requests already "
                    "submitted keep the version they were submitted under."
                ).format(number=version.number)
            ),
        )
    return forms, state, None


def _nothing_open():
    raise ValidationFailed(
        {"workflow": _("open a saved version first")}, _("Open or save a version first.")
    )


@callback(
    Output("wf-steps", "children"),
    Output("wf-state", "data"),
    Output("wf-message", "children"),
    Output("wf-versions-box", "children"),
    Output("wf-flow", "figure"),
    Output("wf-title", "children"),
    Output("wf-activate", "disabled"),
    Input("wf-new", "n_clicks"),
    Input({"type": "wf-open", "version": ALL}, "n_clicks"),
    Input("wf-add", "n_clicks"),
    Input({"type": STEP_BUTTON, "index": ALL, "action": ALL}, "n_clicks"),
    Input("wf-save", "n_clicks"),
    Input("wf-activate", "n_clicks"),
    State({"type": STEP, "index": ALL, "key": ALL}, "value"),
    State({"type": STEP, "index": ALL, "key": ALL}, "id"),
    State("wf-state", "data"),
    prevent_initial_call=True,
)
def on_designer(*args):
    values, ids, state = args[-3:]
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        raise dash.exceptions.PreventUpdate
    return designer_response(ctx.triggered_id, state or {}, forms_from(values, ids))


def designer_response(trigger, state: dict, forms: list[dict]) -> tuple:
    # who is asking comes first: nothing of the forms is read for someone who may not
    definitions, list_alert = attempt(lambda: read(list_definitions))
    if definitions is None:
        return no_update, no_update, list_alert, no_update, no_update, no_update, no_update
    forms, state, alert = designer_action(trigger, state, forms)
    definitions, list_alert = attempt(lambda: read(list_definitions))  # the action may add one
    if definitions is None:
        return no_update, no_update, list_alert, no_update, no_update, no_update, no_update
    return (
        step_cards(forms, user_options()),
        state,
        alert,
        versions_table(definitions, state.get("version_id")),
        flow_figure(flow_steps(forms)),
        title(state, definitions),
        is_active(state, definitions),
    )


def test_result(version_id, account, field, value):
    if not version_id:
        return attempt(_nothing_open)[1]
    steps, alert = attempt(lambda: read(preview_version, version_id, account or "", {field: value}))
    if steps is None:
        return alert
    rows = [
        html.Tr(
            [
                html.Td(step.name),
                html.Td(
                    dbc.Badge(_("Runs"), color="primary")
                    if step.runs
                    else dbc.Badge(_("Skipped"), color="light", text_color="secondary")
                ),
                html.Td(step.condition, className="text-muted"),
                html.Td(", ".join(step.asked) if step.runs else ""),
            ]
        )
        for step in steps
    ]
    head = html.Thead(
        html.Tr([html.Th(h) for h in (_("Step"), "", _("Runs when"), _("Would ask"))])
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", id="wf-test-table")


@callback(
    Output("wf-test-result", "children"),
    Input("wf-test", "n_clicks"),
    State("wf-state", "data"),
    State("wf-test-account", "value"),
    State("wf-test-field", "value"),
    State("wf-test-value", "value"),
    prevent_initial_call=True,
)
def on_test(_clicks, state, account, field, value):
    return test_result((state or {}).get("version_id"), account, field, value)


# the percentage applies to the Percentage policy only
clientside_callback(
    """function(policy) { return policy !== "percentage"; }""",
    Output({"type": STEP, "index": MATCH, "key": "percentage"}, "disabled"),
    Input({"type": STEP, "index": MATCH, "key": "policy"}, "value"),
)
