"""The Users page callbacks."""

from __future__ import annotations

from data.users import sign_in
from tests.callbacks.test_customer_editor import text_of


def test_admin_creates_a_user_and_changes_them(web):
    import pages.users as page

    with web.signed_in("admin"):
        message, table, options = page.on_create(1, "eve", "Eve Example", "a long pass phrase 1", ["clerk"])
    assert "Created eve" in text_of(message)
    assert "Eve Example" in text_of(table)
    eve = next(o["value"] for o in options if "(eve)" in o["label"])

    with web.signed_in("admin"):
        assert page.on_choose(eve) == (["clerk"], True)
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
