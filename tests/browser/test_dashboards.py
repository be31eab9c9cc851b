"""A manager and an analyst open their dashboards; a click leads to the requests behind a figure."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.unit.test_metrics import build_history

pytestmark = pytest.mark.browser


def bars(browser, chart: str):
    selector = f"[id*='\"chart\":\"{chart}\"'] .bars path"
    WebDriverWait(browser.driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, selector))
    return browser.driver.find_elements(By.CSS_SELECTOR, selector)


def click_bar(browser, chart: str, index: int):
    """A real mouse click on a bar, which plotly hit-tests; again if the chart was redrawn."""
    for _attempt in range(5):
        try:
            bar = bars(browser, chart)[index]
            browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", bar)
            ActionChains(browser.driver).move_to_element(bar).click().perform()
            WebDriverWait(browser.driver, 3).until(lambda d: "/requests?" in d.current_url)
            return
        except (TimeoutException, StaleElementReferenceException):
            continue
    raise AssertionError(f"a click on bar {index} of {chart} opened no request list")


def test_manager_sees_the_backlog_and_drills_through(browser, web):
    history = build_history(web.world)
    browser.start().sign_in("manager")
    browser.open("/dashboards/pending")
    browser.wait_text("#kpi-open", "3")
    assert browser.duo.find_element("#kpi-overdue").text == "3"
    assert len(bars(browser, "by-approver")) == 3

    # a bar: the requests that Approver3 holds
    click_bar(browser, "by-approver", 2)
    browser.wait_text("#rl-count", "1 request")
    assert f"/requests/{history['r6']}" in browser.duo.find_element("#rl-table").get_attribute("innerHTML")

    # a card: every open request
    browser.open("/dashboards/pending")
    browser.wait_text("#kpi-open", "3")
    browser.click(browser.duo.find_element("#kpi-open"))
    browser.wait_text("#rl-count", "3 requests")
    browser.click(browser.driver.find_element(By.LINK_TEXT, f"#{history['r6']}"))
    browser.wait_text("#rq-reassign-card", "Reassign")
    assert browser.console_errors() == []


def test_analyst_sees_the_throughput_charts(browser, web):
    build_history(web.world)
    browser.start().sign_in("analyst")
    browser.open("/dashboards/throughput")
    browser.wait_text("h1", "Approval throughput")
    for chart in ("tp-volume", "tp-cycle", "tp-histogram", "tp-per-step", "tp-per-field",
                  "tp-per-approver", "tp-sla"):  # fmt: skip
        browser.duo.wait_for_element(f"#{chart} .main-svg")
    assert "Pending changes" not in browser.duo.find_element("#cs-navbar").text
    for label in ("Field", "Customer group", "Step", "Approver"):  # no filter: each says so
        chosen = Select(browser.labelled(label)).first_selected_option
        assert chosen.get_attribute("textContent").strip() == "All", label
    browser.open("/dashboards/pending")
    browser.wait_text("h1", "Not available")
    assert browser.console_errors() == []
