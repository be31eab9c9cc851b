"""Shown for an address that matches no page."""

import dash
from dash import dcc, html

dash.register_page(__name__, title="Not found")

layout = html.Div(
    [
        html.H1("Page not found", className="h3"),
        html.P("There is no page at this address."),
        dcc.Link("Go to the home page", href="/"),
    ],
    className="py-4",
)
