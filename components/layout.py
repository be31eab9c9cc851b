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
    ("webhooks", N_("Webhooks"), "/webhooks"),
)
NAV_GROUPS = (
    (None, ("customers", "my_requests", "approvals", "imports")),
    (N_("Dashboards"), ("pending", "throughput")),
    (N_("Setup"), ("parameters", "workflows", "users", "webhooks")),
)
"""The navigation bar's pages: on their own, or two or more in a menu."""


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
    links = nav_links(user)
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
            # who is signed in, with their roles and Sign out
            dbc.DropdownMenu(
                [
                    dbc.DropdownMenuItem(roles, header=True),
                    html.Form(
                        html.Button(_("Sign out"), type="submit", className="dropdown-item",
                                    id="cs-sign-out"),  # fmt: skip
                        method="POST",
                        action="/logout",
                        className="m-0",
                    ),
                ],
                label=html.Span(user.full_name, className="fw-semibold", id="cs-user-name"),
                id="cs-user-menu",
                nav=True,
                in_navbar=True,
                align_end=True,
                toggle_class_name="text-white",
            ),
        ],
        className="d-flex flex-wrap align-items-center justify-content-end row-gap-2 ms-auto",
    )
    # on a narrow screen the pages and the user's part fold behind a toggle
    return dbc.Container(
        [
            brand(),
            html.Button(html.Span(className="navbar-toggler-icon"), id="cs-nav-toggle",
                        n_clicks=0, type="button", className="navbar-toggler",
                        **{"aria-label": _("Menu"), "aria-controls": "cs-nav-collapse",
                           "aria-expanded": "false"}),  # fmt: skip
            dbc.Collapse(
                [dbc.Nav(links, navbar=True, className="me-auto"), right],
                id="cs-nav-collapse",
                is_open=False,
                navbar=True,
            ),
        ],  # fmt: skip
        fluid=True,
    )


def nav_links(user) -> list:
    """The pages ``user`` may open, grouped as NAV_GROUPS says."""
    pages = {area: (label, href) for area, label, href in NAV_ITEMS if can_open(user, area)}
    links = []
    for title, areas in NAV_GROUPS:
        shown = [area for area in areas if area in pages]
        if title is None or len(shown) == 1:
            links += [dbc.NavItem(dbc.NavLink(_(pages[area][0]), href=pages[area][1],
                                              active="partial")) for area in shown]  # fmt: skip
        elif shown:
            links.append(dbc.DropdownMenu(
                [dbc.DropdownMenuItem(_(pages[area][0]), href=pages[area][1]) for area in shown],
                label=_(title), nav=True, in_navbar=True,
            ))  # fmt: skip
    return links


def shell() -> html.Div:
    return html.Div(
        [
            dcc.Location(id="cs-url"),
            dcc.Store(id="cs-locale-saved"),
            dcc.Store(id="cs-tz"),
            dcc.Store(id="cs-tz-saved"),
            dcc.Store(id="cs-ping"),
            dcc.Store(id="cs-notified", data=0),
            html.A(_("Skip to the content"), href="#cs-main",
                   className="visually-hidden-focusable btn btn-light m-1"),  # fmt: skip
            dbc.Navbar(
                navbar_contents(None, {}), id="cs-navbar", color="dark", dark=True,
                expand="lg", className="mb-4",
            ),  # fmt: skip
            html.Main(
                dbc.Container(dash.page_container, fluid="lg", className="pb-5"),
                id="cs-main",
                tabIndex="-1",
            ),
        ],
        className="app-shell",
    )
