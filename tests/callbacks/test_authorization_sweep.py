"""Every callback of the app, sent by hand to /_dash-update-component by the wrong people.

Each callback is identified by its first input. Those that read or change data
have a case below: a request that works for a role allowed to use it (the
positive control: a change lands, or a read answers), and the same request
from nobody and from every other role, which must be refused with the
database unchanged. The rest are listed with the reason they touch no data
or where they are covered. A callback in neither list fails the sweep, so a
new callback is covered the day it is added.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from data.customers import save_customer
from data.fields import GATEABLE_FIELDS
from data.models import ROLES, Base
from data.reasons import add_reason
from data.tokens import create_token
from data.webhooks import add_endpoint
from tests.dash_http import callback_payload, client_as, post_callback

EVERY_ROLE_USER = {"clerk": "clerk", "approver": "approver", "manager": "manager",
                   "analyst": "analyst", "admin": "admin"}  # fmt: skip
REFUSALS = (b"role to do this", b"Your roles do not include", b"Sign in")


@dataclass
class Case:
    allowed: tuple[str, ...]
    values: Any
    """(component id or pattern type, property) -> value; or a function of the world"""
    matches: dict[str, list] = field(default_factory=dict)
    writes: bool = False
    """the allowed request changes the database (else it only reads)"""
    changed: str | None = None
    """the input the browser says changed, when it is one of a pattern"""


def _import_file() -> dict:
    content = base64.b64encode(b"account,city\nC001,Lecco\n").decode()
    return {"filename": "sweep.csv", "contents": f"data:text/csv;base64,{content}"}


def _pending_request(world) -> int:
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"}, expected_version=world.version_of("C001")).request.id
    from data import requests as svc

    world.act("clerk", svc.submit, request_id)
    return request_id


def _first_assignment(world, request_id: int) -> int:
    from data.models import Assignment, RequestStep

    return world.query(lambda s: s.scalar(
        select(Assignment.id).join(RequestStep).where(RequestStep.request_id == request_id,
                                                       Assignment.state == "open")
        .order_by(Assignment.id)))  # fmt: skip


GATES = [{"type": "params-gate", "field": spec.name} for spec in GATEABLE_FIELDS]
JUSTIFIES = [{"type": "params-justify", "field": spec.name} for spec in GATEABLE_FIELDS]

CASES: dict[str, Case] = {
    "params-save.n_clicks": Case(("admin",), {
        ("params-save", "n_clicks"): 1, ("params-enabled", "value"): False,
        ("params-behavior", "value"): "reject", ("params-disallow", "value"): False,
        ("params-gate", "value"): [False] * len(GATES), ("params-gate", "id"): GATES,
        ("params-justify", "value"): [True] * len(JUSTIFIES),
        ("params-justify", "id"): JUSTIFIES,
    }, {"params-gate": GATES, "params-justify": JUSTIFIES}, writes=True),  # fmt: skip
    "params-links-save.n_clicks": Case(("admin",), {
        ("params-links-save", "n_clicks"): 1, ("params-link-hours", "value"): 1,
        ("params-link-sign-in", "value"): True}, writes=True),  # fmt: skip
    "params-reason-add.n_clicks": Case(("admin",), {
        ("params-reason-add", "n_clicks"): 1, ("params-reason-code", "value"): "SWEEP",
        ("params-reason-label", "value"): "Swept"}, writes=True),  # fmt: skip
    "{\"code\":[\"ALL\"],\"type\":\"params-reason-toggle\"}.n_clicks": Case(("admin",), lambda world: (
        world.act("admin", add_reason, "SWEEP", "Swept"),
        {("params-reason-toggle", "n_clicks"): [1]})[1],
        {"params-reason-toggle": [{"type": "params-reason-toggle", "code": "SWEEP"}]}, writes=True,
        changed='{"code":"SWEEP","type":"params-reason-toggle"}.n_clicks'),  # fmt: skip
    "params-group-add.n_clicks": Case(("admin",), {
        ("params-group-add", "n_clicks"): 1, ("params-group-code", "value"): "SWEEP",
        ("params-group-description", "value"): "Swept"}, writes=True),  # fmt: skip
    "new-create.n_clicks": Case(("admin",), {
        ("new-create", "n_clicks"): 1, ("new-username", "value"): "mallory",
        ("new-full-name", "value"): "Mallory", ("new-password", "value"): "a long pass phrase 9",
        ("new-roles", "value"): ["admin"],
    }, writes=True),  # fmt: skip
    "edit-save.n_clicks": Case(("admin",), lambda world: {
        ("edit-save", "n_clicks"): 1, ("edit-user", "value"): world.user_id("clerk2"),
        ("edit-roles", "value"): ["admin"], ("edit-active", "value"): True,
        ("edit-password", "value"): "",
    }, writes=True),  # fmt: skip
    "token-create.n_clicks": Case(("admin",), lambda world: {
        ("token-create", "n_clicks"): 1, ("token-user", "value"): str(world.user_id("clerk")),
        ("token-name", "value"): "sweep", ("token-days", "value"): 30}, writes=True),  # fmt: skip
    "{\"id\":[\"ALL\"],\"type\":\"token-revoke\"}.n_clicks": Case(("admin",), lambda world: (
        world.act("admin", create_token, world.user_id("clerk"), "sweep", 30),
        {("token-revoke", "n_clicks"): [1]})[1],
        {"token-revoke": [{"type": "token-revoke", "id": 1}]}, writes=True,
        changed='{"id":1,"type":"token-revoke"}.n_clicks'),  # fmt: skip
    "hook-add.n_clicks": Case(("admin",), {
        ("hook-add", "n_clicks"): 1, ("hook-url", "value"): "https://evil.example/hook",
        ("hook-events", "value"): ["customer.changed"]}, writes=True),  # fmt: skip
    "{\"id\":[\"ALL\"],\"type\":\"hook-toggle\"}.n_clicks": Case(("admin",), lambda world: (
        world.act("admin", add_endpoint, "https://crm.example/hook", ["customer.changed"]),
        {("hook-toggle", "n_clicks"): [1], ("hook-replay", "n_clicks"): []})[1],
        {"hook-toggle": [{"type": "hook-toggle", "id": 1}], "hook-replay": []}, writes=True,
        changed='{"id":1,"type":"hook-toggle"}.n_clicks'),  # fmt: skip
    "edit-user.value": Case(("admin",), lambda world: {
        ("edit-user", "value"): world.user_id("clerk2")}),  # fmt: skip
    "wf-test.n_clicks": Case(("admin",), lambda world: {
        ("wf-test", "n_clicks"): 1, ("wf-state", "data"): {"version_id": 1},
        ("wf-test-account", "value"): "C001", ("wf-test-field", "value"): "credit_limit",
        ("wf-test-value", "value"): "90000"}),  # fmt: skip
    "inbox-tabs.value": Case(("approver", "manager", "admin"), {
        ("inbox-tabs", "value"): "waiting"}),  # fmt: skip
    "my-tabs.value": Case(("clerk",), {("my-tabs", "value"): "all"}),
    "inbox-confirm.n_clicks": Case(("approver", "manager", "admin"), lambda world: {
        ("inbox-confirm", "n_clicks"): 1,
        ("inbox-grid", "selectedRows"): [{"request_id": _pending_request(world), "round": 1}],
        ("inbox-refresh", "data"): 0}, writes=True),  # fmt: skip
    "imp-upload.contents": Case(("clerk",), {
        ("imp-upload", "contents"): _import_file()["contents"],
        ("imp-upload", "filename"): "sweep.csv"}),  # fmt: skip
    "imp-run.n_clicks": Case(("clerk",), {
        ("imp-run", "n_clicks"): 1, ("imp-file", "data"): _import_file()}, writes=True),
    "rq-reassign-button.n_clicks": Case(("manager",), lambda world: (lambda rid: {
        ("rq-reassign-button", "n_clicks"): 1, ("rq-id", "data"): rid,
        ("rq-reassign-from", "value"): str(_first_assignment(world, rid)),
        ("rq-reassign-to", "value"): str(world.user_id("manager")),
        ("rq-reassign-comment", "value"): "sweep"})(_pending_request(world)), writes=True),
    "pd-days.value": Case(("manager",), {("pd-days", "value"): "30", ("cs-tz", "data"): 0}),
    "{\"table\":[\"ALL\"],\"type\":\"pd-csv\"}.n_clicks": Case(("manager",), {
        ("pd-csv", "n_clicks"): [1], ("pd-days", "value"): "30", ("cs-tz", "data"): 0,
    }, {"pd-csv": [{"type": "pd-csv", "table": "by-step"}]},
        changed='{"table":"by-step","type":"pd-csv"}.n_clicks'),  # fmt: skip
    "tp-start.value": Case(("analyst", "manager"), {
        ("tp-start", "value"): "2026-01-01", ("tp-end", "value"): "2026-03-31",
        ("tp-grouping", "value"): "week", ("cs-tz", "data"): 0}),  # fmt: skip
    "{\"table\":[\"ALL\"],\"type\":\"tp-csv\"}.n_clicks": Case(("analyst", "manager"), {
        ("tp-csv", "n_clicks"): [1], ("tp-start", "value"): "2026-01-01",
        ("tp-end", "value"): "2026-03-31", ("tp-grouping", "value"): "week",
        ("cs-tz", "data"): 0,
    }, {"tp-csv": [{"type": "tp-csv", "table": "volume"}]},
        changed='{"table":"volume","type":"tp-csv"}.n_clicks'),  # fmt: skip
    "cs-tz.data": Case(("manager", "analyst"), {("cs-tz", "data"): 0,
                                                 ("rl-query", "data"): {"state": "open"}}),
}

REVIEWED = {
    "_pages_location.pathname": "Dash's page router: draws the page the address names, and "
                                "each page's layout checks its role "
                                "(test_admin.py: test_non_admins_see_no_admin_pages)",
    "_pages_store.data": "Dash's page router: sets the page title in the browser; reads no data",
    "cs-url.pathname": "the time-zone store (in the browser) and the navigation bar, "
                       "which shows only the signed-in user's own counts",
    "wf-new.n_clicks": "the workflow designer: covered by tests/callbacks/test_admin_pages.py",
    "cs-locale.value": "sets only the signed-in user's own language (test_locales.py)",
    "cs-locale-saved.data": "reloads the page in the browser; reads no data",
    "cs-nav-toggle.n_clicks": "runs in the browser: opens the navigation bar on a narrow "
                              "screen; reads no data",
    "cs-save.n_clicks": "the customer editor: covered by test_http_requests.py",
    "{\"action\":[\"ALL\"],\"type\":\"rq-action\"}.n_clicks":
        "the request decisions: covered by test_http_requests.py",
    "{\"chart\":[\"ALL\"],\"type\":\"pd-drill\"}.clickData":
        "turns a clicked bar's own link into a URL; reads no data",
    "inbox-grid.cellClicked": "turns a clicked row into a URL; reads no data",
    "inbox-grid.selectedRows": "labels the bulk button with the number ticked; reads no data",
    "inbox-grid.rowData": "runs in the browser: draws the inbox rows already on the page as "
                          "cards for a phone; reads no data",
    "chart-graphs.data": "runs in the browser: draws the charts a dashboard's answer brought "
                         "into their boxes; reads no data",
    "inbox-bulk.n_clicks": "shows the ticked rows (already on the page) to confirm; reads no data",
    "customers-grid.cellClicked": "turns a clicked row into a URL; reads no data",
    "customers-search.value": "copies the search box into a store; reads no data",
    "customers-grid.getRowsRequest": "the customer grid: every role may read customers",
    "imp-template.n_clicks": "the empty template and batch results: covered below",
    "cs-ping.modified_timestamp": "echoes its input, touches no data (the benchmarks' no-op)",
    "{\"name\":[\"ALL\"],\"type\":\"cs-field\"}.value":
        "runs in the browser: whether the editor holds unsaved edits; reads no data",
    "{\"index\":[\"MATCH\"],\"key\":\"policy\",\"type\":\"wf-step\"}.value":
        "runs in the browser: the percentage input follows the policy; reads no data",
    "nt-away-save.n_clicks": "sets only the signed-in user's own absence "
                             "(tests/unit/test_absence.py; test_approvals_page.py: "
                             "test_an_approver_sets_out_of_office_and_managers_see_it)",
    "{\"id\":[\"ALL\"],\"type\":\"nt-away-end\"}.n_clicks":
        "ends only the signed-in user's own absence, or any for an admin "
        "(test_absence.py: test_managers_see_who_is_away_and_an_absence_can_end_early)",
    "rq-comment-add.n_clicks": "any active user may comment on a request they can see "
                               "(test_threads.py, test_approvals_page.py: "
                               "test_comments_and_documents_on_the_request_page)",
    "rq-upload.contents": "any active user may attach a document to a request they can see "
                          "(test_threads.py: the type and size checks)",
    "nt-email-save.n_clicks": "sets only the signed-in user's own email address and "
                              "preferences (test_approvals_page.py: "
                              "test_each_user_sets_their_email_address_and_how_they_are_told)",
    "{\"id\":[\"ALL\"],\"type\":\"nt-read\"}.n_clicks":
        "marks only the signed-in user's own notifications read (test_inbox.py: "
        "test_notifications_are_newest_first_once_each_with_their_requests_state)",
}  # fmt: skip


def first_inputs(app) -> dict[str, str]:
    found = {}
    for key, entry in app.callback_map.items():
        first = entry["inputs"][0]
        found[f"{first['id']}.{first['property']}"] = key
    return found


def fingerprint(world) -> str:
    digest = hashlib.sha256()
    with world.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


SHARED_FIRST_INPUT = {"cs-url.pathname": 2, "cs-tz.data": 2}
"""First inputs that start more than one callback, and how many (all reviewed above; the
second cs-tz.data callback keeps the signed-in user's own time zone, test_locales.py)."""


def test_every_callback_is_swept_or_reviewed(web):
    from collections import Counter

    starts = Counter(
        f"{entry['inputs'][0]['id']}.{entry['inputs'][0]['property']}"
        for entry in web.app.callback_map.values()
    )
    assert {k: n for k, n in starts.items() if n > 1} == SHARED_FIRST_INPUT, (
        "a new callback shares its first input with another: give it a case of its own"
    )
    unknown = sorted(set(first_inputs(web.app)) - set(CASES) - set(REVIEWED))
    assert unknown == [], f"callbacks with no authorization case: {unknown}"
    stale = sorted((set(CASES) | set(REVIEWED)) - set(first_inputs(web.app)))
    assert stale == [], f"cases for callbacks that no longer exist: {stale}"


def payload(web, name: str, case: Case) -> dict:
    values = case.values(web.world) if callable(case.values) else case.values
    key = first_inputs(web.app)[name]
    first = web.app.callback_map[key]["inputs"][0]
    changed = case.changed or f"{first['id']}.{first['property']}"
    return callback_payload(web.app, key, values, case.matches, changed=changed)


def refused(response) -> bool:
    """Nothing to update, a refusal message, or an update with no outputs at all."""
    if response.status_code in (204, 401) or any(text in response.data for text in REFUSALS):
        return True
    return response.status_code == 200 and response.get_json().get("response") == {}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_wrong_people_are_refused_and_change_nothing(web, name):
    case = CASES[name]
    others = [role for role in ROLES if role not in case.allowed]
    body = payload(web, name, case)
    for role in [None, *others]:
        before = fingerprint(web.world)
        user_id = web.world.user_id(EVERY_ROLE_USER[role]) if role else None
        response = post_callback(client_as(web.app, user_id), body)
        assert refused(response), (role, response.status_code, response.data[:300])
        assert fingerprint(web.world) == before, f"{name} as {role} changed the database"

    # the positive control: the same request works for a role that may send it
    before = fingerprint(web.world)
    user_id = web.world.user_id(EVERY_ROLE_USER[case.allowed[0]])
    response = post_callback(client_as(web.app, user_id), body)
    assert response.status_code == 200 and not refused(response), response.data[:300]
    assert (fingerprint(web.world) != before) == case.writes


def test_batch_results_are_for_clerks_only(web):
    from data.importfile import read_import_file
    from data.imports import import_customers

    file = read_import_file("b.csv", b"account,city\nC001,Lodi\n")
    batch = import_customers(web.world.db, web.world.user_id("clerk"), file).batch_id
    key = first_inputs(web.app)["imp-template.n_clicks"]
    matches = {"imp-batch": [{"type": "imp-batch", "batch": batch}]}
    body = callback_payload(web.app, key, {("imp-batch", "n_clicks"): [1]}, matches,
                            changed=f'{{"batch":{batch},"type":"imp-batch"}}.n_clicks')  # fmt: skip
    for role in (None, "approver", "manager", "analyst", "admin"):
        user_id = web.world.user_id(EVERY_ROLE_USER[role]) if role else None
        response = post_callback(client_as(web.app, user_id), body)
        assert refused(response) and b"C001" not in response.data, role
    response = post_callback(client_as(web.app, web.world.user_id("clerk")), body)
    assert response.status_code == 200 and b"C001" in response.data
