"""Screenshots of the main screens, for the README: `make screenshots`.

Starts the demo (a fresh SQLite database seeded with the demo data) on a free local
port, signs in as each role in headless Chromium and saves PNGs to docs/screenshots/:
each role's landing page, the editor with its Proposed changes dialog, the request
page, both dashboards, and the inbox, the editor and the request page at phone width.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
WIDE, PHONE = (1440, 900), (390, 844)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_demo(folder: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/demo.db", "COUNTERSIGN_DEMO": "1",
           "SECRET_KEY": "screenshots", "PORT": str(port), "HOST": "127.0.0.1"}  # fmt: skip
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _attempt in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the demo did not start")


def browser(size: tuple[int, int]) -> webdriver.Chrome:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--lang=en-GB",
                     f"--window-size={size[0]},{size[1]}"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
    if size == PHONE:  # a desktop window cannot be as narrow as a phone: emulate one
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {
            "width": size[0], "height": size[1], "pixelRatio": 1}})  # fmt: skip
    return webdriver.Chrome(options=options)


class Camera:
    def __init__(self, base: str, size: tuple[int, int]):
        self.base, self.driver = base, browser(size)

    def sign_in(self, username: str) -> None:
        self.driver.delete_all_cookies()
        self.driver.get(self.base + "/login")
        self.driver.find_element(By.ID, "login-username").send_keys(username)
        self.driver.find_element(By.ID, "login-password").send_keys("demo\n")
        WebDriverWait(self.driver, 20).until(lambda d: "/login" not in d.current_url)

    def open(self, path: str, ready: str) -> None:
        self.driver.get(self.base + path)
        WebDriverWait(self.driver, 30).until(
            expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ready)))
        time.sleep(2)  # charts and grids draw after their data arrives

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(OUT / f"{name}.png"))
        print(f"docs/screenshots/{name}.png")

    def click(self, xpath: str) -> None:
        element = WebDriverWait(self.driver, 20).until(
            expected_conditions.element_to_be_clickable((By.XPATH, xpath)))
        self.driver.execute_script("arguments[0].click();", element)


def first_pending_request(camera: Camera) -> str:
    camera.open("/approvals", ".ag-cell[col-id='request_id']")
    return camera.driver.find_element(By.CSS_SELECTOR, ".ag-cell[col-id='request_id']").text


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = start_demo(folder, port)
        base = f"http://127.0.0.1:{port}"
        try:
            wide = Camera(base, WIDE)
            wide.sign_in("clerk")
            wide.open("/customers", ".ag-cell[col-id='account']")
            wide.shot("clerk-customers")
            wide.open("/customers/C000005", "#cs-title")
            field = wide.driver.find_element(By.CSS_SELECTOR, "[id*='\"name\":\"credit_limit\"']")
            field.clear()
            field.send_keys("300000")
            wide.click("//button[@id='cs-save']")
            WebDriverWait(wide.driver, 20).until(
                expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".modal")))
            time.sleep(1)
            wide.shot("clerk-proposed-changes")
            wide.sign_in("approver")
            request_id = first_pending_request(wide)
            wide.shot("approver-inbox")
            wide.open(f"/requests/{request_id}", "#rq-diff")
            wide.shot("approver-request")
            customer_page = wide.driver.find_element(By.CSS_SELECTOR, "#rq-header a") \
                .get_attribute("href").removeprefix(base)
            wide.sign_in("manager")
            wide.open("/dashboards/pending", ".main-svg")
            wide.shot("manager-pending-changes")
            wide.sign_in("analyst")
            wide.open("/dashboards/throughput", ".main-svg")
            wide.shot("analyst-throughput")
            wide.sign_in("admin")
            wide.open("/parameters", "#params-fields")
            wide.shot("admin-parameters")
            wide.driver.quit()

            phone = Camera(base, PHONE)
            phone.sign_in("approver")
            phone.open("/approvals", "#inbox-cards a")
            phone.shot("phone-inbox")
            phone.open(customer_page, "#cs-title")
            phone.shot("phone-customer")
            phone.open(f"/requests/{request_id}", "#rq-diff")
            phone.shot("phone-request")
            phone.driver.quit()
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
