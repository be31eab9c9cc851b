"""Change requests over the API: submit, decide and recall under the request page's rules."""

from __future__ import annotations

from decimal import Decimal

from data.customers import find_customer, save_customer
from data.models import ChangeRequest
from data.parameters import update_parameters


def proposal(api, clerk="clerk", limit="20000") -> int:
    world = api.world
    return world.act(clerk, save_customer, "C001", {"credit_limit": limit},
                     expected_version=world.version_of("C001")).request.id  # fmt: skip


def state(api, request_id):
    return api.world.query(lambda s: s.get(ChangeRequest, request_id).state)


def test_the_seeds_scenario_over_the_api(api):
    request_id = proposal(api)
    clerk, approver = api.as_user("clerk"), api.as_user("approver")
    draft = clerk("GET", f"/api/v1/requests/{request_id}").json
    assert draft["state"] == "draft" and "submit" in draft["actions"]
    assert draft["changes"] == [{"field": "credit_limit", "label": "Credit limit", "original": "10000.00",
                                 "current": "10000.00", "new": "20000.00", "stale": False}]
    submitted = clerk("POST", f"/api/v1/requests/{request_id}/submit")
    assert submitted.status_code == 200 and submitted.json["state"] == "pending"
    assert submitted.json["state_label"] == "Changes pending approval"
    # the approver finds it among those assigned to them, and approves the round read
    mine = approver("GET", "/api/v1/requests", query_string={"assigned_to_me": "true"}).json["items"]
    assert [item["id"] for item in mine] == [request_id]
    assert clerk("GET", "/api/v1/requests", query_string={"assigned_to_me": "true"}).json["items"] == []
    read = approver("GET", f"/api/v1/requests/{request_id}").json
    assert read["actions"] == ["decide"] and read["step"] == "Credit control"
    approved = approver("POST", f"/api/v1/requests/{request_id}/decision",
                        json={"decision": "approve", "round": read["round"], "comment": "ok"})
    assert approved.status_code == 200, approved.json
    assert approved.json["state"] == "approved"
    assert api.world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("20000.00")
    actions = [event["action"] for event in approved.json["events"]]
    assert actions[-1] in ("applied", "approved") and "submitted" in actions


def test_the_submitter_cannot_approve_their_own_request(api):
    request_id = proposal(api, clerk="clerkapprover")
    call = api.as_user("clerkapprover")
    call("POST", f"/api/v1/requests/{request_id}/submit")
    answer = call("POST", f"/api/v1/requests/{request_id}/decision", json={"decision": "approve", "round": 1})
    assert answer.status_code == 403
    assert state(api, request_id) == "pending"


def test_a_decision_names_the_round_it_read_and_a_comment_where_needed(api):
    request_id = proposal(api)
    api.as_user("clerk")("POST", f"/api/v1/requests/{request_id}/submit")
    approver = api.as_user("approver")
    no_round = approver("POST", f"/api/v1/requests/{request_id}/decision", json={"decision": "approve"})
    assert no_round.status_code == 422 and no_round.json["errors"][0]["field"] == "round"
    no_comment = approver("POST", f"/api/v1/requests/{request_id}/decision",
                          json={"decision": "reject", "round": 1})
    assert no_comment.status_code == 422 and no_comment.json["errors"][0]["field"] == "comment"
    old_round = approver("POST", f"/api/v1/requests/{request_id}/decision",
                         json={"decision": "approve", "round": 0})
    assert old_round.status_code == 409
    unknown = approver("POST", f"/api/v1/requests/{request_id}/decision",
                       json={"decision": "delegate", "delegate_to": "nobody"})
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "delegate_to"
    assert state(api, request_id) == "pending"
    sent_back = approver("POST", f"/api/v1/requests/{request_id}/decision",
                         json={"decision": "request_change", "round": 1, "comment": "Which contract?"})
    assert sent_back.json["state"] == "change_requested"
    resubmitted = api.as_user("clerk")("POST", f"/api/v1/requests/{request_id}/submit")
    assert resubmitted.json["state"] == "pending" and resubmitted.json["round"] == 2


def test_a_stale_proposal_needs_confirm_stale(api):
    request_id = proposal(api)
    api.as_user("clerk")("POST", f"/api/v1/requests/{request_id}/submit")
    api.world.act("admin", update_parameters, data_entity_behavior="allow")
    # the credit limit changes under the proposal (an import allowed without approval)
    api.world.query(lambda s: None)
    with api.world.db.session() as session:
        customer = find_customer(session, "C001")
        customer.credit_limit = Decimal("15000.00")
    approver = api.as_user("approver")
    stale = approver("POST", f"/api/v1/requests/{request_id}/decision", json={"decision": "approve", "round": 1})
    assert stale.status_code == 409 and stale.json["stale_fields"] == ["credit_limit"]
    assert approver("GET", f"/api/v1/requests/{request_id}").json["changes"][0]["stale"] is True
    confirmed = approver("POST", f"/api/v1/requests/{request_id}/decision",
                         json={"decision": "approve", "round": 1, "confirm_stale": True})
    assert confirmed.status_code == 200 and confirmed.json["state"] == "approved"


def test_recall_and_delegate(api):
    request_id = proposal(api)
    clerk, approver = api.as_user("clerk"), api.as_user("approver")
    clerk("POST", f"/api/v1/requests/{request_id}/submit")
    assert approver("POST", f"/api/v1/requests/{request_id}/recall").status_code == 403
    recalled = clerk("POST", f"/api/v1/requests/{request_id}/recall")
    assert recalled.json["state"] == "draft"
    assert clerk("POST", f"/api/v1/requests/{request_id}/recall").status_code == 409
    clerk("POST", f"/api/v1/requests/{request_id}/submit")
    delegated = approver("POST", f"/api/v1/requests/{request_id}/decision",
                         json={"decision": "delegate", "delegate_to": "manager", "comment": "on leave"})
    assert delegated.status_code == 200, delegated.json
    mine = api.as_user("manager")("GET", "/api/v1/requests", query_string={"assigned_to_me": "1"})
    assert [item["id"] for item in mine.json["items"]] == [request_id]


def test_list_filters_and_pages(api):
    for number in range(2, 6):
        api.world.customer(f"C00{number}")
    ids = []
    for number in range(1, 6):
        world = api.world
        ids.append(world.act("clerk", save_customer, f"C00{number}", {"credit_limit": "20000"},
                             expected_version=world.version_of(f"C00{number}")).request.id)
    api.as_user("clerk")("POST", f"/api/v1/requests/{ids[0]}/submit")
    call = api.as_user("manager")
    seen, cursor = [], None
    while True:
        page = call("GET", "/api/v1/requests", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [item["id"] for item in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    pending = call("GET", "/api/v1/requests", query_string={"state": "pending"}).json["items"]
    assert [item["id"] for item in pending] == [ids[0]]
    by_customer = call("GET", "/api/v1/requests", query_string={"customer": "C003"}).json["items"]
    assert [item["id"] for item in by_customer] == [ids[2]]
    by_submitter = call("GET", "/api/v1/requests", query_string={"submitter": "clerk"}).json["items"]
    assert [item["id"] for item in by_submitter] == [ids[0]]
    assert call("GET", "/api/v1/requests", query_string={"state": "nonsense"}).status_code == 422
    assert call("GET", "/api/v1/requests/99999").status_code == 404
    assert call("POST", f"/api/v1/requests/{2**63}/submit").status_code == 404  # beyond any id


def test_a_clerk_saves_proposals_discards_one_and_submits_as_on_screen(api):
    """The editor's Save (whatever the Data entity behavior), Discard on a row, Discard all
    changes and Workflow › Submit, over HTTP."""
    api.world.act("admin", update_parameters, data_entity_behavior="reject")
    clerk = api.as_user("clerk")
    tag = clerk("GET", "/api/v1/customers/C001").headers["ETag"]
    saved = clerk("POST", "/api/v1/customers/C001/proposals", headers={"If-Match": tag},
                  json={"credit_limit": 20000, "on_hold": "Invoice", "city": "Parma"})
    assert saved.status_code == 200, saved.json
    assert {f["field"]: f["outcome"] for f in saved.json["fields"]} == {
        "credit_limit": "proposed", "on_hold": "proposed", "city": "applied"}
    request_id = saved.json["request"]["id"]
    assert saved.json["request"]["state"] == "draft"
    late = clerk("POST", "/api/v1/customers/C001/proposals", headers={"If-Match": tag}, json={"city": "Lodi"})
    assert late.status_code == 412
    one = clerk("DELETE", f"/api/v1/requests/{request_id}/changes/on_hold")
    assert [c["field"] for c in one.json["changes"]] == ["credit_limit"]
    assert clerk("DELETE", f"/api/v1/requests/{request_id}/changes/on_hold").status_code == 404
    assert api.as_user("approver")("DELETE", f"/api/v1/requests/{request_id}/changes/credit_limit").status_code == 403
    submitted = clerk("POST", f"/api/v1/requests/{request_id}/submit")
    assert submitted.json["state"] == "pending"
    clerk("POST", f"/api/v1/requests/{request_id}/recall")
    discarded = clerk("POST", f"/api/v1/requests/{request_id}/discard")
    assert discarded.status_code == 200 and discarded.json["changes"] == []
    assert state(api, request_id) == "discarded"
    assert api.world.query(lambda s: find_customer(s, "C001").city) == "Parma"


def test_a_reject_names_a_reason_while_the_list_has_any(api):
    from data.reasons import add_reason

    api.world.act("admin", add_reason, "POLICY", "Against credit policy")
    request_id = proposal(api)
    api.as_user("clerk")("POST", f"/api/v1/requests/{request_id}/submit")
    approver = api.as_user("approver")
    address = f"/api/v1/requests/{request_id}/decision"
    refused = approver("POST", address, json={"decision": "reject", "round": 1, "comment": "no"})
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "reason"
    assert state(api, request_id) == "pending"
    done = approver("POST", address, json={"decision": "reject", "round": 1, "comment": "no",
                                           "reason": "POLICY"})  # fmt: skip
    assert done.status_code == 200 and done.json["state"] == "rejected"
    events = api.as_user("approver")("GET", f"/api/v1/requests/{request_id}").json["events"]
    assert [e["reason"] for e in events if e["action"] == "rejected"] == ["POLICY"]


def test_comments_and_documents_over_the_api(api):
    request_id = proposal(api)
    clerk, approver = api.as_user("clerk"), api.as_user("approver")
    clerk("POST", f"/api/v1/requests/{request_id}/submit",
          json={"justification": "The customer merged with another company."})
    said = clerk("POST", f"/api/v1/requests/{request_id}/comments", json={"text": "Letter attached"})
    assert said.status_code == 201 and said.json["user"] == "clerk"
    empty = clerk("POST", f"/api/v1/requests/{request_id}/comments", json={"text": ""})
    assert empty.status_code == 422 and empty.json["errors"][0]["field"] == "text"
    pdf = b"%PDF-1.7\n%%EOF\n"
    import io

    sent = clerk("POST", f"/api/v1/requests/{request_id}/attachments",
                 data={"file": (io.BytesIO(pdf), "letter.pdf")}, content_type="multipart/form-data")
    assert sent.status_code == 201 and sent.json["content_type"] == "application/pdf"
    renamed = clerk("POST", f"/api/v1/requests/{request_id}/attachments",
                    data={"file": (io.BytesIO(b"MZ\x90\x00" * 8), "letter.pdf")},
                    content_type="multipart/form-data")  # fmt: skip
    assert renamed.status_code == 422 and renamed.json["errors"][0]["field"] == "file"
    thread = approver("GET", f"/api/v1/requests/{request_id}/comments").json["items"]
    assert [c["text"] for c in thread] == ["Letter attached"]
    [document] = approver("GET", f"/api/v1/requests/{request_id}/attachments").json["items"]
    download = approver("GET", document["href"])
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Disposition"].startswith('attachment; filename="letter.pdf"')
    assert approver("GET", f"/api/v1/requests/{request_id}/attachments/999").status_code == 404
    shown = approver("GET", f"/api/v1/requests/{request_id}").json
    assert shown["justification"] == "The customer merged with another company."
