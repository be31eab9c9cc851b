"""Shown for an address that matches no page."""

import dash
from dash import dcc, html

from data.i18n import _

dash.register_page(__name__, title="Not found")


def layout(**_query):
    return html.Div(
        [
            html.H1(_("Page not found"), className="h3"),
            html.P(_("There is no page at this address.")),
            dcc.Link(_("Go to the home page"), href="/"),
        ],
        className="py-4",
    )
