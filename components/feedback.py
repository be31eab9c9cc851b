"""Messages to the person using the app."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from data.i18n import N_, _

UNEXPECTED = N_("Something went wrong on our side; nothing was changed. Please try again.")


def error_alert(message: str, *, has_field_errors: bool = False) -> dbc.Alert:
    if has_field_errors:
        message = _("Nothing was saved: please correct the fields marked below.")
    return dbc.Alert(html.Div(message), color="danger", dismissable=True, className="mb-3")


def success_alert(message) -> dbc.Alert:
    return dbc.Alert(message, color="success", dismissable=True, className="mb-3")
