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
    browser.press("#cs-history-block summary")
    browser.wait_text("#cs-history", "Applied changes")
    assert browser.console_errors() == []


def test_the_seeds_scenario_in_italian_by_the_seeds_italian_labels(browser, web):
    """A clerk switches to Italian, proposes 1.500,00 more credit, reviews Modifiche proposte
    and chooses Flusso di lavoro › Invia; an Italian approver approves; the customer holds
    exactly 11,500.00."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.browser.test_approver import open_from_inbox

    world = web.world
    with world.db.session() as session:
        world.user(session, "approver").locale = "it"
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
    assert browser.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "it"
    browser.type_into("credit_limit", "11.500,00")
    browser.click_text("Salva", "#cs-action-pane")
    browser.wait_text(".modal-title", "Modifiche proposte")
    assert dialog_rows(browser) == ["Limite di credito 10.000,00 11.500,00 Elimina"]
    assert browser.driver.find_element(By.CSS_SELECTOR, ".modal-footer").text.split("\n") == [
        "Ignora tutte le modifiche", "OK"]  # fmt: skip
    browser.click_text("OK", ".modal")
    browser.wait_text("#cs-status", "Le modifiche proposte non sono state inviate.")
    browser.click_text("Flusso di lavoro", "#cs-action-pane")
    browser.click_text("Invia", "#cs-action-pane")
    browser.wait_text("#cs-status", "Modifiche in attesa di approvazione")
    browser.press("#cs-user-menu .dropdown-toggle")  # the user menu, where Esci is
    browser.click_text("Esci")
    browser.wait_text("h1", "Sign in")

    browser.sign_in("approver")
    browser.wait_text("#cs-waiting", "1 in attesa")
    open_from_inbox(browser, "C001")
    browser.wait_text("#rq-body h2", "Modifiche proposte")
    assert [r.text for r in browser.driver.find_elements(By.CSS_SELECTOR, "#rq-diff tbody tr")] == [
        "Limite di credito 10.000,00 10.000,00 11.500,00 +1.500,00 (+15,0 %)"]
    browser.click_text("Approva", "#rq-body")
    browser.wait_text("#rq-alert", "Approvata.")
    browser.wait_text("#rq-header", "Approvato")
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("11500.00")
    assert browser.console_errors() == []


def test_what_the_clerk_typed_survives_the_dialog_and_leaving_asks_first(browser, web):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.start().sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")
    browser.type_into("credit_limit", "20000")
    browser.type_into("city", "Lecco")
    browser.press("#cs-save")
    browser.wait_text(".modal-title", "Proposed changes")
    browser.click_text("OK", ".modal")
    browser.wait_gone(".modal-dialog")
    # the message of the save outlives the dialog
    browser.wait_text("#cs-alert", "Saved: City.")

    # typed, not saved: opening and closing the dialog leaves it as typed
    browser.type_into("street", "Via Roma 1")
    browser.click_text("Proposed changes", "#cs-action-pane")
    browser.wait_text(".modal-title", "Proposed changes")
    browser.click_text("OK", ".modal")
    browser.wait_gone(".modal-dialog")
    assert browser.field("street").get_attribute("value") == "Via Roma 1"
    assert "Saved: City." in browser.driver.find_element(By.ID, "cs-alert").text

    # Enter in a field saves it
    browser.field("street").send_keys(Keys.ENTER)
    browser.wait_text("#cs-alert", "Saved: Street.")
    assert web.world.query(lambda s: find_customer(s, "C001").street) == "Via Roma 1"

    # leaving with an edit not saved asks first; staying keeps it
    browser.type_into("city", "Como")
    navbar_customers = browser.driver.find_element(By.XPATH, "//nav//a[normalize-space()='Customers']")
    browser.click(navbar_customers)
    WebDriverWait(browser.driver, 5).until(expected_conditions.alert_is_present())
    browser.driver.switch_to.alert.dismiss()
    assert browser.driver.current_url.endswith("/customers/C001")
    assert browser.field("city").get_attribute("value") == "Como"
    browser.click(browser.driver.find_element(By.XPATH, "//nav//a[normalize-space()='Customers']"))
    WebDriverWait(browser.driver, 5).until(expected_conditions.alert_is_present())
    browser.driver.switch_to.alert.accept()
    WebDriverWait(browser.driver, 10).until(lambda d: d.current_url.endswith("/customers"))
    assert web.world.query(lambda s: find_customer(s, "C001").city) == "Lecco"
    assert browser.console_errors() == []


def test_the_customer_group_is_picked_from_the_groups_set_up(browser, web):
    """Customer group is a pick list of the groups an administrator set up, found by its
    label; the choice is saved."""
    from selenium.webdriver.support.ui import Select

    browser.start().sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")
    group = Select(browser.labelled("Customer group"))
    assert [o.text for o in group.options if o.get_attribute("value")] == [
        "EXPORT", "INTERCO", "RETAIL", "WHOLESALE"]
    assert group.first_selected_option.text == "RETAIL"
    group.select_by_visible_text("WHOLESALE")
    browser.press("#cs-save")
    browser.wait_text("#cs-alert", "Saved: Customer group.")
    assert web.world.query(lambda s: find_customer(s, "C001").customer_group) == "WHOLESALE"
    assert browser.console_errors() == []
