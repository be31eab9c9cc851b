"""The seed's scenario, walked by a clerk in headless Chromium."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By

from data.customers import find_customer
from data.models import ChangeRequest

pytestmark = pytest.mark.browser


def latest_request(web):
    return web.world.query(
        lambda s: s.query(ChangeRequest).order_by(ChangeRequest.id.desc()).first()
    )


def dialog_rows(browser):
    return [
        row.text for row in browser.driver.find_elements(By.CSS_SELECTOR, "#proposed-changes-table tbody tr")
    ]


def test_clerk_proposes_submits_recalls_and_discards(browser, web):
    browser.start().sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")

    # a gated field, another gated field and a non-gated one, then Save
    browser.type_into("credit_limit", "25000")
    browser.choose("on_hold", "Invoice")
    browser.type_into("city", "Brescia")
    browser.press("#cs-save")

    # the Proposed changes dialog lists each field with its original and new value
    browser.wait_text(".modal-title", "Proposed changes")
    assert dialog_rows(browser) == ["On hold No Invoice Discard", "Credit limit 10,000.00 25,000.00 Discard"]
    # the gated fields show their original values again; the status says not submitted
    assert browser.field("credit_limit").get_attribute("value") == "10,000.00"
    assert browser.field("city").get_attribute("value") == "Brescia"
    browser.wait_text("#cs-status", "The proposed changes have not been submitted.")

    # Discard one row, then OK
    browser.press("tr[data-field='on_hold'] button")
    browser.duo.wait_for_text_to_equal("#proposed-changes-table tbody", "Credit limit 10,000.00 25,000.00 Discard")
    browser.click_text("OK", ".modal")
    browser.wait_gone(".modal")

    # Proposed changes from the action pane opens the dialog again
    browser.click_text("Proposed changes", "#cs-action-pane")
    browser.wait_text(".modal-title", "Proposed changes")
    browser.click_text("OK", ".modal")
    browser.wait_gone(".modal")

    # Workflow › Submit
    browser.click_text("Workflow", "#cs-action-pane")
    browser.click_text("Submit", "#cs-action-pane")
    browser.wait_text("#cs-status", "Changes pending approval")
    assert browser.field("credit_limit").get_attribute("disabled") == "true"
    assert latest_request(web).state == "pending"

    # Workflow › Recall
    browser.click_text("Workflow", "#cs-action-pane")
    browser.click_text("Recall", "#cs-action-pane")
    browser.wait_text("#cs-status", "Not submitted")
    assert latest_request(web).state == "draft"

    # Discard all changes
    browser.click_text("Proposed changes", "#cs-action-pane")
    browser.click_text("Discard all changes", ".modal")
    browser.wait_text("#cs-alert", "All proposed changes were discarded.")
    assert "Workflow" not in browser.duo.find_element("#cs-action-pane").text

    customer = web.world.query(lambda s: find_customer(s, "C001"))
    assert (customer.city, customer.credit_limit, customer.on_hold) == ("Brescia", Decimal("10000.00"), "No")
    assert latest_request(web).state == "discarded"
    assert browser.console_errors() == []


def test_invalid_value_is_shown_next_to_its_field(browser, web):
    browser.start().sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")
    browser.type_into("email", "not-an-email")
    browser.press("#cs-save")

    browser.wait_text("#cs-alert", "Nothing was saved")
    feedback = browser.driver.find_element(By.CSS_SELECTOR, "[id*='\"name\":\"email\"'][id*='cs-feedback']")
    assert "Email must be an email address" in feedback.text
    assert web.world.query(lambda s: find_customer(s, "C001").email) is None


def test_a_user_without_the_clerk_role_cannot_save(browser, web):
    browser.start().sign_in("analyst")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")

    assert browser.duo.find_element("#cs-save").get_attribute("disabled") == "true"
    assert browser.field("city").get_attribute("disabled") == "true"
    # the History tab is there for everyone who may see the customer
    browser.click_text("History")
    browser.wait_text("#cs-history", "Applied changes")
    assert browser.console_errors() == []


def test_an_italian_clerk_writes_amounts_the_italian_way(browser, web):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.start().sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")
    language = browser.driver.find_element(
        By.XPATH, "//select[@id=//label[normalize-space()='Language and number format']/@for]"
    )
    Select(language).select_by_visible_text("Italiano (1.500,00)")
    # the page is drawn again in Italian
    WebDriverWait(browser.driver, 10, ignored_exceptions=(StaleElementReferenceException,
                                                          NoSuchElementException)).until(
        lambda _: browser.field("credit_limit").get_attribute("value") == "10.000,00"
    )  # fmt: skip
    browser.type_into("credit_limit", "11.500,00")
    browser.press("#cs-save")
    browser.wait_text(".modal-title", "Proposed changes")
    assert dialog_rows(browser) == ["Credit limit 10.000,00 11.500,00 Discard"]
    proposed = web.world.query(lambda s: [(c.field, c.new_value) for c in s.query(ChangeRequest)
                                          .order_by(ChangeRequest.id.desc()).first().changes])  # fmt: skip
    assert proposed == [("credit_limit", "11500.00")]
    assert browser.console_errors() == []
