"""Security headers, and callback requests that make no sense."""

from __future__ import annotations

import pytest

from tests.dash_http import client_as


def test_every_response_carries_the_security_headers(web):
    for path in ("/login", "/customers"):
        response = client_as(web.app, web.world.user_id("clerk")).get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy.split("style-src")[0]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"output": "nope.children", "inputs": [], "state": []},
        {"output": "pd-body.children", "outputs": {"id": "pd-body", "property": "children"},
         "inputs": "not a list", "changedPropIds": []},
        {"output": "pd-body.children", "outputs": {"id": "pd-body", "property": "children"},
         "inputs": [{"id": "pd-days"}], "changedPropIds": ["pd-days.value"]},
        [1, 2, 3],
    ],
)  # fmt: skip
def test_malformed_callback_requests_get_a_4xx_without_a_traceback(web, body):
    response = client_as(web.app, web.world.user_id("manager")).post("/_dash-update-component", json=body)
    assert 400 <= response.status_code < 500, (response.status_code, response.data[:200])
    assert b"Traceback" not in response.data and b'File "' not in response.data


def test_a_body_that_is_not_json_gets_a_4xx(web):
    response = client_as(web.app, web.world.user_id("manager")).post(
        "/_dash-update-component", data=b"\x00\xff not json", content_type="application/json"
    )
    assert 400 <= response.status_code < 500


def csrf_of(page: bytes) -> str:
    return page.split(b'name="csrf" value="', 1)[1].split(b'"', 1)[0].decode()


def post_sign_in(client, username: str, password: str, next_path: str = ""):
    form_page = client.get("/login" + (f"?next={next_path}" if next_path else ""))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf": csrf_of(form_page.data),
                                       "next": next_path})  # fmt: skip


def test_signing_in_goes_where_the_visitor_was_headed(web):
    client = web.app.server.test_client()
    response = post_sign_in(client, "clerk", "secret", "/customers/C001")
    assert response.status_code == 302 and response.headers["Location"] == "/customers/C001"
    assert client.get("/customers").status_code == 200


def test_the_sign_in_form_says_when_a_name_is_locked(web):
    client = web.app.server.test_client()
    for _ in range(5):
        response = post_sign_in(client, "clerk", "wrong")
        assert b"do not match an active account" in response.data
    response = post_sign_in(client, "clerk", "secret")
    assert response.status_code == 429 and b"Too many failed sign-ins" in response.data
    assert client.get("/customers").status_code == 302  # not signed in


def test_a_sign_in_without_the_forms_token_is_refused(web):
    client = web.app.server.test_client()
    response = client.post("/login", data={"username": "clerk", "password": "secret"})
    assert b"expired" in response.data
    assert client.get("/customers").status_code == 302


def test_one_address_is_held_back_after_many_attempts(tmp_path):
    from app import create_app
    from data.config import Settings
    from tests.conftest import World

    url = f"sqlite:///{tmp_path / 'limit.db'}"
    app = create_app(Settings(database_url=url, secret_key="k", demo=False, host="127.0.0.1",
                              port=8050, sign_in_limit="3 per minute"))  # fmt: skip
    from data.db import Database

    World(Database(url))
    client = app.server.test_client()
    answers = [post_sign_in(client, f"name{n}", "wrong").status_code for n in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]
    assert b"Too many sign-in attempts from your network" in post_sign_in(client, "clerk", "secret").data


@pytest.mark.parametrize("target", [
    "/%5C127.0.0.1:9/x", "/%09/127.0.0.1:9", "/%0A/127.0.0.1:9", "/\\\\127.0.0.1:9",
    "//127.0.0.1:9/x", "https://127.0.0.1:9/x", "/%2F127.0.0.1:9", "javascript:alert(1)",
    "/login", "/logout",
])  # fmt: skip
def test_signing_in_never_leads_to_another_host(web, target):
    from components.signin import safe_next

    client = web.app.server.test_client()
    response = post_sign_in(client, "clerk", "secret", target)
    assert response.status_code == 302 and response.headers["Location"] == "/customers"
    assert safe_next(target) == "/customers"


def test_a_signed_out_visitor_sees_nothing_of_the_app(web):
    client = web.app.server.test_client()
    login = client.get("/login")
    assert login.status_code == 200
    assert b"_dash-component-suites" not in login.data and b"?v=" not in login.data
    for path in ("/_dash-dependencies", "/_dash-layout", "/_reload-hash",
                 "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.v4_4_1m.min.js"):
        assert client.get(path).status_code == 401, path
    assert client.post("/_dash-update-component", json={"output": "x"}).status_code == 401


def test_an_anonymous_callback_is_refused_before_its_body_is_read(web):
    client = web.app.server.test_client()
    huge = b'{"output": "wf-message.children", "inputs": [{"value": "1e3000000"}]}' + b" " * 30_000_000
    response = client.post("/_dash-update-component", data=huge, content_type="application/json")
    assert response.status_code in (401, 413)


def test_a_body_over_the_limit_is_refused_without_being_read(web):
    client = client_as(web.app, web.world.user_id("manager"))
    response = client.post("/_dash-update-component", data=b"x" * (29 * 1024 * 1024),
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 413 and b"larger than 28 MB" in response.data


def test_the_session_cookie_is_secure_when_served_over_https(tmp_path):
    from app import create_app
    from data.config import load_settings

    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "SECRET_KEY": "k",
                              "COUNTERSIGN_HTTPS": "1"})  # fmt: skip
    app = create_app(settings)
    assert app.server.config["SESSION_COOKIE_SECURE"] is True
    assert app.server.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.server.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_signing_out_ends_every_copy_of_the_session(web):
    client = client_as(web.app, web.world.user_id("clerk"))
    assert client.get("/customers").status_code == 200
    stolen = client.get_cookie("session").value
    assert client.get("/logout").status_code == 405  # a link on another site signs nobody out
    assert client.get("/customers").status_code == 200
    assert client.post("/logout").status_code == 302

    thief = web.app.server.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/customers")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_reset_ends_the_users_sessions(web):
    from data.users import update_user

    client = client_as(web.app, web.world.user_id("clerk2"))
    assert client.get("/customers").status_code == 200
    web.world.act("admin", update_user, web.world.user_id("clerk2"), roles=["clerk"],
                  active=True, new_password="a brand new passphrase")  # fmt: skip
    assert client.get("/customers").status_code == 302



def test_deactivating_and_reactivating_a_user_ends_their_old_sessions(web):
    from data.users import update_user

    client = client_as(web.app, web.world.user_id("clerk2"))
    assert client.get("/customers").status_code == 200
    stolen = client.get_cookie("session").value
    clerk2 = web.world.user_id("clerk2")
    web.world.act("admin", update_user, clerk2, roles=["clerk"], active=False)
    web.world.act("admin", update_user, clerk2, roles=["clerk"], active=True)
    thief = web.app.server.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/customers").status_code == 302
