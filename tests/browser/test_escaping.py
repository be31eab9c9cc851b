"""Names holding HTML or script render as text on every page that shows them."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import update

from data import requests as svc
from data.customers import save_customer
from data.models import User

pytestmark = pytest.mark.browser

NAME = '<img src=x onerror="window.__xss=1">Evil & Co <script>window.__xss=2</script>'
APPROVER = '<b onmouseover="window.__xss=3">Approver</b>'
LINK = '<a href="http://127.0.0.1:9/phish">Approver Two</a>'


def test_html_in_names_is_shown_as_text_everywhere(browser, web):
    world = web.world
    world.customer("C666", name=NAME)
    request_id = world.act("clerk", save_customer, "C666", {"credit_limit": "20000"}, expected_version=world.version_of("C666")).request.id
    world.act("clerk", svc.submit, request_id)
    world.query(lambda s: (s.execute(update(User).where(User.username == "approver")
                                     .values(full_name=APPROVER)), s.commit()))  # fmt: skip
    world.query(lambda s: (s.execute(update(User).where(User.username == "approver2")
                                     .values(full_name=LINK)), s.commit()))  # fmt: skip

    browser.start().sign_in("manager")
    for path, selector in (
        ("/customers", ".ag-center-cols-container"),
        ("/customers/C666", "#cs-title"),
        (f"/requests/{request_id}", "#rq-body"),
        ("/requests?state=pending", "#rl-table"),
        ("/dashboards/pending", "#pending-dashboard"),
    ):
        browser.open(path)
        browser.duo.wait_for_element(selector, timeout=10)
        browser.driver.implicitly_wait(0)
        if path.startswith("/customers/") or path.startswith("/requests"):
            browser.wait_text("body", "Evil & Co")
        assert browser.driver.execute_script("return window.__xss === undefined"), path
        assert not browser.driver.find_elements("css selector", "img[src='x']"), path
    browser.duo.wait_for_element("#table-by-approver", timeout=10)  # the figures have come
    show_data = browser.driver.find_element(
        "xpath", "//*[@id='table-by-approver']/ancestor::details/summary")
    browser.click(show_data)  # the chart's numbers fold behind Show data
    browser.wait_text("#table-by-approver", APPROVER)  # the tag itself, as text
    # chart labels too: plotly would draw <a href> in a label as a live link
    chart = "[id*='\"chart\":\"by-approver\"']"
    WebDriverWait(browser.driver, 10).until(lambda d: d.execute_script(
        "const c = document.querySelector(arguments[0]);"
        "return c !== null && c.textContent.includes('Approver Two</a>');", chart))
    assert not browser.driver.find_elements("css selector", ".js-plotly-plot a[href]")
    assert browser.console_errors() == []
