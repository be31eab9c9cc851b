"""Home: what Countersign does and how a change travels through it."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.status import status_badge
from data import labels
from data.i18n import N_, _

dash.register_page(__name__, path="/", title="Countersign", name="Home")

STEPS = (
    (
        N_("Edit"),
        N_(
            "A clerk edits a customer. Fields that need approval become {proposed_changes}; "
            "the others save at once."
        ),
    ),
    (N_("Submit"), N_("The clerk reviews the proposed changes and submits them to the workflow.")),
    (N_("Approve"), N_("Approvers review a diff of original and new values, step by step.")),
    (
        N_("Apply"),
        N_(
            "When every approval is complete, the values change in one transaction, "
            "with an audit trail."
        ),
    ),
)

LIFECYCLE = ("draft", "pending", "change_requested", "approved", "rejected")


def layout(**_query):
    return html.Div(
        [
            html.H1("Countersign", className="display-6 mb-1"),
            html.P(
                _("Approve changes to customer master data before they take effect."),
                className="lead text-muted mb-4",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.Div(f"{number}", className="step-number"),
                                    html.H5(_(title), className="card-title"),
                                    html.P(
                                        _(text).format(
                                            proposed_changes=labels.PROPOSED_CHANGES.lower()
                                        ),
                                        className="card-text text-muted small",
                                    ),
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
            html.H2(_("A request's states"), className="h5 mt-4"),
            html.Div([status_badge(state) for state in LIFECYCLE], className="d-flex gap-2"),
        ],
        id="home",
    )
