"""An approver decides from the email on a phone in two taps: the Approve link of a
received message (a real SMTP server on loopback), then the page's button."""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from data import requests as svc
from data.customers import save_customer
from data.mail import mail_settings, send_due
from data.models import ChangeRequest, User
from data.workflows import StepSpec
from tests.browser.test_accessibility import BLOCKING, summary, violations
from tests.unit.test_email import Inbox


def test_an_approver_approves_from_the_email_on_a_phone(browser, web):
    world = web.world
    inbox = Inbox()
    try:
        browser.start()
        world.db.send_email(mail_settings(f"smtp://127.0.0.1:{inbox.port}",
                                          "Countersign <countersign@example.com>",
                                          browser.base, "test-key"))  # fmt: skip
        world.workflow([StepSpec(name="Credit control",
                                 assignee_user_ids=[world.user_id("approver")])])  # fmt: skip
        with world.db.session() as session:
            session.scalar(select(User).where(User.username == "approver")).email = "a@example.com"
        request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                               expected_version=world.version_of("C001")).request.id  # fmt: skip
        world.act("clerk", svc.submit, request_id)
        send_due(world.db)
        [(_to, message)] = inbox.messages
        approve = re.search(r"Approve: (\S+)", inbox.text(message)).group(1)

        browser.driver.set_window_size(390, 844)
        browser.driver.get(approve)  # tap 1: the link in the email
        browser.wait_text("h1", f"Approve request #{request_id}?")
        page = browser.driver.find_element(By.TAG_NAME, "main").text
        assert "Credit limit" in page and "20,000.00" in page and "+10,000.00" in page
        wider = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        assert wider <= 0, f"the page scrolls sideways by {wider}px"
        assert browser.labelled("Comment (optional)").tag_name == "textarea"
        blocking = [v for v in violations(browser) if v["impact"] in BLOCKING]
        assert not blocking, "\n".join(summary(blocking))

        browser.click_text("Approve")  # tap 2
        browser.wait_text("h1", "Done")
        WebDriverWait(browser.driver, 10).until(
            lambda _: world.query(lambda s: s.get(ChangeRequest, request_id).state) == "approved")
        browser.driver.get(approve)  # the link is spent now
        browser.wait_text("h1", "This link cannot be used")
    finally:
        inbox.stop()
