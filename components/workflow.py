"""The workflow designer's pieces: step cards, the version list, the flow diagram."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from data.fields import FIELD_OPTIONS_GATEABLE
from data.labels import COMPLETION_POLICY_LABELS, ROLE_LABELS
from data.models import ROLES

STEP = "wf-step"
STEP_BUTTON = "wf-step-button"
ALWAYS = "always"
NOBODY = "-"
STEP_KEYS = (
    "name",
    "assignee_user_ids",
    "assignee_role",
    "policy",
    "percentage",
    "condition_kind",
    "condition_field",
    "condition_value",
    "time_limit_hours",
    "escalate_to_user_id",
    "escalate_to_role",
)
CONDITION_OPTIONS = [
    {"label": "Always", "value": ALWAYS},
    {"label": "Field is among the changed fields", "value": "changed"},
    {"label": "Field increases by more than (amount)", "value": "increase"},
    {"label": "Field decreases by more than (amount)", "value": "decrease"},
    {"label": "Field increases by more than (%)", "value": "increase_pct"},
    {"label": "Field decreases by more than (%)", "value": "decrease_pct"},
]
ROLE_OPTIONS = [{"label": "—", "value": NOBODY}] + [
    {"label": ROLE_LABELS[role], "value": role} for role in ROLES
]
POLICY_OPTIONS = [{"label": label, "value": key} for key, label in COMPLETION_POLICY_LABELS.items()]
FIELD_OPTIONS = FIELD_OPTIONS_GATEABLE


def _control(component, label: str, width: int = 6) -> dbc.Col:
    return dbc.Col(
        [dbc.Label(label, className="small mb-1"), component], md=width, className="mb-2"
    )


def step_card(index: int, form: dict, user_options: list[dict], count: int) -> dbc.Card:
    def sid(key: str) -> dict:
        return {"type": STEP, "index": index, "key": key}

    def button(action: str, text: str, disabled: bool = False) -> dbc.Button:
        return dbc.Button(
            text,
            id={"type": STEP_BUTTON, "index": index, "action": action},
            color="link",
            size="sm",
            disabled=disabled,
            className="px-1",
        )

    header = html.Div(
        [
            html.Span(f"Step {index + 1}", className="fw-semibold me-auto"),
            button("up", "↑ Up", disabled=index == 0),
            button("down", "↓ Down", disabled=index == count - 1),
            button("remove", "Remove"),
        ],
        className="d-flex align-items-center",
    )
    body = dbc.Row(
        [
            _control(dbc.Input(id=sid("name"), value=form.get("name") or ""), "Name"),
            _control(
                dbc.Select(
                    id=sid("policy"), options=POLICY_OPTIONS, value=form.get("policy") or "single"
                ),
                "Completion policy",
                3,
            ),
            _control(
                dbc.Input(
                    id=sid("percentage"),
                    value=form.get("percentage") or "",
                    placeholder="for Percentage",
                ),
                "Percentage",
                3,
            ),
            _control(
                dcc.Dropdown(
                    id=sid("assignee_user_ids"),
                    options=user_options,
                    multi=True,
                    value=form.get("assignee_user_ids") or [],
                    placeholder="Named users",
                ),
                "Assignees: users",
                6,
            ),
            _control(
                dbc.Select(
                    id=sid("assignee_role"),
                    options=ROLE_OPTIONS,
                    value=form.get("assignee_role") or NOBODY,
                ),
                "and/or everyone with the role",
                6,
            ),
            _control(
                dbc.Select(
                    id=sid("condition_kind"),
                    options=CONDITION_OPTIONS,
                    value=form.get("condition_kind") or ALWAYS,
                ),
                "Runs when",
                6,
            ),
            _control(
                dbc.Select(
                    id=sid("condition_field"),
                    options=FIELD_OPTIONS,
                    value=form.get("condition_field"),
                ),
                "Field",
                3,
            ),
            _control(
                dbc.Input(id=sid("condition_value"), value=form.get("condition_value") or ""),
                "Amount or %",
                3,
            ),
            _control(
                dbc.Input(
                    id=sid("time_limit_hours"),
                    value=form.get("time_limit_hours") or "",
                    placeholder="none",
                ),
                "Time limit (hours)",
                4,
            ),
            _control(
                dbc.Select(
                    id=sid("escalate_to_user_id"),
                    options=[{"label": "—", "value": NOBODY}, *user_options],
                    value=form.get("escalate_to_user_id") or NOBODY,
                ),
                "Escalate to user",
                4,
            ),
            _control(
                dbc.Select(
                    id=sid("escalate_to_role"),
                    options=ROLE_OPTIONS,
                    value=form.get("escalate_to_role") or NOBODY,
                ),
                "or role",
                4,
            ),
        ]
    )
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="mb-3 shadow-sm")


def versions_table(definitions: list, open_version_id: int | None) -> dbc.Table:
    rows = []
    for definition in definitions:
        for version in reversed(definition.versions):
            rows.append(
                html.Tr(
                    [
                        html.Td(definition.name),
                        html.Td(f"Version {version.number}"),
                        html.Td(f"{len(version.steps)} step(s)"),
                        html.Td(dbc.Badge("Active", color="success") if version.is_active else ""),
                        html.Td(
                            dbc.Button(
                                "Open",
                                id={"type": "wf-open", "version": version.id},
                                size="sm",
                                color="primary" if version.id == open_version_id else "light",
                            ),
                            className="text-end",
                        ),
                    ]
                )
            )
    if not rows:
        return html.P("No workflow yet: choose New.", className="text-muted")
    return dbc.Table(html.Tbody(rows), size="sm", hover=True, className="mb-0", id="wf-versions")


def flow_figure(steps: list[dict]) -> go.Figure:
    """The path a request takes: one box a step, conditional steps dashed."""
    figure = go.Figure()
    names = ["Submitted", *[s["name"] or f"Step {i + 1}" for i, s in enumerate(steps)], "Applied"]
    notes = ["", *[s["condition"] for s in steps], ""]
    for position, (name, note) in enumerate(zip(names, notes, strict=True)):
        conditional = bool(note) and note != "Always"
        figure.add_shape(
            type="rect",
            x0=position - 0.4,
            x1=position + 0.4,
            y0=-0.3,
            y1=0.3,
            line={
                "color": "#6c757d" if position in (0, len(names) - 1) else "#0d6efd",
                "dash": "dash" if conditional else "solid",
                "width": 2,
            },
            fillcolor="#f8f9fa",
            layer="below",
        )
        figure.add_annotation(x=position, y=0.05, text=f"<b>{name}</b>", showarrow=False)
        if note:
            figure.add_annotation(
                x=position,
                y=-0.15,
                text=note,
                showarrow=False,
                font={"size": 10, "color": "#6c757d"},
            )
        if position:
            figure.add_annotation(
                x=position - 0.4,
                y=0,
                ax=position - 0.6,
                ay=0,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=2,
                text="",
            )
    figure.update_xaxes(visible=False, range=[-0.6, len(names) - 0.4])
    figure.update_yaxes(visible=False, range=[-0.45, 0.45])
    figure.update_layout(
        height=170,
        margin={"l": 5, "r": 5, "t": 5, "b": 5},
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    return figure
