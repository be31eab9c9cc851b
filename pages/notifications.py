"""Notifications: what happened to your requests and what waits for you; the user's own
email settings and out-of-office days."""

from datetime import date, timedelta

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from components.feedback import error_alert
from components.status import status_badge
from data.absence import (
    cancel_absence,
    delegate_choices,
    my_absences,
    set_absence,
    workflow_choices,
)
from data.errors import readable
from data.i18n import N_, _
from data.localtime import local_text, zone_of
from data.mail import KINDS, MODES, my_email_settings, set_preferences
from data.notifications import KIND_LABELS, mark_all_read, mark_read, recent_notifications
from pages._support import act, attempt, guard, page_title, read, viewer_zone

dash.register_page(__name__, path="/notifications", title=page_title(N_("Notifications")))

READ = "nt-read"
KIND_COLOURS = {"assigned": "primary", "approved": "success", "rejected": "danger",
                "change_requested": "warning", "overdue": "danger",
                "reminder": "warning", "progress": "info"}  # fmt: skip
DARK_TEXT = ("change_requested", "reminder", "progress")
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
                    dbc.Col([email_card(), html.Div(away_card(), id="nt-away")], lg=4),
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


END = "nt-away-end"
EVERY = "every"


def away_card():
    """The user's own absences (each can end now), and a form for a new one."""
    loaded, alert = attempt(lambda: read(lambda session, actor: (
        my_absences(session, actor), delegate_choices(session, actor),
        workflow_choices(session, actor))))  # fmt: skip
    if loaded is None:
        return alert
    absences, delegates, workflows = loaded
    zone = viewer_zone()
    listed = [
        html.Li(
            [
                html.Span(_("{first} to {last}: {delegate} decides for you").format(
                    first=item.starts_at.astimezone(zone_of(zone)).date().isoformat(),
                    last=(item.ends_at.astimezone(zone_of(zone))
                          - timedelta(seconds=1)).date().isoformat(),
                    delegate=item.delegate.full_name)
                    + (f" ({_(item.definition.name)} · {item.definition.id})"
                       if item.definition else "")),
                dbc.Button(_("End"), id={"type": END, "id": item.id}, size="sm", color="link",
                           className="p-0 ms-2"),  # fmt: skip
            ],
            className="small mb-1",
        )
        for item in absences
    ]
    return dbc.Card(
        [
            dbc.CardHeader(html.H2(_("Out of office"), className="h6 mb-0")),
            dbc.CardBody(
                [
                    html.Ul(listed, className="ps-3 mb-3", id="nt-away-list") if listed else None,
                    dbc.Label(_("First day away"), html_for="nt-away-from", className="small mb-1"),
                    dbc.Input(id="nt-away-from", type="date", size="sm", className="mb-2"),
                    dbc.Label(_("Last day away"), html_for="nt-away-to", className="small mb-1"),
                    dbc.Input(id="nt-away-to", type="date", size="sm", className="mb-2"),
                    dbc.Label(_("Who decides for you meanwhile"), html_for="nt-away-delegate",
                              className="small mb-1"),  # fmt: skip
                    dbc.Select(id="nt-away-delegate", size="sm", className="mb-2",
                               placeholder=_("Choose an approver"),
                               options=[{"label": u.full_name, "value": str(u.id)}
                                        for u in delegates]),  # fmt: skip
                    dbc.Label(_("Which workflows"), html_for="nt-away-workflow",
                              className="small mb-1"),  # fmt: skip
                    dbc.Select(id="nt-away-workflow", size="sm", className="mb-2", value=EVERY,
                               options=[{"label": _("Every workflow"), "value": EVERY}]
                               + [{"label": f"{_(name)} · {i}", "value": str(i)}
                                  for i, name in workflows]),
                    dbc.Button(_("Set out of office"), id="nt-away-save", size="sm",
                               color="primary", className="mt-1"),  # fmt: skip
                    html.Div(id="nt-away-message", className="mt-2", role="status"),
                ]
            ),
        ],
        className="mt-3",
    )


def save_absence(first: str | None, last: str | None, delegate: str | None,
                 workflow: str | None):  # fmt: skip
    """Set an absence from the form; what is wrong is named and nothing is saved."""
    errors = {}
    days = {}
    for key, text in (("starts_on", first), ("ends_on", last)):
        try:
            days[key] = date.fromisoformat(text) if text else None
        except ValueError:
            errors[key] = _("must be a date")
    if errors:
        return error_alert("; ".join(readable(k, v) for k, v in errors.items())), no_update
    saved, alert = attempt(lambda: act(
        set_absence, days["starts_on"], days["ends_on"], int(delegate) if delegate else None,
        int(workflow) if workflow and workflow != EVERY else None))  # fmt: skip
    if saved is None:
        return alert, no_update
    return dbc.Alert(_("Saved."), color="success", className="py-1 mb-0 small"), away_card()


@callback(
    Output("nt-away-message", "children"),
    Output("nt-away", "children"),
    Input("nt-away-save", "n_clicks"),
    State("nt-away-from", "value"),
    State("nt-away-to", "value"),
    State("nt-away-delegate", "value"),
    State("nt-away-workflow", "value"),
    prevent_initial_call=True,
)
def on_save_absence(clicks, first, last, delegate, workflow):
    if not clicks:
        return no_update, no_update
    return save_absence(first, last, delegate, workflow)


@callback(
    Output("nt-away", "children", allow_duplicate=True),
    Input({"type": END, "id": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def on_end_absence(_clicks):
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update
    trigger = ctx.triggered_id
    if isinstance(trigger, dict) and isinstance(trigger.get("id"), int):
        _done, alert = attempt(lambda: act(cancel_absence, trigger["id"]))
        if alert is not None:
            return [alert, away_card()]
    return away_card()
