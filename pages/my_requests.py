"""My requests: the clerk's own change requests, not submitted, pending, sent back, decided."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components.controls import scroll_region, segmented
from components.status import status_badge
from data.i18n import N_, Labels, _
from data.inbox import MY_REQUEST_GROUPS, my_requests
from data.localtime import local_text
from pages._support import attempt, guard, page_title, read, viewer_zone

dash.register_page(__name__, path="/my-requests", title=page_title(N_("My requests")))

GROUP_LABELS = Labels(
    {
        "all": N_("All"),
        "draft": N_("Not submitted"),
        "pending": N_("Pending approval"),
        "change_requested": N_("Sent back to me"),
        "decided": N_("Decided"),
    }
)


def layout(show: str = "all", **_query):
    denied = guard("my_requests")
    if denied is not None:
        return denied
    chosen = show if show in GROUP_LABELS else "all"
    return html.Div(
        [
            html.H1(_("My requests"), className="h3 mb-3"),
            segmented(
                "my-tabs",
                [{"label": label, "value": key} for key, label in GROUP_LABELS.items()],
                chosen,
                _("Show"),
            ),
            html.Div(id="my-list"),
        ]
    )


@callback(Output("my-list", "children"), Input("my-tabs", "value"))
def on_tab(tab):
    return request_table(tab)


def request_table(tab: str | None):
    group = tab if tab in MY_REQUEST_GROUPS else None
    rows, alert = attempt(lambda: read(my_requests, group))
    if rows is None:
        return alert
    if not rows:
        return html.P(_("No requests here."), className="text-muted")
    zone = viewer_zone()
    body = [
        html.Tr(
            [
                html.Td(dcc.Link(f"#{row.request_id}", href=where(row))),
                html.Td([html.Span(row.account, className="fw-semibold"), " ",
                         html.Span(row.customer_name, className="text-muted")]),  # fmt: skip
                html.Td(status_badge(row.state)),
                html.Td([html.Div(line) for line in row.changes], className="small"),
                html.Td(local_text(row.updated_at, zone), className="small text-nowrap"),
                html.Td(html.Q(row.comment) if row.comment else "", className="small"),
            ]
        )
        for row in rows
    ]
    head = html.Thead(html.Tr([html.Th(h) for h in (
        _("Request"), _("Customer"), _("State"), _("Changes"), _("Last change"),
        _("Approver's comment"))]))  # fmt: skip
    return scroll_region(dbc.Table([head, html.Tbody(body)], hover=True, size="sm",
                                   className="bg-white shadow-sm", id="my-table"),
                         _("My requests"))  # fmt: skip


def where(row) -> str:
    """A request not submitted or sent back is worked on in the customer editor."""
    if row.state in ("draft", "change_requested"):
        return f"/customers/{row.account}"
    return f"/requests/{row.request_id}"
