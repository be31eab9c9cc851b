"""An admin changes parameters and builds a workflow; clerks' saves follow them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from data import requests as svc
from data.customers import find_customer, save_customer
from data.models import ChangeRequest

pytestmark = pytest.mark.browser


def sign_out(browser):
    browser.sign_out()


def radio(browser, group_id, label):
    browser.click(browser.driver.find_element(
        By.XPATH, f"//*[@id='{group_id}']//label[normalize-space()='{label}']"
    ))


def clerk_saves_credit_limit(browser, amount):
    browser.sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")
    browser.type_into("credit_limit", amount)
    browser.press("#cs-save")
    browser.wait_text("#cs-alert", "Saved: Credit limit")
    sign_out(browser)


def credit_limit(web):
    return web.world.query(lambda s: find_customer(s, "C001").credit_limit)


def test_approvals_off_then_a_field_unticked_lets_clerks_save_at_once(browser, web):
    browser.start().sign_in("admin")
    browser.open("/parameters")
    browser.wait_text("h1", "Accounts receivable parameters")
    radio(browser, "params-enabled", "No")
    browser.click(browser.duo.find_element("#params-save"))
    browser.wait_text("#params-message", "Enable customer approvals: Yes → No")
    sign_out(browser)

    clerk_saves_credit_limit(browser, "11000")
    assert credit_limit(web) == Decimal("11000.00")

    browser.sign_in("admin")
    browser.open("/parameters")
    browser.wait_text("h1", "Accounts receivable parameters")
    radio(browser, "params-enabled", "Yes")
    browser.click(browser.driver.find_element(By.CSS_SELECTOR, "[id*='\"field\":\"credit_limit\"'][id*='params-gate']"))
    browser.click(browser.duo.find_element("#params-save"))
    browser.wait_text("#params-message", "Credit limit: no longer needs approval")
    sign_out(browser)

    clerk_saves_credit_limit(browser, "12000")
    assert credit_limit(web) == Decimal("12000.00")
    assert browser.console_errors() == []


def step_input(browser, index, key):
    return browser.driver.find_element(
        By.CSS_SELECTOR, f"[id*='\"index\":{index}'][id*='\"key\":\"{key}\"']"
    )


def test_admin_builds_a_two_step_workflow_that_new_submissions_follow(browser, web):
    browser.start().sign_in("admin")
    browser.open("/workflows")
    browser.wait_text("h1", "Accounts receivable workflows")
    browser.click_text("New")
    browser.click_text("Proposed customer change workflow")
    browser.wait_text("#wf-message", "New workflow")
    browser.click_text("Add step")
    browser.wait_text("#wf-steps", "Step 1")
    browser.click_text("Add step")
    browser.wait_text("#wf-steps", "Step 2")

    name = step_input(browser, 0, "name")
    name.clear()
    name.send_keys("Credit desk")
    Select(step_input(browser, 0, "assignee_role")).select_by_visible_text("Approver")
    name = step_input(browser, 1, "name")
    name.clear()
    name.send_keys("Board")
    Select(step_input(browser, 1, "assignee_role")).select_by_visible_text("Manager")
    Select(step_input(browser, 1, "condition_kind")).select_by_visible_text("Field increases by more than (amount)")
    Select(step_input(browser, 1, "condition_field")).select_by_visible_text("Credit limit")
    step_input(browser, 1, "condition_value").send_keys("50000")

    browser.click_text("Save as new version")
    browser.wait_text("#wf-message", "Saved as version 1")
    browser.wait_text("#wf-flow", "Credit limit increases by more than 50,000")
    browser.click_text("Activate")
    browser.wait_text("#wf-message", "is active")
    assert browser.console_errors() == []

    # a new submission follows the new workflow: both steps for a big increase
    request_id = web.world.act("clerk", save_customer, "C001", {"credit_limit": "90000"}, expected_version=web.world.version_of("C001")).request.id
    web.world.act("clerk", svc.submit, request_id)
    web.world.act("approver", svc.approve, request_id, seen_round=web.world.seen(request_id))
    steps = web.world.query(lambda s: [(st.name, st.state) for st in s.get(ChangeRequest, request_id).steps])
    assert steps == [("Credit desk", "approved"), ("Board", "active")]
    web.world.act("manager", svc.approve, request_id, seen_round=web.world.seen(request_id))
    assert credit_limit(web) == Decimal("90000.00")


def test_non_admins_see_no_admin_pages(browser):
    browser.start().sign_in("clerk")
    nav = browser.duo.find_element("#cs-navbar").text
    assert "Customers" in nav and "Parameters" not in nav and "Workflows" not in nav
    for path in ("/parameters", "/workflows", "/users"):
        browser.open(path)
        browser.wait_text("h1", "Not available")
    assert browser.console_errors() == []
