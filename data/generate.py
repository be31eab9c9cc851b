"""Bulk data for scale tests and benchmarks: many customers, inserted fast."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import insert

from data.clock import utcnow
from data.db import Database
from data.models import Customer
from data.requests import REMIND_BEFORE

CITIES = (
    ("Milano", "IT"),
    ("Torino", "IT"),
    ("Roma", "IT"),
    ("Lyon", "FR"),
    ("Wien", "AT"),
    ("München", "DE"),
    ("Madrid", "ES"),
    ("Porto", "PT"),
    ("Gent", "BE"),
    ("Zürich", "CH"),
)
WORDS = (
    "Alpha",
    "Borealis",
    "Cobalt",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Quartz",
    "Riverside",
    "Summit",
    "Tundra",
)
KINDS = ("Trading", "Logistics", "Foods", "Textiles", "Systems", "Motors", "Pharma", "Paper")


def customer_rows(count: int, first: int = 1, seed: int = 1) -> Iterator[dict]:
    rng = random.Random(seed)
    now = utcnow()
    for number in range(first, first + count):
        city, country = CITIES[number % len(CITIES)]
        yield {
            "account": f"B{number:07d}",
            "name": f"{rng.choice(WORDS)} {rng.choice(KINDS)} {number}",
            "customer_group": ("RETAIL", "WHOLESALE", "EXPORT")[number % 3],
            "currency": "CHF" if country == "CH" else "EUR",
            "on_hold": "No",
            "credit_limit": Decimal(rng.randrange(1, 500) * 1000),
            "mandatory_credit_limit": False,
            "exclude_interest_charges": False,
            "exclude_collection_fee": False,
            "terms_of_payment": "Net30",
            "payment_terms_base_days": 30,
            "city": city,
            "country": country,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }


def generate_customers(db: Database, count: int, first: int = 1, batch: int = 20_000) -> int:
    """Insert ``count`` customers with accounts B0000001… in large batches (no audit)."""
    rows = customer_rows(count, first)
    inserted = 0
    while inserted < count:
        chunk = [row for _, row in zip(range(batch), rows, strict=False)]
        with db.engine.begin() as connection:
            connection.execute(insert(Customer), chunk)
        inserted += len(chunk)
    db.analyze()
    return inserted


HISTORY_FIELDS = (
    ("credit_limit", lambda rng: (f"{rng.randrange(1, 200) * 1000}.00",
                                  f"{rng.randrange(1, 200) * 1000}.00")),
    ("on_hold", lambda rng: ("No", rng.choice(("Invoice", "All")))),
    ("terms_of_payment", lambda rng: ("Net30", rng.choice(("Net60", "Net90")))),
    ("credit_rating", lambda rng: ("B", rng.choice(("A", "C")))),
    ("method_of_payment", lambda rng: ("BANK", rng.choice(("CHECK", "SEPA")))),
    ("bank_account", lambda rng: (None, "IT60X0542811101000000123456")),
)  # fmt: skip
CLOSED_SHARES = (("approved", 0.82), ("rejected", 0.96), ("discarded", 1.0))
RECENT_DAYS = 21
"""Requests first submitted in the last three weeks are still open more often than not."""


def _next_ids(connection, tables) -> dict[str, int]:
    from sqlalchemy import func, select

    return {
        table.name: (connection.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        for table in tables
    }


def _history_workflow(db: Database, approver_ids, finance_id) -> tuple[int, dict[str, int]]:
    """The (inactive) workflow version the generated requests ran under: the engine reads
    each request's steps from it when a generated request is decided."""
    from data.models import (
        WorkflowDefinition,
        WorkflowStep,
        WorkflowStepUser,
        WorkflowVersion,
    )

    with db.session() as session:
        definition = WorkflowDefinition(name="Generated history")
        version = WorkflowVersion(definition=definition, number=1, is_active=False)
        steps = {
            "Credit control": WorkflowStep(position=1, name="Credit control", policy="single",
                                           time_limit_hours=24),
            "Finance manager": WorkflowStep(position=2, name="Finance manager", policy="single"),
        }  # fmt: skip
        version.steps.extend(steps.values())
        session.add(version)
        session.flush()
        for user_id in approver_ids:
            steps["Credit control"].assignee_rows.append(WorkflowStepUser(user_id=user_id))
        steps["Finance manager"].assignee_rows.append(WorkflowStepUser(user_id=finance_id))
        session.flush()
        return version.id, {name: step.id for name, step in steps.items()}


def generate_history(
    db: Database,
    requests: int,
    *,
    clerk_id: int,
    approver_ids: tuple[int, int],
    finance_id: int,
    now=None,
    days: int = 730,
    seed: int = 7,
    batch: int = 10_000,
    all_pending: bool = False,
    fields: tuple[str, ...] | None = None,
) -> dict[str, int]:
    """Insert ``requests`` change requests with their proposals, steps, decisions and events.

    First submissions spread evenly over ``days`` before ``now``; most
    requests are approved, some rejected or discarded, and of those from the
    last three weeks 60% are still open (pending or sent back). Cycle times
    run from minutes to days. Open requests go to distinct customers, as the
    model demands; the database needs more customers than open requests.
    ``all_pending`` makes every request pending (each approver in
    ``approver_ids`` asked at the first step); ``fields`` limits the fields
    proposed.
    """
    from datetime import timedelta

    from sqlalchemy import func, select

    from data.models import (
        Assignment,
        ChangeRequest,
        ProposedChange,
        RequestAuthor,
        RequestEvent,
        RequestStep,
    )
    from data.rollups import rebuild

    rng = random.Random(seed)
    now = now or utcnow()
    tables = [ChangeRequest.__table__, ProposedChange.__table__, RequestStep.__table__,
              Assignment.__table__, RequestEvent.__table__]  # fmt: skip
    made = {"requests": 0, "open": 0}
    with db.engine.begin() as connection:
        first_customer, last_customer = connection.execute(
            select(func.min(Customer.id), func.max(Customer.id))
        ).one()
        busy = set(
            connection.execute(
                select(ChangeRequest.customer_id).where(
                    ChangeRequest.state.in_(("draft", "pending", "change_requested"))
                )
            ).scalars()
        )
    if first_customer is None:
        raise ValueError("generate customers first")
    version_id, step_ids = _history_workflow(db, approver_ids, finance_id)
    free_customers = (c for c in range(first_customer, last_customer + 1) if c not in busy)
    done = 0
    while done < requests:
        size = min(batch, requests - done)
        rows: dict[str, list[dict]] = {table.name: [] for table in tables}
        authors: list[dict] = []
        with db.engine.begin() as connection:
            ids = _next_ids(connection, tables)
            for _ in range(size):
                first = now - timedelta(hours=rng.uniform(1, days * 24))
                pick = rng.random()
                if all_pending:
                    state = "pending"
                elif now - first < timedelta(days=RECENT_DAYS) and pick < 0.6:
                    state = "pending" if pick < 0.5 else "change_requested"
                else:
                    state = next(name for name, share in CLOSED_SHARES if pick < share)
                is_open = state in ("pending", "change_requested")
                customer_id = (
                    next(free_customers)
                    if is_open
                    else rng.randint(first_customer, last_customer)
                )
                request_id = ids["change_requests"]
                ids["change_requests"] += 1
                offered = [f for f in HISTORY_FIELDS if fields is None or f[0] in fields]
                changes = rng.sample(offered, min(len(offered), rng.choice((1, 1, 1, 2))))
                finance = any(name == "credit_limit" for name, _ in changes) and rng.random() < 0.3
                plan = [("Credit control", approver_ids, 24)]
                if finance:
                    plan.append(("Finance manager", (finance_id,), None))
                moment = first
                step_states = []
                for position, _ in enumerate(plan):
                    last = position == len(plan) - 1
                    if state == "approved":
                        step_states.append("approved")
                    elif state == "rejected":
                        step_states.append("rejected" if last else "approved")
                    elif state in ("discarded", "change_requested"):
                        step_states.append("change_requested" if position == 0 else "cancelled")
                    else:
                        step_states.append("active" if position == 0 else "waiting")
                events = [(first, clerk_id, "submitted", None)]
                for position, ((name, holders, limit), step_state) in enumerate(
                    zip(plan, step_states, strict=True)
                ):
                    step_id = ids["request_steps"]
                    ids["request_steps"] += 1
                    started = moment if step_state not in ("waiting", "cancelled") else None
                    took = timedelta(hours=rng.expovariate(1 / (14 if position == 0 else 20)))
                    completed = None
                    if step_state in ("approved", "rejected", "change_requested"):
                        completed = min(moment + took, now)
                    elif step_state == "cancelled":
                        completed = moment
                    due = started + timedelta(hours=limit) if started and limit else None
                    # a running step's deciders were reminded as its limit neared, and told
                    # when it passed, as the schedule does while the history happens
                    running = due is not None and step_state == "active"
                    told = running and due <= now
                    reminded = running and due - min(REMIND_BEFORE, (due - started) / 4) <= now
                    rows["request_steps"].append({
                        "id": step_id, "request_id": request_id, "round": 1,
                        "position": position + 1, "name": name, "policy": "single",
                        "workflow_step_id": step_ids[name],
                        "state": step_state, "started_at": started, "due_at": due,
                        "completed_at": completed, "escalated_at": None,
                        "submitted_at": first,
                        "reminded_at": due - (due - started) / 4 if reminded else None,
                        "overdue_told_at": due if told else None,
                    })  # fmt: skip
                    decider = rng.choice(holders)
                    for holder in holders:
                        if step_state in ("approved", "rejected", "change_requested"):
                            a_state = step_state if holder == decider else "cancelled"
                        elif step_state == "active":
                            a_state = "open"
                        else:
                            continue
                        rows["assignments"].append({
                            "id": ids["assignments"], "request_step_id": step_id,
                            "user_id": holder, "via": "user", "state": a_state,
                            "decided_at": completed if a_state != "open" else None,
                            "comment": None if a_state in ("approved", "open", "cancelled")
                            else "Please check", "created_at": started or moment,
                        })  # fmt: skip
                        ids["assignments"] += 1
                    if completed and step_state != "cancelled":
                        events.append((completed, decider, step_state, name))
                        moment = completed
                decided = None
                if state in ("approved", "rejected"):
                    decided = moment
                    if state == "approved":
                        events.append((moment, None, "applied", None))
                elif state == "discarded":
                    decided = min(moment + timedelta(hours=rng.uniform(1, 72)), now)
                    events.append((decided, clerk_id, "discarded", None))
                rows["change_requests"].append({
                    "id": request_id, "customer_id": customer_id, "state": state,
                    "created_by_id": clerk_id, "submitted_by_id": clerk_id,
                    "created_at": first - timedelta(minutes=5), "submitted_at": first,
                    "first_submitted_at": first, "decided_at": decided,
                    "workflow_version_id": version_id, "round": 1, "last_comment": None,
                    "updated_at": decided or moment, "version": 1,
                })  # fmt: skip
                for name, values in changes:
                    original, new = values(rng)
                    rows["proposed_changes"].append({
                        "id": ids["proposed_changes"], "request_id": request_id, "field": name,
                        "original_value": original, "new_value": new,
                        "proposed_by_id": clerk_id, "proposed_at": first - timedelta(minutes=5),
                    })  # fmt: skip
                    ids["proposed_changes"] += 1
                for at, actor, action, step_name in events:
                    rows["request_events"].append({
                        "id": ids["request_events"], "request_id": request_id, "at": at,
                        "actor_id": actor, "action": action, "step_name": step_name,
                        "comment": None, "details": None,
                    })  # fmt: skip
                    ids["request_events"] += 1
                authors.append({"request_id": request_id, "user_id": clerk_id})
                made["requests"] += 1
                made["open"] += is_open
            for table in tables:
                if rows[table.name]:
                    connection.execute(insert(table), rows[table.name])
            connection.execute(insert(RequestAuthor.__table__), authors)
        done += size
    with db.engine.begin() as connection:
        # the rows went in without the services: count them for the dashboards
        rebuild(connection)
    db.analyze()
    if db.engine.dialect.name == "postgresql":
        # explicit ids leave the id sequences behind: move them past the new rows
        with db.engine.begin() as connection:
            for table in tables:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                )
    return made

