"""The Users page callbacks."""

from __future__ import annotations

from data.users import sign_in
from tests.callbacks.test_customer_editor import text_of, walk


def test_admin_creates_a_user_and_changes_them(web):
    import pages.users as page

    with web.signed_in("admin"):
        message, table, options = page.on_create(1, "eve", "Eve Example", "a long pass phrase 1", ["clerk"])
    assert "Created eve" in text_of(message)
    assert "Eve Example" in text_of(table)
    eve = next(o["value"] for o in options if "(eve)" in o["label"])

    with web.signed_in("admin"):
        assert page.on_choose(eve) == (["clerk"], True, "")
        message, _, _ = page.on_save(1, eve, ["clerk", "approver"], False, "another pass phrase 2")
    assert text_of(message) == "Saved: roles, deactivated, password reset."
    assert sign_in(web.world.db, "eve", "another pass phrase 2") is None  # deactivated


def test_bad_new_user_is_refused_with_the_reason(web):
    import pages.users as page

    with web.signed_in("admin"):
        message, table, _ = page.on_create(1, "clerk", "Dup", "x", [])
    assert "already taken" in text_of(message) and "at least" in text_of(message)


def test_non_admins_cannot_create_users(web):
    import pages.users as page

    with web.signed_in("manager"):
        message, _, _ = page.on_create(1, "mallory", "Mallory", "a long pass phrase 1", ["admin"])
    assert "Admin role" in text_of(message)
    assert sign_in(web.world.db, "mallory", "a long pass phrase 1") is None


def test_admin_makes_a_service_account_and_a_token_shown_once_then_revokes_it(web):
    import pages.users as page
    from data.models import ApiToken
    from data.tokens import authenticate

    with web.signed_in("admin"):
        message, table, options = page.on_create(1, "crm", "CRM", "", ["clerk"], True)
        assert "Created crm" in text_of(message) and "Service account" in text_of(table)
        crm = next(o["value"] for o in options if "(crm)" in o["label"])
        made, listed = page.on_make_token(1, str(crm), "nightly sync", "30")
    secret = next(node.children for node in walk(made) if getattr(node, "id", None) == "token-secret")
    assert "not shown again" in text_of(made) and "nightly sync" in text_of(listed)
    assert secret not in text_of(listed)  # the list shows the prefix only
    with web.world.db.session() as session:
        assert authenticate(session, secret).username == "crm"
    token_id = web.world.query(lambda s: s.query(ApiToken).one().id)
    with web.signed_in("admin"):
        message, listed = page.revoke(token_id)
    assert "Revoked the token nightly sync" in text_of(message) and "Revoked" in text_of(listed)
    with web.world.db.session() as session:
        assert authenticate(session, secret) is None


def test_a_token_needs_a_name_and_days_in_range_and_an_admin(web):
    import pages.users as page

    user_id = str(web.world.user_id("clerk"))
    with web.signed_in("admin"):
        refused, _ = page.on_make_token(1, user_id, "", "1000")
    assert "Name is required" in text_of(refused) and "from 1 to 730" in text_of(refused)
    with web.signed_in("manager"):
        refused, _ = page.on_make_token(1, user_id, "x", "30")
    assert "Admin role" in text_of(refused)


def test_admin_sets_a_users_email_address_and_a_bad_one_is_named(web):
    import pages.users as page
    from data.models import User

    approver = str(web.world.user_id("approver"))
    with web.signed_in("admin"):
        message, _, _ = page.on_save(1, approver, ["approver"], True, "", "Ann@Example.com")
        assert text_of(message) == "Saved: email address."
        assert page.on_choose(approver)[2] == "Ann@example.com"
        refused, _, _ = page.on_save(1, approver, ["approver"], True, "", "not an address")
    assert "Email must be an email address" in text_of(refused)
    assert web.world.query(lambda s: s.get(User, int(approver)).email) == "Ann@example.com"
