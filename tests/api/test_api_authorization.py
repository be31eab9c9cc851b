"""Every API operation, called without a valid token or by a role that must not have it:
refused, with every table as it was. The operations are read from the OpenAPI document, so
a new one cannot be left out."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from data.clock import utcnow
from data.customers import save_customer
from data.errors import ValidationFailed
from data.models import ApiToken, Base
from data.requests import submit
from data.tokens import authenticate, create_service_account, create_token, revoke_token
from data.users import set_active, sign_in

ROLES_REFUSED = {
    ("post", "/api/v1/customers"): ["approver", "manager", "analyst", "admin"],
    ("patch", "/api/v1/customers/{account}"): ["approver", "manager", "analyst", "admin"],
    ("post", "/api/v1/requests/{request_id}/submit"): ["approver", "manager", "analyst", "admin"],
    ("post", "/api/v1/requests/{request_id}/recall"): ["clerk2", "approver", "manager", "analyst", "admin"],
    ("post", "/api/v1/customers/{account}/proposals"): ["approver", "manager", "analyst", "admin"],
    # a draft is the customer's: any clerk may change it, as in the editor
    ("post", "/api/v1/requests/{request_id}/discard"): ["approver", "manager", "analyst", "admin"],
    ("delete", "/api/v1/requests/{request_id}/changes/{field}"): ["approver", "manager", "analyst", "admin"],
    ("post", "/api/v1/requests/{request_id}/decision"): ["clerk", "clerk2", "analyst", "admin"],
    ("post", "/api/v1/imports"): ["approver", "manager", "analyst", "admin"],
    ("get", "/api/v1/imports/{batch_id}"): ["approver", "manager", "analyst", "admin"],
}
"""Who may not: the same rules as the screens (data/), read from the service each calls."""
READS = {
    ("get", "/api/v1/customers"), ("get", "/api/v1/customers/{account}"),
    ("get", "/api/v1/customers/{account}/audit"), ("get", "/api/v1/requests"),
    ("get", "/api/v1/requests/{request_id}"), ("get", "/api/v1/ping"),
    ("get", "/api/v1/requests/{request_id}/comments"),
    ("post", "/api/v1/requests/{request_id}/comments"),
    ("get", "/api/v1/requests/{request_id}/attachments"),
    ("post", "/api/v1/requests/{request_id}/attachments"),
    ("get", "/api/v1/requests/{request_id}/attachments/{attachment_id}"),
}
"""Open to any active user, as the Customers list and a request's page (with its comments
and documents) are."""


def snapshot(world) -> dict:
    """Every row of every table but the tokens' (their last use is written on use)."""
    with world.db.session() as session:
        return {table.name: sorted(map(repr, session.execute(select(table))))
                for table in Base.metadata.sorted_tables if table.name != "api_tokens"}  # fmt: skip


@pytest.fixture
def scene(api):
    world = api.world
    draft = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                      expected_version=world.version_of("C001")).request.id  # fmt: skip
    world.customer("C002")
    pending = world.act("clerk", save_customer, "C002", {"credit_limit": "30000"},
                        expected_version=world.version_of("C002")).request.id  # fmt: skip
    world.act("clerk", submit, pending)
    bodies = {
        ("post", "/api/v1/customers"): {"account": "N1", "name": "N", "customer_group": "RETAIL",
                                        "currency": "EUR", "on_hold": "No"},
        ("patch", "/api/v1/customers/{account}"): {"city": "Parma"},
        ("post", "/api/v1/customers/{account}/proposals"): {"credit_limit": 50000},
        ("post", "/api/v1/requests/{request_id}/decision"): {"decision": "approve", "round": 1},
        ("post", "/api/v1/requests/{request_id}/comments"): {"text": "hello"},
    }
    ids = {"submit": draft, "recall": pending, "decision": pending, "discard": draft,
           "{field}": draft}

    def address(path: str) -> str:
        request_id = next((i for action, i in ids.items() if path.endswith(action)), pending)
        return (path.replace("{account}", "C001").replace("{request_id}", str(request_id))
                .replace("{field}", "credit_limit").replace("{batch_id}", "1")
                .replace("{attachment_id}", "1"))

    def send(method: str, path: str, token: str | None):
        headers = ({"If-Match": f'"{world.version_of("C001")}"'}
                   if method == "patch" or path.endswith("proposals") else {})
        if path.endswith("/attachments") and method == "post":
            document = io.BytesIO(b"%PDF-1.7\n%%EOF\n")
            return api.call("POST", address(path), token, data={"file": (document, "a.pdf")},
                            content_type="multipart/form-data")  # fmt: skip
        if path == "/api/v1/imports":
            upload = io.BytesIO(b"account,city\nC001,Parma\n")
            return api.call("POST", path, token, data={"file": (upload, "c.csv")},
                            content_type="multipart/form-data")  # fmt: skip
        return api.call(method.upper(), address(path), token, json=bodies.get((method, path)),
                        headers=headers)  # fmt: skip

    return send


def operations(api) -> list[tuple[str, str]]:
    spec = api.client().get("/api/v1/openapi.json").json
    return sorted((method, path) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "patch", "put", "delete"))  # fmt: skip


def test_the_sweep_covers_every_operation(api):
    assert set(operations(api)) == set(ROLES_REFUSED) | READS


def test_no_token_a_bad_one_an_expired_or_revoked_one_is_refused(api, scene):
    world = api.world
    expired, revoked, inactive = api.token("clerk"), api.token("clerk"), api.token("clerk2")
    with world.db.session() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.prefix == expired.split("_")[1]))
        token.expires_at = utcnow() - timedelta(seconds=1)
    revoked_id = world.query(lambda s: s.scalar(select(ApiToken.id).where(ApiToken.prefix == revoked.split("_")[1])))
    world.act("admin", revoke_token, revoked_id)
    world.act("admin", set_active, world.user_id("clerk2"), False)
    forged = expired[:-4] + ("AAAA" if not expired.endswith("AAAA") else "BBBB")
    before = snapshot(world)
    for method, path in operations(api):
        for token in (None, "", "cs_nope", forged, expired, revoked, inactive):
            answer = scene(method, path, token)
            assert answer.status_code == 401, (method, path, token, answer.json)
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert snapshot(world) == before


def test_each_role_that_must_not_is_refused_and_nothing_changes(api, scene):
    tokens = {}
    before = snapshot(api.world)
    for (method, path), usernames in ROLES_REFUSED.items():
        for username in usernames:
            token = tokens.setdefault(username, api.token(username))
            before = snapshot(api.world)  # making a token writes its row only
            answer = scene(method, path, token)
            assert answer.status_code == 403, (method, path, username, answer.json)
            assert answer.json["detail"]
            assert snapshot(api.world) == before, (method, path, username)


def test_a_token_is_kept_hashed_and_its_last_use_shown(api):
    secret = api.token("clerk")
    stored = api.world.query(lambda s: s.scalar(select(ApiToken)))
    assert secret not in repr(stored.__dict__) and stored.secret_hash != secret
    assert stored.last_used_at is None
    assert api.call("GET", "/api/v1/customers", secret).status_code == 200
    assert api.world.query(lambda s: s.scalar(select(ApiToken)).last_used_at) is not None


def test_a_service_account_calls_with_its_roles_and_cannot_sign_in(api):
    world = api.world
    account = world.act("admin", create_service_account, "crm", "CRM", ["clerk"])
    assert account.is_service
    token = world.act("admin", create_token, account.id, "crm sync", 30).secret
    assert api.call("GET", "/api/v1/customers/C001", token).status_code == 200
    with world.db.session() as session:
        assert authenticate(session, token).username == "crm"
    assert sign_in(world.db, "crm", "!") is None
    with pytest.raises(ValidationFailed, match="administrator"):
        world.act("admin", create_service_account, "crm2", "CRM", ["admin"])


def test_calls_beyond_the_limit_get_429_with_retry_after(db):
    from tests.api.conftest import build_api

    api = build_api(db, api_limit="3 per minute")
    token = api.token("clerk")
    codes = [api.call("GET", "/api/v1/customers", token).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = api.call("GET", "/api/v1/customers", token)
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # another token has its own count
    assert api.call("GET", "/api/v1/customers", api.token("clerk2")).status_code == 200
