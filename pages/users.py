"""Users: create users and service accounts, set their roles, reset passwords, deactivate;
make and revoke API tokens (admins)."""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from components.controls import labelled, scroll_region
from components.feedback import success_alert
from components.status import role_badges
from data.i18n import N_, _
from data.labels import ROLE_LABELS
from data.localtime import local_text
from data.models import ROLES
from data.tokens import (
    DEFAULT_DAYS,
    MAX_DAYS,
    create_service_account,
    create_token,
    list_tokens,
    revoke_token,
    token_state,
)
from data.users import MIN_PASSWORD_LENGTH, create_user, list_users, update_user, user_detail
from pages._support import act, attempt, guard, page_title, read, viewer_zone

dash.register_page(__name__, path="/users", title=page_title(N_("Users")), order=7)


def role_options() -> list[dict]:
    return [{"label": ROLE_LABELS[role], "value": role} for role in ROLES]


def users_table(users) -> dbc.Table:
    rows = [
        html.Tr(
            [
                html.Td(user.username, className="fw-semibold"),
                html.Td(user.full_name),
                html.Td([*role_badges(user.roles),
                         *([dbc.Badge(_("Service account"), color="info")]
                           if user.is_service else [])]),  # fmt: skip
                html.Td(
                    dbc.Badge(_("Active"), color="success")
                    if user.is_active
                    else dbc.Badge(_("Deactivated"), color="secondary")
                ),
            ]
        )
        for user in users
    ]
    head = html.Thead(
        html.Tr([html.Th(h) for h in (_("User name"), _("Name"), _("Roles"), _("Status"))])
    )
    return dbc.Table([head, html.Tbody(rows)], hover=True, size="sm", id="users-table")


def user_options(users):
    return [{"label": f"{u.full_name} ({u.username})", "value": u.id} for u in users]


def password_rule() -> str:
    return _("At least {count} characters; not a common password, not the user name.").format(
        count=MIN_PASSWORD_LENGTH
    )


def layout(**_query):
    denied = guard("users")
    if denied is not None:
        return denied
    users, alert = attempt(lambda: read(list_users))
    if users is None:
        return alert
    create = dbc.Card(
        [
            dbc.CardHeader(_("New user"), className="fw-semibold"),
            dbc.CardBody(
                [
                    dbc.Label(_("User name"), html_for="new-username"),
                    dbc.Input(id="new-username", className="mb-2", autoComplete="off"),
                    dbc.Label(_("Name"), html_for="new-full-name"),
                    dbc.Input(id="new-full-name", className="mb-2"),
                    dbc.Checkbox(
                        id="new-service",
                        label=_("Service account (another system: API tokens, no password)"),
                        value=False,
                        className="mb-2",
                    ),
                    dbc.Label(_("Password"), html_for="new-password"),
                    dbc.Input(
                        id="new-password",
                        type="password",
                        className="mb-1",
                        autoComplete="new-password",
                    ),
                    dbc.FormText(password_rule(), className="d-block mb-2"),
                    dbc.Label(_("Roles")),
                    dbc.Checklist(
                        id="new-roles",
                        options=role_options(),
                        value=[],
                        inline=True,
                        className="mb-3",
                    ),
                    dbc.Button(_("Create user"), id="new-create", color="primary"),
                ]
            ),
        ],
        className="shadow-sm mb-3",
    )
    change = dbc.Card(
        [
            dbc.CardHeader(_("Change a user"), className="fw-semibold"),
            dbc.CardBody(
                [
                    *labelled(dbc.Select(
                        id="edit-user",
                        options=user_options(users),
                        className="mb-2",
                        placeholder=_("Choose a user"),
                    ), _("User"), hidden=True),
                    dbc.Label(_("Roles")),
                    dbc.Checklist(
                        id="edit-roles",
                        options=role_options(),
                        value=[],
                        inline=True,
                        className="mb-2",
                    ),
                    dbc.Checkbox(
                        id="edit-active",
                        label=_("Active (may sign in)"),
                        value=True,
                        className="mb-2",
                    ),
                    dbc.Label(_("Email address"), html_for="edit-email"),
                    dbc.Input(id="edit-email", type="email", maxLength=254, className="mb-2",
                              autoComplete="off"),  # fmt: skip
                    dbc.Label(_("New password (leave empty to keep it)"), html_for="edit-password"),
                    dbc.Input(
                        id="edit-password",
                        type="password",
                        className="mb-1",
                        autoComplete="new-password",
                    ),
                    dbc.FormText(password_rule(), className="d-block mb-3"),
                    dbc.Button(_("Save changes"), id="edit-save", color="primary"),
                ]
            ),
        ],
        className="shadow-sm",
    )
    return html.Div(
        [
            html.H1(_("Users"), className="h3 mb-3"),
            html.Div(id="users-message"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(html.Div(users_table(users), id="users-list")),
                                className="shadow-sm mb-3",
                            ),
                            tokens_card(users),
                        ],
                        lg=7,
                    ),
                    dbc.Col([create, change], lg=5),
                ]
            ),
        ]
    )


def refreshed_list():
    users, _alert = attempt(lambda: read(list_users))
    return (users_table(users), user_options(users)) if users else (no_update, no_update)


@callback(
    Output("users-message", "children", allow_duplicate=True),
    Output("users-list", "children", allow_duplicate=True),
    Output("edit-user", "options", allow_duplicate=True),
    Input("new-create", "n_clicks"),
    State("new-username", "value"),
    State("new-full-name", "value"),
    State("new-password", "value"),
    State("new-roles", "value"),
    State("new-service", "value"),
    prevent_initial_call=True,
)
def on_create(_clicks, username, full_name, password, roles, service=False):
    if service:
        user, alert = attempt(
            lambda: act(create_service_account, username or "", full_name or "", roles or [])
        )
    else:
        user, alert = attempt(
            lambda: act(create_user, username or "", full_name or "", password or "", roles or [])
        )
    if user is None:
        return alert, no_update, no_update
    return (
        success_alert(_("Created {username}.").format(username=user.username)),
        *refreshed_list(),
    )


@callback(
    Output("edit-roles", "value"),
    Output("edit-active", "value"),
    Output("edit-email", "value"),
    Input("edit-user", "value"),
    prevent_initial_call=True,
)
def on_choose(user_id):
    if not user_id:
        return [], True, ""
    user, _alert = attempt(lambda: read(user_detail, int(user_id)))
    if user is None:  # not an admin, or no such user: the form stays as it is
        raise dash.exceptions.PreventUpdate
    return sorted(user.roles), user.is_active, user.email or ""


@callback(
    Output("users-message", "children", allow_duplicate=True),
    Output("users-list", "children", allow_duplicate=True),
    Output("edit-user", "options", allow_duplicate=True),
    Input("edit-save", "n_clicks"),
    State("edit-user", "value"),
    State("edit-roles", "value"),
    State("edit-active", "value"),
    State("edit-password", "value"),
    State("edit-email", "value"),
    prevent_initial_call=True,
)
def on_save(_clicks, user_id, roles, active, password, email=None):
    if not user_id:
        return success_alert(_("Choose a user first.")), no_update, no_update
    changes, alert = attempt(
        lambda: act(
            update_user,
            int(user_id),
            roles=roles or [],
            active=bool(active),
            new_password=password or None,
            email=... if email is None else email,  # None: the form never had it
        )
    )
    if changes is None:
        return alert, no_update, no_update
    message = (
        _("Saved: {changes}.").format(changes=", ".join(changes))
        if changes
        else _("Nothing changed.")
    )
    return (success_alert(message), *refreshed_list())


def tokens_table(tokens, zone: str | None):
    if not tokens:
        return html.P(_("No API tokens yet."), className="text-muted mb-0")
    headers = (_("Name"), _("User"), _("Expires"), _("Last used"), _("Status"), "")
    rows = [
        html.Tr(
            [
                html.Td([html.Span(token.name, className="fw-semibold"),
                         html.Div(f"cs_{token.prefix}_…", className="small text-muted")]),
                html.Td(token.user.username),
                html.Td(local_text(token.expires_at, zone)),
                html.Td(local_text(token.last_used_at, zone, _("Never"))),
                html.Td(_(token_state(token))),
                html.Td(
                    dbc.Button([_("Revoke"), html.Span(f" {token.name}",
                                                       className="visually-hidden")],
                               id={"type": "token-revoke", "id": token.id},
                               color="danger", outline=True, size="sm")
                    if token_state(token) == "Active" else None
                ),
            ]
        )
        for token in tokens
    ]  # fmt: skip
    table = dbc.Table([html.Thead(html.Tr([html.Th(h) for h in headers])), html.Tbody(rows)],
                      size="sm", id="tokens-table", className="mb-0")  # fmt: skip
    return scroll_region(table, _("API tokens"))


def tokens_card(users) -> dbc.Card:
    tokens, alert = attempt(lambda: read(list_tokens))
    active = [user for user in users if user.is_active]
    return dbc.Card(
        [
            dbc.CardHeader(_("API tokens"), className="fw-semibold"),
            dbc.CardBody(
                [
                    html.P(_("Another system calls the API (/api/docs) with a token, as the "
                             "token's user and with that user's roles."),
                           className="text-muted small"),  # fmt: skip
                    dbc.Row(
                        [
                            dbc.Col(labelled(dbc.Select(id="token-user",
                                                        options=user_options(active)),
                                             _("User")), md=4),
                            dbc.Col(labelled(dbc.Input(id="token-name", maxLength=60),
                                             _("Token name")), md=4),
                            dbc.Col(labelled(dbc.Input(id="token-days", type="number", min=1,
                                                       max=MAX_DAYS, step=1,
                                                       value=DEFAULT_DAYS),
                                             _("Valid for (days)")), md=2),
                            dbc.Col(dbc.Button(_("Make token"), id="token-create",
                                               color="primary", className="mt-md-4"), md=2),
                        ],
                        className="g-2 mb-3",
                    ),  # fmt: skip
                    html.Div(id="token-made"),
                    html.Div(alert or tokens_table(tokens or [], viewer_zone()),
                             id="tokens-list"),  # fmt: skip
                ]
            ),
        ],
        className="shadow-sm mb-3",
    )


def refreshed_tokens():
    tokens, alert = attempt(lambda: read(list_tokens))
    return alert or tokens_table(tokens or [], viewer_zone())


@callback(
    Output("token-made", "children"),
    Output("tokens-list", "children", allow_duplicate=True),
    Input("token-create", "n_clicks"),
    State("token-user", "value"),
    State("token-name", "value"),
    State("token-days", "value"),
    prevent_initial_call=True,
)
def on_make_token(_clicks, user_id, name, days):
    """The token is shown here once: only its hash is kept."""
    if not user_id or not str(user_id).isdigit():
        return success_alert(_("Choose a user first.")), no_update
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = -1
    made, alert = attempt(lambda: act(create_token, int(user_id), name or "", days))
    if made is None:
        return alert, no_update
    shown = dbc.Alert(
        [
            html.Div(_("Copy this token now: it is not shown again."), className="fw-semibold"),
            html.Code(made.secret, id="token-secret", className="d-block text-break my-2"),
            html.Div(_("Send it as 'Authorization: Bearer <token>'."), className="small"),
        ],
        color="success",
        dismissable=True,
    )
    return shown, refreshed_tokens()


@callback(
    Output("users-message", "children", allow_duplicate=True),
    Output("tokens-list", "children", allow_duplicate=True),
    Input({"type": "token-revoke", "id": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def on_revoke(clicks):
    target = ctx.triggered_id
    if not isinstance(target, dict) or not any(clicks or []):
        return no_update, no_update
    return revoke(target.get("id"))


def revoke(token_id) -> tuple:
    if type(token_id) is not int:
        return no_update, no_update
    revoked, alert = attempt(lambda: act(revoke_token, token_id))
    if revoked is None:
        return alert, no_update
    return (success_alert(_("Revoked the token {name}.").format(name=revoked.name)),
            refreshed_tokens())  # fmt: skip
