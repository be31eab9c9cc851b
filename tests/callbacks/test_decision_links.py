"""The Approve and Reject links of an email, over HTTP: opening one changes nothing; its
button decides as the recipient with every rule checked again; forged, expired, reused,
someone else's, spent (decided or recalled since) and the submitter's are refused with
nothing changed; the parameters can ask for signing in first."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from data import requests as svc
from data.customers import save_customer
from data.models import Assignment, ChangeRequest, User
from data.oneclick import link_token
from data.parameters import update_parameters
from data.workflows import StepSpec
from tests.api.conftest import build_api
from tests.dash_http import client_as

SECRET = "test-key"  # the app's secret key in build_api


@pytest.fixture
def site(db):
    api = build_api(db)
    world = api.world
    world.workflow([StepSpec(name="Credit control",
                             assignee_user_ids=[world.user_id("approver"),
                                                world.user_id("approver2")])])  # fmt: skip
    return api


def pending(world, limit="25000") -> int:
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": limit},
                           expected_version=world.version_of("C001")).request.id  # fmt: skip
    world.act("clerk", svc.submit, request_id)
    return request_id


def assignment_of(world, username: str) -> int:
    user_id = world.user_id(username)
    return world.query(lambda s: s.scalar(select(Assignment.id).where(
        Assignment.user_id == user_id, Assignment.state == "open")))  # fmt: skip


def link(world, username: str, decision: str = "approve", assignment: int | None = None) -> str:
    chosen = assignment if assignment is not None else assignment_of(world, username)
    return f"/decide/{link_token(SECRET, world.user_id(username), chosen, decision)}"


def state_of(world, request_id: int) -> tuple[str, str]:
    return world.query(lambda s: (s.get(ChangeRequest, request_id).state,
                                  str(s.scalar(select(ChangeRequest).where(
                                      ChangeRequest.id == request_id)).customer.credit_limit)))


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_opening_a_link_shows_the_changes_and_its_button_decides(site):
    world = site.world
    request_id = pending(world)
    address = link(world, "approver")
    client = site.client()
    shown = client.get(address)
    assert shown.status_code == 200
    text = page_text(shown)
    assert f"Approve request #{request_id}?" in text and "Credit limit" in text
    assert "25,000.00" in text and "+15,000.00 (+150.0 %)" in text
    assert 'id="decide-button"' in shown.get_data(as_text=True)
    assert state_of(world, request_id) == ("pending", "10000.00")  # a GET changes nothing
    decided = client.post(address, data={"comment": "fine"})
    assert decided.status_code == 200 and "Approved." in page_text(decided)
    # approver2 is still asked (single approver policy: the first answer decides)
    assert state_of(world, request_id) == ("approved", "25000.00")
    history = world.query(lambda s: [(e.action, e.actor.username if e.actor else None, e.comment)
                                     for e in s.get(ChangeRequest, request_id).events])
    assert ("approved", "approver", "fine") in history


def test_a_used_link_and_a_spent_one_are_refused(site):
    world = site.world
    request_id = pending(world)
    address, other = link(world, "approver"), link(world, "approver2", "reject")
    client = site.client()
    assert client.post(address).status_code == 200
    again = client.post(address)
    assert again.status_code == 410 and "no longer waits for your decision" in page_text(again)
    late = client.get(other)
    assert late.status_code == 410
    assert client.post(other, data={"comment": "no"}).status_code == 410
    assert state_of(world, request_id) == ("approved", "25000.00")


def test_a_recalled_request_spends_its_links(site):
    world = site.world
    request_id = pending(world)
    address = link(world, "approver")
    world.act("clerk", svc.recall, request_id)
    assert site.client().post(address).status_code == 410
    assert state_of(world, request_id)[0] == "draft"


def test_forged_expired_and_other_peoples_links_change_nothing(site):
    world = site.world
    request_id = pending(world)
    client = site.client()
    good = link(world, "approver")
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    assert client.post(forged).status_code == 410
    assert "not valid" in page_text(client.get(forged))
    user_id, assignment_id = world.user_id("approver"), assignment_of(world, "approver")
    now = time.time()
    with pytest.MonkeyPatch.context() as patch:  # signed 73 hours ago: past the 72
        patch.setattr(time, "time", lambda: now - 73 * 3600)
        expired = "/decide/" + link_token(SECRET, user_id, assignment_id, "approve")
    refused = client.post(expired)
    assert refused.status_code == 410 and "expired" in page_text(refused)
    # a link naming someone else's assignment; one naming the submitter
    swapped = link(world, "approver", assignment=assignment_of(world, "approver2"))
    assert client.post(swapped).status_code == 410
    submitter = link(world, "clerk", assignment=assignment_of(world, "approver"))
    assert client.post(submitter).status_code == 410
    # the right link, opened where someone else is signed in
    signed_in = client_as(site.app, world.user_id("approver2"))
    assert signed_in.post(good).status_code == 403
    assert state_of(world, request_id) == ("pending", "10000.00")


def test_reject_needs_a_comment_and_keeps_what_was_typed(site):
    world = site.world
    request_id = pending(world)
    address = link(world, "approver", "reject")
    client = site.client()
    refused = client.post(address, data={"comment": "  "})
    assert refused.status_code == 422 and "Comment" in page_text(refused)
    assert state_of(world, request_id)[0] == "pending"
    done = client.post(address, data={"comment": "Too high for this customer"})
    assert done.status_code == 200 and "Rejected." in page_text(done)
    assert state_of(world, request_id) == ("rejected", "10000.00")


def test_a_stale_value_is_confirmed_before_approving(site):
    world = site.world
    request_id = pending(world)
    with world.db.session() as session:  # someone changed it since (an import, say)
        customer = session.get(ChangeRequest, request_id).customer
        customer.credit_limit = 12000
    address = link(world, "approver")
    client = site.client()
    assert "changed since proposed" in page_text(client.get(address))
    refused = client.post(address)
    assert refused.status_code == 409 and state_of(world, request_id)[0] == "pending"
    done = client.post(address, data={"confirm_stale": "1"})
    assert done.status_code == 200 and state_of(world, request_id) == ("approved", "25000.00")


def test_the_parameters_can_ask_to_sign_in_first(site):
    world = site.world
    world.act("admin", update_parameters, link_requires_sign_in=True)
    request_id = pending(world)
    address = link(world, "approver")
    opened = site.client().get(address)
    assert opened.status_code == 302 and opened.headers["Location"] == f"/login?next={address}"
    assert site.client().post(address).headers["Location"] == f"/login?next={address}"
    assert state_of(world, request_id)[0] == "pending"
    signed_in = client_as(site.app, world.user_id("approver"))
    assert signed_in.post(address).status_code == 200
    assert state_of(world, request_id)[0] == "approved"


def test_the_page_speaks_the_recipients_language(site):
    world = site.world
    with world.db.session() as session:
        session.scalar(select(User).where(User.username == "approver")).locale = "it"
    request_id = pending(world)
    shown = site.client().get(link(world, "approver"), headers={"Accept-Language": "en"})
    text = page_text(shown)
    assert f"Approvare la richiesta n. {request_id}?" in text and "25.000,00" in text
    assert 'lang="it"' in shown.get_data(as_text=True)


def test_from_the_email_to_the_decision_in_two_taps(db):
    """The link in a received email (a real SMTP server on loopback) opens the page, and
    its button approves."""
    from data.mail import send_due
    from tests.unit.test_email import Inbox

    inbox = Inbox()
    try:
        api = build_api(db, smtp_url=f"smtp://127.0.0.1:{inbox.port}",
                        base_url="http://countersign.test")  # fmt: skip
        world = api.world
        world.db.send_email(api.app.server.extensions["countersign.database"].mail)
        world.workflow([StepSpec(name="Credit control",
                                 assignee_user_ids=[world.user_id("approver")])])  # fmt: skip
        with world.db.session() as session:
            for user in session.scalars(select(User)):
                user.email = f"{user.username}@example.com"
        request_id = pending(world)
        send_due(world.db)
        [(_recipients, message)] = inbox.messages
        text = inbox.text(message)
        approve = re.search(r"http://countersign\.test(/decide/\S+)", text).group(1)
        client = api.client()
        assert "Approve request" in page_text(client.get(approve))  # tap 1
        assert client.post(approve).status_code == 200  # tap 2
        assert state_of(world, request_id) == ("approved", "25000.00")
        send_due(world.db)
        assert [r for r, _m in inbox.messages][-1] == ["clerk@example.com"]
        assert "approved" in inbox.messages[-1][1]["Subject"]
    finally:
        inbox.stop()


def test_a_reject_link_asks_for_a_reason_from_the_list(site):
    from data.reasons import add_reason

    world = site.world
    world.act("admin", add_reason, "POLICY", "Against credit policy")
    request_id = pending(world)
    address = link(world, "approver", "reject")
    client = site.client()
    shown = client.get(address).get_data(as_text=True)
    assert 'id="decide-reason"' in shown and '<option value="POLICY"' in shown
    refused = client.post(address, data={"comment": "no"})
    assert refused.status_code == 422 and "Reason: choose a reason" in page_text(refused)
    assert 'value="POLICY"' in refused.get_data(as_text=True)
    done = client.post(address, data={"comment": "no", "reason": "POLICY"})
    assert done.status_code == 200 and state_of(world, request_id)[0] == "rejected"
