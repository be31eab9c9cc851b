"""The request page's pieces: header, diff table, decision panel."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from babel.numbers import format_decimal
from dash import dcc, html

from components.controls import labelled, scroll_region
from components.editor import EVENT_LABELS, audit_table
from components.status import status_badge
from data import labels
from data.i18n import N_, Labels, _, current_language
from data.localtime import local_text

ACTION = "rq-action"
OUTCOMES = Labels(
    {
        "approved": N_("Applied: the customer took the new values."),
        "rejected": N_("Rejected: nothing was applied."),
        "discarded": N_("Discarded: nothing was applied."),
    }
)


def when(moment, zone: str | None = None) -> str:
    """``moment`` in the viewer's time zone, saying which (UTC when it is not known)."""
    return local_text(moment, zone, empty="—")


def request_header(view) -> html.Div:
    request = view.request
    step = (
        _("{step} (step {number} of {count})").format(
            step=view.step_name, number=view.step_number, count=view.step_count
        )
        if view.step_name
        else "—"
    )
    facts = [
        (
            _("Customer"),
            dcc.Link(
                f"{view.customer.account} · {view.customer.name}",
                href=f"/customers/{view.customer.account}",
            ),
        ),
        (_("Submitted by"), request.submitted_by.full_name if request.submitted_by else "—"),
        (_("Submitted at"), when(request.submitted_at, view.zone)),
        (_("Current step"), step),
        (
            _("Due"),
            html.Span(
                [
                    when(view.due_at, view.zone),
                    " ",
                    dbc.Badge(_("Overdue"), color="danger") if view.overdue else "",
                ]
            ),
        ),
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.H1(_("Request #{id}").format(id=request.id), className="h3 mb-0 me-3"),
                    status_badge(request.state),
                ],
                className="d-flex align-items-center mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col([html.Div(k, className="text-muted small"), html.Div(v)], md=True)
                    for k, v in facts
                ],
                className="g-3 mb-3",
            ),
            html.Div(
                [html.Div(_("Justification"), className="text-muted small"),
                 html.Div(request.justification, id="rq-justification")],
                className="mb-3",
            ) if request.justification else None,
        ],
        id="rq-header",
    )


def diff_table(rows) -> dbc.Table:
    head = html.Thead(
        html.Tr(
            [
                html.Th(_("Field")),
                html.Th(labels.ORIGINAL_VALUE),
                html.Th(labels.CURRENT_VALUE),
                html.Th(labels.NEW_VALUE),
                html.Th(_("Change")),
            ]
        )
    )
    body = []
    for row in rows:
        current = [row.current]
        if row.stale:
            current = [row.current, " ", dbc.Badge(_("changed since proposed"), color="danger")]
        body.append(
            html.Tr(
                [
                    # each cell says what it is: on a phone a row reads as a card of its own
                    html.Td(row.label, className="fw-semibold diff-field"),
                    html.Td(row.original, className="text-muted",
                            **{"data-label": labels.ORIGINAL_VALUE}),
                    html.Td(current, **{"data-label": labels.CURRENT_VALUE}),
                    html.Td(html.Mark(row.new) if row.new != row.original else row.new,
                            **{"data-label": labels.NEW_VALUE}),
                    # an empty Change (a text field) is no line of its own on a phone
                    html.Td(row.change, className="small", **{"data-label": _("Change")})
                    if row.change else html.Td("", className="d-none d-sm-table-cell"),
                ],
                className="table-danger" if row.stale else None,
                **{"data-field": row.field},
            )
        )
    if not body:  # every proposal was discarded
        body = [html.Tr(html.Td(_("No changes are proposed."), colSpan=5,
                                className="text-muted"))]  # fmt: skip
    return scroll_region(dbc.Table([head, html.Tbody(body)], hover=True, id="rq-diff"),
                         labels.PROPOSED_CHANGES)


def by_whom(event) -> str:
    """"by Paola Bianchi", "by Paola Bianchi for Alessandro Ricci" (out of office), or
    for a hand-over "Paola Bianchi for Alessandro Ricci"."""
    details = event.details or {}
    if event.action == "out_of_office":
        return _("{name} for {absent}").format(name=details.get("to", ""),
                                              absent=details.get("for", ""))  # fmt: skip
    if event.actor is None:
        return ""
    if details.get("for"):
        return _("by {name} for {absent}").format(name=event.actor.full_name,
                                                 absent=details["for"])  # fmt: skip
    return _("by {name}").format(name=event.actor.full_name)


def events_list(events, zone: str | None = None, reasons: dict | None = None) -> html.Ul:
    items = [
        html.Li(
            [
                html.Span(when(event.at, zone), className="text-muted small me-2"),
                html.Strong(EVENT_LABELS.get(event.action, event.action)),
                html.Span(f" · {event.step_name}" if event.step_name else ""),
                html.Span(" " + by_whom(event)),
                html.Div(_("Reason: {reason}").format(
                    reason=(reasons or {}).get(event.reason, event.reason)), className="small")
                if event.reason else None,
                html.Div(event.comment, className="small fst-italic") if event.comment else None,
            ],
            className="mb-1",
        )
        for event in events
    ]
    return html.Ul(items, className="list-unstyled mb-0", id="rq-events")


def decision_panel(view) -> dbc.Card:
    actions = view.actions
    buttons = []
    if "decide" in actions:
        buttons += [
            dbc.Button(labels.APPROVE, id={"type": ACTION, "action": "approve"}, color="success"),
            dbc.Button(
                labels.REJECT, id={"type": ACTION, "action": "reject"}, color="danger", outline=True
            ),
            dbc.Button(
                labels.REQUEST_CHANGE,
                id={"type": ACTION, "action": "request_change"},
                color="warning",
                outline=True,
            ),
            dbc.Button(
                labels.DELEGATE,
                id={"type": ACTION, "action": "delegate"},
                color="secondary",
                outline=True,
            ),
        ]
    if "recall" in actions:
        buttons.append(
            dbc.Button(labels.RECALL, id={"type": ACTION, "action": "recall"}, color="secondary")
        )
    delegates = [{"label": user.full_name, "value": user.id} for user in view.delegates]
    hidden = {"display": "none"}
    return dbc.Card(
        [
            dbc.CardHeader(labels.WORKFLOW, className="fw-semibold"),
            dbc.CardBody(
                [
                    html.P(
                        _("Approve, or reject or send back with a comment.")
                        if "decide" in actions
                        else OUTCOMES.get(view.request.state)
                        or _("Nothing waits for you on this request."),
                        className="text-muted small",
                        id="rq-outcome",
                    ),
                    dbc.Alert(
                        _(
                            "Some values changed since the proposal was made (marked in red). "
                            "Approving applies the new values over them."
                        ),
                        color="danger",
                        className="small",
                        style=None if view.stale else hidden,
                    ),
                    dbc.Checkbox(
                        id="rq-confirm-stale",
                        value=False,
                        label=_("I have checked the values that changed"),
                        style=None if view.stale and "decide" in actions else hidden,
                        className="mb-2",
                    ),
                    html.Div(
                        labelled(dbc.Textarea(id="rq-comment", rows=2, className="mb-2"),
                                 _("Comment")),
                        style=None if buttons else hidden,
                    ),
                    html.Div(
                        labelled(dbc.Select(id="rq-reason", className="mb-2",
                                            options=[{"label": label, "value": code}
                                                     for code, label in view.reasons],
                                            placeholder=_("Choose a reason")),
                                 _("Reason (to reject or send back)")),
                        style=None if view.reasons else hidden,
                    ),
                    html.Div(
                        labelled(dbc.Select(id="rq-delegate", options=delegates,
                                            placeholder=_("Delegate to…"), className="mb-2"),
                                 _("Delegate to"), hidden=True),
                        style=None if delegates else hidden,
                    ),
                    html.Div(buttons, className="d-flex gap-2 flex-wrap decision-bar"),
                ]
            ),
        ],
        className="shadow-sm",
    )


def request_body(view, side=None) -> html.Div:
    """The whole request; ``side`` goes under the decision panel (a manager's Reassign)."""
    return html.Div(
        [
            request_header(view),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.H2(labels.PROPOSED_CHANGES, className="h5"),
                            diff_table(view.rows),
                            html.H2(_("Workflow history"), className="h5 mt-4"),
                            events_list(view.events, view.zone, view.reason_labels),
                            thread_card(view),
                            html.H2(
                                _("Other recent changes to this customer"), className="h5 mt-4"
                            ),
                            audit_table(view.recent_changes, view.locale, view.zone),
                        ],
                        lg=8,
                    ),
                    dbc.Col([decision_panel(view), side], lg=4),
                ]
            ),
        ]
    )


def thread_items(comments, attachments, zone: str | None = None) -> html.Div:
    """The comment thread and the documents attached, oldest first."""
    said = [
        html.Li([html.Span(f"{comment.user.full_name} · {when(comment.at, zone)}",
                           className="text-muted small d-block"),
                 html.Span(comment.text, className="thread-text")], className="mb-2")
        for comment in comments
    ]  # fmt: skip
    documents = [
        html.Li([
            html.A(item.filename, href=f"/attachments/{item.id}", download=item.filename),
            html.Span(f" · {format_size(item.size)} · {item.uploaded_by.full_name} · "
                      f"{when(item.at, zone)}",
                      className="text-muted small"),
            html.Div(f"SHA-256 {item.sha256}", className="text-muted small text-break"),
        ], className="mb-2")
        for item in attachments
    ]  # fmt: skip
    return html.Div(
        [
            html.Ul(said, className="list-unstyled mb-2", id="rq-comments") if said
            else html.P(_("No comments yet."), className="text-muted small"),
            html.H3(_("Documents"), className="h6 mt-3"),
            html.Ul(documents, className="list-unstyled mb-2", id="rq-attachments") if documents
            else html.P(_("No documents attached."), className="text-muted small"),
        ]
    )  # fmt: skip


def format_size(size: int) -> str:
    """A document's size in the reader's number format (176 KB, 1,5 MB in Italian)."""
    if size < 1024 * 1024:
        return f"{format_decimal(round(size / 1024), locale=current_language())} KB"
    return f"{format_decimal(round(size / 1024 / 1024, 1), locale=current_language())} MB"


def thread_card(view) -> dbc.Card:
    """Comments visible to all who can see the request, and documents attached to it."""
    return dbc.Card(
        [
            dbc.CardHeader(html.H2(_("Comments and documents"), className="h5 mb-0")),
            dbc.CardBody(
                [
                    html.Div(thread_items(view.comments, view.attachments, view.zone),
                             id="rq-thread-items"),  # fmt: skip
                    html.Div(id="rq-thread-message", role="status"),
                    *labelled(dbc.Textarea(id="rq-new-comment", rows=2, maxLength=4000,
                                          className="mb-2"), _("Add a comment")),  # fmt: skip
                    dbc.Button(_("Add comment"), id="rq-comment-add", size="sm",
                               color="secondary", className="mb-3"),  # fmt: skip
                    dcc.Upload(
                        html.Div([_("Attach a document: drop it here, or") + " ",
                                  html.A(_("choose one"), href="#"), html.Br(),
                                  html.Small(_("PDF, PNG or JPEG, up to 10 MB"),
                                             className="text-muted")]),  # fmt: skip
                        id="rq-upload", max_size=MAX_UPLOAD, multiple=False,
                        accept=".pdf,.png,.jpg,.jpeg", className="upload-area mb-0",
                    ),
                ]
            ),
        ],
        className="mt-4",
        id="rq-thread",
    )


MAX_UPLOAD = 10 * 1024 * 1024
