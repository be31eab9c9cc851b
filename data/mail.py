"""Email notices: written to an outbox with the change they tell of, sent afterwards.

``notify`` (data/notifications.py) tells a user in the app; when the app sends email
(``Database.send_email``) and the user has an address and wants that kind of notice, the
same transaction writes an ``EmailMessage``. The background worker (the sender thread,
``countersign deliver`` or a Celery worker) renders it in the recipient's language with
the request's changes inline and sends it over SMTP: a rollback sends nothing, a send
that fails is retried later and never touches the decision that caused it.

Who is told: the approvers of the step that runs (when it starts, when it is delegated
to them, when it is overdue) and the submitter of each decision. An "assigned" notice
whose step is no longer the recipient's when its turn comes is not sent. A notice in a
daily digest waits for 08:00 in the recipient's time zone.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as Email
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from data import outbox
from data.clock import utcnow
from data.i18n import N_, Labels, _, speaking
from data.lifecycle import AssignmentState, StepState
from data.localtime import local_text
from data.models import Assignment, EmailMessage, EmailPreference, RequestStep, User
from data.oneclick import link_token
from data.parameters import get_parameters

if TYPE_CHECKING:
    from data.db import Database

KINDS = Labels({
    "assigned": N_("A request waits for my decision"),
    "decided": N_("My request is decided (each decision on it)"),
    "overdue": N_("A request waiting for me is due soon or overdue"),
})  # fmt: skip
"""The kinds of notice a user chooses how to receive."""
KIND_OF = {"assigned": "assigned", "approved": "decided", "rejected": "decided",
           "change_requested": "decided", "overdue": "overdue",
           "reminder": "overdue", "progress": "decided"}  # fmt: skip
"""Each in-app notification kind → the preference that decides its email."""
MODES = Labels({
    "immediately": N_("Immediately"),
    "digest": N_("Daily digest"),
    "off": N_("Off"),
})  # fmt: skip
DEFAULT_MODE = "immediately"
DIGEST_HOUR = 8
EMAIL_ON = "email on"
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates" / "mail"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class MailSettings:
    """Where and how email goes out, and what its links point at."""

    host: str
    port: int
    sender: str
    base_url: str
    secret: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    timeout: float = 10.0


def mail_settings(smtp_url: str, sender: str, base_url: str, secret: str) -> MailSettings:
    """``smtp://user:pass@host:587?starttls=1`` (or ``smtps://`` for TLS from the start)."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("COUNTERSIGN_SMTP_URL must look like smtp://user:pass@host:587")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    tls = parts.scheme == "smtps"
    return MailSettings(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        sender=sender,
        base_url=base_url.rstrip("/"),
        secret=secret,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=query.get("starttls", "0").lower() in ("1", "true", "yes"),
        tls=tls,
    )


# ---------------------------------------------------------------- preferences


def preferences(session: Session, user_id: int) -> dict[str, str]:
    """The user's mode for every kind of notice."""
    chosen = dict(session.execute(select(EmailPreference.kind, EmailPreference.mode)
                                  .where(EmailPreference.user_id == user_id)).all())  # fmt: skip
    return {kind: chosen.get(kind, DEFAULT_MODE) for kind in KINDS}


@dataclass
class EmailSettingsView:
    email: str | None
    modes: dict[str, str]
    sending: bool
    """Whether this server sends email at all."""


def my_email_settings(session: Session, actor: User) -> EmailSettingsView:
    from data.users import require_active

    require_active(actor)
    return EmailSettingsView(actor.email, preferences(session, actor.id),
                             bool(session.info.get(EMAIL_ON)))  # fmt: skip


def set_preferences(session: Session, actor: User, email: str | None,
                    modes: dict[str, str]) -> User:  # fmt: skip
    """A user's own address and how they want each kind of notice."""
    from data.users import checked_email, require_active

    require_active(actor)
    actor.email = checked_email(email)
    for kind, mode in modes.items():
        if kind not in KINDS or mode not in MODES:
            raise ValueError(f"unknown preference {kind}={mode}")
        row = session.get(EmailPreference, (actor.id, kind))
        if row is None:
            session.add(EmailPreference(user_id=actor.id, kind=kind, mode=mode))
        else:
            row.mode = mode
    session.flush()
    return actor


# ---------------------------------------------------------------- writing


def queue(session: Session, recipient: User | None, kind: str, request_id: int | None,
          text: str) -> None:  # fmt: skip
    """Write the email for an in-app notice, if the app sends email and the recipient
    wants it."""
    if not session.info.get(EMAIL_ON) or recipient is None or not recipient.email:
        return
    if not recipient.is_active:
        return
    mode = preferences(session, recipient.id)[KIND_OF[kind]]
    if mode == "off":
        return
    state = "digest" if mode == "digest" else "pending"
    session.add(EmailMessage(user_id=recipient.id, kind=kind, request_id=request_id, text=text,
                             state=state))  # fmt: skip
    session.info[outbox.WRITTEN] = True  # a sender may start at once


# ---------------------------------------------------------------- rendering


@dataclass
class Composed:
    subject: str
    text: str
    html: str


def _open_assignment(session: Session, user_id: int, request_id: int) -> Assignment | None:
    """The recipient's open assignment on the request's running step, if any."""
    return session.scalar(
        select(Assignment)
        .join(RequestStep, RequestStep.id == Assignment.request_step_id)
        .where(RequestStep.request_id == request_id, RequestStep.state == StepState.ACTIVE,
               Assignment.user_id == user_id, Assignment.state == AssignmentState.OPEN)
    )  # fmt: skip


def compose(session: Session, message: EmailMessage, mail: MailSettings) -> Composed | None:
    """The email for ``message`` in its recipient's language; None when it is no longer
    theirs to act on (an assignment decided, recalled or passed on since)."""
    from data.inbox import request_view

    user = message.user
    with speaking(user.locale):
        view = request_view(session, user, message.request_id)
        links = {}
        if message.kind in ("assigned", "overdue", "reminder"):
            assignment = _open_assignment(session, user.id, message.request_id)
            if assignment is None or view.request.round != assignment.step.round:
                return None
            for decision in ("approve", "reject"):
                token = link_token(mail.secret, user.id, assignment.id, decision)
                links[decision] = f"{mail.base_url}/decide/{token}"
            hours = get_parameters(session).link_hours
            links["until"] = local_text(utcnow() + timedelta(hours=hours), user.time_zone)
        values = _values(view, message, mail, links)
        return Composed(
            subject=message.text.rstrip("."),
            text=TEMPLATES.get_template("notice.txt").render(values),
            html=TEMPLATES.get_template("notice.html").render(values),
        )


def _values(view, message: EmailMessage, mail: MailSettings, links: dict) -> dict[str, Any]:
    request, customer = view.request, view.customer
    return {
        "lang": message.user.locale or "en",
        "greeting": _("Hello {name},").format(name=message.user.full_name),
        "notice": message.text,
        "customer": f"{customer.account} · {customer.name}",
        "customer_label": _("Customer"),
        "step": view.step_name,
        "step_label": _("Step"),
        "submitter": request.submitted_by.full_name if request.submitted_by else "",
        "submitter_label": _("Submitted by"),
        "comment": request.last_comment if KIND_OF.get(message.kind) == "decided" else None,
        "comment_label": _("Comment"),
        "justification": request.justification,
        "justification_label": _("Justification"),
        "headings": [_("Field"), _("Original value"), _("Current value"), _("New value"),
                     _("Change")],
        "rows": view.rows,
        "stale_note": _("changed since proposed"),
        "approve_url": links.get("approve"),
        "reject_url": links.get("reject"),
        "approve_label": _("Approve"),
        "reject_label": _("Reject"),
        "links_until": _("These links work once, until {when}.").format(when=links["until"])
        if links else None,
        "open_url": f"{mail.base_url}/requests/{request.id}",
        "open_label": _("Open request #{id}").format(id=request.id),
        "footer": _("You receive this because of your email settings in Countersign "
                    "(Notifications)."),
    }  # fmt: skip


def compose_digest(session: Session, user: User, messages: list[EmailMessage],
                   mail: MailSettings) -> Composed:  # fmt: skip
    with speaking(user.locale):
        values = {
            "lang": user.locale or "en",
            "greeting": _("Hello {name},").format(name=user.full_name),
            "intro": _("What happened since your last digest:"),
            "lines": [(m.text, f"{mail.base_url}/requests/{m.request_id}") for m in messages],
            "footer": _("You receive this because of your email settings in Countersign "
                        "(Notifications)."),
        }  # fmt: skip
        subject = _("Countersign: your daily digest ({count})").format(count=len(messages))
        return Composed(subject, TEMPLATES.get_template("digest.txt").render(values),
                        TEMPLATES.get_template("digest.html").render(values))


def as_email(composed: Composed, to: User, mail: MailSettings, message_key: str) -> Email:
    email = Email()
    email["Subject"] = composed.subject
    email["From"] = mail.sender
    email["To"] = formataddr((to.full_name, to.email))
    email["Date"] = format_datetime(utcnow())
    domain = mail.sender.rsplit("@", 1)[-1].strip("> ") or "countersign"
    # the same for every try: a receiving server or client can drop a repeat
    email["Message-ID"] = f"<{message_key}@{domain}>"
    email.set_content(composed.text)
    email.add_alternative(composed.html, subtype="html")
    return email


# ---------------------------------------------------------------- sending

Send = Callable[[MailSettings, Email], None]


class Refused(Exception):
    """The server refused the message for good (a bad address): not retried."""


def smtp_send(mail: MailSettings, email: Email) -> None:
    connect = smtplib.SMTP_SSL if mail.tls else smtplib.SMTP
    options = {"context": ssl.create_default_context()} if mail.tls else {}
    with connect(mail.host, mail.port, timeout=mail.timeout, **options) as server:
        if mail.starttls:
            server.starttls(context=ssl.create_default_context())
        if mail.username:
            server.login(mail.username, mail.password or "")
        try:
            server.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            raise Refused(str(error)) from None
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600:
                raise Refused(f"{error.smtp_code} {error.smtp_error!r}") from None
            raise


def _claim(session: Session, now: datetime, limit: int) -> list[int]:
    """Lease up to ``limit`` due messages (another sender leaves them alone meanwhile)."""
    due = list(session.scalars(
        select(EmailMessage.id)
        .where(EmailMessage.state == "pending", EmailMessage.next_attempt_at <= now,
               or_(EmailMessage.busy_until.is_(None), EmailMessage.busy_until < now))
        .order_by(EmailMessage.id).limit(limit)
    ))  # fmt: skip
    if not due:
        return []
    return _lease(session, now, EmailMessage.id.in_(due), EmailMessage.state == "pending")


def _lease(session: Session, now: datetime, *conditions) -> list[int]:
    """Lease the messages that meet ``conditions`` and no other sender holds: their ids."""
    return sorted(session.scalars(
        update(EmailMessage)
        .where(*conditions,
               or_(EmailMessage.busy_until.is_(None), EmailMessage.busy_until < now))
        .values(busy_until=now + LEASE).returning(EmailMessage.id)
    ))  # fmt: skip


def _prepared(session: Session, message_id: int, mail: MailSettings) -> Email | None:
    message = session.get(EmailMessage, message_id)
    composed = compose(session, message, mail)
    if composed is None:
        return None
    return as_email(composed, message.user, mail, f"countersign-{message.id}")


def _record(session: Session, ids: list[int], error: str | None, *, permanent: bool = False,
            skipped: bool = False) -> None:  # fmt: skip
    now = utcnow()
    for message in session.scalars(select(EmailMessage).where(EmailMessage.id.in_(ids))):
        message.busy_until = None
        if skipped:
            message.state = "skipped"
            continue
        message.attempts += 1
        message.last_error = error
        if error is None:
            message.state, message.sent_at = "sent", now
        elif permanent or now - message.created_at >= RETRY_FOR:
            message.state = "failed"
        else:
            wait = min(FIRST_RETRY * 2 ** (message.attempts - 1), LONGEST_WAIT)
            message.next_attempt_at = now + wait
    session.flush()


def _try(database: Database, ids: list[int], build: Callable[[Session], Email | None],
         send: Send) -> int:  # fmt: skip
    """Render (a read), send (no transaction open), record the outcome."""
    mail = database.mail
    try:
        with database.session() as session:
            email = build(session)
    except Exception as error:  # a notice that cannot be rendered is not retried forever
        database.run(_record, ids, f"{type(error).__name__}: {error}", writes=True)
        return 0
    if email is None:
        database.run(_record, ids, None, skipped=True, writes=True)
        return 0
    try:
        send(mail, email)
    except Refused as error:
        database.run(_record, ids, str(error), permanent=True, writes=True)
    except (OSError, smtplib.SMTPException) as error:
        database.run(_record, ids, f"{type(error).__name__}: {error}", writes=True)
    else:
        database.run(_record, ids, None, writes=True)
    return 1


def send_due(database: Database, send: Send = smtp_send, limit: int = 50) -> int:
    """One pass: every notice that is due, then the digests whose hour has come. Returns
    the number of sends tried."""
    mail = database.mail
    if mail is None:
        return 0
    tried = 0
    for message_id in database.run(_claim, utcnow(), limit, writes=True):
        tried += _try(database, [message_id],
                      lambda session, i=message_id: _prepared(session, i, mail), send)  # fmt: skip
    with database.session() as session:
        waiting = list(session.execute(
            select(User.id, User.time_zone).where(User.id.in_(
                select(EmailMessage.user_id).where(EmailMessage.state == "digest")))
        ).all())  # fmt: skip
    for user_id, zone in waiting:
        ids = database.run(_claim_digest, user_id, digest_boundary(zone), writes=True)
        if ids:
            tried += _try(database, ids, lambda s, u=user_id, i=ids: _digest(s, u, i, mail), send)
    return tried


def digest_boundary(zone: str | None, now: datetime | None = None) -> datetime:
    """The latest 08:00 in ``zone`` (UTC if none) at or before ``now``, in UTC: notices
    written before it go in today's digest."""
    tz = ZoneInfo(zone) if zone else ZoneInfo("UTC")
    local = (now or utcnow()).astimezone(tz)
    boundary = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if boundary > local:
        boundary -= timedelta(days=1)
    return boundary.astimezone(ZoneInfo("UTC"))


def _claim_digest(session: Session, user_id: int, boundary: datetime) -> list[int]:
    now = utcnow()
    return _lease(session, now, EmailMessage.user_id == user_id, EmailMessage.state == "digest",
                  EmailMessage.created_at < boundary, EmailMessage.next_attempt_at <= now)


def _digest(session: Session, user_id: int, ids: list[int], mail: MailSettings) -> Email:
    user = session.get(User, user_id)
    messages = list(session.scalars(select(EmailMessage).where(EmailMessage.id.in_(ids))
                                    .order_by(EmailMessage.id)))  # fmt: skip
    composed = compose_digest(session, user, messages, mail)
    return as_email(composed, user, mail, f"countersign-digest-{ids[0]}-{ids[-1]}")
