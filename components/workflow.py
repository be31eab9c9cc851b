"""The workflow designer's pieces: step cards, the version list, the flow diagram."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from components.controls import labelled
from data.fields import gateable_field_options
from data.i18n import N_, Labels, _, ngettext
from data.labels import COMPLETION_POLICY_LABELS, ROLE_LABELS
from data.models import ROLES, WorkflowStep

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
CONDITION_LABELS = Labels(
    {
        ALWAYS: N_("Always"),
        "changed": N_("Field is among the changed fields"),
        "increase": N_("Field increases by more than (amount)"),
        "decrease": N_("Field decreases by more than (amount)"),
        "increase_pct": N_("Field increases by more than (%)"),
        "decrease_pct": N_("Field decreases by more than (%)"),
    }
)


def condition_options() -> list[dict]:
    return [{"label": label, "value": key} for key, label in CONDITION_LABELS.items()]


def role_options() -> list[dict]:
    return [{"label": "—", "value": NOBODY}] + [
        {"label": ROLE_LABELS[role], "value": role} for role in ROLES
    ]


def policy_options() -> list[dict]:
    return [{"label": label, "value": key} for key, label in COMPLETION_POLICY_LABELS.items()]


def _control(component, label: str, width: int = 6) -> dbc.Col:
    return dbc.Col(labelled(component, label), md=width, className="mb-2")


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
            html.Span(_("Step {number}").format(number=index + 1), className="fw-semibold me-auto"),
            button("up", _("↑ Up"), disabled=index == 0),
            button("down", _("↓ Down"), disabled=index == count - 1),
            button("remove", _("Remove")),
        ],
        className="d-flex align-items-center",
    )
    body = dbc.Row(
        [
            _control(dbc.Input(id=sid("name"), value=form.get("name") or ""), _("Name")),
            _control(
                dbc.Select(
                    id=sid("policy"), options=policy_options(), value=form.get("policy") or "single"
                ),
                _("Completion policy"),
                3,
            ),
            _control(
                dbc.Input(
                    id=sid("percentage"),
                    value=form.get("percentage") or "",
                    # only the Percentage policy reads it (a clientside callback follows the
                    # policy chosen)
                    disabled=(form.get("policy") or "single") != "percentage",
                ),
                _("Percentage"),
                3,
            ),
            dbc.Col(
                html.Fieldset(
                    [
                        html.Legend(_("Assignees: users"), className="form-label small mb-1"),
                        dbc.Checklist(
                            id=sid("assignee_user_ids"),
                            options=user_options,
                            value=form.get("assignee_user_ids") or [],
                            inline=True,
                        ),
                    ]
                ),
                md=6,
                className="mb-2",
            ),
            _control(
                dbc.Select(
                    id=sid("assignee_role"),
                    options=role_options(),
                    value=form.get("assignee_role") or NOBODY,
                ),
                _("and/or everyone with the role"),
                6,
            ),
            _control(
                dbc.Select(
                    id=sid("condition_kind"),
                    options=condition_options(),
                    value=form.get("condition_kind") or ALWAYS,
                ),
                _("Runs when"),
                6,
            ),
            _control(
                dbc.Select(
                    id=sid("condition_field"),
                    options=gateable_field_options(),
                    value=form.get("condition_field"),
                ),
                _("Field"),
                3,
            ),
            _control(
                dbc.Input(id=sid("condition_value"), value=form.get("condition_value") or ""),
                _("Amount or %"),
                3,
            ),
            _control(
                dbc.Input(
                    id=sid("time_limit_hours"),
                    value=form.get("time_limit_hours") or "",
                    placeholder=_("none"),
                ),
                _("Time limit (hours)"),
                4,
            ),
            _control(
                dbc.Select(
                    id=sid("escalate_to_user_id"),
                    options=[{"label": "—", "value": NOBODY}, *user_options],
                    value=form.get("escalate_to_user_id") or NOBODY,
                ),
                _("Escalate to user"),
                4,
            ),
            _control(
                dbc.Select(
                    id=sid("escalate_to_role"),
                    options=role_options(),
                    value=form.get("escalate_to_role") or NOBODY,
                ),
                _("or role"),
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
                        html.Td(_(definition.name)),
                        html.Td(_("Version {number}").format(number=version.number)),
                        html.Td(
                            ngettext("{count} step", "{count} steps", len(version.steps)).format(
                                count=len(version.steps)
                            )
                        ),
                        html.Td(
                            dbc.Badge(_("Active"), color="success") if version.is_active else ""
                        ),
                        html.Td(
                            dbc.Button(
                                _("Open"),
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
        return html.P(_("No workflow yet: choose New."), className="text-muted")
    return dbc.Table(html.Tbody(rows), size="sm", hover=True, className="mb-0", id="wf-versions")


def flow_figure(steps: list[dict]) -> go.Figure:
    """The path a request takes: one box a step, conditional steps dashed."""
    figure = go.Figure()
    names = [
        _("Submitted"),
        *[s["name"] or _("Step {number}").format(number=i + 1) for i, s in enumerate(steps)],
        _("Applied"),
    ]
    notes = ["", *[s["condition"] for s in steps], ""]
    for position, (name, note) in enumerate(zip(names, notes, strict=True)):
        conditional = bool(note) and note != _("Always")
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


def step_form(step: WorkflowStep) -> dict[str, Any]:
    """The designer's plain values for a saved step."""
    condition = step.condition or {}
    value = condition.get("percent", condition.get("amount"))
    return {
        "name": step.name,
        "assignee_user_ids": step.assignee_user_ids,
        "assignee_role": step.assignee_role,
        "policy": step.policy,
        "percentage": step.percentage,
        "condition_kind": condition.get("kind"),
        "condition_field": condition.get("field"),
        "condition_value": value,
        "time_limit_hours": step.time_limit_hours,
        "escalate_to_user_id": step.escalate_to_user_id,
        "escalate_to_role": step.escalate_to_role,
    }
