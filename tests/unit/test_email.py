"""Email notices through a real SMTP server on loopback (aiosmtpd): the right recipients
only, in each one's language, with the changes inline; an outage retried without losing
or doubling a message or touching the decision; preferences and the daily digest."""

from __future__ import annotations

import socket
from datetime import UTC, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from data import mail as mail_module
from data import requests as svc
from data.customers import save_customer
from data.errors import ValidationFailed
from data.mail import digest_boundary, mail_settings, send_due, set_preferences
from data.models import ChangeRequest, EmailMessage, User
from data.users import update_user
from data.workflows import StepSpec

ITALIAN_SUBJECT = "La richiesta n. {id} per C001 attende la tua decisione (Credit control)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What an SMTP server on loopback received; ``down`` refuses connections."""

    def __init__(self):
        self.messages: list = []
        self.port = _free_port()
        owner = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                owner.messages.append((envelope.rcpt_tos, message_from_bytes(
                    envelope.original_content, policy=policy.default)))
                return "250 OK"

        self.handler = Handler()
        self.controller = None
        self.start()

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list:
        return [message for recipients, message in self.messages if address in recipients]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message) -> str:
        return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def inbox():
    server = Inbox()
    yield server
    server.stop()


@pytest.fixture
def emailing(world, inbox):
    world.db.send_email(mail_settings(f"smtp://127.0.0.1:{inbox.port}",
                                      "Countersign <countersign@example.com>",
                                      "http://countersign.test", "test-secret"))  # fmt: skip
    with world.db.session() as session:
        for user in session.scalars(select(User)):
            user.email = f"{user.username}@example.com"
        session.scalar(select(User).where(User.username == "approver2")).locale = "it"
    return world


def submitted(world, limit="25000") -> int:
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": limit},
                           expected_version=world.version_of("C001")).request.id  # fmt: skip
    world.act("clerk", svc.submit, request_id)
    return request_id


def states(world) -> list[tuple[str, str, str]]:
    return world.query(lambda s: [(m.user.username, m.kind, m.state) for m in
                                  s.scalars(select(EmailMessage).order_by(EmailMessage.id))])


def test_the_running_steps_approvers_are_told_in_their_language_with_the_changes(emailing, inbox):
    world = emailing
    request_id = submitted(world)
    assert send_due(world.db) == 4  # the approvers; not the clerk, manager, analyst, admin
    told = sorted(address for recipients, _m in inbox.messages for address in recipients)
    assert told == ["approver2@example.com", "approver3@example.com", "approver@example.com",
                    "clerkapprover@example.com"]
    english = inbox.to("approver@example.com")[0]
    assert english["Subject"] == f"Request #{request_id} for C001 waits for your decision (Credit control)"
    text = inbox.text(english)
    assert "Credit limit" in text and "10,000.00" in text and "25,000.00" in text
    assert "+15,000.00 (+150.0 %)" in text
    assert "Approve: http://countersign.test/decide/" in text
    assert "Reject: http://countersign.test/decide/" in text
    assert "+15,000.00" in inbox.html(english) and "<table" in inbox.html(english)
    italian = inbox.to("approver2@example.com")[0]
    assert italian["Subject"] == ITALIAN_SUBJECT.format(id=request_id)
    italian_text = inbox.text(italian)
    assert "Approva:" in italian_text and "Rifiuta:" in italian_text
    assert "10.000,00" in italian_text and "25.000,00" in italian_text
    assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == "pending"


def test_only_the_step_that_runs_is_told_and_the_submitter_hears_each_decision(emailing, inbox):
    world = emailing
    world.workflow([StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")]),
                    StepSpec(name="Finance", assignee_user_ids=[world.user_id("approver2")])])
    request_id = submitted(world)
    send_due(world.db)
    assert [r for r, _m in inbox.messages] == [["approver@example.com"]]
    world.act("approver", svc.approve, request_id, "ok", seen_round=1)
    send_due(world.db)
    # the next step's approver is asked; the submitter hears of the first approval
    assert [r for r, _m in inbox.messages][1:] == [["approver2@example.com"],
                                                   ["clerk@example.com"]]  # fmt: skip
    assert inbox.messages[2][1]["Subject"] == (f"Request #{request_id} for C001: Approver "
                                               "approved (Credit control); it goes on")
    world.act("approver2", svc.reject, request_id, "Too high", seen_round=1)
    send_due(world.db)
    last = inbox.messages[-1]
    assert last[0] == ["clerk@example.com"] and "rejected" in last[1]["Subject"]
    assert "Too high" in inbox.text(last[1])
    assert "/decide/" not in inbox.text(last[1])


def test_an_smtp_outage_is_retried_without_losing_doubling_or_undoing(emailing, inbox, monkeypatch):
    world = emailing
    world.workflow([StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")])])
    inbox.stop()
    request_id = submitted(world)
    assert send_due(world.db) == 1
    [(username, kind, state)] = states(world)
    assert (username, kind, state) == ("approver", "assigned", "pending")
    failed = world.query(lambda s: s.scalar(select(EmailMessage)))
    assert failed.attempts == 1 and failed.last_error and failed.next_attempt_at > failed.created_at
    assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == "pending"
    assert send_due(world.db) == 0  # not due yet
    inbox.start()
    with world.db.session() as session:  # the retry comes due
        session.execute(update(EmailMessage).values(next_attempt_at=failed.created_at))
    assert send_due(world.db) == 1
    assert send_due(world.db) == 0
    assert len(inbox.to("approver@example.com")) == 1
    assert states(world) == [("approver", "assigned", "sent")]


def test_a_refused_address_is_not_retried(emailing, inbox, monkeypatch):
    world = emailing

    def refuse(_mail, _email):
        raise mail_module.Refused("550 no such user")

    world.workflow([StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")])])
    submitted(world)
    send_due(world.db, send=refuse)
    assert states(world) == [("approver", "assigned", "failed")]


def test_a_step_no_longer_theirs_is_not_told(emailing, inbox):
    world = emailing
    world.workflow([StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")])])
    request_id = submitted(world)
    world.act("clerk", svc.recall, request_id)  # before the worker's turn
    send_due(world.db)
    assert inbox.messages == [] and states(world) == [("approver", "assigned", "skipped")]


def test_preferences_off_and_digest(emailing, inbox):
    world = emailing
    world.workflow([StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")])])
    world.act("approver", set_preferences, "approver@example.com", {"assigned": "digest"})
    world.act("clerk", set_preferences, "clerk@example.com", {"decided": "off"})
    request_id = submitted(world)
    send_due(world.db)
    assert inbox.messages == [] and states(world) == [("approver", "assigned", "digest")]
    world.act("approver", svc.approve, request_id, "ok", seen_round=1)
    assert states(world) == [("approver", "assigned", "digest")]  # the clerk wants none
    with world.db.session() as session:  # written before the last 08:00: today's digest
        session.execute(update(EmailMessage).values(
            created_at=digest_boundary(None) - timedelta(minutes=1)))
    send_due(world.db)
    [(recipients, digest)] = inbox.messages
    assert recipients == ["approver@example.com"] and "digest (1)" in digest["Subject"]
    assert f"http://countersign.test/requests/{request_id}" in inbox.text(digest)
    assert states(world) == [("approver", "assigned", "sent")]


def test_the_digest_hour_is_the_recipients(monkeypatch):
    from datetime import datetime

    now = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 08:30 in Rome
    assert digest_boundary("Europe/Rome", now) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert digest_boundary(None, now) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_no_email_without_an_address_and_a_bad_address_is_refused(world):
    world.db.send_email(mail_settings("smtp://127.0.0.1:9", "cs@example.com", "http://x", "k"))
    submitted(world)
    assert states(world) == []  # nobody has an address
    with pytest.raises(ValidationFailed) as refused:
        world.act("approver", set_preferences, "not an address", {})
    assert "email" in refused.value.errors
    world.act("admin", update_user, world.user_id("approver"), roles=["approver"], active=True,
              email="Approver@Example.com")  # fmt: skip
    assert world.query(lambda s: s.get(User, world.user_id("approver")).email) == "Approver@example.com"
    world.act("admin", update_user, world.user_id("approver"), roles=["approver"], active=True)
    assert world.query(lambda s: s.get(User, world.user_id("approver")).email) == "Approver@example.com"


def test_the_smtp_address_is_read_with_its_options():
    chosen = mail_settings("smtp://ap%40corp:s3cret@mail.internal:587?starttls=1",
                           "Countersign <cs@corp.example>", "https://cs.corp/", "k")  # fmt: skip
    assert (chosen.host, chosen.port, chosen.username, chosen.password, chosen.starttls,
            chosen.tls, chosen.base_url) == ("mail.internal", 587, "ap@corp", "s3cret", True,
                                             False, "https://cs.corp")  # fmt: skip
    assert mail_settings("smtps://mail.internal", "a@b.c", "http://x", "k").port == 465
    with pytest.raises(ValueError):
        mail_settings("http://mail.internal", "a@b.c", "http://x", "k")
