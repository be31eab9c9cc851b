"""The customer editor's callback, called directly as a signed-in user."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dash import no_update

from data.customers import find_customer
from data.models import ChangeRequest

OUT = ["values", "disabled", "invalid", "feedback", "hints", "store", "status", "actions", "dialog",
       "dialog_open", "history", "alert"]  # fmt: skip


@pytest.fixture
def editor(web):
    import pages.customer as page
    from components.editor import FIELD_NAMES, render_editor
    from data.customers import editor_view
    from pages._support import read

    class Editor:
        def __init__(self):
            self.web = web
            self.page = page

        def load(self, username="clerk", account="C001"):
            with web.signed_in(username):
                rendered = render_editor(read(editor_view, account))
            self.store, self.values = rendered.store, list(rendered.values)
            return self

        def set(self, name, value):
            self.values[FIELD_NAMES.index(name)] = value
            return self

        def click(self, trigger, username="clerk", decision=None):
            with web.signed_in(username):
                result = dict(zip(OUT, page.editor_response(trigger, self.store, self.values, decision),
                                  strict=True))
            if result["store"] is not no_update:
                self.store = result["store"]
            if not all(value is no_update for value in result["values"]):
                self.values = list(result["values"])
            return result

        def customer(self):
            return web.world.query(lambda s: find_customer(s, "C001"))

        def request(self):
            return web.world.query(lambda s: s.query(ChangeRequest).order_by(ChangeRequest.id.desc()).first())

    return Editor()


def text_of(component) -> str:
    """All the text inside a Dash component tree."""
    if component is None or component is no_update:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(text_of(c) for c in component)
    label = getattr(component, "label", None)
    return " ".join(filter(None, [text_of(label) if label else "", text_of(getattr(component, "children", None))]))


ACTION = "cs-action"


def walk(component):
    """Every component in a tree."""
    if isinstance(component, (list, tuple)):
        for child in component:
            yield from walk(child)
    elif hasattr(component, "_prop_names"):
        yield component
        yield from walk(getattr(component, "children", None))


def test_save_splits_gated_and_direct_changes_and_opens_the_dialog(editor):
    from components.editor import FIELD_NAMES

    out = editor.load().set("credit_limit", "25000").set("city", "Brescia").click("cs-save")

    assert out["dialog_open"] is True
    dialog = text_of(out["dialog"])
    assert "Proposed changes" in dialog and "10,000.00" in dialog and "25,000.00" in dialog
    assert "Credit limit" in dialog and "Discard all changes" in dialog
    assert out["values"][FIELD_NAMES.index("credit_limit")] == "10,000.00"  # reset to original
    assert out["values"][FIELD_NAMES.index("city")] == "Brescia"
    assert "have not been submitted" in text_of(out["status"])
    assert "Workflow" in text_of(out["actions"]) and "Proposed changes" in text_of(out["actions"])
    assert "Saved: City" in text_of(out["alert"])
    assert editor.customer().city == "Brescia"
    assert editor.customer().credit_limit == Decimal("10000.00")


def test_invalid_value_marks_the_field_and_saves_nothing(editor):
    from components.editor import FIELD_NAMES

    out = editor.load().set("credit_limit", "-3").set("city", "Brescia").click("cs-save")

    index = FIELD_NAMES.index("credit_limit")
    assert out["invalid"][index] is True
    assert "must not be negative" in out["feedback"][index]
    assert all(value is no_update for value in out["values"])  # the user's input stays
    assert "Nothing was saved" in text_of(out["alert"])
    assert editor.customer().city is None


def test_discard_one_row_then_submit_recall_and_discard_all(editor):
    editor.load().set("credit_limit", "25000").set("on_hold", "All").click("cs-save")

    out = editor.click({"type": "cs-discard", "field": "on_hold"})
    assert out["dialog_open"] is True
    assert "On hold" not in text_of(out["dialog"])

    out = editor.click({"type": ACTION, "action": "submit"})
    assert "Changes pending approval" in text_of(out["status"])
    from components.editor import FIELD_NAMES

    assert out["disabled"][FIELD_NAMES.index("credit_limit")] is True
    assert "Recall" in text_of(out["actions"])
    assert editor.request().state == "pending"

    out = editor.click({"type": ACTION, "action": "recall"})
    assert "Not submitted" in text_of(out["status"])
    assert editor.request().state == "draft"

    out = editor.click({"type": ACTION, "action": "discard_all"})
    assert text_of(out["status"]) == ""
    assert "Workflow" not in text_of(out["actions"])
    assert editor.request().state == "discarded"  # it was submitted once: its history stays


def test_stale_form_is_refused_with_a_clear_message(editor):
    editor.load()
    other = editor.__class__().load(username="clerk2")
    other.set("city", "Bari").click("cs-save", username="clerk2")

    out = editor.set("city", "Lecce").click("cs-save")
    assert "changed by someone else" in text_of(out["alert"])
    assert editor.customer().city == "Bari"


@pytest.mark.parametrize("username", ["analyst", "approver", None])
def test_users_without_the_clerk_role_cannot_save(editor, username):
    editor.load()
    out = editor.set("credit_limit", "99").set("city", "X").click("cs-save", username=username)

    assert "role" in text_of(out["alert"]) or "Sign in" in text_of(out["alert"])
    assert editor.customer().city is None
    assert editor.request() is None


def test_other_clerks_cannot_resubmit_a_request_sent_back_to_its_submitter(editor):
    from data import requests as svc

    editor.load().set("credit_limit", "25000").click("cs-save")
    editor.click({"type": ACTION, "action": "submit"})
    editor.web.world.act("approver", svc.request_change, editor.request().id, "Lower, please", seen_round=editor.web.world.seen(editor.request().id))

    out = editor.load(username="clerk2").click({"type": ACTION, "action": "resubmit"}, username="clerk2")
    assert "Only the submitter" in text_of(out["alert"])
    out = editor.load().click({"type": ACTION, "action": "resubmit"})
    assert "Changes pending approval" in text_of(out["status"])


def test_each_proposed_field_says_what_is_proposed_and_where_it_stands(editor):
    from components.editor import ACTION, FIELD_NAMES

    limit = FIELD_NAMES.index("credit_limit")
    result = editor.load().set("credit_limit", "280000").set("city", "Lecco").click("cs-save")
    assert result["hints"][limit] == "Proposed: 280,000.00 · not submitted"
    assert [hint for hint in result["hints"] if hint] == [result["hints"][limit]]
    assert result["values"][limit] == "10,000.00"  # the field itself shows the value in force
    result = editor.click({"type": ACTION, "action": "close"})
    assert result["alert"] is no_update  # the message of the save stays on the page
    result = editor.click({"type": ACTION, "action": "submit"})
    assert result["hints"][limit] == "Proposed: 280,000.00 · pending approval"


def test_the_approver_rejects_sends_back_and_delegates_from_the_customer_page(editor):
    """Workflow › Reject… / Request change… / Delegate… ask for the comment (and the person)
    in a dialog on the customer page, with the same services and rules as the request page."""
    from data.models import Assignment
    from data.workflows import StepSpec

    world = editor.web.world
    world.workflow([StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")])])
    editor.load().set("credit_limit", "25000").click("cs-save")
    editor.click({"type": ACTION, "action": "submit"})
    editor.load("approver")
    menu = text_of(editor.click({"type": ACTION, "action": "close"}, "approver")["actions"])
    assert "Reject…" in menu and "Request change…" in menu and "Delegate…" in menu

    out = editor.click({"type": ACTION, "action": "ask_reject"}, "approver")
    assert out["dialog_open"] is True
    dialog = text_of(out["dialog"])
    assert f"Reject request #{editor.request().id}" in dialog and "Comment" in dialog
    assert "10,000.00" in dialog and "25,000.00" in dialog

    out = editor.click({"type": ACTION, "action": "reject"}, "approver", {"comment": ""})
    assert out["dialog_open"] is True and "comment" in text_of(out["dialog"]).lower()
    assert editor.request().state == "pending"

    out = editor.click({"type": ACTION, "action": "ask_delegate"}, "approver")
    assert "Delegate to" in text_of(out["dialog"])
    (choose,) = [c for c in walk(out["dialog"]) if getattr(c, "id", None) == {"type": "cs-decision", "name": "to_user"}]
    names = [option["label"] for option in choose.options]
    assert "Approver2" in " ".join(names).title() and "Approver " not in " ".join(names).title() + " "
    out = editor.click({"type": ACTION, "action": "delegate"}, "approver", {"comment": "", "to_user": None})
    assert out["dialog_open"] is True and "Choose whom to delegate to." in text_of(out["dialog"])
    approver2 = str(editor.web.world.user_id("approver2"))
    out = editor.click({"type": ACTION, "action": "delegate"}, "approver",
                       {"comment": "You know them", "to_user": approver2})
    assert out["dialog_open"] is False and "Delegated." in text_of(out["alert"]), text_of(out["dialog"])
    holders = editor.web.world.query(lambda s: sorted(
        a.user_id for a in s.query(Assignment).filter_by(state="open")))
    assert holders == [int(approver2)]

    editor.load("approver2")
    out = editor.click({"type": ACTION, "action": "request_change"}, "approver2",
                       {"comment": "Lower, please"})
    assert out["dialog_open"] is False and "Sent back to the submitter." in text_of(out["alert"])
    assert editor.request().state == "change_requested"
    assert "Lower, please" in text_of(out["status"])


def test_submit_asks_for_a_justification_where_a_field_needs_one(editor):
    from data.parameters import update_parameters

    editor.web.world.act("admin", update_parameters, justify={"credit_limit": True})
    editor.load().set("credit_limit", "25000").click("cs-save")
    out = editor.click({"type": ACTION, "action": "submit"})
    assert out["dialog_open"] is True and "Justification" in text_of(out["dialog"])
    assert "Submit request #" in text_of(out["dialog"]) and "is required" not in text_of(out["dialog"])
    assert editor.request().state == "draft"
    out = editor.click({"type": ACTION, "action": "submit"}, decision={"justification": " "})
    assert "Justification: is required for Credit limit" in text_of(out["dialog"])
    out = editor.click({"type": ACTION, "action": "submit"},
                       decision={"justification": "Two years of on-time payments"})
    assert out["dialog_open"] is False and "Changes pending approval" in text_of(out["status"])
    assert editor.request().justification == "Two years of on-time payments"
