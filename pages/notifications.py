"""Notifications: what happened to your requests and what waits for you."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.i18n import N_, _
from data.localtime import local_text
from data.notifications import KIND_LABELS, mark_all_read, recent_notifications
from pages._support import act, attempt, guard, page_title, read, viewer_zone

dash.register_page(__name__, path="/notifications", title=page_title(N_("Notifications")))


def layout(**_query):
    denied = guard("notifications")
    if denied is not None:
        return denied
    items, alert = attempt(lambda: read(recent_notifications))
    if items is None:
        return alert
    unread_ids = {item.id for item in items if item.read_at is None}
    zone = viewer_zone()
    attempt(lambda: act(mark_all_read))
    rows = [
        dbc.ListGroupItem(
            [
                html.Div(
                    [
                        dbc.Badge(
                            KIND_LABELS.get(item.kind, item.kind),
                            color="light",
                            text_color="dark",
                            className="me-2 border",
                        ),
                        html.Span(local_text(item.at, zone), className="text-muted small"),
                        dbc.Badge(_("new"), color="primary", className="ms-2")
                        if item.id in unread_ids
                        else None,
                    ]
                ),
                dcc.Link(item.text, href=f"/requests/{item.request_id}")
                if item.request_id
                else html.Span(item.text),
            ]
        )
        for item in items
    ]
    return html.Div(
        [
            html.H1(_("Notifications"), className="h3 mb-3"),
            dbc.ListGroup(rows, id="notifications-list")
            if rows
            else html.P(_("Nothing yet."), className="text-muted"),
        ]
    )
