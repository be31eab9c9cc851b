"""Notifications: what happened to your requests and what waits for you."""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from components.status import status_badge
from data.i18n import N_, _
from data.localtime import local_text
from data.mail import KINDS, MODES, my_email_settings, set_preferences
from data.notifications import KIND_LABELS, mark_all_read, mark_read, recent_notifications
from pages._support import act, attempt, guard, page_title, read, viewer_zone

dash.register_page(__name__, path="/notifications", title=page_title(N_("Notifications")))

READ = "nt-read"
KIND_COLOURS = {"assigned": "primary", "approved": "success", "rejected": "danger",
                "change_requested": "warning", "overdue": "danger",
                "reminder": "warning"}  # fmt: skip
DARK_TEXT = ("change_requested", "reminder")
"""Badges on a light colour, written dark to be read."""


def layout(**_query):
    denied = guard("notifications")
    if denied is not None:
        return denied
    return html.Div(
        [
            html.Div(
                [
                    html.H1(_("Notifications"), className="h3 mb-0"),
                    dbc.Button(_("Mark all read"), id="nt-read-all", color="secondary",
                               outline=True, size="sm", className="ms-auto"),  # fmt: skip
                ],
                className="d-flex align-items-center mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(html.Div(notification_list(), id="nt-list"), lg=8),
                    dbc.Col(email_card(), lg=4),
                ],
                className="g-3",
            ),
        ]
    )


MODE = "nt-mode"


def email_card():
    """The user's own address and, per kind of notice, immediately, daily digest or off."""
    shown, alert = attempt(lambda: read(my_email_settings))
    if shown is None:
        return alert
    modes = [
        html.Div(
            [
                dbc.Label(KINDS[kind], html_for=f"{MODE}-{kind}", className="small mb-1"),
                dbc.Select(id=f"{MODE}-{kind}", value=shown.modes[kind],
                           options=[{"label": MODES[m], "value": m} for m in MODES],
                           size="sm"),  # fmt: skip
            ],
            className="mb-2",
        )
        for kind in KINDS
    ]
    return dbc.Card(
        [
            dbc.CardHeader(html.H2(_("Email"), className="h6 mb-0")),
            dbc.CardBody(
                [
                    html.P(_("This server sends no email yet: an administrator sets it up "
                             "(COUNTERSIGN_SMTP_URL)."), className="small text-muted")
                    if not shown.sending else None,
                    dbc.Label(_("Email address"), html_for="nt-email", className="small mb-1"),
                    dbc.Input(id="nt-email", type="email", value=shown.email or "",
                              autocomplete="email", maxLength=254, size="sm",
                              className="mb-3"),  # fmt: skip
                    *modes,
                    dbc.Button(_("Save email settings"), id="nt-email-save", size="sm",
                               color="primary", className="mt-2"),  # fmt: skip
                    html.Div(id="nt-email-message", className="mt-2", role="status"),
                ]
            ),
        ],
        id="nt-email-card",
    )


@callback(
    Output("nt-email-message", "children"),
    Input("nt-email-save", "n_clicks"),
    State("nt-email", "value"),
    *[State(f"{MODE}-{kind}", "value") for kind in KINDS],
    prevent_initial_call=True,
)
def on_save_email(clicks, email, *values):
    if not clicks:
        return no_update
    return save_email_settings(email, dict(zip(KINDS, values, strict=True)))


def save_email_settings(email: str | None, modes: dict[str, str]):
    """Save the user's address and modes; a bad address is named and nothing is saved."""
    saved, alert = attempt(lambda: act(set_preferences, email, modes))
    if saved is None:
        return alert
    return dbc.Alert(_("Saved."), color="success", className="py-1 mb-0 small")


def notification_list():
    """Newest first, each with where its request stands now; unread ones can be marked read
    one by one (opening one marks it read too)."""
    items, alert = attempt(lambda: read(recent_notifications))
    if items is None:
        return alert
    if not items:
        return html.P(_("Nothing yet."), className="text-muted")
    zone = viewer_zone()
    rows = [
        dbc.ListGroupItem(
            [
                html.Div(
                    [
                        dbc.Badge(KIND_LABELS.get(item.kind, item.kind),
                                  color=KIND_COLOURS.get(item.kind, "secondary"),
                                  text_color="dark" if item.kind in DARK_TEXT else None,
                                  className="me-2"),  # fmt: skip
                        html.Span(local_text(item.at, zone), className="text-muted small"),
                        dbc.Badge(_("new"), color="info", text_color="dark", className="ms-2")
                        if not item.read
                        else None,
                        # where the request stands now, when the news alone does not say it
                        html.Span(status_badge(item.request_state), className="ms-2")
                        if item.request_state and item.request_state != item.kind
                        else None,
                        dbc.Button(_("Mark read"), id={"type": READ, "id": item.id}, size="sm",
                                   color="link", className="ms-auto p-0")  # fmt: skip
                        if not item.read
                        else None,
                    ],
                    className="d-flex align-items-center flex-wrap gap-1",
                ),
                dcc.Link(item.text, href=f"/requests/{item.request_id}?notification={item.id}",
                         className="fw-semibold" if not item.read else "")  # fmt: skip
                if item.request_id
                else html.Span(item.text),
            ],
            className="notification-unread" if not item.read else "",
        )
        for item in items
    ]
    return dbc.ListGroup(rows, id="notifications-list")


@callback(
    Output("nt-list", "children"),
    Output("cs-notified", "data"),
    Input({"type": READ, "id": ALL}, "n_clicks"),
    Input("nt-read-all", "n_clicks"),
    State("cs-notified", "data"),
    prevent_initial_call=True,
)
def on_read(_one, _all, notified):
    """Mark one notification (or all) read; the navbar's count follows at once."""
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update, no_update
    return read_response(ctx.triggered_id, notified)


def read_response(trigger, notified):
    if trigger == "nt-read-all":
        attempt(lambda: act(mark_all_read))
    elif isinstance(trigger, dict) and isinstance(trigger.get("id"), int):
        attempt(lambda: act(mark_read, trigger["id"]))
    return notification_list(), (notified or 0) + 1
