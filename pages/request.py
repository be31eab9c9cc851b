"""One change request: its diff, history and the Workflow decisions."""

import base64

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from components.controls import labelled
from components.feedback import success_alert
from components.request import ACTION, request_body, thread_items
from data import requests as workflow
from data.errors import StaleChange, ValidationFailed
from data.i18n import N_, _
from data.inbox import next_waiting, request_page
from data.notifications import mark_read
from data.threads import add_attachment, add_comment, thread
from pages._decisions import decide
from pages._support import act, act_and_show, attempt, guard, page_title, read

dash.register_page(
    __name__, path_template="/requests/<request_id>", title=page_title(N_("Request"))
)


def layout(request_id: str = "", after: str = "", notification: str = "", **_query):
    denied = guard("customers")
    if denied is not None:
        return denied
    if notification.isdigit():  # opened from a notification: it is read now
        attempt(lambda: act(mark_read, int(notification)))
    if request_id == "next":
        # "Next request →" after a decision: the oldest request still waiting for me,
        # looked up when asked for rather than on every decision
        following, alert = attempt(
            lambda: read(next_waiting, int(after) if after.isdigit() else None)
        )
        if alert is not None:
            return alert
        if following is None:
            return html.Div(
                [
                    html.P(_("Nothing else is waiting for you."), className="lead mt-3"),
                    dcc.Link(_("Back to the inbox"), href="/approvals"),
                ]
            )
        request_id = str(following)
    if not request_id.isdigit():
        return dbc.Alert(_("There is no such request."), color="warning")
    shown, alert = attempt(lambda: read(request_page, int(request_id)))
    if shown is None:
        return alert
    return html.Div(
        [
            dcc.Store(id="rq-id", data=int(request_id)),
            # the outcome of each action, read out; focus comes here when the control that
            # had it is redrawn (assets/a11y.js)
            html.Div(id="rq-alert", role="status", tabIndex="-1", **{"data-focus-return": "1"}),
            html.Div(body(shown, int(request_id)), id="rq-body"),
        ]
    )


def body(shown, request_id: int) -> list:
    """The request as this user sees it (``request_page``), with the round they see (a
    decision names it)."""
    view, choices = shown
    return [
        dcc.Store(id="rq-seen-round", data=view.request.round),
        request_body(view, reassign_panel(choices)),
    ]


def reassign_panel(choices):
    """For managers: move a stuck open assignment to someone else."""
    if choices is None:
        return None
    assignments, targets = choices
    return dbc.Card(
        [
            dbc.CardHeader(_("Reassign"), className="fw-semibold bg-white"),
            dbc.CardBody(
                [
                    html.P(
                        _(
                            "Move an open assignment to another approver; "
                            "the workflow history records it."
                        ),
                        className="text-muted small",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                labelled(dbc.Select(
                                    id="rq-reassign-from",
                                    options=[
                                        {"label": f"{holder} · {step}", "value": str(a_id)}
                                        for a_id, holder, step in assignments
                                    ],
                                    value=str(assignments[0][0]),
                                ), _("Assignment"), hidden=True),
                                width=12,
                            ),
                            dbc.Col(
                                labelled(dbc.Select(
                                    id="rq-reassign-to",
                                    options=[
                                        {"label": name, "value": str(u_id)}
                                        for u_id, name in targets
                                    ],
                                    placeholder=_("Reassign to…"),
                                ), _("Reassign to"), hidden=True),
                                width=12,
                            ),
                            dbc.Col(
                                labelled(dbc.Input(
                                    id="rq-reassign-comment", placeholder=_("Comment (optional)")
                                ), _("Comment (optional)"), hidden=True),
                                width=12,
                            ),
                            dbc.Col(
                                dbc.Button(
                                    _("Reassign"), id="rq-reassign-button", color="secondary"
                                ),
                                width=12,
                            ),
                        ],  # fmt: skip
                        className="g-2",
                    ),
                ]
            ),
        ],
        className="shadow-sm mt-3",
        id="rq-reassign-card",
    )


@callback(
    Output("rq-body", "children", allow_duplicate=True),
    Output("rq-alert", "children", allow_duplicate=True),
    Input("rq-reassign-button", "n_clicks"),
    State("rq-id", "data"),
    State("rq-reassign-from", "value"),
    State("rq-reassign-to", "value"),
    State("rq-reassign-comment", "value"),
    prevent_initial_call=True,
)
def on_reassign(clicks, request_id, assignment_id, to_user_id, comment):
    if not clicks:
        raise dash.exceptions.PreventUpdate
    return reassign_response(request_id, assignment_id, to_user_id, comment)


def reassign_response(request_id, assignment_id, to_user_id, comment):
    def work():
        if not str(assignment_id or "").isdigit():
            raise ValidationFailed({"assignment": _("choose")}, _("Choose the assignment to move."))
        if not str(to_user_id or "").isdigit():
            raise ValidationFailed({"to_user": _("choose")}, _("Choose whom to reassign to."))
        return act_and_show(lambda session, actor: request_page(session, actor, request_id),
                            workflow.reassign, int(assignment_id), int(to_user_id),
                            comment or None)  # fmt: skip

    done, alert = attempt(work)
    if done is None:
        return no_update, alert
    _done, (shown, view_alert) = done
    return (
        body(shown, request_id) if shown else no_update,
        success_alert(_("Reassigned.")) if shown else view_alert,
    )


@callback(
    Output("rq-body", "children"),
    Output("rq-alert", "children"),
    Input({"type": ACTION, "action": ALL}, "n_clicks"),
    State("rq-id", "data"),
    State("rq-comment", "value"),
    State("rq-delegate", "value"),
    State("rq-confirm-stale", "value"),
    State("rq-seen-round", "data"),
    State("rq-reason", "value"),
    prevent_initial_call=True,
)
def on_decision(_clicks, request_id, comment, delegate_to, confirm, seen_round, reason=None):
    if not (ctx.triggered and ctx.triggered[0].get("value")):
        raise dash.exceptions.PreventUpdate
    return decision_response(
        ctx.triggered_id["action"], request_id, comment, delegate_to, confirm, seen_round, reason
    )


def decision_response(action, request_id, comment, delegate_to, confirm, seen_round,
                      reason=None):  # fmt: skip
    def show(session, actor):
        return request_page(session, actor, request_id)

    try:
        alert, following, shown = decide(action, request_id, comment, delegate_to, confirm,
                                         seen_round, reason, show=show)  # fmt: skip
    except StaleChange as error:
        alert, following, shown = (
            dbc.Alert(
                [
                    error.message,
                    " " + _("Tick “I have checked the values that changed” to approve anyway."),
                ],
                color="danger",
            ),
            None,
            None,
        )
    # decided: the page as the decision's session saw it once committed; else read now
    page, page_alert = shown or attempt(lambda: read(request_page, request_id))
    if following is not None:
        alert = html.Div(
            [
                alert,
                dbc.Button(
                    _("Next request →"),
                    href=following,
                    color="primary",
                    id="rq-next",
                    className="mb-3",
                ),
            ]
        )
    return (body(page, request_id) if page else no_update), (alert or page_alert)


def thread_response(request_id, work) -> tuple:
    """Do ``work`` (add a comment or a document), then the thread as it is now; a refusal
    is said and what was typed stays."""
    done, alert = attempt(work)
    shown, view_alert = attempt(lambda: read(thread, request_id))
    items = thread_items(*shown) if shown else no_update
    return items, (alert or view_alert), done is not None


@callback(
    Output("rq-thread-items", "children"),
    Output("rq-thread-message", "children"),
    Output("rq-new-comment", "value"),
    Input("rq-comment-add", "n_clicks"),
    State("rq-id", "data"),
    State("rq-new-comment", "value"),
    prevent_initial_call=True,
)
def on_comment(clicks, request_id, text):
    if not clicks:
        raise dash.exceptions.PreventUpdate
    items, alert, done = thread_response(request_id,
                                         lambda: act(add_comment, int(request_id), text))
    return items, alert, ("" if done else no_update)


@callback(
    Output("rq-thread-items", "children", allow_duplicate=True),
    Output("rq-thread-message", "children", allow_duplicate=True),
    Input("rq-upload", "contents"),
    State("rq-upload", "filename"),
    State("rq-id", "data"),
    prevent_initial_call=True,
)
def on_upload(contents, filename, request_id):
    if not contents:
        raise dash.exceptions.PreventUpdate
    return upload_response(request_id, filename, contents)


def upload_response(request_id, filename, contents) -> tuple:
    def work():
        try:
            content = base64.b64decode(str(contents).split(",", 1)[1], validate=True)
        except (IndexError, ValueError):
            raise ValidationFailed({"file": _("could not be read")}) from None
        return act(add_attachment, int(request_id), filename, content)

    items, alert, done = thread_response(request_id, work)
    if done:
        alert = success_alert(_("Attached {name}.").format(name=filename or ""))
    return items, alert
