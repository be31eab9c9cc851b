"""The app shell: navigation bar and page frame."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.access import can_open
from data.labels import ROLE_LABELS
from data.numbers import LOCALES, format_amount, locale_of

NAV_ITEMS = (
    ("customers", "Customers", "/customers"),
    ("approvals", "Approvals", "/approvals"),
    ("imports", "Imports", "/imports"),
    ("pending", "Pending changes", "/dashboards/pending"),
    ("throughput", "Throughput", "/dashboards/throughput"),
    ("parameters", "Parameters", "/parameters"),
    ("workflows", "Workflows", "/workflows"),
    ("users", "Users", "/users"),
)


def brand() -> dbc.NavbarBrand:
    return dbc.NavbarBrand([html.Span("✓", className="brand-mark"), "Countersign"], href="/")


def navbar_contents(user, counts: dict[str, int]) -> dbc.Container:
    """The bar for ``user`` (None: signed out): the pages their roles open, who they are."""
    if user is None:
        return dbc.Container([brand()], fluid=True)
    links = [
        dbc.NavItem(dbc.NavLink(label, href=href, active="partial"))
        for area, label, href in NAV_ITEMS
        if can_open(user, area)
    ]
    waiting = counts.get("to_decide", 0) + counts.get("sent_back", 0)
    waiting_title = (
        f"{counts.get('to_decide', 0)} to decide, {counts.get('sent_back', 0)} sent back to you"
    )
    roles = ", ".join(ROLE_LABELS[role] for role in sorted(user.roles))
    right = html.Div(
        [
            dcc.Link(
                [
                    "Notifications ",
                    dbc.Badge(
                        str(counts.get("unread", 0)),
                        color="danger" if counts.get("unread") else "secondary",
                        pill=True,
                    ),
                ],
                href="/notifications",
                id="cs-notifications",
                className="text-white-50 text-decoration-none small me-3",
            ),
            dbc.Badge(
                f"{waiting} waiting",
                color="warning" if waiting else "secondary",
                text_color="dark" if waiting else None,
                pill=True,
                title=waiting_title,
                id="cs-waiting",
                className="me-3",
            ),
            html.Span(
                [
                    html.Span(user.full_name, className="fw-semibold", id="cs-user-name"),
                    html.Span(f" · {roles}", className="text-white-50 small"),
                ],
                className="text-white me-3",
            ),
            dbc.Label("Language and number format", html_for="cs-locale",
                      className="visually-hidden"),
            dbc.Select(
                id="cs-locale",
                options=[
                    {"label": f"{name} ({format_amount(1500, code)})", "value": code}
                    for code, name in LOCALES.items()
                ],
                value=locale_of(user.locale),
                size="sm",
                className="me-3 w-auto",
            ),
            html.Form(
                html.Button(
                    "Sign out", type="submit", className="btn btn-outline-light btn-sm",
                    id="cs-sign-out",
                ),
                method="POST",
                action="/logout",
                className="m-0",
            ),
        ],
        className="d-flex flex-wrap align-items-center justify-content-end row-gap-2 ms-auto",
    )
    return dbc.Container(
        [brand(), dbc.Nav(links, navbar=True, className="me-auto"), right], fluid=True
    )


def shell() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="cs-url"),
            dcc.Store(id="cs-locale-saved"),
            dcc.Store(id="cs-tz"),
            dcc.Store(id="cs-tz-saved"),
            dcc.Store(id="cs-ping"),
            dbc.Navbar(
                navbar_contents(None, {}), id="cs-navbar", color="dark", dark=True, className="mb-4"
            ),
            dbc.Container(dash.page_container, fluid="lg", className="pb-5"),
        ],
        className="app-shell",
    )
