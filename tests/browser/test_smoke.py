"""The app starts and its pages render in headless Chromium with no console errors."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_sign_in_page_renders_and_the_home_page_follows(browser):
    browser.start().open("/")
    browser.wait_text("h1", "Sign in")
    assert browser.console_errors() == []

    browser.sign_in("clerk")
    browser.open("/")
    browser.wait_text("#home h1", "Countersign")
    assert "Changes pending approval" in browser.duo.find_element("#home").text
    assert browser.console_errors() == []


def test_wrong_password_says_so_without_naming_the_wrong_part(browser):
    browser.start().open("/login")
    browser.duo.wait_for_element("#login-username").send_keys("clerk")
    browser.duo.find_element("#login-password").send_keys("wrong\n")
    browser.wait_text("#login-message", "do not match an active account")


def test_unknown_address_shows_a_friendly_page(browser):
    browser.start().sign_in("clerk")
    browser.open("/no/such/page")
    browser.wait_text("h1", "Page not found")
    assert browser.console_errors() == []
