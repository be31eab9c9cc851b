"""Parameters and workflow designer callbacks, called directly and by hand-made requests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data.fields import GATEABLE_FIELDS
from data.models import WorkflowVersion
from data.parameters import gated_fields, get_parameters
from tests.callbacks.test_customer_editor import text_of, walk
from tests.dash_http import callback_payload, client_as, find_output_key

GATE_IDS = [{"type": "params-gate", "field": spec.name} for spec in GATEABLE_FIELDS]


def gate_values(gated):
    return [spec.name in gated for spec in GATEABLE_FIELDS]


def test_admin_saves_parameters_and_sees_what_changed(web):
    import pages.parameters as page

    with web.signed_in("admin"):
        alert = page.save_parameters(False, "propose", True, gate_values({"city"}), GATE_IDS)
    text = text_of(alert)
    assert "Enable customer approvals: Yes → No" in text
    assert "Credit limit: no longer needs approval" in text and "City: needs approval" in text
    with web.world.db.session() as session:
        assert get_parameters(session).data_entity_behavior == "propose"
        assert gated_fields(session) == set()  # approvals are off


@pytest.mark.parametrize("username", ["clerk", "manager", "analyst", None])
def test_others_cannot_change_parameters_by_hand_made_request(web, username):
    key = find_output_key(web.app, "params-message.children")
    values = {("params-save", "n_clicks"): 1, ("params-enabled", "value"): False,
              ("params-behavior", "value"): "allow", ("params-disallow", "value"): False,
              ("params-gate", "value"): gate_values(set()), ("params-gate", "id"): GATE_IDS}
    payload = callback_payload(web.app, key, values, {"params-gate": GATE_IDS}, "params-save.n_clicks")
    user_id = web.world.user_id(username) if username else None
    response = client_as(web.app, user_id).post("/_dash-update-component", json=payload)

    assert response.status_code == (200 if username else 401)
    assert b"Admin role" in response.data or b"Sign in" in response.data
    with web.world.db.session() as session:
        parameters = get_parameters(session)
        assert (parameters.approvals_enabled, parameters.disallow_submitter_approval) == (True, True)
        assert "credit_limit" in gated_fields(session)


def test_admin_adds_a_customer_group_that_the_editor_then_offers(web):
    """Parameters › Customer groups: the list with its customers, Add group, a clear refusal;
    the customer editor's Customer group is a pick list of those groups."""
    import pages.parameters as page
    from components.editor import customer_form
    from data.customers import editor_view
    from pages._support import read
    from tests.callbacks.test_customer_editor import walk

    with web.signed_in("admin"):
        assert "RETAIL" in text_of(page.layout())
        refused, listed, code, description = page.add_group("RETAIL", "")
        assert "Customer group RETAIL is set up already" in text_of(refused) and code is page.no_update
        message, listed, code, description = page.add_group("partner", "Resellers")
        assert "Customer group PARTNER added." in text_of(message) and (code, description) == ("", "")
        assert "PARTNER Resellers 0" in text_of(listed)
    key = find_output_key(web.app, "params-group-message.children")
    payload = callback_payload(web.app, key, {("params-group-add", "n_clicks"): 1,
                                              ("params-group-code", "value"): "SNEAKY",
                                              ("params-group-description", "value"): ""},
                               {}, "params-group-add.n_clicks")  # fmt: skip
    response = client_as(web.app, web.world.user_id("clerk")).post("/_dash-update-component", json=payload)
    assert b"Admin role" in response.data
    with web.signed_in("clerk"):
        view = read(editor_view, "C001")
        form = customer_form(view.values, view.gated, view.locked, view.may_edit, None, view.groups)
    (picker,) = [node for node in walk(form)
                 if getattr(node, "id", None) == {"type": "cs-field", "name": "customer_group"}]
    options = [option["value"] for option in picker.options]
    assert "PARTNER" in options and "RETAIL" in options and "SNEAKY" not in options
    assert picker.value == "RETAIL"


def test_designer_adds_steps_saves_a_version_and_activates_it(web):
    import pages.workflows as page

    with web.signed_in("admin"):
        forms, state, _ = page.designer_action("wf-new", {}, [])
        forms, state, _ = page.designer_action("wf-add", state, forms)
        forms, state, _ = page.designer_action("wf-add", state, forms)
        forms[0].update(name="Review", assignee_role="approver")
        forms[1].update(name="Board", assignee_user_ids=[web.world.user_id("manager")],
                        condition_kind="increase", condition_field="credit_limit",
                        condition_value="50000")
        forms, state, _ = page.designer_action({"type": "wf-step-button", "index": 1, "action": "up"}, state, forms)
        assert [f["name"] for f in forms] == ["Board", "Review"]
        forms, state, alert = page.designer_action("wf-save", state, forms)
        assert "Saved as version 1" in text_of(alert)
        forms, state, alert = page.designer_action("wf-activate", state, forms)
        assert "is active" in text_of(alert)

    with web.world.db.session() as session:
        active = session.scalar(select(WorkflowVersion).where(WorkflowVersion.is_active))
        assert active.id == state["version_id"]
        assert [(s.name, s.assignee_role) for s in active.steps] == [("Board", None), ("Review", "approver")]


def test_designer_reports_problems_and_activates_nothing(web):
    import pages.workflows as page

    with web.signed_in("admin"):
        forms, state, _ = page.designer_action("wf-new", {}, [])
        forms, state, _ = page.designer_action("wf-add", state, forms)
        forms, state, alert = page.designer_action("wf-save", state, forms)
        forms, state, alert = page.designer_action("wf-activate", state, forms)
    assert "has no assignees" in text_of(alert)
    with web.signed_in("admin"):
        forms[0]["time_limit_hours"] = "soon"
        _, _, alert = page.designer_action("wf-save", state, forms)
    assert "time limit must be a whole number" in text_of(alert)


def test_designer_refuses_non_admins(web):
    import pages.workflows as page

    with web.signed_in("clerk"):
        _, state, alert = page.designer_action("wf-new", {}, [])
    assert "Admin role" in text_of(alert) and state == {}


def test_the_designer_offers_activate_only_for_a_version_not_active(web):
    import pages.workflows as page
    from components.workflow import step_card

    with web.signed_in("admin"):
        layout = page.layout()
    activate = next(c for c in _walk(layout) if getattr(c, "id", None) == "wf-activate")
    assert activate.disabled  # the designer opens the active version
    card = step_card(0, {"name": "Credit", "policy": "single"}, [], 1)
    percentage = next(c for c in _walk(card) if isinstance(getattr(c, "id", None), dict)
                      and c.id.get("key") == "percentage")
    assert percentage.disabled and not getattr(percentage, "placeholder", None)


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            yield from _walk(child)


def test_admin_adds_a_webhook_endpoint_pauses_it_and_replays_a_delivery(web):
    import pages.webhooks as page
    from data.models import WebhookDelivery, WebhookEndpoint
    from data.webhooks import Answer, deliver_due

    with web.signed_in("admin"):
        refused, _ = page.on_add(1, "not an address", [])
        made, listed = page.on_add(1, "https://crm.example.com/hook", ["customer.changed"])
    assert "Address: must be an http" in text_of(refused) or "must be an http" in text_of(refused)
    assert "whsec_" in text_of(made) and "https://crm.example.com/hook" in text_of(listed)
    endpoint_id = web.world.query(lambda s: s.query(WebhookEndpoint).one().id)
    web.world.customer("C777")
    deliver_due(web.world.db, sender=lambda url, body, headers: Answer(500, "HTTP 500"))
    delivery = web.world.query(lambda s: s.query(WebhookDelivery).one())
    assert delivery.state == "pending" and delivery.last_status == 500
    with web.signed_in("admin"):
        layout_text = text_of(page.layout())
        message, listed, _ = page.row_action("hook-toggle", endpoint_id)
    assert "A customer changes" in layout_text and "C777" in layout_text and "500" in layout_text
    assert "Paused" in text_of(listed)
    with web.signed_in("clerk"):
        message, _, _ = page.row_action("hook-replay", delivery.id)
    assert "Admin role" in text_of(message)


def test_admin_sets_how_long_email_decision_links_work(web):
    import pages.parameters as page
    from data.parameters import get_parameters

    with web.signed_in("admin"):
        saved = page.save_link_parameters(24, True)
        refused = page.save_link_parameters(2.5, False)
        too_long = page.save_link_parameters(10_000, False)
    assert "Email decision links work for (hours): 72 → 24" in text_of(saved)
    assert "Email decision links ask to sign in first: No → Yes" in text_of(saved)
    assert "Email decision links work for (hours): must be a whole number" in text_of(refused)
    assert "from 1 to 720" in text_of(too_long)
    shown = web.world.query(lambda s: (get_parameters(s).link_hours,
                                       get_parameters(s).link_requires_sign_in))  # fmt: skip
    assert shown == (24, True)
    with web.signed_in("clerk"):
        assert "Admin role" in text_of(page.save_link_parameters(1, False))


def test_admin_keeps_the_reasons_for_rejecting(web):
    import pages.parameters as page

    with web.signed_in("admin"):
        message, listed, code, label = page.add_reason_response("policy", "Against credit policy")
        assert "Reason POLICY added." in text_of(message) and (code, label) == ("", "")
        assert "Against credit policy" in text_of(listed) and "In use" in text_of(listed)
        refused = page.add_reason_response("two words", "")[0]
        assert "Code: must be 1 to 20 capital letters" in text_of(refused)
        _alert, listed = page.toggle_reason("POLICY")
        assert "Retired" in text_of(listed) and "Use again" in text_of(listed)
    with web.signed_in("clerk"):
        assert "Admin role" in text_of(page.add_reason_response("X", "x")[0])


def test_a_reject_on_the_request_page_names_a_reason(web):
    import pages.request as page
    from data import requests as svc
    from data.customers import save_customer
    from data.reasons import add_reason

    world = web.world
    world.act("admin", add_reason, "POLICY", "Against credit policy")
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                           expected_version=world.version_of("C001")).request.id  # fmt: skip
    world.act("clerk", svc.submit, request_id)
    with web.signed_in("approver"):
        shown = page.body(page.read(page.request_page, request_id), request_id)
        assert "Reason (to reject or send back)" in text_of(shown)
        [select] = [c for c in walk(shown) if getattr(c, "id", None) == "rq-reason"]
        assert select.options == [{"label": "Against credit policy", "value": "POLICY"}]
        _body, refused = page.decision_response("reject", request_id, "no", None, False, 1)
        assert "Reason: choose a reason from the list" in text_of(refused)
        _body, done = page.decision_response("reject", request_id, "no", None, False, 1, "POLICY")
    assert "Rejected." in text_of(done)
    with web.signed_in("approver"):
        history = text_of(page.body(page.read(page.request_page, request_id), request_id))
    assert "Reason: Against credit policy" in history


def test_a_request_whose_proposals_were_all_discarded_says_so(web):
    """Its page shows the table's heads and a line saying nothing is proposed, not an
    empty table."""
    import pages.request as page
    from data import requests as svc
    from data.customers import save_customer

    world = web.world
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                           expected_version=world.version_of("C001")).request.id  # fmt: skip
    world.act("clerk", svc.submit, request_id)
    world.act("clerk", svc.recall, request_id)
    world.act("clerk", svc.discard_all, request_id)
    with web.signed_in("manager"):
        shown = text_of(page.body(page.read(page.request_page, request_id), request_id))
    assert "Discarded" in shown and "No changes are proposed." in shown


def test_admin_marks_fields_that_need_a_justification(web):
    import pages.parameters as page
    from data.parameters import justification_fields

    justify_ids = [{"type": page.JUSTIFY, "field": item["field"]} for item in GATE_IDS]
    values = [item["field"] == "bank_account" for item in GATE_IDS]
    with web.signed_in("admin"):
        alert = page.save_parameters(True, "propose", True, gate_values({"bank_account"}),
                                     GATE_IDS, values, justify_ids)  # fmt: skip
    assert "Bank account: needs a justification at submit" in text_of(alert)
    assert web.world.query(justification_fields) == {"bank_account"}
