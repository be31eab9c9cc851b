"""Customers over the API: reading with ETags, and PATCH under the three Data entity
behaviors exactly as imports apply them, If-Match, idempotent replays, and races."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from data.customers import find_customer
from data.models import AuditEntry, ChangeRequest, IdempotencyKey, Notification
from data.parameters import update_parameters


def behave(api, behavior: str) -> None:
    api.world.act("admin", update_parameters, data_entity_behavior=behavior)


def customer(api, account="C001"):
    return api.world.query(lambda s: find_customer(s, account))


def requests_of(api):
    return api.world.query(lambda s: [(r.state, sorted(c.field for c in r.changes))
                                      for r in s.query(ChangeRequest).order_by(ChangeRequest.id)])


def patch(call, values, etag=None, **headers):
    read = call("GET", "/api/v1/customers/C001")
    return call("PATCH", "/api/v1/customers/C001", json=values,
                headers={"If-Match": etag or read.headers["ETag"], **headers})


def test_allow_changes_without_approval_applies_every_field(api):
    behave(api, "allow")
    answer = patch(api.as_user("clerk"), {"credit_limit": 25000, "city": "Parma"})
    assert answer.status_code == 200, answer.json
    assert {f["field"]: f["outcome"] for f in answer.json["fields"]} == {
        "credit_limit": "applied", "city": "applied"}
    assert answer.json["request"] is None and answer.json["customer"]["credit_limit"] == "25000.00"
    assert answer.headers["ETag"] == f'"{customer(api).version}"'
    now = customer(api)
    assert (now.credit_limit, now.city) == (Decimal("25000.00"), "Parma")
    sources = api.world.query(lambda s: sorted({e.source for e in s.query(AuditEntry)
                                                .filter(AuditEntry.field == "credit_limit")}))
    assert "api" in sources


def test_reject_changes_refuses_the_call_naming_the_gated_fields(api):
    behave(api, "reject")
    before = customer(api)
    answer = patch(api.as_user("clerk"), {"credit_limit": 25000, "bank_account": "IT60X0542811101000000123456",
                                          "city": "Parma"})
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    named = {e["field"] for e in answer.json["errors"]}
    assert named == {"credit_limit", "bank_account"}
    assert "Reject changes" in answer.json["detail"]
    after = customer(api)
    assert (after.version, after.city, after.credit_limit) == (before.version, None, before.credit_limit)
    assert requests_of(api) == []


def test_create_change_proposals_applies_the_rest_and_submits_the_gated(api):
    behave(api, "propose")
    answer = patch(api.as_user("clerk"), {"credit_limit": "25000.50", "city": "Parma"})
    assert answer.status_code == 200, answer.json
    outcomes = {f["field"]: f["outcome"] for f in answer.json["fields"]}
    assert outcomes == {"credit_limit": "proposed", "city": "applied"}
    request = answer.json["request"]
    assert request["state"] == "pending" and request["href"] == f"/api/v1/requests/{request['id']}"
    now = customer(api)
    assert (now.credit_limit, now.city) == (Decimal("10000.00"), "Parma")
    assert requests_of(api) == [("pending", ["credit_limit"])]
    # the approver is told, with the request's number, and it waits in their inbox
    told = api.world.query(lambda s: [(n.request_id, n.text) for n in s.query(Notification)
                                      .filter_by(user_id=api.world.user_id("approver"))])  # fmt: skip
    assert told == [(request["id"], f"Request #{request['id']} for C001 waits for your decision "
                                    "(Credit control).")]  # fmt: skip
    inbox = api.as_user("approver")("GET", "/api/v1/requests", query_string={"assigned_to_me": "true"})
    assert [item["id"] for item in inbox.json["items"]] == [request["id"]]
    # the same values again propose nothing more (as a second run of an import file)
    again = patch(api.as_user("clerk"), {"credit_limit": "25000.50", "city": "Parma"})
    assert {f["field"]: f["outcome"] for f in again.json["fields"]} == {
        "credit_limit": "unchanged", "city": "unchanged"}
    assert requests_of(api) == [("pending", ["credit_limit"])]
    # another value for a field with a request open is refused, nothing applied
    other = patch(api.as_user("clerk"), {"credit_limit": 30000, "city": "Lecco"})
    assert other.status_code == 409 and "already has an open change request" in other.json["detail"]
    assert customer(api).city == "Parma"


def test_bad_values_are_refused_per_field_and_change_nothing(api):
    behave(api, "allow")
    call = api.as_user("clerk")
    before = customer(api).version
    for values, field in (({"credit_limit": "1.500,00"}, "credit_limit"),
                          ({"credit_limit": -5}, "credit_limit"),
                          ({"credit_limit": "NaN"}, "credit_limit"),
                          ({"mandatory_credit_limit": "yes"}, "mandatory_credit_limit"),
                          ({"bank_account": "IT00X0542811101000000123456"}, "bank_account"),
                          ({"account": "C999"}, "account"),
                          ({"name": 12}, "name")):  # fmt: skip
        answer = patch(call, values)
        assert answer.status_code == 422, (values, answer.json)
        assert [e["field"] for e in answer.json["errors"]] == [field], answer.json
    assert customer(api).version == before


def test_if_match_is_required_and_must_be_the_current_version(api):
    call = api.as_user("clerk")
    missing = call("PATCH", "/api/v1/customers/C001", json={"city": "Parma"})
    assert missing.status_code == 428
    old = call("GET", "/api/v1/customers/C001").headers["ETag"]
    assert patch(call, {"city": "Parma"}, etag=old).status_code == 200
    late = patch(call, {"city": "Lecco"}, etag=old)
    assert late.status_code == 412 and "read it again" in late.json["detail"]
    assert customer(api).city == "Parma"
    assert patch(call, {"city": "Lecco"}, etag='"x1"').status_code == 422
    assert patch(call, {"city": "Lecco"}, etag="²").status_code == 422  # a digit, not 0-9
    # a compressed answer's ETag names its encoding too; sent back, it is the same version
    zipped = call("GET", "/api/v1/customers/C001", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["ETag"].endswith(':gzip"')
    assert patch(call, {"city": "Lecco"}, etag=zipped.headers["ETag"]).status_code == 200


def test_an_idempotency_key_replays_the_first_answer_and_changes_nothing_more(api):
    behave(api, "propose")
    call = api.as_user("clerk")
    etag = call("GET", "/api/v1/customers/C001").headers["ETag"]
    first = patch(call, {"credit_limit": 25000, "city": "Parma"}, etag=etag, **{"Idempotency-Key": "k-1"})
    audits = api.world.query(lambda s: s.query(AuditEntry).count())
    second = patch(call, {"credit_limit": 25000, "city": "Parma"}, etag=etag, **{"Idempotency-Key": "k-1"})
    assert second.status_code == first.status_code == 200
    assert second.json == first.json and second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert api.world.query(lambda s: s.query(AuditEntry).count()) == audits
    assert requests_of(api) == [("pending", ["credit_limit"])]
    # the same key with another request is refused; another user's same key is theirs
    other = patch(call, {"city": "Lecco"}, etag=etag, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.json["errors"][0]["field"] == "Idempotency-Key"
    assert customer(api).city == "Parma"
    assert api.world.query(lambda s: s.query(IdempotencyKey).count()) == 1


def test_two_patches_racing_on_one_customer_one_wins_the_other_is_told(api):
    behave(api, "allow")
    etag = api.as_user("clerk")("GET", "/api/v1/customers/C001").headers["ETag"]
    tokens = {"clerk": api.token("clerk"), "clerk2": api.token("clerk2")}
    answers: dict[str, int] = {}
    start = threading.Barrier(2)

    def send(username: str, city: str) -> None:
        start.wait()
        answer = api.call("PATCH", "/api/v1/customers/C001", tokens[username], json={"city": city},
                          headers={"If-Match": etag})
        answers[username] = answer.status_code

    threads = [threading.Thread(target=send, args=(u, c)) for u, c in (("clerk", "Parma"), ("clerk2", "Lecco"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [200, 412], answers
    winner = "Parma" if answers["clerk"] == 200 else "Lecco"
    assert customer(api).city == winner
    assert api.world.query(lambda s: s.query(AuditEntry).filter(AuditEntry.field == "city").count()) == 1


def test_list_pages_with_a_cursor_sorts_and_filters(api):
    for number in range(2, 8):
        api.world.customer(f"C00{number}", customer_group="WHOLESALE" if number % 2 else "RETAIL")
    call = api.as_user("analyst")
    seen, cursor = [], None
    while True:
        page = call("GET", "/api/v1/customers", query_string={"limit": 3, "sort": "-account",
                                                               **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.json
        seen += [item["account"] for item in page.json["items"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"C00{n}" for n in range(7, 0, -1)]
    wholesale = call("GET", "/api/v1/customers", query_string={"customer_group": "WHOLESALE", "sort": "name"})
    assert [i["account"] for i in wholesale.json["items"]] == ["C003", "C005", "C007"]
    assert call("GET", "/api/v1/customers", query_string={"cursor": "garbage"}).status_code == 422
    assert call("GET", "/api/v1/customers", query_string={"limit": 0}).status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/requests"])
def test_unknown_or_nameless_query_parameters_are_refused(api, path):
    call = api.as_user("analyst")
    unknown = call("GET", f"{path}?limit=2&colour=red")
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "colour"
    assert call("GET", f"{path}?=red").status_code == 400
    assert call("GET", f"{path}?limit=2").status_code == 200


def test_create_a_customer_and_read_its_audit_trail(api):
    call = api.as_user("clerk")
    created = call("POST", "/api/v1/customers", json={
        "account": "N100", "name": "Nuova Srl", "customer_group": "RETAIL", "currency": "EUR",
        "on_hold": "No", "credit_limit": 5000})
    assert created.status_code == 201, created.json
    assert created.headers["Location"] == "/api/v1/customers/N100"
    trail = call("GET", "/api/v1/customers/N100/audit")
    assert {(e["field"], e["new_value"], e["source"]) for e in trail.json["items"]} >= {
        ("credit_limit", "5000.00", "api"), ("name", "Nuova Srl", "api")}
    duplicate = call("POST", "/api/v1/customers", json={
        "account": "N100", "name": "X", "customer_group": "RETAIL", "currency": "EUR", "on_hold": "No"})
    assert duplicate.status_code == 422 and duplicate.json["errors"][0]["field"] == "account"
    assert call("GET", "/api/v1/customers/NOPE").status_code == 404


@pytest.mark.parametrize("username", ["approver", "manager", "analyst", "admin"])
def test_only_clerks_change_customers(api, username):
    answer = patch(api.as_user(username), {"city": "Parma"})
    assert answer.status_code == 403 and "Clerk" in answer.json["detail"]
    assert customer(api).city is None


def test_two_calls_with_one_idempotency_key_at_once_do_it_once(api):
    behave(api, "allow")
    token = api.token("clerk")
    etag = api.call("GET", "/api/v1/customers/C001", token).headers["ETag"]
    answers = []
    start = threading.Barrier(2)

    def send():
        start.wait()
        answers.append(api.call("PATCH", "/api/v1/customers/C001", token, json={"city": "Parma"},
                                headers={"If-Match": etag, "Idempotency-Key": "same"}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json == answers[1].json
    assert sorted(answer.headers.get("Idempotent-Replayed", "") for answer in answers) == ["", "true"]
    assert api.world.query(lambda s: s.query(AuditEntry).filter(AuditEntry.field == "city").count()) == 1
