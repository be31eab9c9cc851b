"""The customer editor's pieces: fields, the Proposed changes table, actions, history.

Just over 500 lines: every piece the one editor page draws, kept with the others it is
drawn beside (the decision dialog reuses the Proposed changes table)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dash_bootstrap_components as dbc
import pycountry
from babel import Locale
from dash import dcc, html

from components.controls import dom_id, scroll_region
from components.status import status_badge
from data import labels
from data.fields import EDITABLE_FIELDS, GROUPS, FieldSpec, field_label, field_spec
from data.i18n import N_, Labels, _, current_language
from data.localtime import local_text

FIELD = "cs-field"
FEEDBACK = "cs-feedback"
ACTION = "cs-action"
DISCARD_ROW = "cs-discard"
PROPOSED_HINT = "cs-proposed"
DECISION = "cs-decision"
DECISIONS = Labels(
    {
        "reject": N_("Reject"),
        "request_change": N_("Request change"),
        "delegate": N_("Delegate"),
    }
)
DECISION_TITLES = Labels(
    {
        "reject": N_("Reject request #{id}"),
        "request_change": N_("Send request #{id} back to the submitter"),
        "delegate": N_("Delegate request #{id}"),
        "submit": N_("Submit request #{id}"),
        "resubmit": N_("Resubmit request #{id}"),
    }
)
DECISION_HINTS = Labels(
    {
        "reject": N_("Rejecting closes the request: the customer keeps its current values. "
                     "Say why in the comment."),
        "request_change": N_("The submitter can change the proposal and submit it again. "
                             "Say what to change in the comment."),
        "delegate": N_("The person you choose decides this step in your place."),
        "submit": N_("Some of these changes need a justification: say why they are needed. "
                     "The approvers read it with the changes."),
        "resubmit": N_("Some of these changes need a justification: say why they are needed. "
                       "The approvers read it with the changes."),
    }
)
PROPOSAL_STATES = Labels(
    {
        "draft": N_("not submitted"),
        "pending": N_("pending approval"),
        "change_requested": N_("sent back"),
    }
)

FIELD_NAMES = [spec.name for spec in EDITABLE_FIELDS]
CURRENCY_CODES = sorted(currency.alpha_3 for currency in pycountry.currencies)
COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)
CURRENCY_SET, COUNTRY_SET = frozenset(CURRENCY_CODES), frozenset(COUNTRY_CODES)
EVENT_LABELS = Labels(
    {
        "submitted": N_("Submitted"),
        "resubmitted": N_("Resubmitted"),
        "recalled": N_("Recalled"),
        "approved": N_("Approved"),
        "rejected": N_("Rejected"),
        "change_requested": N_("Change requested"),
        "delegated": N_("Delegated"),
        "reassigned": N_("Reassigned"),
        "escalated": N_("Escalated"),
        "out_of_office": N_("Out of office: handed over"),
        "released": N_("Assignment handed back"),
        "step_started": N_("Step started"),
        "step_skipped": N_("Step skipped"),
        "applied": N_("Changes applied"),
        "closed_rejected": N_("Closed as rejected"),
        "discarded": N_("Discarded"),
    }
)


def field_control(
    spec: FieldSpec, text: str | None, disabled: bool, groups: list[tuple[str, str]] | None = None
):
    control_id = {"type": FIELD, "name": spec.name}
    if spec.name == "customer_group":  # picked from the groups an administrator set up
        options = [{"label": f"{code} · {description}" if description else code, "value": code}
                   for code, description in groups or []]  # fmt: skip
        if text and text not in {option["value"] for option in options}:
            options.append({"label": text, "value": text})
        return dbc.Select(id=control_id, options=options, value=text or "", disabled=disabled)
    if spec.kind == "boolean":
        return dbc.Select(
            id=control_id,
            options=[{"label": _("Yes"), "value": "true"}, {"label": _("No"), "value": "false"}],
            value=text or "false",
            disabled=disabled,
        )
    if spec.kind == "choice":
        options = [{"label": _(choice), "value": choice} for choice in spec.choices]
        return dbc.Select(id=control_id, options=options, value=text, disabled=disabled)
    if spec.kind in ("currency", "country"):
        return dbc.Select(id=control_id, options=code_options(spec.kind, text), value=text or "",
                          disabled=disabled)  # fmt: skip
    return dbc.Input(
        id=control_id,
        value=text or "",
        disabled=disabled,
        type="text",
        maxLength=spec.max_length or 40,
        autoComplete="off",
    )


def code_options(kind: str, current: str | None) -> list[dict]:
    """ISO currencies or countries to pick from, named in the reader's language (the CLDR,
    through Babel); a value stored before that is not among them stays offered."""
    options = list(_named_codes(kind, current_language()))
    if current and current not in (CURRENCY_SET if kind == "currency" else COUNTRY_SET):
        options.append({"label": current, "value": current})
    return options


@functools.cache
def _named_codes(kind: str, language: str) -> tuple[dict, ...]:
    """Every code of ``kind`` with its name in ``language``, worked out once per language."""
    names = Locale.parse(language)
    table = names.currencies if kind == "currency" else names.territories
    codes = CURRENCY_CODES if kind == "currency" else COUNTRY_CODES
    return ({"label": "—", "value": ""},
            *({"label": f"{code} · {table.get(code, code)}", "value": code} for code in codes))


def field_row(
    spec: FieldSpec, text: str | None, gated: bool, disabled: bool, hint: str = "",
    groups: list[tuple[str, str]] | None = None,
) -> dbc.Col:  # fmt: skip
    control_id = {"type": FIELD, "name": spec.name}
    label = [spec.label]
    if gated:
        label.append(
            dbc.Badge(
                _("needs approval"),
                color="light",
                text_color="secondary",
                className="ms-2 fw-normal gated-mark",
            )
        )
    return dbc.Col(
        html.Div(
            [
                dbc.Label(label, html_for=dom_id(control_id), className="small mb-1"),
                field_control(spec, text, disabled, groups),
                dbc.FormFeedback(id={"type": FEEDBACK, "name": spec.name}, type="invalid"),
                html.Div(hint, id={"type": PROPOSED_HINT, "name": spec.name},
                         className="form-text proposed-hint"),  # fmt: skip
            ],
            className="mb-3",
        ),
        md=6,
    )


def customer_form(
    values: dict[str, str | None],
    gated: set[str],
    locked: set[str],
    may_edit: bool,
    hints: list[str] | None = None,
    groups: list[tuple[str, str]] | None = None,
) -> html.Div:
    """Every editable field from the catalogue, grouped in cards; ``hints`` (one per field of
    FIELD_NAMES) say what is proposed for it; ``groups`` are the customer groups to pick."""
    hint_of = dict(zip(FIELD_NAMES, hints or [""] * len(FIELD_NAMES), strict=True))
    cards = []
    for group in GROUPS:
        specs = [spec for spec in EDITABLE_FIELDS if spec.group == group]
        rows = [
            field_row(
                spec,
                values.get(spec.name),
                spec.name in gated,
                disabled=not may_edit or spec.name in locked,
                hint=hint_of[spec.name],
                groups=groups,
            )
            for spec in specs
        ]
        cards.append(
            dbc.Card(
                [dbc.CardHeader(_(group), className="fw-semibold"), dbc.CardBody(dbc.Row(rows))],
                className="mb-3 shadow-sm",
            )
        )
    return html.Div(cards)


def current_values(view) -> dict[str, str]:
    """The customer's values as they stand, for an approver comparing them with the
    proposal."""
    return {spec.name: spec.display(getattr(view.customer, spec.name), view.locale)
            for spec in EDITABLE_FIELDS}  # fmt: skip


def proposed_changes_table(
    changes: Iterable, editable: bool, locale: str | None = None,
    current: dict[str, str] | None = None,
):  # fmt: skip
    rows = []
    for change in sorted(changes, key=lambda c: FIELD_NAMES.index(c.field)):
        spec = field_spec(change.field)
        discard = (
            dbc.Button(
                labels.DISCARD,
                id={"type": DISCARD_ROW, "field": change.field},
                color="link",
                size="sm",
                className="p-0",
            )
            if editable
            else None
        )
        rows.append(
            html.Tr(
                [
                    html.Td(spec.label),
                    html.Td(
                        spec.display_text(change.original_value, locale), className="text-muted"
                    ),
                    *([html.Td(current.get(change.field, ""))] if current is not None else []),
                    html.Td(spec.display_text(change.new_value, locale), className="fw-semibold"),
                    html.Td(discard, className="text-end"),
                ],
                **{"data-field": change.field},
            )
        )
    if not rows:
        return html.P(_("There are no proposed changes."), className="text-muted mb-0")
    header = html.Thead(
        html.Tr(
            [
                html.Th(_("Field")),
                html.Th(labels.ORIGINAL_VALUE),
                *([html.Th(labels.CURRENT_VALUE)] if current is not None else []),
                html.Th(labels.NEW_VALUE),
                html.Th(""),
            ]
        )
    )
    return dbc.Table(
        [header, html.Tbody(rows)],
        hover=True,
        size="sm",
        className="mb-0",
        id="proposed-changes-table",
    )


def proposed_changes_dialog_content(
    changes: list, editable: bool, locale: str | None = None,
    current: dict[str, str] | None = None,
) -> list:
    footer = []
    if editable and changes:
        footer.append(
            dbc.Button(
                labels.DISCARD_ALL_CHANGES,
                id={"type": ACTION, "action": "discard_all"},
                color="outline-danger",
                className="me-auto",
            )
        )
    footer.append(dbc.Button(labels.OK, id={"type": ACTION, "action": "close"}, color="primary"))
    return [
        dbc.ModalHeader(dbc.ModalTitle(labels.PROPOSED_CHANGES, id="cs-modal-title")),
        dbc.ModalBody(proposed_changes_table(changes, editable, locale, current)),
        dbc.ModalFooter(footer),
    ]


def decision_dialog_content(
    action: str, view, comment: str = "", to_user: Any = None, problem: Any = None,
    reason: str | None = None,
) -> list:
    """Workflow › Reject / Request change / Delegate on the customer page: the changes as
    the approver decides them, a comment, whom to delegate to, and the decision's button."""
    request = view.request
    comment_id = {"type": DECISION, "name": "comment"}
    to_user_id = {"type": DECISION, "name": "to_user"}
    controls = []
    if action == "delegate":
        controls.append(
            html.Div(
                [
                    dbc.Label(_("Delegate to"), html_for=dom_id(to_user_id)),
                    dbc.Select(
                        id=to_user_id,
                        options=[{"label": user.full_name, "value": str(user.id)}
                                 for user in view.delegates],  # fmt: skip
                        value=str(to_user) if to_user else None,
                        placeholder=_("Choose an approver"),
                    ),
                ],
                className="mb-2",
            )
        )
    if action in ("submit", "resubmit"):
        justification_id = {"type": DECISION, "name": "justification"}
        controls.append(html.Div([
            dbc.Label(_("Justification"), html_for=dom_id(justification_id)),
            dbc.Textarea(id=justification_id, value=comment or "", rows=3, maxLength=4000),
        ]))  # fmt: skip
    reason_id = {"type": DECISION, "name": "reason"}
    if action in ("reject", "request_change") and view.reasons:
        controls.append(
            html.Div(
                [
                    dbc.Label(_("Reason"), html_for=dom_id(reason_id)),
                    dbc.Select(id=reason_id, value=reason,
                               options=[{"label": label, "value": code}
                                        for code, label in view.reasons],
                               placeholder=_("Choose a reason")),  # fmt: skip
                ],
                className="mb-2",
            )
        )
    if action not in ("submit", "resubmit"):
        controls.append(
            html.Div(
                [
                    dbc.Label(_("Comment"), html_for=dom_id(comment_id)),
                    dbc.Textarea(id=comment_id, value=comment or "", rows=3),
                ]
            )
        )
    return [
        dbc.ModalHeader(dbc.ModalTitle(DECISION_TITLES[action].format(id=request.id),
                                       id="cs-modal-title")),
        dbc.ModalBody(
            [
                html.Div(problem, id="cs-decision-problem"),
                html.P(DECISION_HINTS[action], className="text-muted small"),
                proposed_changes_table(request.changes, False, view.locale, current_values(view)),
                html.Div(controls, className="mt-3"),
            ]
        ),
        dbc.ModalFooter(
            [
                dbc.Button(_("Cancel"), id={"type": ACTION, "action": "close"},
                           color="secondary", outline=True),
                dbc.Button(DECISIONS.get(action) or {"submit": labels.SUBMIT,
                                                     "resubmit": labels.RESUBMIT}[action],
                           id={"type": ACTION, "action": action},
                           color="danger" if action == "reject" else "primary"),
            ]  # fmt: skip
        ),
    ]


def action_pane(
    state: str | None,
    actions: set[str],
    has_changes: bool,
    may_edit: bool,
    request_id: int | None = None,
):
    """Save, and once there is a proposal, Proposed changes and the Workflow menu."""
    buttons = [dbc.Button(_("Save"), id="cs-save", color="primary", disabled=not may_edit)]
    if has_changes:
        buttons.append(
            dbc.Button(
                labels.PROPOSED_CHANGES,
                id={"type": ACTION, "action": "open"},
                color="outline-secondary",
            )
        )
    items = [
        dbc.DropdownMenuItem(label, id={"type": ACTION, "action": action})
        for action, label in (
            ("submit", labels.SUBMIT),
            ("resubmit", labels.RESUBMIT),
            ("recall", labels.RECALL),
        )
        if action in actions
    ]
    if "decide" in actions:
        # the seed's approver path: Workflow › Approve here; a decision that needs a
        # comment or a person asks for it in a dialog first
        items += [
            dbc.DropdownMenuItem(labels.APPROVE, id={"type": ACTION, "action": "approve"}),
            *[
                dbc.DropdownMenuItem(
                    f"{DECISIONS[action]}…", id={"type": ACTION, "action": f"ask_{action}"}
                )
                for action in ("reject", "request_change", "delegate")
            ],
        ]
    if items:
        buttons.append(
            dbc.DropdownMenu(
                items, label=labels.WORKFLOW, color="outline-secondary", id="cs-workflow-menu"
            )
        )
    return html.Div(buttons, className="d-flex gap-2 flex-wrap")


def request_status(state: str | None, comment: str | None, request_id: int | None = None) -> list:
    if state is None:
        return []
    parts = [status_badge(state)]
    if request_id is not None and state != "draft":
        parts.append(dcc.Link(_("Request #{id}").format(id=request_id),
                              href=f"/requests/{request_id}", className="ms-2 small",
                              id="cs-request-link"))  # fmt: skip
    if state == "draft":
        parts.append(html.Span(labels.NOT_SUBMITTED_MESSAGE, className="ms-2"))
    elif state == "change_requested" and comment:
        parts.append(html.Span([_("Approver's comment: "), html.Q(comment)], className="ms-2"))
    return parts


def audit_table(entries: list, locale: str | None = None, zone: str | None = None) -> html.Div:
    if not entries:
        return html.P(
            _("No changes have been applied to this customer yet."), className="text-muted"
        )
    rows = [
        html.Tr(
            [
                html.Td(local_text(entry.at, zone), className="text-nowrap small"),
                html.Td(field_label(entry.field)),
                html.Td(
                    field_spec(entry.field).display_text(entry.old_value, locale),
                    className="text-muted",
                ),
                html.Td(field_spec(entry.field).display_text(entry.new_value, locale)),
                html.Td(
                    labels.AUDIT_SOURCE_LABELS.get(entry.source, entry.source)
                    + (f" #{entry.request_id}" if entry.request_id else "")
                ),
                html.Td(entry.user.full_name if entry.user else ""),
            ]
        )
        for entry in entries
    ]
    header = html.Thead(
        html.Tr(
            [
                html.Th(header)
                for header in (
                    _("When"),
                    _("Field"),
                    _("Old value"),
                    _("New value"),
                    _("Source"),
                    _("User"),
                )  # fmt: skip
            ]
        )
    )
    return scroll_region(dbc.Table([header, html.Tbody(rows)], size="sm", hover=True),
                         _("Applied changes"))


def request_history(requests: list, zone: str | None = None) -> html.Div:
    if not requests:
        return html.P(_("No change requests yet."), className="text-muted")
    items = []
    for request in requests:
        events = [
            html.Li(
                [
                    html.Span(local_text(event.at, zone), className="text-muted small me-2"),
                    html.Strong(EVENT_LABELS.get(event.action, event.action)),
                    html.Span(f" · {event.step_name}" if event.step_name else ""),
                    html.Span(
                        " " + _("by {name}").format(name=event.actor.full_name)
                        if event.actor
                        else ""
                    ),
                    html.Div(event.comment, className="small fst-italic")
                    if event.comment
                    else None,
                ]
            )
            for event in request.events
        ]
        fields = ", ".join(field_label(change.field) for change in request.changes)
        title = html.Span(
            [
                _("Request #{id}").format(id=request.id) + " ",
                status_badge(request.state),
                html.Span(f" {fields}", className="text-muted small ms-1"),
            ]
        )
        items.append(
            dbc.AccordionItem(
                html.Ul(
                    events or [html.Li(_("Not submitted yet."))], className="list-unstyled mb-0"
                ),
                title=title,
            )
        )
    return dbc.Accordion(items, start_collapsed=True, always_open=True)


@dataclass
class Rendered:
    """Everything the editor shows, rendered from one EditorView."""

    title: Any
    status: list
    actions: Any
    dialog: list
    history: Any
    store: dict
    values: list = field(default_factory=list)
    disabled: list = field(default_factory=list)
    hints: list = field(default_factory=list)


def customer_title(customer) -> list:
    return [customer.account, html.Span(f" · {customer.name}", className="text-muted")]


def render_editor(view) -> Rendered:
    """Everything the editor shows for one EditorView (loaded; nothing lazy is touched)."""
    request = view.request
    changes = list(request.changes) if request else []
    editable = "edit_proposals" in view.actions
    return Rendered(
        title=customer_title(view.customer),
        status=request_status(
            request.state if request else None,
            request.last_comment if request else None,
            request.id if request else None,
        ),
        actions=action_pane(
            request.state if request else None,
            view.actions,
            bool(changes),
            view.may_edit,
            request.id if request else None,
        ),
        dialog=proposed_changes_dialog_content(
            changes, editable, view.locale, None if editable else current_values(view)
        ),
        history=html.Div(
            [
                html.H2(_("Change requests"), className="h6"),
                request_history(view.requests, view.zone),
                html.H2(_("Applied changes"), className="h6 mt-4"),
                audit_table(view.audit, view.locale, view.zone),
            ]
        ),
        store={
            "account": view.customer.account,
            "version": view.customer.version,
            "request_id": request.id if request else None,
            "round": request.round if request else None,
            "shown": {name: view.values.get(name) or "" for name in FIELD_NAMES},
        },
        values=[
            view.values.get(name) or ("false" if is_boolean(name) else "") for name in FIELD_NAMES
        ],
        disabled=[not view.may_edit or name in view.locked for name in FIELD_NAMES],
        hints=proposal_hints(request, view.locale),
    )


def proposal_hints(request, locale: str | None) -> list[str]:
    """Under each field with an open proposal: "Proposed: 280,000.00 · not submitted"."""
    if request is None or request.state not in PROPOSAL_STATES:
        return [""] * len(FIELD_NAMES)
    proposed = {change.field: change.new_value for change in request.changes}
    state = PROPOSAL_STATES[request.state]
    return [
        _("Proposed: {value} · {state}").format(
            value=field_spec(name).display_text(proposed[name], locale) or "—", state=state
        )
        if name in proposed
        else ""
        for name in FIELD_NAMES
    ]


def is_boolean(name: str) -> bool:
    return field_spec(name).kind == "boolean"
