"""A clerk uploads a file, previews it, imports it and sees the batch."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from data.customers import find_customer

pytestmark = pytest.mark.browser


def test_upload_preview_import_and_batch(browser, web, tmp_path):
    upload = tmp_path / "customers.csv"
    upload.write_text(
        "account;name;customer_group;currency;on_hold;city\n"
        "C001;;;;;Como\n"
        "C500;Nuova Ditta S.r.l.;RETAIL;EUR;No;Pisa\n"
        "C501;;;;;\n"
    )
    browser.start().sign_in("clerk")
    browser.open("/imports")
    browser.wait_text("h1", "Imports")
    browser.driver.find_element(By.CSS_SELECTOR, "#imp-upload input[type=file]").send_keys(str(upload))

    browser.wait_text("#imp-counts", "3 rows would give")
    counts = browser.duo.find_element("#imp-counts").text
    assert "1 created" in counts and "1 updated" in counts and "1 failed" in counts
    assert web.world.query(lambda s: find_customer(s, "C001").city) is None  # a preview writes nothing

    browser.click_text("Import")
    browser.wait_text("#imp-message", "imported with problems: 1 created, 1 updated, 1 failed", timeout=20)
    browser.wait_text("#imp-batch-table", "customers.csv")
    assert web.world.query(lambda s: find_customer(s, "C001").city) == "Como"
    assert web.world.query(lambda s: find_customer(s, "C500").name) == "Nuova Ditta S.r.l."
    assert browser.console_errors() == []


def test_a_bad_file_gets_a_clear_message(browser, tmp_path):
    upload = tmp_path / "wrong.csv"
    upload.write_text("name,shoe_size\nX,42\n")
    browser.start().sign_in("clerk")
    browser.open("/imports")
    browser.driver.find_element(By.CSS_SELECTOR, "#imp-upload input[type=file]").send_keys(str(upload))
    browser.wait_text("#imp-message", "wrong.csv: File: unknown columns: shoe_size")
