"""The outbox: what other systems are told, written in the same transaction as the change it
reports (a rollback sends nothing; a crash after the commit loses nothing), then delivered
by data/webhooks.py.

Events:
- ``request.submitted``: a request went to the workflow (submitted or resubmitted);
- ``request.decided``: a request was approved, rejected or sent back with Request change;
- ``request.applied``: an approved request's values were applied to the customer;
- ``customer.changed``: a customer's values changed (from any source: an edit, an import,
  the API, an approval), one event per customer per write with every field changed.

The ORM's flushes are watched (``watch``); writers that insert rows without the ORM (the
set-based import) call ``emit`` themselves.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from data.clock import utcnow
from data.i18n import N_, Labels
from data.models import (
    AuditEntry,
    ChangeRequest,
    Customer,
    OutboxEvent,
    RequestEvent,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

EVENT_KINDS = ("request.submitted", "request.decided", "request.applied", "customer.changed")
EVENT_LABELS = Labels({
    "request.submitted": N_("A request is submitted"),
    "request.decided": N_("A request is decided"),
    "request.applied": N_("An approved request is applied"),
    "customer.changed": N_("A customer changes"),
})  # fmt: skip
"""How the screens name the events (receivers see the codes)."""
DECIDED_STATES = ("approved", "rejected", "change_requested")
SUBMITTING = {"submitted": "request.submitted", "resubmitted": "request.submitted",
              "applied": "request.applied"}  # fmt: skip


def _row(kind: str, account: str | None, data: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "kind": kind,
        "account": account,
        "created_at": now,
        "payload": {"id": event_id, "type": kind, "created_at": now.isoformat(), "data": data},
    }


def request_event(kind: str, request_id: int, account: str, state: str) -> dict[str, Any]:
    return _row(kind, account, {"request_id": request_id, "customer": account, "state": state,
                                "href": f"/api/v1/requests/{request_id}"})  # fmt: skip


def customer_event(account: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return _row("customer.changed", account, {"customer": account, "changes": changes,
                                              "href": f"/api/v1/customers/{account}"})  # fmt: skip


def audit_change(entry: dict[str, Any] | AuditEntry) -> dict[str, Any]:
    get = entry.get if isinstance(entry, dict) else lambda name: getattr(entry, name)
    return {"field": get("field"), "old_value": get("old_value"), "new_value": get("new_value"),
            "source": get("source"), "request_id": get("request_id"),
            "batch_id": get("batch_id")}  # fmt: skip


def wanted(session: Session) -> frozenset[str]:
    """The kinds some active webhook endpoint listens for, read once per unit of work:
    events nobody listens for are not written (an endpoint added later receives what
    happens from then on)."""
    kinds = session.info.get(WANTED)
    if kinds is None:
        table = WebhookEndpoint.__table__.c
        kinds = frozenset(
            kind
            for (events,) in session.connection().execute(
                select(table.events).where(table.is_active.is_(True))
            )
            for kind in events or ()
        )
        session.info[WANTED] = kinds
    return kinds


WANTED = "webhook kinds wanted"


WRITTEN = "outbox written"


def emit(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write events in this transaction (in list order), those some endpoint listens for."""
    rows = [row for row in rows if row["kind"] in wanted(session)]
    if rows:
        session.connection().execute(insert(OutboxEvent.__table__), rows)
        session.info[WRITTEN] = True


def accounts_of(session: Session, customer_ids) -> dict[int, str]:
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    return dict(session.connection().execute(
        select(Customer.__table__.c.id, Customer.__table__.c.account)
        .where(Customer.__table__.c.id.in_(wanted))
    ).all())  # fmt: skip


def customer_events(session: Session, audit_rows) -> list[dict[str, Any]]:
    """One customer.changed per customer for these audit rows (dicts or entries)."""
    if "customer.changed" not in wanted(session):
        return []
    by_customer: dict[int, list] = defaultdict(list)
    for entry in audit_rows:
        customer_id = entry["customer_id"] if isinstance(entry, dict) else entry.customer_id
        if customer_id is not None:
            by_customer[customer_id].append(audit_change(entry))
    accounts = accounts_of(session, by_customer)
    return [customer_event(accounts[customer_id], changes)
            for customer_id, changes in by_customer.items() if customer_id in accounts]  # fmt: skip


ORDER = {"request.submitted": 0, "request.decided": 1, "request.applied": 2}


def request_events(session: Session, kinds: dict[int, list[str]]) -> list[dict[str, Any]]:
    """The events ``kinds`` names for each request id, with its customer and state now."""
    listened = wanted(session)
    kinds = {request_id: [kind for kind in named if kind in listened]
             for request_id, named in kinds.items()}  # fmt: skip
    kinds = {request_id: named for request_id, named in kinds.items() if named}
    if not kinds:
        return []
    table, customers = ChangeRequest.__table__.c, Customer.__table__.c
    found = {
        request_id: (account, state)
        for request_id, account, state in session.connection().execute(
            select(table.id, customers.account, table.state)
            .join(Customer.__table__, customers.id == table.customer_id)
            .where(table.id.in_(list(kinds)))
        )
    }
    return [request_event(kind, request_id, *found[request_id])
            for request_id in sorted(kinds)
            for kind in sorted(set(kinds[request_id]), key=ORDER.get)]  # fmt: skip


def _state_became(obj: ChangeRequest) -> str | None:
    history = inspect(obj).attrs["state"].history
    return history.added[0] if history.added and history.deleted else None


def _collect(session: Session, _context: Any) -> None:
    if not wanted(session):
        return
    rows: list[dict[str, Any]] = []
    audits = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    requests: dict[int, list[str]] = {}
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, RequestEvent) and obj in session.new and obj.action in SUBMITTING:
            requests.setdefault(obj.request_id, []).append(SUBMITTING[obj.action])
        elif (isinstance(obj, ChangeRequest) and obj not in session.new
              and _state_became(obj) in DECIDED_STATES):  # fmt: skip
            requests.setdefault(obj.id, []).append("request.decided")
    rows += request_events(session, requests)
    rows += customer_events(session, sorted(audits, key=lambda entry: entry.id or 0))
    emit(session, rows)


def watch(sessions: sessionmaker, committed: list[Callable[[], None]]) -> None:
    """Sessions from ``sessions`` write the events their flushes make, in the same
    transaction; once a transaction that wrote some commits, each of ``committed`` is
    called (to wake a sender; a call that fails is logged: the events wait for the next
    pass)."""
    event.listen(sessions, "after_flush", _collect)

    def after_commit(session: Session) -> None:
        if session.info.pop(WRITTEN, False):
            for call in committed:
                try:
                    call()
                except Exception:
                    log.exception("telling the sender of new events failed")

    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_rollback", lambda session: session.info.pop(WRITTEN, None))
