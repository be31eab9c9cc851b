"""Hand-made callback requests get nothing their sender may not have."""

from __future__ import annotations

import json

import pytest

from components.editor import FIELD_NAMES
from data.customers import find_customer
from tests.dash_http import callback_payload, client_as, find_output_key


def save_request(web, city: str):
    import pages.customer  # noqa: F401 - registered by the app

    key = find_output_key(web.app, "cs-editor.data")
    with web.world.db.session() as session:
        version = find_customer(session, "C001").version
    values = {("cs-save", "n_clicks"): 1,
              ("cs-field", "value"): [city if n == "city" else None for n in FIELD_NAMES],
              ("cs-editor", "data"): {"account": "C001", "version": version, "request_id": None,
                                     "shown": {n: "" for n in FIELD_NAMES}}}  # fmt: skip
    matches = {
        "cs-field": [{"type": "cs-field", "name": n} for n in FIELD_NAMES],
        "cs-feedback": [{"type": "cs-feedback", "name": n} for n in FIELD_NAMES],
        "cs-proposed": [{"type": "cs-proposed", "name": n} for n in FIELD_NAMES],
    }
    return callback_payload(web.app, key, values, matches, changed="cs-save.n_clicks")


def city(web):
    return web.world.query(lambda s: find_customer(s, "C001").city)


def test_a_clerk_can_save_through_a_callback_request(web):
    response = client_as(web.app, web.world.user_id("clerk")).post(
        "/_dash-update-component", json=save_request(web, "Parma")
    )
    assert response.status_code == 200
    assert city(web) == "Parma"


@pytest.mark.parametrize("username", ["analyst", "approver", "manager", None])
def test_others_get_a_refusal_and_change_nothing(web, username):
    user_id = web.world.user_id(username) if username else None
    response = client_as(web.app, user_id).post(
        "/_dash-update-component", json=save_request(web, "Parma")
    )
    assert response.status_code == (200 if username else 401)
    assert b"Clerk role" in response.data or b"Sign in" in response.data
    assert city(web) is None


def test_pages_redirect_to_sign_in_when_nobody_is_signed_in(web):
    response = client_as(web.app, None).get("/customers/C001")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login?next=/customers/C001")


def test_a_deactivated_user_is_signed_out(web):
    from data.users import set_active

    client = client_as(web.app, web.world.user_id("clerk2"))
    assert client.get("/customers").status_code == 200
    web.world.act("admin", set_active, web.world.user_id("clerk2"), False)
    assert client.get("/customers").status_code == 302


@pytest.mark.parametrize(
    ("username", "state"),
    [("approver", "approved"), ("clerkapprover", "pending"), ("clerk", "pending"),
     ("analyst", "pending"), (None, "pending")],
)
def test_a_hand_made_approval_works_only_for_someone_asked(web, username, state):
    import pages.request  # noqa: F401 - registered by the app
    from data import requests as svc
    from data.customers import save_customer
    from data.models import ChangeRequest

    request_id = web.world.act("clerkapprover", save_customer, "C001", {"credit_limit": "20000"}, expected_version=web.world.version_of("C001")).request.id
    web.world.act("clerkapprover", svc.submit, request_id)
    key = find_output_key(web.app, "rq-body.children...rq-alert.children..")
    action = {"type": "rq-action", "action": "approve"}
    values = {("rq-action", "n_clicks"): [1], ("rq-id", "data"): request_id,
              ("rq-comment", "value"): "mine", ("rq-delegate", "value"): None,
              ("rq-confirm-stale", "value"): True, ("rq-seen-round", "data"): 1}
    payload = callback_payload(web.app, key, values, {"rq-action": [action]},
                               changed=json.dumps(action, separators=(",", ":"), sort_keys=True) + ".n_clicks")
    user_id = web.world.user_id(username) if username else None
    response = client_as(web.app, user_id).post("/_dash-update-component", json=payload)

    assert response.status_code == (200 if username else 401)
    assert web.world.query(lambda s: s.get(ChangeRequest, request_id).state) == state
    if state == "pending":
        assert (b"cannot decide" in response.data or b"not waiting for you" in response.data
                or b"Sign in" in response.data)
        assert web.world.query(lambda s: find_customer(s, "C001").credit_limit) == 10000
