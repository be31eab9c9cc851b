"""Importing customers under the Data entity behavior parameter.

Every row is applied in its own transaction together with its recorded
result, so a row either happens whole or not at all. A dry run does the same
work in a transaction that is always rolled back, so its preview says exactly
what an import would do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data import requests as workflow
from data.clock import utcnow
from data.customers import apply_values, create_customer, parse_values
from data.db import Database
from data.errors import DomainError, ValidationFailed
from data.fields import field_label, field_spec
from data.importfile import FileRow, ImportFile
from data.models import Customer, ImportBatch, ImportRow, User
from data.parameters import gated_fields, get_parameters
from data.requests import current_value_text, open_request_for
from data.users import require_role

OUTCOMES = ("created", "updated", "unchanged", "proposed", "rejected", "failed")


class RowRefused(DomainError):
    """A row that changes nothing, with the outcome to record (rejected or failed)."""

    def __init__(self, outcome: str, message: str):
        super().__init__(message)
        self.outcome = outcome


@dataclass
class RowResult:
    number: int
    account: str
    outcome: str
    message: str


@dataclass
class ImportSummary:
    batch_id: int | None
    results: list[RowResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(result.outcome for result in self.results)
        return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def ok(self) -> bool:
        counts = self.counts
        return counts["failed"] == 0 and counts["rejected"] == 0


def _labels(names) -> str:
    return ", ".join(field_label(name) for name in names)


def import_row(session: Session, actor: User, row: FileRow, batch_id: int | None) -> RowResult:
    """Apply one row under the parameters; raises RowRefused when nothing may be applied."""
    account = (row.values.get("account") or "").strip().upper()
    if row.problem:
        raise RowRefused("failed", f"Row {row.problem}.")
    if not account:
        raise RowRefused("failed", "Account number is missing.")
    given = {name: value for name, value in row.values.items() if name != "account"}
    customer = session.scalar(select(Customer).where(Customer.account == account))
    try:
        if customer is None:
            create_customer(session, actor, {"account": account, **given}, "import_batch", batch_id)
            return RowResult(row.number, account, "created", "New customer.")
        parsed = parse_values(session, {k: v for k, v in given.items() if v.strip()})
    except ValidationFailed as error:
        raise RowRefused("failed", "; ".join(error.errors.values())) from None

    changed = {
        name: value
        for name, value in parsed.items()
        if field_spec(name).to_text(value) != current_value_text(customer, name)
    }
    behavior = get_parameters(session).data_entity_behavior
    gated = gated_fields(session) if behavior != "allow" else set()
    needs_approval = {name: value for name, value in changed.items() if name in gated}
    direct = {name: value for name, value in changed.items() if name not in gated}
    request = open_request_for(session, customer.id)
    if needs_approval and request is not None and request.state == "pending":
        proposed = {c.field: c.new_value for c in request.changes}
        if all(proposed.get(n) == field_spec(n).to_text(v) for n, v in needs_approval.items()):
            needs_approval = {}  # already proposed by an earlier run of this file

    if not changed or (not needs_approval and not direct):
        return RowResult(row.number, account, "unchanged", "Nothing to change.")
    if needs_approval and behavior == "reject":
        raise RowRefused(
            "rejected",
            f"Customer {account}: {_labels(needs_approval)} need approval, and imports are set to "
            "Reject changes; nothing of this row was applied.",
        )
    if needs_approval:
        if request is not None:
            raise RowRefused(
                "failed",
                f"Customer {account} already has an open change request (#{request.id}); "
                "nothing of this row was applied.",
            )
        apply_values(session, customer, direct, actor, "import_batch", batch_id)
        request = workflow.ensure_draft(session, customer, actor)
        for name, value in needs_approval.items():
            workflow.propose(
                session,
                request,
                actor,
                name,
                current_value_text(customer, name),
                field_spec(name).to_text(value),
            )
        workflow.submit(session, actor, request.id)
        applied = f" Applied: {_labels(direct)}." if direct else ""
        return RowResult(
            row.number,
            account,
            "proposed",
            f"Proposed for approval in request #{request.id}: {_labels(needs_approval)}.{applied}",
        )
    apply_values(session, customer, direct, actor, "import_batch", batch_id)
    return RowResult(row.number, account, "updated", f"Updated: {_labels(direct)}.")


def _duplicates(file: ImportFile) -> dict[str, int]:
    counted = Counter((row.values.get("account") or "").strip().upper() for row in file.rows)
    return {account: count for account, count in counted.items() if account and count > 1}


def import_customers(
    database: Database,
    actor_id: int | None,
    file: ImportFile,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import (or preview, with ``dry_run``) every row of ``file``; clerks only."""
    with database.session() as session:
        actor = session.get(User, actor_id) if actor_id is not None else None
        require_role(actor, "clerk")
        behavior = get_parameters(session).data_entity_behavior
    batch_id = None
    if not dry_run:

        def open_batch(session: Session) -> int:
            batch = ImportBatch(
                filename=file.filename[:255],
                created_by_id=actor_id,
                behavior=behavior,
                total_rows=len(file.rows),
            )
            session.add(batch)
            session.flush()
            return batch.id

        batch_id = database.run(open_batch)

    summary = ImportSummary(batch_id=batch_id)
    duplicates = _duplicates(file)
    for done, row in enumerate(file.rows, start=1):
        account = (row.values.get("account") or "").strip().upper()
        if account in duplicates:
            result = RowResult(
                row.number,
                account,
                "failed",
                f"Account number {account} appears {duplicates[account]} times "
                "in the file; none of those rows was applied.",
            )
        else:
            result = _run_row(database, actor_id, row, batch_id, dry_run)
        if batch_id is not None and result.outcome in ("failed", "rejected"):
            database.run(_record, batch_id, result)
        summary.results.append(result)
        if progress:
            progress(done, len(file.rows))

    if batch_id is not None:
        database.run(_close_batch, batch_id, summary.counts)
    return summary


def _run_row(
    database: Database, actor_id: int, row: FileRow, batch_id: int | None, dry_run: bool
) -> RowResult:
    def work(session: Session) -> RowResult:
        actor = session.get(User, actor_id)
        result = import_row(session, actor, row, batch_id)
        if batch_id is not None:
            _record(session, batch_id, result)
        return result

    account = (row.values.get("account") or "").strip().upper()
    try:
        if not dry_run:
            return database.run(work)
        session = database.sessions()
        try:
            return work(session)
        finally:
            session.rollback()
            session.close()
    except RowRefused as refused:
        return RowResult(row.number, account, refused.outcome, refused.message)
    except DomainError as error:
        return RowResult(row.number, account, "failed", error.message)


def _record(session: Session, batch_id: int, result: RowResult) -> None:
    session.add(
        ImportRow(
            batch_id=batch_id,
            row_number=result.number,
            account=result.account,
            outcome=result.outcome,
            message=result.message,
        )
    )


def _close_batch(session: Session, batch_id: int, counts: dict[str, int]) -> None:
    batch = session.get(ImportBatch, batch_id)
    for outcome in OUTCOMES:
        setattr(batch, f"{outcome}_count", counts[outcome])
    batch.status = "finished"
    batch.finished_at = utcnow()


def batch_rows(session: Session, actor: User, batch_id: int) -> list[ImportRow]:
    require_role(actor, "clerk")
    return list(
        session.scalars(
            select(ImportRow).where(ImportRow.batch_id == batch_id).order_by(ImportRow.row_number)
        )
    )


def recent_batches(session: Session, actor: User, limit: int = 20) -> list[ImportBatch]:
    require_role(actor, "clerk")
    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))


def running_import(session: Session, actor: User) -> tuple[int, int] | None:
    """(rows done, rows in all) of the actor's import still running, if any."""
    require_role(actor, "clerk")
    batch = session.scalar(
        select(ImportBatch)
        .where(ImportBatch.created_by_id == actor.id, ImportBatch.status == "running")
        .order_by(ImportBatch.id.desc())
    )
    if batch is None:
        return None
    done = session.scalar(select(func.count(ImportRow.id)).where(ImportRow.batch_id == batch.id))
    return done or 0, batch.total_rows
