"""Webhooks: administrators register endpoints; the outbox's events are delivered to them.

Delivery is at least once, in order per endpoint (so in order per customer): an endpoint's
oldest undelivered event goes first, and the next waits for it. Each POST carries the event
as JSON and ``Countersign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the endpoint's secret>``, with ``Countersign-Event-Id`` (the receiver
deduplicates on it) and ``Countersign-Event-Type``. A delivery is marked delivered only
after a 2xx answer, in the transaction that holds its endpoint: a sender that dies on the
way leaves it pending, and the next sender sends it again. A failure is retried with
exponential backoff (10 s doubling, at most an hour apart) for 24 hours, then marked
failed and the endpoint goes on; an administrator can replay any delivery. Every attempt
is logged.

``deliver_due`` is one pass; ``run_worker`` loops (``countersign deliver``, or the thread
each app process starts), one per database at a time. Several senders (passes run by
hand, a sender taking over) at once each lease a different endpoint for the time of
one request (``busy_until``), written before the request goes out and freed when its
answer is recorded: no database transaction stays open while a request is on its way, and
a sender that dies midway frees its endpoint when the lease runs out, so the delivery is
sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from data.clock import utcnow
from data.db import Database, held_while_running
from data.errors import NotFound, ValidationFailed
from data.i18n import _
from data.mail import send_due
from data.models import OutboxEvent, User, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from data.outbox import EVENT_KINDS
from data.schedule import EVERY as SCHEDULE_EVERY
from data.schedule import run_schedule
from data.users import require_role

log = logging.getLogger("countersign")
RETRY_FOR = timedelta(hours=24)
FIRST_RETRY = 10.0
LONGEST_WAIT = 3600.0
TIMEOUT = 10.0
LEASE = timedelta(seconds=120)
SENDER_LOCK_ID = 7_220_531
"""The database lock the one running sender holds."""
TAKE_OVER_EVERY = 5.0
"""How often a waiting sender tries to become the one that runs."""
BATCH = 20
"""Deliveries one lease sends, in order (each still its own request)."""
"""How long a sender may hold an endpoint; one that dies frees it when this runs out."""
FAN_OUT_BATCH = 500


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Sender = Callable[[str, bytes, dict[str, str]], Answer]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver checks (its own copy of this is in the README)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or abs(time.time() - int(parts["t"])) > tolerance:
        return False
    expected = signature(secret, int(parts["t"]), body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST over HTTP(S) with a timeout; any failure is an answer, never an exception."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return Answer(response.status)
    except urllib.error.HTTPError as error:
        return Answer(error.code, f"HTTP {error.code}")
    except urllib.error.URLError as error:
        return Answer(None, str(error.reason)[:500])
    except (OSError, ValueError) as error:
        return Answer(None, str(error)[:500] or type(error).__name__)


# ---------------------------------------------------------------- endpoints (admins)


def _check(url: str, events: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        errors["url"] = _("must be an http:// or https:// address")
    unknown = sorted(set(events or []) - set(EVENT_KINDS))
    if not events or unknown:
        errors["events"] = _("choose one or more of {choices}").format(
            choices=", ".join(EVENT_KINDS)
        )
    return errors


def add_endpoint(session: Session, actor: User, url: str, events: list[str]) -> WebhookEndpoint:
    """A new endpoint with a new secret (shown to the administrator to give the receiver);
    it receives the events from now on."""
    require_role(actor, "admin")
    errors = _check(url, events)
    if errors:
        raise ValidationFailed(errors)
    latest = session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id.desc()).limit(1))
    endpoint = WebhookEndpoint(url=url.strip(), secret=f"whsec_{secrets.token_urlsafe(24)}",
                               events=sorted(set(events)), created_by_id=actor.id,
                               fanned_out_to=latest or 0)  # fmt: skip
    session.add(endpoint)
    session.flush()
    return endpoint


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_("Webhook endpoint {id} does not exist.").format(id=endpoint_id))
    return endpoint


def set_endpoint_active(session: Session, actor: User, endpoint_id: int,
                        active: bool | None = None) -> WebhookEndpoint:  # fmt: skip
    """Pause or resume an endpoint (``active`` None: the other of what it is); events that
    happen while it is paused are not sent to it."""
    require_role(actor, "admin")
    endpoint = _endpoint(session, endpoint_id)
    endpoint.is_active = (not endpoint.is_active) if active is None else bool(active)
    if endpoint.is_active:
        latest = session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id.desc()).limit(1))
        endpoint.fanned_out_to = max(endpoint.fanned_out_to, latest or 0)
    session.flush()
    return endpoint


def list_endpoints(session: Session, actor: User) -> list[WebhookEndpoint]:
    require_role(actor, "admin")
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def delivery_log(session: Session, actor: User, limit: int = 50) -> list[WebhookDelivery]:
    """The latest deliveries with their event and endpoint, newest first."""
    require_role(actor, "admin")
    return list(session.scalars(
        select(WebhookDelivery)
        .options(joinedload(WebhookDelivery.event), joinedload(WebhookDelivery.endpoint))
        .order_by(WebhookDelivery.id.desc()).limit(limit)
    ))  # fmt: skip


def replay(session: Session, actor: User, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (delivered or failed): it goes back to pending, due now."""
    require_role(actor, "admin")
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(_("Delivery {id} does not exist.").format(id=delivery_id))
    delivery.state = "pending"
    delivery.next_attempt_at = utcnow()
    delivery.created_at = utcnow()  # its 24 hours of retries start again
    session.flush()
    return delivery


# ---------------------------------------------------------------- delivering


def fan_out(session: Session) -> int:
    """Give every active endpoint a delivery for each new event it subscribes to."""
    made = 0
    for endpoint in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_active)
                                    .with_for_update()):  # fmt: skip
        events = session.execute(
            select(OutboxEvent.id, OutboxEvent.kind)
            .where(OutboxEvent.id > endpoint.fanned_out_to)
            .order_by(OutboxEvent.id).limit(FAN_OUT_BATCH)
        ).all()  # fmt: skip
        if not events:
            continue
        now = utcnow()
        for outbox_id, kind in events:
            if kind in endpoint.events:
                session.add(WebhookDelivery(endpoint_id=endpoint.id, outbox_id=outbox_id,
                                            next_attempt_at=now, created_at=now))  # fmt: skip
                made += 1
        endpoint.fanned_out_to = events[-1][0]
    session.flush()
    return made


def _backoff(attempts: int) -> float:
    wait = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)
    return wait * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def _claim(session: Session, endpoint_id: int) -> list[_Claim]:
    """Lease the endpoint (no other sender sends to it meanwhile) and take its oldest
    pending deliveries, from the first if it is due; none when there is nothing to send
    or another sender holds it. The lease is the transaction's first write, so on SQLite
    it waits its turn."""
    now = utcnow()
    leased = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.is_active,
               or_(WebhookEndpoint.busy_until.is_(None), WebhookEndpoint.busy_until < now))
        .values(busy_until=now + LEASE)
    ).rowcount  # fmt: skip
    if not leased:
        return []
    deliveries = list(session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.state == "pending")
        .options(joinedload(WebhookDelivery.event))
        .order_by(WebhookDelivery.id).limit(BATCH)
    ))  # fmt: skip
    if not deliveries or deliveries[0].next_attempt_at > now:
        _release(session, endpoint_id)
        return []
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    claims = []
    for delivery in deliveries:
        if delivery.next_attempt_at > now:
            break  # a replayed or retried one further on: its turn comes later
        event = delivery.event
        body = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Countersign-Webhooks/1",
            "Countersign-Event-Id": event.event_id,
            "Countersign-Event-Type": event.kind,
            "Countersign-Signature": signature(endpoint.secret, int(time.time()), body),
        }
        claims.append(_Claim(delivery.id, endpoint.url, body, headers))
    return claims


def _release(session: Session, endpoint_id: int) -> None:
    session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                    .values(busy_until=None))  # fmt: skip


def _record(session: Session, endpoint_id: int, results: list[tuple[_Claim, Answer, int]]):
    """Each attempt and its delivery's new state (the lease is still held)."""
    now = utcnow()
    for claim, answer, took in results:
        error = None if answer.ok else answer.error
        session.add(WebhookAttempt(delivery_id=claim.delivery_id, at=now, status=answer.status,
                                   error=error, milliseconds=took))  # fmt: skip
        delivery = session.get(WebhookDelivery, claim.delivery_id)
        delivery.attempts += 1
        delivery.last_status = answer.status
        delivery.last_error = error
        if answer.ok:
            delivery.state = "delivered"
            delivery.delivered_at = now
        elif now - delivery.created_at >= RETRY_FOR:
            delivery.state = "failed"
        else:
            delivery.next_attempt_at = now + timedelta(seconds=_backoff(delivery.attempts))
    session.flush()


def _step(session: Session, endpoint_id: int, results: list[tuple[_Claim, Answer, int]],
          more: bool) -> list[_Claim]:  # fmt: skip
    """One write transaction between two batches: record the last batch's answers, fan out
    new events, and take the next batch (``more``: else free the endpoint)."""
    if results:
        _record(session, endpoint_id, results)
        _release(session, endpoint_id)
    if not more:
        return []
    fan_out(session)
    return _claim(session, endpoint_id)


def _send(claims: list[_Claim], sender: Sender) -> list[tuple[_Claim, Answer, int]]:
    """Send in order; the first failure stops the rest (they keep their turn)."""
    results = []
    began = time.monotonic()
    for claim in claims:
        started = time.monotonic()
        answer = sender(claim.url, claim.body, claim.headers)
        results.append((claim, answer, int((time.monotonic() - started) * 1000)))
        if not answer.ok or time.monotonic() - began > LEASE.total_seconds() / 2:
            break
    return results


def _new_events(session: Session) -> bool:
    """Whether an active endpoint has events still to fan out (a read: cheap when idle)."""
    behind = session.scalar(select(func.min(WebhookEndpoint.fanned_out_to))
                            .where(WebhookEndpoint.is_active))  # fmt: skip
    latest = session.scalar(select(func.max(OutboxEvent.id)))
    return behind is not None and latest is not None and latest > behind


def deliver_due(database: Database, sender: Sender = post, limit: int = 100) -> int:
    """One pass: fan out new events, then send what is due, each endpoint in order (the
    oldest pending first; no database transaction is open while a request is on its
    way). Returns the number of attempts made."""
    with database.session() as session:
        fan = _new_events(session)
    if fan:
        database.run(fan_out, writes=True)
    with database.session() as session:  # a read: an idle pass writes nothing
        ids = list(session.scalars(
            select(WebhookDelivery.endpoint_id).distinct()
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookEndpoint.is_active, WebhookDelivery.state == "pending",
                   WebhookDelivery.next_attempt_at <= utcnow())
        ))  # fmt: skip
    tried = 0
    for endpoint_id in ids:
        claims = database.run(_step, endpoint_id, [], True, writes=True)
        while claims:
            results = _send(claims, sender)
            tried += len(results)
            claims = database.run(_step, endpoint_id, results, tried < limit, writes=True)
    return tried


def next_due(database: Database) -> datetime | None:
    with database.session() as session:
        return session.scalar(
            select(WebhookDelivery.next_attempt_at)
            .where(WebhookDelivery.state == "pending")
            .order_by(WebhookDelivery.next_attempt_at).limit(1)
        )  # fmt: skip


def run_worker(database: Database, stop: threading.Event, *, poll: float = 0.1,
               sender: Sender = post) -> None:  # fmt: skip
    """Deliver webhooks and email (and run the schedule's reminders and escalation every
    minute) until ``stop`` is set: deliveries at once while there is work, else every
    ``poll``
    seconds. One sender per database does this (a lock on the database): the others
    wait, and one of them takes over when it stops."""
    while not stop.is_set():
        with held_while_running(database.url, SENDER_LOCK_ID) as held:
            if held:
                _deliver_until(database, stop, poll, sender)
        stop.wait(TAKE_OVER_EVERY)


def _deliver_until(database: Database, stop: threading.Event, poll: float,
                   sender: Sender) -> None:  # fmt: skip
    next_schedule = time.monotonic()
    while not stop.is_set():
        try:
            if time.monotonic() >= next_schedule:  # reminders and escalation (data/schedule.py)
                next_schedule = time.monotonic() + SCHEDULE_EVERY
                run_schedule(database)
            tried = deliver_due(database, sender) + send_due(database)
        except Exception:  # a pass that fails is tried again; nothing is lost
            log.exception("delivery pass failed")
            tried = 0
        if not tried:
            stop.wait(poll)
