"""Home: what Countersign does and how a change travels through it."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.status import status_badge
from data.labels import PROPOSED_CHANGES

dash.register_page(__name__, path="/", title="Countersign", name="Home")

STEPS = (
    (
        "Edit",
        "A clerk edits a customer. Fields that need approval become "
        f"{PROPOSED_CHANGES.lower()}; the others save at once.",
    ),
    ("Submit", "The clerk reviews the proposed changes and submits them to the workflow."),
    ("Approve", "Approvers review a diff of original and new values, step by step."),
    (
        "Apply",
        "When every approval is complete, the values change in one transaction, "
        "with an audit trail.",
    ),
)

LIFECYCLE = ("draft", "pending", "change_requested", "approved", "rejected")


def layout(**_query):
    return html.Div(
        [
            html.H1("Countersign", className="display-6 mb-1"),
            html.P(
                "Approve changes to customer master data before they take effect.",
                className="lead text-muted mb-4",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.Div(f"{number}", className="step-number"),
                                    html.H5(title, className="card-title"),
                                    html.P(text, className="card-text text-muted small"),
                                ]
                            ),
                            className="h-100 shadow-sm",
                        ),
                        md=6,
                        lg=3,
                        className="mb-3",
                    )
                    for number, (title, text) in enumerate(STEPS, start=1)
                ]
            ),
            html.H2("A request's states", className="h5 mt-4"),
            html.Div([status_badge(state) for state in LIFECYCLE], className="d-flex gap-2"),
        ],
        id="home",
    )
