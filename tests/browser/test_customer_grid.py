"""The customer grid pages through 50,000 customers with sort, filter and search in SQL."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from data.generate import generate_customers

pytestmark = pytest.mark.browser


ROWS_JS = """
return [...document.querySelectorAll('.ag-center-cols-container .ag-row')].map(row => {
    const index = row.getAttribute('row-index');
    const pinned = document.querySelector(`.ag-pinned-left-cols-container .ag-row[row-index="${index}"]`);
    return [Number(index), pinned ? pinned.innerText.trim() : '',
            [...row.querySelectorAll('.ag-cell')].map(cell => cell.innerText.trim())];
}).filter(row => row[1]).sort((a, b) => a[0] - b[0]);
"""


def rendered_rows(browser):
    """(row index, account, other cells) of the rows on screen, read in one go."""
    return browser.driver.execute_script(ROWS_JS)


def first_accounts(browser, count=3):
    return [account for _, account, _ in rendered_rows(browser)[:count]]


def wait_first(browser, expected, timeout=15):
    WebDriverWait(browser.driver, timeout).until(lambda _: first_accounts(browser, 1) == [expected])


def grid_api(browser, script):
    return browser.driver.execute_script(
        f"const api = dash_ag_grid.getApi('customers-grid'); {script}"
    )


def test_grid_pages_sorts_filters_and_searches_fifty_thousand_customers(browser, web):
    generate_customers(web.world.db, 50_000)
    browser.start().sign_in("clerk")
    browser.open("/customers")
    wait_first(browser, "B0000001")

    # scroll on block by block: each next block is read by key after the one before
    for index in (150, 250, 350):
        grid_api(browser, f"api.ensureIndexVisible({index}, 'top');")
        WebDriverWait(browser.driver, 15).until(
            lambda _, i=index: [i, f"B{i + 1:07d}"] in [row[:2] for row in rendered_rows(browser)]
        )

    # scroll far down: the grid asks the server for that block only
    grid_api(browser, "api.ensureIndexVisible(40000, 'top');")
    WebDriverWait(browser.driver, 15).until(
        lambda _: [40000, "B0040001"] in [row[:2] for row in rendered_rows(browser)]
    )

    # sort by account, descending
    grid_api(browser, "api.ensureIndexVisible(0, 'top'); api.applyColumnState({state: [{colId: 'account', sort: 'desc'}]});")
    wait_first(browser, "C001")  # the World's customer sorts after every B…
    grid_api(browser, "api.applyColumnState({state: [{colId: 'account', sort: 'desc'}, {colId: 'name', sort: null}]});")

    # filter the country column
    grid_api(browser, "api.setFilterModel({country: {filterType: 'text', type: 'equals', filter: 'AT'}});")
    COUNTRY = 3  # name, customer group, city, country, …
    WebDriverWait(browser.driver, 15).until(
        lambda _: (rows := rendered_rows(browser)) and all(r[2][COUNTRY] == "AT" for r in rows)
    )
    grid_api(browser, "api.setFilterModel(null); api.applyColumnState({defaultState: {sort: null}});")

    # quick search by account number
    search = browser.duo.find_element("#customers-search")
    search.send_keys("B0012345\n")
    wait_first(browser, "B0012345")
    assert len(first_accounts(browser, 10)) == 1

    # selecting a row opens that customer
    browser.real_click(browser.driver.find_element(By.CSS_SELECTOR, ".ag-pinned-left-cols-container .ag-row .ag-cell"))
    browser.wait_text("#cs-title", "B0012345")

    # the account is a real link, and Enter on a focused row opens that customer too
    browser.open("/customers")
    browser.duo.wait_for_element("#customers-search").send_keys("B0012346\n")
    wait_first(browser, "B0012346")
    link = browser.driver.find_element(By.CSS_SELECTOR, ".ag-pinned-left-cols-container a.row-link")
    assert link.get_attribute("href") == f"{browser.base}/customers/B0012346"
    name = browser.driver.find_element(By.CSS_SELECTOR, ".ag-center-cols-container .ag-cell[col-id='name']")
    browser.driver.execute_script("arguments[0].focus();", name)
    ActionChains(browser.driver).send_keys(Keys.ENTER).perform()
    browser.wait_text("#cs-title", "B0012346")
    assert browser.console_errors() == []
