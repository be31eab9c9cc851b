"""The seed's scenario by keyboard alone (Tab, Shift+Tab, arrows, Enter, Escape and typing):
where the focus is after each dialog and each callback that redraws the page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from data.customers import find_customer

pytestmark = pytest.mark.browser

FOCUSED = """const e = document.activeElement;
return {id: e.id || "", tag: e.tagName, text: (e.innerText || e.value || "").trim(),
        inModal: !!e.closest(".modal"), cls: e.className || ""};"""


def focused(browser) -> dict:
    return browser.driver.execute_script(FOCUSED)


def press(browser, *keys) -> None:
    ActionChains(browser.driver).send_keys(*keys).perform()


def move_to(browser, wanted, key=Keys.TAB, limit=120) -> dict:
    """Press ``key`` (Tab, Shift+Tab, an arrow) until the focused element is what ``wanted``
    says; fails after ``limit`` presses."""
    for _ in range(limit):
        now = focused(browser)
        if wanted(now):
            return now
        if key == "shift-tab":
            ActionChains(browser.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        else:
            press(browser, key)
    raise AssertionError(f"never reached; the focus is on {focused(browser)}")


def settled(browser, wanted, timeout=10) -> dict:
    """Wait until the focus is where ``wanted`` says (a callback or a dialog moves it)."""
    WebDriverWait(browser.driver, timeout).until(lambda _: wanted(focused(browser)))
    return focused(browser)


def test_the_seeds_scenario_by_keyboard_alone(browser, web):
    world = web.world
    browser.start().sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")

    # Tab to Credit limit, type the new limit, Enter saves
    move_to(browser, lambda f: '"name":"credit_limit"' in f["id"])
    ActionChains(browser.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    press(browser, "20000", Keys.ENTER)
    browser.wait_text(".modal-title", "Proposed changes")
    settled(browser, lambda f: f["inModal"])  # the dialog takes the focus
    name = browser.driver.execute_script(
        "const d = document.querySelector('.modal[role=dialog]');"
        "const by = d && document.getElementById(d.getAttribute('aria-labelledby'));"
        "return by ? by.textContent : null;")
    assert name == "Proposed changes"  # a screen reader names the dialog

    # Tab to OK within the dialog, Enter: the focus goes back to the field it came from
    move_to(browser, lambda f: f["text"] == "OK")
    press(browser, Keys.ENTER)
    browser.wait_gone(".modal-dialog")
    settled(browser, lambda f: '"name":"credit_limit"' in f["id"])
    browser.wait_text("#cs-status", "not been submitted")

    # Shift+Tab back up to Workflow, open it with Enter, arrow down to Submit, Enter
    move_to(browser, lambda f: f["text"] == "Workflow", key="shift-tab")
    press(browser, Keys.ENTER)
    move_to(browser, lambda f: f["text"] == "Submit", key=Keys.ARROW_DOWN, limit=6)
    press(browser, Keys.ENTER)
    browser.wait_text("#cs-status", "Changes pending approval")
    # the menu was redrawn: the focus is on the message saying what happened, not lost
    now = settled(browser, lambda f: f["id"] == "cs-alert")
    assert "Submitted" in now["text"]

    # Escape closes the Proposed changes dialog, opened again from the keyboard
    move_to(browser, lambda f: f["text"] == "Proposed changes")
    press(browser, Keys.ENTER)
    browser.wait_text(".modal-title", "Proposed changes")
    settled(browser, lambda f: f["inModal"])
    press(browser, Keys.ESCAPE)
    browser.wait_gone(".modal-dialog")
    settled(browser, lambda f: f["tag"] != "BODY")

    # Sign out from the user menu: Tab to it, Enter, arrow down to Sign out, Enter
    move_to(browser, lambda f: "dropdown-toggle" in f["cls"] and f["text"] == "Clerk")
    press(browser, Keys.ENTER)
    move_to(browser, lambda f: f["text"] == "Sign out", key=Keys.ARROW_DOWN, limit=4)
    press(browser, Keys.ENTER)
    browser.wait_text("h1", "Sign in")

    # the approver signs in: Tab to User name, type, Tab to Password, type, Enter
    browser.open("/login")
    browser.duo.wait_for_element("#login-username")
    move_to(browser, lambda f: f["id"] == "login-username")
    press(browser, "approver", Keys.TAB)
    assert focused(browser)["id"] == "login-password"
    press(browser, "secret", Keys.ENTER)
    browser.wait_text("#cs-user-name", "Approver")

    # Tab into the inbox, Down to the request, Enter opens it; Tab to Approve
    browser.open("/approvals")
    browser.duo.wait_for_element("#inbox-grid .ag-row")
    move_to(browser, lambda f: "ag-header-cell" in f["cls"] or "ag-cell" in f["cls"])
    move_to(browser, lambda f: "ag-cell" in f["cls"] and "ag-header" not in f["cls"],
            key=Keys.ARROW_DOWN, limit=3)
    press(browser, Keys.ENTER)
    browser.wait_text("#rq-header", "C001")
    move_to(browser, lambda f: f["text"] == "Approve")
    press(browser, Keys.ENTER)
    browser.wait_text("#rq-alert", "Approved.")
    settled(browser, lambda f: f["tag"] != "BODY")
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("20000.00")
    assert browser.console_errors() == []
