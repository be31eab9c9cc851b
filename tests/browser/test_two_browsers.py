"""Two approvers in two browsers press Approve on the same request at the same moment."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from data import requests as svc
from data.customers import find_customer, save_customer
from data.models import AuditEntry, ChangeRequest
from tests.browser.conftest import Browser
from tests.conftest import pytest_setup_options

pytestmark = pytest.mark.browser


@pytest.fixture
def second_driver():
    driver = webdriver.Chrome(options=pytest_setup_options())
    yield driver
    driver.quit()


def sign_in(driver, base, username):
    driver.get(base + "/login")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "login-username"))
    driver.find_element(By.ID, "login-username").send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys("secret\n")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "cs-user-name"))


def approve_button(driver):
    buttons = driver.find_elements(By.CSS_SELECTOR, "#rq-body button")
    return next((b for b in buttons if b.text == "Approve"), None)


def test_exactly_one_of_two_simultaneous_approvals_wins(browser: Browser, web, second_driver):
    world = web.world
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "30000"}, expected_version=world.version_of("C001")).request.id
    world.act("clerk", svc.submit, request_id)
    browser.start()
    base = browser.base
    drivers = (browser.driver, second_driver)
    for driver, username in zip(drivers, ("approver", "approver2"), strict=True):
        sign_in(driver, base, username)
        driver.get(f"{base}/requests/{request_id}")
        WebDriverWait(driver, 10).until(lambda d: approve_button(d))

    buttons = [approve_button(driver) for driver in drivers]
    barrier = threading.Barrier(2)

    def press(driver, button):
        barrier.wait()
        driver.execute_script("arguments[0].click();", button)

    threads = [threading.Thread(target=press, args=pair) for pair in zip(drivers, buttons, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def alert_text(driver):
        WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "rq-alert").text.strip())
        return driver.find_element(By.ID, "rq-alert").text

    messages = sorted(alert_text(driver) for driver in drivers)
    assert messages[0].startswith("Approved.")
    assert "can no longer be decided" in messages[1]
    assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == "approved"
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == Decimal("30000.00")
    assert world.query(lambda s: s.query(AuditEntry).filter(AuditEntry.request_id == request_id).count()) == 1
