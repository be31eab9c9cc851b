"""Browser tests need Debian's chromium and chromedriver (make test installs them)."""

from __future__ import annotations

import os
import shutil
import socket

import pytest
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

MISSING_BROWSER = "chromium and chromedriver are not installed (make test installs them with apt-get)"


def free_port() -> int:
    """A loopback port nobody holds now (tests may run in several processes at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def _browser_available() -> None:
    if shutil.which("chromedriver") and (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
        return
    if os.environ.get("COUNTERSIGN_REQUIRE_BROWSER") == "1":
        pytest.fail(MISSING_BROWSER)
    pytest.skip(MISSING_BROWSER)


class Browser:
    """What a person does in the browser, on top of dash_duo."""

    def __init__(self, dash_duo, web):
        self.duo = dash_duo
        self.web = web
        self.driver = dash_duo.driver

    def start(self):
        # the server's front page is the sign-in form, not a Dash page to wait for
        self.duo.start_server(self.web.app, navigate=False, port=free_port())
        self.base = self.duo.server.url.rstrip("/")
        return self

    def open(self, path: str):
        self.driver.get(self.base + path)

    def sign_out(self):
        self.press("#cs-user-menu .dropdown-toggle")  # the user menu, then Sign out
        self.press("#cs-sign-out")
        self.wait_text("h1", "Sign in")

    def sign_in(self, username: str, password: str = "secret"):
        self.open("/login")
        self.duo.wait_for_element("#login-username").send_keys(username)
        self.duo.find_element("#login-password").send_keys(password + Keys.ENTER)
        # the name is in the navigation bar, folded behind its toggle on a phone
        WebDriverWait(self.driver, 10, ignored_exceptions=(NoSuchElementException,
                                                           StaleElementReferenceException)).until(
            lambda d: username.title() in d.find_element(By.ID, "cs-user-name")
            .get_attribute("textContent"))  # fmt: skip

    def field(self, name: str):
        return self.driver.find_element(By.CSS_SELECTOR, f"[id*='\"name\":\"{name}\"']")

    def type_into(self, name: str, text: str):
        element = self.field(name)
        element.clear()
        element.send_keys(text)
        WebDriverWait(self.driver, 5).until(lambda _: element.get_attribute("value") == text)

    def choose(self, name: str, label: str):
        from selenium.webdriver.support.ui import Select

        Select(self.field(name)).select_by_visible_text(label)

    def click(self, element):
        """Scroll ``element`` into view and click it, as a person would."""
        self.driver.execute_script(
            "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element
        )

    def press(self, selector: str, timeout: float = 10):
        """Wait until the element under ``selector`` is enabled and visible, then click it."""
        element = WebDriverWait(self.driver, timeout).until(
            expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, selector))
        )
        self.click(element)

    def real_click(self, element, timeout: float = 10):
        """A native click, for widgets (AG Grid) that ignore scripted ones."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        WebDriverWait(self.driver, timeout, ignored_exceptions=(ElementClickInterceptedException,)).until(
            lambda _: element.click() or True
        )

    def click_text(self, text: str, within: str = "body"):
        """Click the shown button or link with this text, looked up afresh until it holds
        still (a callback may be re-rendering the part of the page it is in)."""
        xpath = f"//*[self::button or self::a][normalize-space()='{text}']"

        def click_shown(_):
            scope = self.driver.find_element(By.CSS_SELECTOR, within)
            shown = [e for e in scope.find_elements(By.XPATH, "." + xpath) if e.is_displayed()]
            if not shown:
                return False
            self.click(shown[0])
            return True

        WebDriverWait(self.driver, 10, ignored_exceptions=(StaleElementReferenceException,
                                                          NoSuchElementException)).until(click_shown)

    def labelled(self, text: str, within: str = "body"):
        """The control a visible label names (its ``for``), as a screen reader finds it."""
        scope = self.driver.find_element(By.CSS_SELECTOR, within)
        label = next(e for e in scope.find_elements(By.TAG_NAME, "label")
                     if e.text.strip() == text and e.is_displayed())  # fmt: skip
        control = self.driver.execute_script(
            "return document.getElementById(arguments[0]);", label.get_attribute("for"))
        assert control is not None, f"the label {text!r} names no control"
        return control

    def wait_text(self, selector: str, text: str, timeout: float = 10):
        self.duo.wait_for_contains_text(selector, text, timeout=timeout)

    def wait_gone(self, selector: str, timeout: float = 10):
        WebDriverWait(self.driver, timeout).until(
            expected_conditions.invisibility_of_element_located((By.CSS_SELECTOR, selector))
        )

    def console_errors(self) -> list:
        return [entry for entry in self.duo.get_logs() or [] if entry.get("level") == "SEVERE"]


@pytest.fixture
def browser(dash_duo, web) -> Browser:
    return Browser(dash_duo, web)
