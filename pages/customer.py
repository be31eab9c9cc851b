"""The customer editor: Save, the Proposed changes dialog, the Workflow menu, History."""

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from components.editor import (
    ACTION,
    DECISION,
    DECISIONS,
    DISCARD_ROW,
    FEEDBACK,
    FIELD,
    FIELD_NAMES,
    PROPOSED_HINT,
    customer_form,
    decision_dialog_content,
    is_boolean,
    render_editor,
)
from components.feedback import error_alert, success_alert
from data import requests as workflow
from data.customers import editor_view, save_customer
from data.errors import NotFound, ValidationFailed
from data.fields import field_label
from data.i18n import N_, _
from pages._decisions import decide
from pages._support import act, attempt, guarded_read, page_title, read

dash.register_page(__name__, path_template="/customers/<account>", title=page_title(N_("Customer")))


def layout(account: str = "", **_query):
    denied, view, alert = guarded_read("customers", editor_view, account)
    if denied is not None:
        return denied
    if view is None:
        return html.Div(
            [alert, dcc.Link(_("Back to customers"), href="/customers")], className="py-3"
        )
    rendered = render_editor(view)
    return html.Div(
        [
            dcc.Store(id="cs-editor", data=rendered.store),
            dcc.Store(id="cs-dirty", data=False),
            html.Div(
                id="cs-unsaved-message",
                hidden=True,
                **{"data-message": _("Leave this customer? The changes you typed are not saved.")},
            ),
            html.Div(
                [
                    html.Div(
                        [
                            dcc.Link(_("Customers"), href="/customers", className="small"),
                            html.H1(id="cs-title", children=rendered.title, className="h3 mb-1"),
                            html.Div(
                                id="cs-status",
                                children=rendered.status,
                                className="d-flex align-items-center",
                            ),
                        ]
                    ),
                    html.Div(id="cs-action-pane", children=rendered.actions, className="ms-auto"),
                ],
                className="d-flex align-items-end gap-3 mb-3 flex-wrap editor-header sticky-top",
            ),
            # the outcome of each action, read out; focus comes here when the control that
            # had it is redrawn (assets/a11y.js)
            html.Div(id="cs-alert", role="status", tabIndex="-1", **{"data-focus-return": "1"}),
            customer_form(view.values, view.gated, view.locked, view.may_edit, rendered.hints,
                          view.groups),  # fmt: skip
            # the history below the form, folded: a native disclosure any reader can open
            html.Details(
                [
                    html.Summary(_("History"), className="h5 mb-3"),
                    html.Div(id="cs-history", children=rendered.history),
                ],
                className="mt-2 mb-4",
                id="cs-history-block",
            ),
            dbc.Modal(
                id="cs-modal", children=rendered.dialog, is_open=False, size="lg", scrollable=True,
                labelledby="cs-modal-title",  # the dialog is named by its title
            ),
        ]
    )


def changed_fields(values: list, shown: dict[str, str]) -> dict[str, Any]:
    """Only what the user changed on the form since it was last shown."""
    changes = {}
    for name, value in zip(FIELD_NAMES, values, strict=True):
        text = "" if value is None else str(value)
        if text.strip() != (shown.get(name) or "").strip() and not (
            is_boolean(name) and text == "false" and not shown.get(name)
        ):
            changes[name] = value
    return changes


def describe_save(result) -> str:
    parts = []
    if result.applied:
        parts.append(
            _("Saved: {fields}.").format(fields=", ".join(map(field_label, result.applied)))
        )
    if result.proposed:
        proposed = ", ".join(field_label(change.field) for change in result.proposed)
        parts.append(
            _("{fields}: proposed for approval, not submitted yet.").format(fields=proposed)
        )
    if result.withdrawn:
        withdrawn = ", ".join(map(field_label, result.withdrawn))
        parts.append(_("Proposal withdrawn: {fields}.").format(fields=withdrawn))
    return " ".join(parts) or _("Nothing to save: no field was changed.")


def perform(trigger: Any, store: dict, values: list, decision: dict | None = None) -> dict:
    """Carry out what the user clicked; return what to show (keys of the outputs)."""
    account, request_id = store["account"], store.get("request_id")
    decision = decision or {}
    outcome: dict[str, Any] = {"open_dialog": False, "message": None, "errors": {}}

    if trigger == "cs-save":
        changes = changed_fields(values, store["shown"])
        try:
            result, alert = attempt(
                lambda: act(save_customer, account, changes, expected_version=store.get("version")),
                passing=(ValidationFailed,),
            )
        except ValidationFailed as error:
            on_form = {name: text for name, text in error.errors.items() if name in FIELD_NAMES}
            outcome.update(
                errors=on_form,
                keep_values=True,
                alert=error_alert(error.message, has_field_errors=bool(on_form)),
            )
            return outcome
        if result is None:
            outcome.update(alert=alert, keep_values=True)
            return outcome
        outcome["open_dialog"] = bool(result.proposed)
        outcome["message"] = describe_save(result)
        return outcome

    action = trigger.get("action") if isinstance(trigger, dict) else None
    if isinstance(trigger, dict) and trigger.get("type") == DISCARD_ROW:
        services = {"discard": (workflow.delete_proposal, (request_id, trigger["field"]))}
        action = "discard"
    else:
        seen = store.get("round")
        services = {
            "submit": (workflow.submit, (request_id,)),
            "resubmit": (workflow.resubmit, (request_id,)),
            "recall": (workflow.recall, (request_id,)),
            "discard_all": (workflow.discard_all, (request_id,)),
            # the round the page showed: a request resubmitted since is not approved unseen
            "approve": (_approve, (request_id, seen if isinstance(seen, int) else -1)),
        }
    if action == "open":
        outcome["open_dialog"] = True
        return outcome
    if isinstance(action, str) and action.startswith("ask_") and action[4:] in DECISIONS:
        # Workflow › Reject… / Request change… / Delegate…: the dialog asks for the comment
        outcome.update(open_dialog=True, decision=action[4:])
        return outcome
    if action in ("submit", "resubmit") and request_id is not None:
        return _submitted(outcome, action, request_id, decision.get("justification"))
    if action in DECISIONS:
        if request_id is None:
            outcome["alert"] = attempt(lambda: _raise_no_request())[1]
            return outcome
        seen = store.get("round")
        alert, following, _shown = decide(
            action, request_id, decision.get("comment"), decision.get("to_user"), False, seen,
            decision.get("reason"),
        )
        if following is None:  # refused: the dialog stays, with the reason and what was typed
            outcome.update(open_dialog=True, decision=action, problem=alert)
        else:
            outcome["alert"] = alert
        return outcome
    if action == "close" or action not in services:
        return outcome
    if request_id is None:
        outcome["alert"] = attempt(lambda: _raise_no_request())[1]
        return outcome
    service, args = services[action]
    done, alert = attempt(lambda: act(service, *args))
    outcome["alert"] = alert
    outcome["open_dialog"] = action == "discard" and done is not None and bool(done.changes)
    outcome["message"] = (
        {
            "submit": _("Submitted: the changes are pending approval."),
            "resubmit": _("Resubmitted: the changes are pending approval again."),
            "recall": _("Recalled: the changes are not submitted any more."),
            "discard_all": _("All proposed changes were discarded."),
            "approve": _("Approved."),
        }.get(action)
        if done is not None
        else None
    )
    return outcome


def _submitted(outcome: dict, action: str, request_id: int, justification: str | None) -> dict:
    """Workflow › Submit (or Resubmit): when a proposed field needs a justification and
    none is given, a dialog asks for it (what was typed stays, with the reason)."""
    service = workflow.submit if action == "submit" else workflow.resubmit
    try:
        _done, alert = attempt(lambda: act(service, request_id, justification),
                               passing=(ValidationFailed,))  # fmt: skip
    except ValidationFailed as error:
        if "justification" not in error.errors:
            outcome["alert"] = error_alert(error.message)
            return outcome
        asked = justification is not None  # the dialog was open: say what is wrong
        outcome.update(open_dialog=True, decision=action,
                       problem=error_alert(error.message) if asked else None)  # fmt: skip
        return outcome
    outcome["alert"] = alert
    if alert is None:
        outcome["message"] = (_("Submitted: the changes are pending approval.")
                              if action == "submit"
                              else _("Resubmitted: the changes are pending approval again."))
    return outcome


def _approve(session, actor, request_id: int, seen_round: int):
    return workflow.approve(session, actor, request_id, seen_round=seen_round)


def _raise_no_request():
    raise NotFound(_("This customer has no proposed changes."))


@callback(
    Output({"type": FIELD, "name": ALL}, "value"),
    Output({"type": FIELD, "name": ALL}, "disabled"),
    Output({"type": FIELD, "name": ALL}, "invalid"),
    Output({"type": FEEDBACK, "name": ALL}, "children"),
    Output({"type": PROPOSED_HINT, "name": ALL}, "children"),
    Output("cs-editor", "data"),
    Output("cs-status", "children"),
    Output("cs-action-pane", "children"),
    Output("cs-modal", "children"),
    Output("cs-modal", "is_open"),
    Output("cs-history", "children"),
    Output("cs-alert", "children"),
    Input("cs-save", "n_clicks"),
    Input({"type": ACTION, "action": ALL}, "n_clicks"),
    Input({"type": DISCARD_ROW, "field": ALL}, "n_clicks"),
    Input({"type": FIELD, "name": ALL}, "n_submit"),
    State({"type": FIELD, "name": ALL}, "value"),
    State("cs-editor", "data"),
    State({"type": DECISION, "name": ALL}, "value"),
    prevent_initial_call=True,
)
def on_editor_action(_save, _actions, _discards, _enters, values, store, decision_values):
    trigger = ctx.triggered_id
    if trigger is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise dash.exceptions.PreventUpdate
    if isinstance(trigger, dict) and trigger.get("type") == FIELD:
        trigger = "cs-save"  # Enter in a field saves
    decision = {
        item["id"]["name"]: value
        for item, value in zip(ctx.states_list[2], decision_values, strict=True)
    }
    return editor_response(trigger, store, values, decision)


# whether the form holds edits not yet saved: leaving the page then asks first
# (assets/unsaved.js reads the flag)
clientside_callback(
    """function(values, store) {
        const shown = (store && store.shown) || {};
        const ids = dash_clientside.callback_context.inputs_list[0].map((item) => item.id);
        const dirty = ids.some((id, index) => {
            const typed = values[index] == null ? "" : String(values[index]).trim();
            const before = (shown[id.name] || "").trim();
            return typed !== before && !(typed === "false" && before === "");
        });
        window.countersignUnsaved = dirty;
        return dirty;
    }""",
    Output("cs-dirty", "data"),
    Input({"type": FIELD, "name": ALL}, "value"),
    Input("cs-editor", "data"),
)


def editor_response(
    trigger: Any, store: dict, values: list, decision: dict | None = None
) -> tuple:
    """The outputs of the editor callback for one click (callable without Dash);
    ``decision`` holds the decision dialog's comment and delegate when it is open."""
    decision = decision or {}
    outcome = perform(trigger, store, values, decision)
    errors = outcome.get("errors", {})
    view, alert = attempt(lambda: read(editor_view, store["account"]))
    unchanged = [no_update] * len(FIELD_NAMES)
    if view is None:
        return (unchanged,) * 5 + (no_update,) * 6 + (alert,)
    rendered = render_editor(view)
    dialog = rendered.dialog
    chosen = outcome.get("decision")
    allowed = "decide" if chosen not in ("submit", "resubmit") else chosen
    if chosen and view.request is not None and allowed in view.actions:
        typed = decision.get("justification" if allowed == chosen else "comment") or ""
        dialog = decision_dialog_content(
            chosen, view, typed, decision.get("to_user"), outcome.get("problem"),
            decision.get("reason"),
        )  # fmt: skip
    elif outcome.get("decision"):
        outcome["open_dialog"] = False  # decided meanwhile: the status says what happened
    alert = outcome.get("alert")
    if alert is None and outcome.get("message"):
        alert = success_alert(outcome["message"])
    if outcome.get("keep_values"):
        values_shown = unchanged
    elif trigger == "cs-save":
        values_shown = rendered.values
    else:  # another action: what the user typed and has not saved stays on the form
        edited = changed_fields(values, store["shown"])
        values_shown = [values[index] if name in edited else fresh
                        for index, (name, fresh) in enumerate(zip(FIELD_NAMES, rendered.values,
                                                                  strict=True))]  # fmt: skip
    return (
        values_shown,
        rendered.disabled,
        [name in errors for name in FIELD_NAMES],
        [errors.get(name, "") for name in FIELD_NAMES],
        rendered.hints,
        rendered.store,
        rendered.status,
        rendered.actions,
        dialog,
        outcome["open_dialog"],
        rendered.history,
        alert if alert is not None else no_update,  # a message stays until there is another
    )
