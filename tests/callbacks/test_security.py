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


def test_the_sign_in_form_says_when_a_name_is_locked(web):
    import pages.login as page
    from tests.callbacks.test_customer_editor import text_of

    with web.signed_in(None):
        for _ in range(5):
            _href, alert = page.sign_in("clerk", "wrong", "")
            assert page.BAD_CREDENTIALS in text_of(alert)
        href, alert = page.sign_in("clerk", "secret", "")
    assert href is page.no_update and "Too many failed sign-ins" in text_of(alert)


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
    assert client.get("/logout").status_code == 302

    thief = web.app.server.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/customers")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_reset_ends_the_users_sessions(web):
    from data.users import update_user

    client = client_as(web.app, web.world.user_id("clerk2"))
    assert client.get("/customers").status_code == 200
    web.world.act("admin", update_user, web.world.user_id("clerk2"), roles=["clerk"],
                  active=True, new_password="brand-new-pass")  # fmt: skip
    assert client.get("/customers").status_code == 302

