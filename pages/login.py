"""Sign in."""

from urllib.parse import parse_qs

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from flask_login import login_user
from sqlalchemy.exc import SQLAlchemyError

from components.feedback import error_alert
from data.users import SignInLocked, authenticate
from pages._support import SessionUser, database, log

dash.register_page(__name__, path="/login", title="Sign in · Countersign")

BAD_CREDENTIALS = "That user name and password do not match an active account."


def layout(**_query):
    return dbc.Row(
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H1("Sign in", className="h4 mb-3"),
                        html.Div(id="login-message"),
                        dbc.Label("User name", html_for="login-username"),
                        dbc.Input(
                            id="login-username",
                            autoComplete="username",
                            autoFocus=True,
                            className="mb-3",
                        ),
                        dbc.Label("Password", html_for="login-password"),
                        dbc.Input(
                            id="login-password",
                            type="password",
                            autoComplete="current-password",
                            className="mb-3",
                        ),
                        dbc.Button(
                            "Sign in", id="login-button", color="primary", className="w-100"
                        ),
                        dcc.Location(id="login-redirect", refresh=True),
                    ]
                ),
                className="shadow-sm mt-5",
            ),
            md=6,
            lg=4,
        ),
        justify="center",
    )


def safe_next(search: str | None) -> str:
    """Where to go after signing in: only a path inside this app."""
    target = parse_qs((search or "").lstrip("?")).get("next", ["/customers"])[0]
    if not target.startswith("/") or target.startswith("//") or target.startswith("/login"):
        return "/customers"
    return target


def sign_in(username: str | None, password: str | None, search: str | None):
    if not username or not password:
        return no_update, error_alert("Enter your user name and password.")
    try:
        with database().session() as session:
            user = authenticate(session, username, password)
            user_id = user.id if user else None
            epoch = user.session_epoch if user else 0
    except SignInLocked as locked:
        return no_update, error_alert(locked.message)
    except SQLAlchemyError:  # two failures for one name at the same instant
        log.warning("sign-in bookkeeping failed", exc_info=True)
        return no_update, error_alert(BAD_CREDENTIALS)
    if user_id is None:
        return no_update, error_alert(BAD_CREDENTIALS)
    login_user(SessionUser(user_id, epoch))
    return safe_next(search), None


@callback(
    Output("login-redirect", "href"),
    Output("login-message", "children"),
    Input("login-button", "n_clicks"),
    Input("login-password", "n_submit"),
    State("login-username", "value"),
    State("login-password", "value"),
    State("login-redirect", "search"),
    prevent_initial_call=True,
)
def on_sign_in(_clicks, _submit, username, password, search):
    return sign_in(username, password, search)
