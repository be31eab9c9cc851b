"""The app shell: navigation bar and page frame."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.access import can_open
from data.i18n import N_, _
from data.labels import ROLE_LABELS
from data.numbers import LOCALES, format_amount, locale_of

NAV_ITEMS = (
    ("customers", N_("Customers"), "/customers"),
    ("my_requests", N_("My requests"), "/my-requests"),
    ("approvals", N_("Approvals"), "/approvals"),
    ("imports", N_("Imports"), "/imports"),
    ("pending", N_("Pending changes"), "/dashboards/pending"),
    ("throughput", N_("Throughput"), "/dashboards/throughput"),
    ("parameters", N_("Parameters"), "/parameters"),
    ("workflows", N_("Workflows"), "/workflows"),
    ("users", N_("Users"), "/users"),
)


def brand() -> dbc.NavbarBrand:
    return dbc.NavbarBrand([html.Span("✓", className="brand-mark"), "Countersign"], href="/")


def waiting_badge(user, waiting: int, title: str):
    """What waits for the user, linked to where they act on it: the inbox for those who
    decide, their own requests for clerks; roles that act on nothing see no badge."""
    if can_open(user, "approvals"):
        href = "/approvals"
    elif can_open(user, "my_requests"):
        href = "/my-requests?show=change_requested"
    else:
        return None
    return dcc.Link(
        dbc.Badge(
            _("{count} waiting").format(count=waiting),
            color="warning" if waiting else "secondary",
            text_color="dark" if waiting else None,
            pill=True,
            title=title,
        ),
        href=href,
        id="cs-waiting",
        className="me-3",
    )


def navbar_contents(user, counts: dict[str, int]) -> dbc.Container:
    """The bar for ``user`` (None: signed out): the pages their roles open, who they are."""
    if user is None:
        return dbc.Container([brand()], fluid=True)
    links = [
        dbc.NavItem(dbc.NavLink(_(label), href=href, active="partial"))
        for area, label, href in NAV_ITEMS
        if can_open(user, area)
    ]
    waiting = counts.get("to_decide", 0) + counts.get("sent_back", 0)
    waiting_title = _("{to_decide} to decide, {sent_back} sent back to you").format(
        to_decide=counts.get("to_decide", 0), sent_back=counts.get("sent_back", 0)
    )
    roles = ", ".join(ROLE_LABELS[role] for role in sorted(user.roles))
    right = html.Div(
        [
            dcc.Link(
                [
                    _("Notifications") + " ",
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
            waiting_badge(user, waiting, waiting_title),
            html.Span(
                [
                    html.Span(user.full_name, className="fw-semibold", id="cs-user-name"),
                    html.Span(f" · {roles}", className="text-white-50 small"),
                ],
                className="text-white me-3",
            ),
            dbc.Label(
                _("Language and number format"), html_for="cs-locale", className="visually-hidden"
            ),
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
                    _("Sign out"),
                    type="submit",
                    className="btn btn-outline-light btn-sm",
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
            dcc.Store(id="cs-notified", data=0),
            dbc.Navbar(
                navbar_contents(None, {}), id="cs-navbar", color="dark", dark=True, className="mb-4"
            ),
            dbc.Container(dash.page_container, fluid="lg", className="pb-5"),
        ],
        className="app-shell",
    )
