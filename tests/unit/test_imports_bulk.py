"""The set-based import writer writes exactly what the workflow engine writes, row by row.

Two sets of customers start equal (accounts A… and B…). The same file is
imported for each: the A file through the set-based writer, the B file with
``SET_BASED`` off, so every row goes through ``create_customer``,
``apply_values`` and ``ensure_draft`` + ``propose`` + ``submit``. Then every
row either wrote (customers, audit, requests, proposals, steps, assignments,
events, notifications, row results) is compared, with ids, times and the
account prefix taken out.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

import data.imports as imports
from data.importfile import read_import_file
from data.imports import import_customers
from data.models import (
    Assignment,
    AuditEntry,
    ChangeRequest,
    Customer,
    ImportRow,
    Notification,
    RequestEvent,
)
from data.parameters import update_parameters
from data.workflows import StepSpec
from tests.unit.test_rollups import assert_rollups_match_a_rebuild, rollup_rows

FILE = """account,name,customer_group,currency,on_hold,credit_limit,city,invoice_account,terms_of_payment
{p}001,Customer {p}001,EXPORT,EUR,No,10000,,,Net30
{p}002,Customer {p}002,RETAIL,EUR,No,10000,Torino,,Net30
{p}003,Customer {p}003,RETAIL,EUR,No,90000,Bari,,Net30
{p}004,Customer {p}004,RETAIL,EUR,No,12000,,,Net60
{p}005,Renamed {p}005,RETAIL,EUR,No,10000,Lecce,,Net30
{p}006,Customer {p}006,RETAIL,EUR,No,55000,,,Net30
{p}901,New {p}901,WHOLESALE,EUR,No,7000,Milano,,Net30
{p}902,New {p}902,RETAIL,USD,Invoice,,Roma,{p}901,
{p}903,New {p}903,RETAIL,EUR,No,abc,,,
{p}904,New {p}904,RETAIL,EUR,No,100,,{p}999,
{p}007,Customer {p}007,RETAIL,EUR,No,10000,,,Net30
{p}007,Customer {p}007,RETAIL,EUR,No,10000,,,Net30
{p}008,Customer {p}008,RETAIL,EUR,No,20000,Pisa,,Net30
"""


def _workflow(world):
    ids = {name: world.user_id(name) for name in ("approver", "approver2", "manager")}
    world.workflow([
        StepSpec(name="Big increase", assignee_role="approver", time_limit_hours=24,
                 condition={"field": "credit_limit", "kind": "increase", "amount": 50000}),
        StepSpec(name="Terms", assignee_user_ids=[ids["manager"]],
                 condition={"field": "terms_of_payment", "kind": "changed"}),
        StepSpec(name="Credit control", assignee_user_ids=[ids["approver2"]],
                 assignee_role="approver", policy="all"),
    ])  # fmt: skip


def _prefixed(text, prefix):
    return None if text is None else re.sub(r"\b[AB](\d{3})\b", r"X\1", str(text))


def _snapshot(world, prefix: str, batch_id: int) -> dict:
    """Everything the import wrote for one prefix, comparable across prefixes."""

    def work(session):
        customers = session.scalars(
            select(Customer).where(Customer.account.like(f"{prefix}%")).order_by(Customer.account)
        ).all()
        ids = {c.id: c.account for c in customers}
        account_of = {c.id: _prefixed(c.account, prefix) for c in customers}
        snap: dict = {"customers": [], "audit": [], "requests": [], "rows": []}
        for c in customers:
            values = {col.name: getattr(c, col.name) for col in Customer.__table__.columns
                      if col.name not in ("id", "created_at", "updated_at")}  # fmt: skip
            values = {k: _prefixed(v, prefix) if isinstance(v, str) else v
                      for k, v in values.items()}  # fmt: skip
            snap["customers"].append(values)
        for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.customer_id.in_(ids)).order_by(AuditEntry.id)
        ):
            snap["audit"].append((account_of[entry.customer_id], entry.field,
                                  _prefixed(entry.old_value, prefix),
                                  _prefixed(entry.new_value, prefix), entry.source,
                                  entry.user_id, entry.batch_id is not None,
                                  entry.request_id))  # fmt: skip
        snap["audit"].sort(key=lambda row: (row[0], row[1]))
        requests = session.scalars(
            select(ChangeRequest).where(ChangeRequest.customer_id.in_(ids))
        ).all()
        for request in sorted(requests, key=lambda r: account_of[r.customer_id]):
            steps = []
            for step in request.steps:
                assignments = sorted(
                    (a.user_id, a.via, a.via_role, a.state, a.decided_at, a.comment,
                     a.delegated_from_id)
                    for a in session.scalars(
                        select(Assignment).where(Assignment.request_step_id == step.id)
                    )
                )  # fmt: skip
                due = None if step.due_at is None else round(
                    (step.due_at - step.started_at).total_seconds() / 3600
                )
                steps.append((step.round, step.position, step.workflow_step_id, step.name,
                              step.policy, step.percentage, step.state,
                              step.started_at is not None, due, step.completed_at,
                              step.escalated_at, assignments))  # fmt: skip
            events = [(e.actor_id, e.action, e.step_name, e.comment, e.details)
                      for e in session.scalars(select(RequestEvent).where(
                          RequestEvent.request_id == request.id).order_by(RequestEvent.id))]  # fmt: skip
            notes = sorted(
                (n.user_id, n.kind, _prefixed(n.text.replace(f"#{request.id}", "#"), prefix),
                 n.read_at)
                for n in session.scalars(
                    select(Notification).where(Notification.request_id == request.id))
            )  # fmt: skip
            changes = [(c.field, c.original_value, c.new_value, c.proposed_by_id)
                       for c in request.changes]  # fmt: skip
            assert request.submitted_at == request.first_submitted_at
            snap["requests"].append({
                "customer": account_of[request.customer_id], "state": request.state,
                "created_by": request.created_by_id, "submitted_by": request.submitted_by_id,
                "version": request.workflow_version_id, "round": request.round,
                "decided_at": request.decided_at, "last_comment": request.last_comment,
                "submitted": request.submitted_at is not None, "changes": changes,
                "steps": steps, "events": events, "notifications": notes,
            })  # fmt: skip
        for row in session.scalars(
            select(ImportRow).where(ImportRow.batch_id == batch_id).order_by(ImportRow.row_number)
        ):
            message = re.sub(r"#\d+", "#", row.message or "")
            snap["rows"].append((row.row_number, _prefixed(row.account, prefix), row.outcome,
                                 _prefixed(message, prefix)))  # fmt: skip
        return _normalised(snap)

    return world.query(work)


def _normalised(value):
    """Every string with its account prefix taken out, all the way down."""
    if isinstance(value, str):
        return _prefixed(value, None)
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_normalised(item) for item in value)
    return value


@pytest.mark.parametrize("behavior", ["propose", "reject", "allow"])
def test_set_based_import_writes_what_the_engine_writes(world, monkeypatch, behavior):
    world.act("admin", update_parameters, data_entity_behavior=behavior,
              disallow_submitter_approval=True)  # fmt: skip
    _workflow(world)
    for prefix in "AB":
        for number in range(1, 9):
            world.customer(f"{prefix}{number:03d}", city="Torino" if number == 2 else None)
    # a customer with a request already open: its gated change fails the row
    from data.customers import save_customer

    for prefix in "AB":
        world.act("clerk", save_customer, f"{prefix}008", {"credit_limit": "15000"}, expected_version=world.version_of(f"{prefix}008"))
    # a customer with a decided request moves to another group: the request moves with it
    from data import requests as workflow
    from data.clock import clock_at, utcnow

    moment = utcnow() - timedelta(days=2)
    for prefix in "AB":
        with clock_at(moment):
            result = world.act("clerk", save_customer, f"{prefix}001", {"credit_limit": "11000"},
                               expected_version=world.version_of(f"{prefix}001"))  # fmt: skip
            world.act("clerk", workflow.submit, result.request.id)
            world.act("approver", workflow.reject, result.request.id, "No",
                      seen_round=world.seen(result.request.id))  # fmt: skip

    def run(prefix, set_based):
        monkeypatch.setattr(imports, "SET_BASED", set_based)
        file = read_import_file(f"{prefix}.csv", FILE.format(p=prefix).encode())
        return import_customers(world.db, world.user_id("clerk"), file)

    bulk = run("A", True)
    engine = run("B", False)
    assert bulk.counts == engine.counts
    a, b = _snapshot(world, "A", bulk.batch_id), _snapshot(world, "B", engine.batch_id)
    for part in ("rows", "customers", "audit", "requests"):
        assert a[part] == b[part], part
    if behavior == "propose":
        assert bulk.counts["proposed"] >= 4 and bulk.counts["created"] == 2
        assert len(a["requests"]) >= 5
    # both paths counted their submissions for the dashboards, and the regrouped customers'
    # requests under their new group
    assert_rollups_match_a_rebuild(world.db)
    if behavior != "reject":
        assert any(key[0] == "g:export" and key[3] == "close" for key in rollup_rows(world.db))


def test_a_chunk_uses_the_set_based_writer(world, monkeypatch):
    """Guards the comparison above: the engine is not used for a chunk it can write."""
    world.act("admin", update_parameters, data_entity_behavior="propose")
    world.customer("C002")

    def no_engine(*args, **kwargs):
        raise AssertionError("a row went through the engine")

    monkeypatch.setattr(imports, "apply_plan", no_engine)
    monkeypatch.setattr(imports, "_run_row", no_engine)
    file = read_import_file(
        "c.csv", b"account,credit_limit,city\nC001,25000,Genova\nC002,10000,Bari\nN1,,\n"
    )
    summary = import_customers(world.db, world.user_id("clerk"), file)
    assert [r.outcome for r in summary.results] == ["proposed", "updated", "failed"]


def test_a_customer_changed_since_the_chunk_read_it_stops_the_set_based_update(world):
    """The UPDATE names the version read; a customer saved in between raises Conflict."""
    from data.bulk import update_customers
    from data.customers import save_customer
    from data.errors import Conflict
    from data.models import User

    columns = Customer.__table__.c
    read = world.query(
        lambda s: s.execute(select(columns.id, columns.version, columns.city)).one()
    )
    world.act("clerk", save_customer, "C001", {"city": "Pavia"}, expected_version=world.version_of("C001"))

    def work(session):
        clerk = session.scalar(select(User).where(User.username == "clerk"))
        update_customers(session, clerk, [(read, {"city": "Genova"})], "import_batch", None)

    with pytest.raises(Conflict):
        world.db.run(work)
    assert world.query(lambda s: s.get(Customer, read.id).city) == "Pavia"
