"""Importing customers under the Data entity behavior parameter.

Over 500 lines on purpose: planning a row, the set-based and the row-by-row paths and
the batch's bookkeeping must agree on every outcome, and are kept side by side.

Rows are applied in chunks: one transaction per chunk, with the chunk's
customers and open requests read once. Every row is validated and decided
first (``plan_row``); then the chunk's new customers, updates and requests for
approval are written set-based (``data.bulk``), a few statements per table for
the whole chunk. A row the set-based writer cannot take (a workflow whose
steps cannot run for it) goes through the workflow engine in its own
savepoint, which explains the problem. The row results are recorded in the
same transaction. A row either happens whole or not at all: a chunk the
database refuses is redone a row at a time through the engine. A dry run does
the same work in a transaction that is always rolled back, so its preview says
exactly what an import would do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, case, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from data import requests as workflow
from data.audit import apply_values, current_value_text
from data.bulk import BatchSubmission, create_customers, update_customers
from data.clock import utcnow
from data.customers import create_customer, parse_new_customer, parse_values
from data.db import Database
from data.errors import DomainError, NotFound, ValidationFailed
from data.fields import CONTROL_CHARACTERS, FIELDS_BY_NAME, FieldError, field_label, field_spec
from data.i18n import N_, _, current_language
from data.importfile import FileRow, ImportFile
from data.lifecycle import OPEN_STATES
from data.models import ChangeRequest, Customer, ImportBatch, ImportRow, User
from data.parameters import gated_fields, get_parameters
from data.users import require_role
from data.workflows import ChangeSet

CHUNK_ROWS = 500
"""Rows applied in one transaction."""
SET_BASED = True
"""False writes every row through the workflow engine, the reference the set-based writer
is tested against."""
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
    behavior: str = "allow"
    """The Data entity behavior the file ran under."""
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


def _values(values: dict[str, Any]) -> str:
    """Each field with the value it was read as (Credit limit 1.500,00, City Lecco), written
    the way the importing user reads numbers."""
    language = current_language()
    return ", ".join(
        f"{field_label(name)} {field_spec(name).display(value, language) or '—'}"
        for name, value in values.items()
    )


@dataclass
class _Context:
    """What every row of a chunk needs, read once: parameters and the customers it touches.

    Customers are read as plain rows (the chunk's writes are set-based); a row that
    goes through the workflow engine loads its customer as an ORM object.
    """

    behavior: str
    gated: set[str]
    customers: dict[str, Row]
    open_requests: dict[int, ChangeRequest]
    coming_accounts: set[str] = field(default_factory=set)
    """New accounts planned earlier in the chunk (an invoice account may name them)."""

    @classmethod
    def load(cls, session: Session, accounts: list[str], names: set[str]) -> _Context:
        """Read for ``accounts`` the customer columns ``names`` (the file's), id and version."""
        behavior = get_parameters(session).data_entity_behavior
        gated = gated_fields(session) if behavior != "allow" else set()
        table = Customer.__table__.c
        columns = [table.id, table.version, table.account]
        # the country too, for phone numbers written without their country code
        columns += [table[name] for name in sorted(names | {"country"})
                    if name in FIELDS_BY_NAME and name != "account"]  # fmt: skip
        customers: dict[str, Row] = {}
        wanted = sorted({account for account in accounts if account})
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            for customer in session.execute(select(*columns).where(table.account.in_(part))):
                customers[customer.account] = customer
        open_requests: dict[int, ChangeRequest] = {}
        ids = [customer.id for customer in customers.values()]
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            for request in session.scalars(
                select(ChangeRequest)
                .where(ChangeRequest.customer_id.in_(part), ChangeRequest.state.in_(OPEN_STATES))
                .options(selectinload(ChangeRequest.changes))
            ):
                open_requests[request.customer_id] = request
        return cls(behavior, gated, customers, open_requests)


@dataclass
class _Plan:
    """What a row will do, decided before anything is written."""

    result: RowResult
    customer: Row | Customer | None = None
    create: dict[str, str] | None = None
    created_values: dict[str, object] | None = None
    direct: dict[str, object] = field(default_factory=dict)
    needs_approval: dict[str, object] = field(default_factory=dict)
    locale: str = "en"
    """How the row's numbers are written (a new customer's values are read again on writing)."""


def _account(row: FileRow) -> str:
    """The row's account number when it is one; "" when missing or malformed (nothing
    else of a raw cell is ever written before it is validated)."""
    try:
        return field_spec("account").parse(row.values.get("account") or None) or ""
    except FieldError:
        return ""


def _account_problem(row: FileRow) -> str | None:
    raw = row.values.get("account")
    if raw is None or not raw.strip():
        return _("Account number is missing.")
    try:
        field_spec("account").parse(raw)
    except FieldError as error:
        return _("Account number {problem}.").format(problem=error)
    return None


def plan_row(session: Session, row: FileRow, context: _Context) -> _Plan:
    """Decide what one row does under the parameters; raises RowRefused when nothing may."""
    account = _account(row)
    if row.problem:
        raise RowRefused("failed", _("Row {problem}.").format(problem=row.problem))
    problem = _account_problem(row)
    if problem:
        raise RowRefused("failed", problem)
    given = {name: value for name, value in row.values.items() if name != "account"}
    customer = context.customers.get(account)
    if customer is None:
        raw = {"account": account, **given}
        try:
            values = parse_new_customer(session, raw, context.coming_accounts, row.locale)
        except ValidationFailed as error:
            raise RowRefused("failed", "; ".join(error.errors.values())) from None
        context.coming_accounts.add(account)
        shown = {name: value for name, value in values.items()
                 if name != "account" and value not in (None, "", False)}  # fmt: skip
        message = _("New customer: {values}.").format(values=_values(shown))
        return _Plan(RowResult(row.number, account, "created", message), create=raw,
                     created_values=values, locale=row.locale)  # fmt: skip
    # a cell equal to the current value is valid as it stands: only the others are parsed
    try:
        parsed = parse_values(
            session,
            {k: v for k, v in given.items()
             if v.strip() and (k not in FIELDS_BY_NAME or v != current_value_text(customer, k))},
            coming_accounts=context.coming_accounts,
            locale=row.locale,
            country=customer.country,
        )  # fmt: skip
    except ValidationFailed as error:
        raise RowRefused("failed", "; ".join(error.errors.values())) from None

    changed = {
        name: value
        for name, value in parsed.items()
        if field_spec(name).to_text(value) != current_value_text(customer, name)
    }
    needs_approval = {name: value for name, value in changed.items() if name in context.gated}
    direct = {name: value for name, value in changed.items() if name not in context.gated}
    request = context.open_requests.get(customer.id)
    if needs_approval and request is not None and request.state == "pending":
        proposed = {c.field: c.new_value for c in request.changes}
        if all(proposed.get(n) == field_spec(n).to_text(v) for n, v in needs_approval.items()):
            needs_approval = {}  # already proposed by an earlier run of this file

    if not needs_approval and not direct:
        return _Plan(RowResult(row.number, account, "unchanged", _("Nothing to change.")))
    if needs_approval and context.behavior == "reject":
        raise RowRefused(
            "rejected",
            _(
                "Customer {account}: {fields} need approval, and imports are set to "
                "Reject changes; nothing of this row was applied."
            ).format(account=account, fields=_labels(needs_approval)),
        )
    if needs_approval and request is not None:
        raise RowRefused(
            "failed",
            _(
                "Customer {account} already has an open change request (#{id}); "
                "nothing of this row was applied."
            ).format(account=account, id=request.id),
        )
    if needs_approval:
        # the request's number is known once it exists (see _proposed_message)
        message, outcome = "", "proposed"
    else:
        message, outcome = _("Updated: {fields}.").format(fields=_values(direct)), "updated"
    return _Plan(RowResult(row.number, account, outcome, message), customer, direct=direct,
                 needs_approval=needs_approval)  # fmt: skip


def apply_plan(
    session: Session, actor: User, plan: _Plan, batch_id: int | None, context: _Context
) -> RowResult:
    """Write what ``plan_row`` decided; a DomainError here means the row must be undone."""
    result = plan.result
    if plan.create is not None:
        try:
            customer = create_customer(session, actor, plan.create, "import_batch", batch_id,
                                       locale=plan.locale)  # fmt: skip
        except ValidationFailed as error:
            raise RowRefused("failed", "; ".join(error.errors.values())) from None
        context.customers[customer.account] = customer
        return result
    if plan.customer is None:
        return result
    plan.customer = session.get(Customer, plan.customer.id)
    if plan.direct:
        apply_values(session, plan.customer, plan.direct, actor, "import_batch", batch_id=batch_id)
    if plan.needs_approval:
        proposals = {
            name: (current_value_text(plan.customer, name), field_spec(name).to_text(value))
            for name, value in plan.needs_approval.items()
        }
        request = workflow.submit_new(session, plan.customer, actor, proposals)
        context.open_requests[plan.customer.id] = request
        result = RowResult(
            result.number, result.account, result.outcome,
            _proposed_message(plan, request.id if batch_id is not None else None),
        )  # fmt: skip
    return result


def _duplicates(file: ImportFile) -> dict[str, int]:
    counted = Counter(_account(row) for row in file.rows)
    return {account: count for account, count in counted.items() if account and count > 1}


def import_customers(
    database: Database,
    actor_id: int | None,
    file: ImportFile,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import (or preview, with ``dry_run``) every row of ``file``; clerks only.

    A batch always ends: finished; failed, when something stops it half way (its
    counts and message say what was applied); or, if the process dies, marked
    interrupted by the next import or the next start of the app.
    """
    with database.session() as session:
        actor = session.get(User, actor_id) if actor_id is not None else None
        require_role(actor, "clerk")
        behavior = get_parameters(session).data_entity_behavior
    batch_id = None
    if not dry_run:
        database.run(recover_abandoned_batches)

        def open_batch(session: Session) -> int:
            batch = ImportBatch(
                filename=printable(file.filename)[:255] or "import",
                created_by_id=actor_id,
                behavior=behavior,
                total_rows=len(file.rows),
                heartbeat_at=utcnow(),
            )
            session.add(batch)
            session.flush()
            return batch.id

        batch_id = database.run(open_batch)

    summary = ImportSummary(batch_id=batch_id, behavior=behavior)
    duplicates = _duplicates(file)
    done = 0
    try:
        for start in range(0, len(file.rows), CHUNK_ROWS):
            chunk = file.rows[start : start + CHUNK_ROWS]
            try:
                results = _run_chunk(database, actor_id, chunk, duplicates, batch_id, dry_run)
            except (DomainError, SQLAlchemyError):
                # something below the row checks failed: redo the chunk a row at a time
                results = [
                    _run_row(database, actor_id, row, duplicates, batch_id, dry_run)
                    for row in chunk
                ]
            summary.results.extend(results)
            done += len(chunk)
            if batch_id is not None:
                database.run(_beat, batch_id, summary.counts)
            if progress:
                progress(done, len(file.rows))
    except BaseException:
        if batch_id is not None:
            database.run(_end_batch, batch_id, "failed", STOPPED_MESSAGE)
        raise

    if batch_id is not None:
        database.run(_close_batch, batch_id, summary.counts)
    return summary


STOPPED_MESSAGE = N_(
    "The import stopped before it finished: the rows listed in its results were "
    "applied as they say; the other rows of the file were not."
)
INTERRUPTED_MESSAGE = N_(
    "The import was cut off (its job ended without finishing): the rows listed in its "
    "results were applied as they say; the other rows of the file were not."
)
SILENT_FOR = timedelta(minutes=10)
"""A running batch whose job has given no sign of life for this long was cut off."""


def printable(text: str) -> str:
    """Text without control characters (PostgreSQL refuses NUL in text)."""
    return CONTROL_CHARACTERS.sub("", text or "")


def _beat(session: Session, batch_id: int, counts: dict[str, int]) -> None:
    batch = session.get(ImportBatch, batch_id)
    for outcome in OUTCOMES:
        setattr(batch, f"{outcome}_count", counts[outcome])
    batch.heartbeat_at = utcnow()


def _recorded_counts(session: Session, batch_id: int) -> dict[str, int]:
    counted = dict(
        session.execute(
            select(ImportRow.outcome, func.count())
            .where(ImportRow.batch_id == batch_id)
            .group_by(ImportRow.outcome)
        ).all()
    )
    return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}


def _end_batch(session: Session, batch_id: int, status: str, message: str) -> None:
    """Close a batch that did not finish, with the counts of the rows it recorded."""
    batch = session.get(ImportBatch, batch_id, with_for_update=True)
    if batch is None or batch.status != "running":
        return
    for outcome, count in _recorded_counts(session, batch_id).items():
        setattr(batch, f"{outcome}_count", count)
    batch.status = status
    batch.message = message
    batch.finished_at = utcnow()


def recover_abandoned_batches(session: Session, now: datetime | None = None) -> int:
    """Mark interrupted every running batch silent for ``SILENT_FOR``; returns how many."""
    cutoff = (now or utcnow()) - SILENT_FOR
    silent = list(
        session.scalars(
            select(ImportBatch.id).where(
                ImportBatch.status == "running",
                func.coalesce(ImportBatch.heartbeat_at, ImportBatch.created_at) < cutoff,
            )
        )
    )
    for batch_id in silent:
        _end_batch(session, batch_id, "interrupted", INTERRUPTED_MESSAGE)
    return len(silent)


def _duplicate_result(row: FileRow, duplicates: dict[str, int]) -> RowResult | None:
    account = _account(row)
    if account not in duplicates:
        return None
    return RowResult(
        row.number,
        account,
        "failed",
        _(
            "Account number {account} appears {count} times in the file; none of those rows "
            "was applied."
        ).format(account=account, count=duplicates[account]),
    )


def _import_rows(
    session: Session,
    actor_id: int,
    rows: list[FileRow],
    duplicates: dict[str, int],
    batch_id: int | None,
    set_based: bool = True,
) -> list[RowResult]:
    """Every row of ``rows`` in this transaction; see the module's description."""
    actor = session.get(User, actor_id)
    require_role(actor, "clerk")
    names = {name for row in rows for name in row.values}
    context = _Context.load(session, [_account(row) for row in rows], names)
    submission = BatchSubmission(session, actor) if set_based and SET_BASED else None
    results: list[RowResult | None] = []
    planned: list[tuple[int, _Plan]] = []
    for row in rows:
        result = _duplicate_result(row, duplicates)
        if result is None:
            try:
                plan = plan_row(session, row, context)
                if plan.customer is None and plan.create is None:
                    result = plan.result
                elif submission is not None and _fits_set_based(plan, submission):
                    planned.append((len(results), plan))
                else:
                    with session.begin_nested():
                        result = apply_plan(session, actor, plan, batch_id, context)
            except RowRefused as refused:
                result = RowResult(row.number, _account(row), refused.outcome, refused.message)
            except (DomainError, IntegrityError) as error:
                message = (
                    error.message
                    if isinstance(error, DomainError)
                    else (_("the database refused this row; nothing of it was applied"))
                )
                result = RowResult(row.number, _account(row), "failed", message)
        results.append(result)
    if planned:
        written = _apply_set_based(session, actor, [plan for _, plan in planned], batch_id,
                                   submission)  # fmt: skip
        for (index, _plan), result in zip(planned, written, strict=True):
            results[index] = result
    if batch_id is not None:
        session.flush()
        session.execute(
            insert(ImportRow.__table__), [_row_record(batch_id, result) for result in results]
        )
    return results


def _change_set(plan: _Plan) -> ChangeSet:
    return {
        name: (current_value_text(plan.customer, name), field_spec(name).to_text(value))
        for name, value in plan.needs_approval.items()
    }


def _proposed_message(plan: _Plan, request_id: int | None) -> str:
    """What a proposing row did, naming its request; in a dry run (no request is kept) it
    says one would be made."""
    proposed = _values(plan.needs_approval)
    if request_id is None:
        message = _("Would be proposed for approval in a new request: {fields}.").format(
            fields=proposed
        )
    else:
        message = _("Proposed for approval in request #{id}: {fields}.").format(
            id=request_id, fields=proposed
        )
    if plan.direct:
        message += " " + _("Applied: {fields}.").format(fields=_values(plan.direct))
    return message


def _fits_set_based(plan: _Plan, submission: BatchSubmission) -> bool:
    return not plan.needs_approval or submission.steps_for(_change_set(plan)) is not None


def _apply_set_based(
    session: Session,
    actor: User,
    plans: list[_Plan],
    batch_id: int | None,
    submission: BatchSubmission,
) -> list[RowResult]:
    """What ``apply_plan`` does for each plan, a few statements for them all."""
    create_customers(session, actor, [p.created_values for p in plans if p.create is not None],
                     "import_batch", batch_id)  # fmt: skip
    update_customers(session, actor, [(p.customer, p.direct) for p in plans if p.direct],
                     "import_batch", batch_id)  # fmt: skip
    proposing = [(p.customer, _change_set(p)) for p in plans if p.needs_approval]
    request_ids = submission.submit(session, proposing)
    results = []
    for plan in plans:
        result = plan.result
        if plan.needs_approval:
            request_id = request_ids[plan.customer.id] if batch_id is not None else None
            message = _proposed_message(plan, request_id)
            result = RowResult(result.number, result.account, result.outcome, message)
        results.append(result)
    return results


def _run_chunk(
    database: Database,
    actor_id: int,
    rows: list[FileRow],
    duplicates: dict[str, int],
    batch_id: int | None,
    dry_run: bool,
) -> list[RowResult]:
    set_based = len(rows) > 1
    if not dry_run:
        return database.run(_import_rows, actor_id, rows, duplicates, batch_id, set_based)
    session = database.sessions()
    try:
        return _import_rows(session, actor_id, rows, duplicates, None, set_based)
    finally:
        session.rollback()
        session.close()


def _run_row(
    database: Database,
    actor_id: int,
    row: FileRow,
    duplicates: dict[str, int],
    batch_id: int | None,
    dry_run: bool,
) -> RowResult:
    """One row in its own transaction; an error the database raises fails only this row."""
    try:
        return _run_chunk(database, actor_id, [row], duplicates, batch_id, dry_run)[0]
    except (DomainError, SQLAlchemyError):
        result = RowResult(
            row.number,
            _account(row),
            "failed",
            _("This row could not be saved; nothing of it was applied."),
        )
        if batch_id is not None:
            database.run(
                lambda session: session.execute(insert(ImportRow), [_row_record(batch_id, result)])
            )
        return result


def _row_record(batch_id: int, result: RowResult) -> dict:
    return {
        "batch_id": batch_id,
        "row_number": result.number,
        "account": result.account or None,
        "outcome": result.outcome,
        "message": printable(result.message),
    }


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


def get_batch(session: Session, actor: User, batch_id: int) -> ImportBatch:
    require_role(actor, "clerk")
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(_("Import {id} does not exist.").format(id=batch_id))
    return batch


def refused_first(session: Session, actor: User, batch_id: int, limit: int) -> list[ImportRow]:
    """A batch's rows, those refused (failed, rejected) first, then in file order."""
    require_role(actor, "clerk")
    refused = ImportRow.outcome.in_(["failed", "rejected"])
    return list(session.scalars(
        select(ImportRow).where(ImportRow.batch_id == batch_id)
        .order_by(case((refused, 0), else_=1), ImportRow.row_number).limit(limit)
    ))  # fmt: skip


def recent_batches(session: Session, actor: User, limit: int = 20) -> list[ImportBatch]:
    require_role(actor, "clerk")
    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))
