"""The seed's scenario across users: a clerk proposes, approvers decide in their inbox."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from data import requests as svc
from data.customers import find_customer, save_customer
from data.models import AuditEntry, ChangeRequest
from data.workflows import StepSpec
from tests.browser.test_admin import sign_out

pytestmark = pytest.mark.browser


def open_from_inbox(browser, account):
    browser.open("/approvals")
    WebDriverWait(browser.driver, 10).until(
        lambda d: any(c.text == account for c in d.find_elements(By.CSS_SELECTOR, ".ag-cell[col-id='account']"))
    )
    cell = next(c for c in browser.driver.find_elements(By.CSS_SELECTOR, ".ag-cell[col-id='account']")
                if c.text == account)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    browser.real_click(cell)  # AG Grid reacts to a real click, not a scripted one
    browser.wait_text("#rq-header", account)


def submitted(world, account: str, credit_limit: str = "20000") -> int:
    """A request the clerk proposed and submitted: its number."""
    request_id = world.act("clerk", save_customer, account, {"credit_limit": credit_limit},
                           expected_version=world.version_of(account)).request.id
    world.act("clerk", svc.submit, request_id)
    return request_id


def test_clerk_submits_and_two_approvers_approve_in_turn(browser, web):
    world = web.world
    world.workflow([StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")]),
                    StepSpec(name="Finance", assignee_user_ids=[world.user_id("approver2")])])
    browser.start().sign_in("clerk")
    browser.open("/customers/C001")
    browser.wait_text("#cs-title", "C001")
    browser.type_into("credit_limit", "90000")
    browser.press("#cs-save")
    browser.wait_text(".modal-title", "Proposed changes")
    browser.click_text("OK", ".modal")
    browser.click_text("Workflow", "#cs-action-pane")
    browser.click_text("Submit", "#cs-action-pane")
    browser.wait_text("#cs-status", "Changes pending approval")
    sign_out(browser)

    browser.sign_in("approver")
    browser.wait_text("#cs-waiting", "1 waiting")
    open_from_inbox(browser, "C001")
    assert [r.text for r in browser.driver.find_elements(By.CSS_SELECTOR, "#rq-diff tbody tr")] == [
        "Credit limit 10,000.00 10,000.00 90,000.00 +80,000.00 (+800.0 %)"]
    browser.click_text("Approve", "#rq-body")
    browser.wait_text("#rq-alert", "Approved.")
    browser.wait_text("#rq-header", "Finance (step 2 of 2)")
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("10000.00")
    sign_out(browser)

    browser.sign_in("approver2")
    open_from_inbox(browser, "C001")
    browser.click_text("Approve", "#rq-body")
    browser.wait_text("#rq-header", "Approved")
    events = browser.duo.find_element("#rq-events").text
    assert "Approved · Credit control by Approver" in events
    assert "Approved · Finance by Approver2" in events
    assert "Changes applied" in events
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("90000.00")
    audit = world.query(lambda s: [(a.field, a.old_value, a.new_value) for a in s.query(AuditEntry)
                                   .filter(AuditEntry.source == "approved_request")])
    assert audit == [("credit_limit", "10000.00", "90000.00")]
    sign_out(browser)

    browser.sign_in("clerk")
    browser.open("/notifications")
    browser.wait_text("#notifications-list", "was approved; its values now apply")
    assert browser.console_errors() == []


def test_reject_needs_a_comment_and_request_change_reaches_the_clerk(browser, web):
    world = web.world
    world.customer("C002")
    first = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"}, expected_version=world.version_of("C001")).request.id
    world.act("clerk", svc.submit, first)
    second = world.act("clerk", save_customer, "C002", {"credit_limit": "20000"}, expected_version=world.version_of("C002")).request.id
    world.act("clerk", svc.submit, second)

    browser.start().sign_in("approver")
    browser.open(f"/requests/{first}")
    browser.click_text("Reject", "#rq-body")
    browser.wait_text("#rq-alert", "Comment: is required to reject")  # named as a person calls it
    browser.duo.find_element("#rq-comment").send_keys("Credit check failed")
    browser.click_text("Reject", "#rq-body")
    browser.wait_text("#rq-header", "Rejected")
    browser.click_text("Next request →")
    browser.wait_text("#rq-header", "C002")
    browser.duo.find_element("#rq-comment").send_keys("Please attach the credit check")
    browser.click_text("Request change", "#rq-body")
    browser.wait_text("#rq-header", "Change requested")
    sign_out(browser)

    browser.sign_in("clerk")
    browser.open("/customers/C002")
    browser.wait_text("#cs-status", "Please attach the credit check")
    assert browser.console_errors() == []


def test_the_submitter_is_not_offered_approval_and_a_late_approver_is_told(browser, web):
    world = web.world
    request_id = world.act("clerkapprover", save_customer, "C001", {"credit_limit": "20000"}, expected_version=world.version_of("C001")).request.id
    world.act("clerkapprover", svc.submit, request_id)

    browser.start().sign_in("clerkapprover")
    browser.open(f"/requests/{request_id}")
    browser.wait_text("#rq-body", "Nothing waits for you on this request.")
    assert "Approve" not in browser.duo.find_element("#rq-body").text
    assert "Recall" in browser.duo.find_element("#rq-body").text
    sign_out(browser)

    # approver opens the request; meanwhile another approver approves it elsewhere
    browser.sign_in("approver")
    browser.open(f"/requests/{request_id}")
    browser.wait_text("#rq-header", "Changes pending approval")
    world.act("approver2", svc.approve, request_id, seen_round=world.seen(request_id))
    browser.click_text("Approve", "#rq-body")
    browser.wait_text("#rq-alert", "This request is Approved; it can no longer be decided.")
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("20000.00")


def test_bulk_approve_asks_with_every_change_listed(browser, web):
    world = web.world
    world.customer("C002")
    for account in ("C001", "C002"):
        submitted(world, account)
    browser.start().sign_in("approver")
    browser.open("/approvals")
    bulk = browser.duo.wait_for_element("#inbox-bulk")
    WebDriverWait(browser.driver, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".ag-cell[col-id='changes']")) == 2)
    assert not bulk.is_enabled() and bulk.text == "Approve selected"
    assert browser.driver.find_elements(By.CSS_SELECTOR, ".ag-cell[col-id='changes']")[0].text == (
        "Credit limit: 10,000.00 → 20,000.00 (+10,000.00 (+100.0 %))")
    boxes = browser.driver.find_elements(By.CSS_SELECTOR, ".ag-center-cols-container .ag-checkbox-input, .ag-pinned-left-cols-container .ag-checkbox-input")
    browser.real_click(boxes[0])
    browser.wait_text("#inbox-bulk", "Approve 1 request")
    browser.press("#inbox-bulk")
    browser.wait_text("#inbox-confirm-list", "Credit limit: 10,000.00 → 20,000.00")
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("10000.00")
    browser.press("#inbox-confirm")
    browser.wait_text("#inbox-bulk-result", "Approved 1 of 1.")
    approved = [a for a in ("C001", "C002")
                if world.query(lambda s, a=a: find_customer(s, a).credit_limit) == Decimal("20000.00")]
    assert len(approved) == 1
    assert browser.console_errors() == []


def test_the_approver_approves_from_the_customer_page_as_the_seed_says(browser, web):
    """The seed: the approver goes to the Customer page, reviews Proposed changes there and
    chooses Workflow › Approve."""
    world = web.world
    request_id = submitted(world, "C001")
    browser.start().sign_in("approver")
    browser.open("/customers/C001")
    browser.wait_text("#cs-status", "Changes pending approval")
    assert browser.driver.find_element(By.ID, "cs-request-link").text == f"Request #{request_id}"
    browser.click_text("Proposed changes", "#cs-action-pane")
    browser.wait_text(".modal-title", "Proposed changes")
    table = browser.driver.find_element(By.ID, "proposed-changes-table")
    assert [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")] == [
        "Field", "Original value", "Current value", "New value", ""]
    assert [row.text for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")] == [
        "Credit limit 10,000.00 10,000.00 20,000.00"]  # read-only: nothing to discard
    browser.click_text("OK", ".modal")
    browser.wait_gone(".modal-dialog")
    browser.click_text("Workflow", "#cs-action-pane")
    browser.click_text("Approve", "#cs-action-pane")
    browser.wait_text("#cs-alert", "Approved.")
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("20000.00")
    assert browser.driver.find_element(By.CSS_SELECTOR, "[id*='\"name\":\"credit_limit\"']") \
        .get_attribute("value") == "20,000.00"
    assert browser.console_errors() == []


def test_the_approver_rejects_from_the_customer_page_with_a_comment(browser, web):
    """Workflow › Reject… on the customer page asks for the comment in a dialog; without one
    nothing is decided, with one the request is rejected and the customer keeps its values."""
    world = web.world
    request_id = submitted(world, "C001")
    browser.start().sign_in("approver")
    browser.open("/customers/C001")
    browser.wait_text("#cs-status", "Changes pending approval")
    browser.click_text("Workflow", "#cs-action-pane")
    browser.click_text("Reject…", "#cs-action-pane")
    browser.wait_text(".modal-title", f"Reject request #{request_id}")
    browser.click_text("Reject", ".modal-footer")
    browser.wait_text("#cs-decision-problem", "Comment")
    assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == "pending"
    comment = browser.labelled("Comment", ".modal")
    comment.send_keys("Too high for this group")
    browser.click_text("Reject", ".modal-footer")
    browser.wait_text("#cs-alert", "Rejected.")
    browser.wait_gone(".modal-dialog")
    assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == "rejected"
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("10000.00")
    assert browser.console_errors() == []


def test_an_inbox_row_is_a_link_and_opens_with_enter(browser, web):
    """The request number is a real link (a new tab with a middle or Ctrl click); Enter on a
    focused row opens the request, as a click does."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    world = web.world
    request_id = submitted(world, "C001")
    browser.start().sign_in("approver")
    browser.open("/approvals")
    link = WebDriverWait(browser.driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".ag-cell[col-id='request_id'] a.row-link"))
    assert link.text == str(request_id)
    assert link.get_attribute("href") == f"{browser.base}/requests/{request_id}"
    name = browser.driver.find_element(By.CSS_SELECTOR, ".ag-cell[col-id='customer_name']")
    browser.driver.execute_script("arguments[0].focus();", name)
    ActionChains(browser.driver).send_keys(Keys.ENTER).perform()
    browser.wait_text("#rq-header", "C001")
    assert browser.driver.current_url == f"{browser.base}/requests/{request_id}"
    assert browser.console_errors() == []


def test_a_long_inbox_shows_a_block_and_the_next_when_asked(browser, web, monkeypatch):
    """The inbox lists the longest waiting first, a block at a time: Show more adds the
    next block (in the grid and, on a phone, as cards)."""
    import pages.approvals as page

    world = web.world
    monkeypatch.setattr(page, "INBOX_BLOCK", 2)
    for account in ("C002", "C003"):
        world.customer(account)
    for account in ("C001", "C002", "C003"):
        submitted(world, account)
    browser.start().sign_in("approver")
    browser.open("/approvals")

    def accounts(d):
        return [c.text for c in d.find_elements(By.CSS_SELECTOR, ".ag-cell[col-id='account']")]

    WebDriverWait(browser.driver, 10).until(lambda d: accounts(d) == ["C001", "C002"])
    browser.wait_text("#inbox-limited", "Showing the 2 that have waited longest")
    browser.click_text("Show 2 more")
    WebDriverWait(browser.driver, 10).until(lambda d: accounts(d) == ["C001", "C002", "C003"])
    browser.wait_gone("#inbox-limited")
    assert not browser.driver.find_element(By.ID, "inbox-more").is_displayed()
    browser.driver.set_window_size(390, 844)
    browser.open("/approvals")
    WebDriverWait(browser.driver, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#inbox-cards li.card")) == 2)
    first = browser.driver.find_element(By.CSS_SELECTOR, "#inbox-cards li.card")
    link = first.find_element(By.TAG_NAME, "a")
    assert link.text == "#1 C001 Customer C001" and link.get_attribute("href").endswith("/requests/1")
    assert "Credit limit: 10,000.00 → 20,000.00" in first.text and "Clerk" in first.text
    browser.click_text("Show 2 more")
    WebDriverWait(browser.driver, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#inbox-cards li.card")) == 3)
    decided = next(label for label in browser.driver.find_elements(By.CSS_SELECTOR, "#inbox-tabs label")
                   if label.text == "Decided by me (0)")  # fmt: skip
    browser.click(decided)
    browser.wait_text("#inbox-cards", "No requests here.")
    assert browser.console_errors() == []
