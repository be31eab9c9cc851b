"""axe-core in the browser: every page, for every role that can open it, has no critical or
serious accessibility violation (tests/browser/vendor/axe.min.js, axe-core 4.14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from data import requests as svc
from data.customers import save_customer
from data.models import ChangeRequest

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("critical", "serious")

# (role, address, an element that is there once the page has drawn its content)
PAGES = [
    ("clerk", "/", "h1"),
    ("clerk", "/customers", "#customers-grid .ag-row"),
    ("clerk", "/customers/C001", "#cs-title"),
    ("clerk", "/imports", "h1"),
    ("clerk", "/my-requests", "h1"),
    ("clerk", "/notifications", "h1"),
    ("approver", "/approvals", "#inbox-grid .ag-row"),
    ("approver", "/requests/{request}", "#rq-header"),
    ("approver", "/customers/C001", "#cs-status .badge"),
    ("manager", "/dashboards/pending", "#pd-body .js-plotly-plot"),
    ("manager", "/requests?state=open", "h1"),
    ("analyst", "/dashboards/throughput", "#tp-body .js-plotly-plot"),
    ("admin", "/parameters", "#params-groups"),
    ("admin", "/workflows", "h1"),
    ("admin", "/users", "h1"),
    ("admin", "/webhooks", "h1"),
    ("admin", "/requests/{request}", "#rq-header"),
]


def violations(browser) -> list[dict]:
    """axe's violations on the page as it stands."""
    browser.driver.execute_script(AXE)
    found = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]},"
        " resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));",
        RULES,
    )
    assert isinstance(found, list), found
    return found


def summary(found: list[dict]) -> list[str]:
    return [f"{v['impact']} {v['id']}: {v['help']} — "
            + "; ".join(", ".join(node["target"]) for node in v["nodes"][:4])
            for v in found]  # fmt: skip


def test_the_sign_in_page_has_no_serious_violation(browser):
    browser.start().open("/login")
    browser.duo.wait_for_element("#login-username")
    blocking = [v for v in violations(browser) if v["impact"] in BLOCKING]
    assert not blocking, "\n".join(summary(blocking))


@pytest.mark.parametrize("language", ["en", "it"])
def test_every_page_has_no_critical_or_serious_violation(browser, web, language):
    """In English and in the seed's Italian (the users' language set to it)."""
    from sqlalchemy import update

    from data.models import User

    world = web.world
    world.db.run(lambda s: s.execute(update(User).values(locale=language)))
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                           expected_version=world.version_of("C001")).request.id
    world.act("clerk", svc.submit, request_id)
    browser.start()
    report, signed_in = {}, None
    for role, address, ready in PAGES:
        if role != signed_in:
            if signed_in is not None:
                browser.sign_out()
            browser.sign_in(role)
            signed_in = role
        browser.open(address.format(request=request_id))
        WebDriverWait(browser.driver, 15).until(
            lambda d, css=ready: d.find_elements(By.CSS_SELECTOR, css))
        assert browser.driver.execute_script("return document.documentElement.lang;") == language
        found = violations(browser)
        report[f"{role} {address}"] = [v for v in found if v["impact"] in BLOCKING]
        print(json.dumps({f"{language} {role} {address}": {impact: sum(len(v["nodes"]) for v in found
                                                            if v["impact"] == impact)
                                                for impact in ("critical", "serious", "moderate",
                                                               "minor")}}))  # fmt: skip
    failing = {page: summary(found) for page, found in report.items() if found}
    assert not failing, json.dumps(failing, indent=1, ensure_ascii=False)


def test_an_approver_decides_on_a_phone_without_scrolling_sideways(browser, web):
    """At 390x844 the request page, the inbox and the customer editor fit the screen's
    width (wide tables scroll in their own region), each proposed change is a card, and
    the decision buttons stay in view at the bottom; no serious violation there either."""
    world = web.world
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                           expected_version=world.version_of("C001")).request.id
    world.act("clerk", svc.submit, request_id)
    browser.start()
    browser.driver.set_window_size(390, 844)
    browser.sign_in("approver")
    for address, ready in ((f"/requests/{request_id}", "#rq-header"),
                           ("/approvals", "#inbox-cards a"),
                           ("/customers/C001", "#cs-title")):  # fmt: skip
        browser.open(address)
        WebDriverWait(browser.driver, 15).until(
            lambda d, css=ready: d.find_elements(By.CSS_SELECTOR, css))
        wider = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        assert wider <= 0, f"{address} scrolls sideways by {wider}px"
        blocking = [v for v in violations(browser) if v["impact"] in BLOCKING]
        assert not blocking, "\n".join(summary(blocking))
        if address.startswith("/requests/"):
            card = browser.driver.execute_script(
                "return document.querySelector('#rq-diff tbody tr').innerText;").splitlines()
            assert card[:4] == ["Credit limit", "10,000.00", "10,000.00", "20,000.00"], card
            named = browser.driver.execute_script(
                "return getComputedStyle(document.querySelector('#rq-diff td[data-label]'),"
                " '::before').content;")
            assert named == '"Original value: "'  # each value says what it is
            approve = browser.driver.find_element(By.XPATH, "//button[normalize-space()='Approve']")
            in_view = browser.driver.execute_script(
                "const r = arguments[0].getBoundingClientRect();"
                "return r.top >= 0 && r.bottom <= window.innerHeight;", approve)
            assert in_view, "Approve is not on the screen"
    browser.click(browser.driver.find_element(By.ID, "cs-nav-toggle"))  # the folded menu
    browser.wait_text("#cs-nav-collapse", "Approvals")
    # the inbox is a list of cards (the grid is hidden); tapping one opens it; Approve decides
    browser.open("/approvals")
    card = browser.duo.wait_for_element("#inbox-cards a")
    assert not browser.driver.find_element(By.ID, "inbox-grid").is_displayed()
    assert card.text == f"#{request_id} C001 Customer C001"
    browser.click(card)
    browser.wait_text("#rq-header", "C001")
    browser.click(browser.driver.find_element(By.XPATH, "//button[normalize-space()='Approve']"))
    browser.wait_text("#rq-alert", "Approved.")
    assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == "approved"
