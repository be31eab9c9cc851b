"""Users: create users, set their roles, reset passwords, deactivate (admins)."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html, no_update

from components.controls import labelled
from components.feedback import success_alert
from components.status import role_badges
from data.i18n import N_, _
from data.labels import ROLE_LABELS
from data.models import ROLES
from data.users import MIN_PASSWORD_LENGTH, create_user, list_users, update_user, user_detail
from pages._support import act, attempt, guard, page_title, read

dash.register_page(__name__, path="/users", title=page_title(N_("Users")), order=7)


def role_options() -> list[dict]:
    return [{"label": ROLE_LABELS[role], "value": role} for role in ROLES]


def users_table(users) -> dbc.Table:
    rows = [
        html.Tr(
            [
                html.Td(user.username, className="fw-semibold"),
                html.Td(user.full_name),
                html.Td(role_badges(user.roles)),
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
                        dbc.Card(
                            dbc.CardBody(html.Div(users_table(users), id="users-list")),
                            className="shadow-sm mb-3",
                        ),
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
    prevent_initial_call=True,
)
def on_create(_clicks, username, full_name, password, roles):
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
    Input("edit-user", "value"),
    prevent_initial_call=True,
)
def on_choose(user_id):
    if not user_id:
        return [], True
    user, _alert = attempt(lambda: read(user_detail, int(user_id)))
    if user is None:  # not an admin, or no such user: the form stays as it is
        raise dash.exceptions.PreventUpdate
    return sorted(user.roles), user.is_active


@callback(
    Output("users-message", "children", allow_duplicate=True),
    Output("users-list", "children", allow_duplicate=True),
    Output("edit-user", "options", allow_duplicate=True),
    Input("edit-save", "n_clicks"),
    State("edit-user", "value"),
    State("edit-roles", "value"),
    State("edit-active", "value"),
    State("edit-password", "value"),
    prevent_initial_call=True,
)
def on_save(_clicks, user_id, roles, active, password):
    if not user_id:
        return success_alert(_("Choose a user first.")), no_update, no_update
    changes, alert = attempt(
        lambda: act(
            update_user,
            int(user_id),
            roles=roles or [],
            active=bool(active),
            new_password=password or None,
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
