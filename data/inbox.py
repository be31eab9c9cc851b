"""The approver's inbox and the request page's view of one request.

Just over 500 lines: the inbox's tabs, counts and bulk approve, the request view, the
notifications list and the clerk's own requests, each what one page reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from babel.numbers import format_decimal
from sqlalchemy import and_, case, func, inspect, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from data import threads
from data.access import AREAS
from data.audit import current_value_text, customer_history
from data.clock import utcnow
from data.db import Database
from data.errors import DomainError, NotFound, PermissionDenied
from data.fields import FIELDS_BY_NAME, field_spec
from data.i18n import N_, Labels, _, current_language
from data.lifecycle import ASSIGNMENT_DECIDED, OPEN_STATES
from data.models import (
    Assignment,
    AuditEntry,
    ChangeRequest,
    Customer,
    ProposedChange,
    RequestEvent,
    RequestStep,
    User,
    UserRole,
)
from data.numbers import format_share, locale_of
from data.reasons import active_reasons, reason_labels
from data.requests import (
    UNDECIDED_ASSIGNMENT_STATES,
    allowed_actions,
    approve,
    current_step,
)
from data.users import delegate_candidates, require_active, require_role

TABS = ("waiting", "delegated", "overdue", "decided")
TAB_LABELS = Labels(
    {
        "waiting": N_("Waiting for me"),
        "delegated": N_("Delegated"),
        "overdue": N_("Overdue"),
        "decided": N_("Decided by me"),
    }
)
INBOX_BLOCK = 100
"""The inbox shows this many requests at first, and this many more each time it is asked."""
INBOX_MOST = 5_000
"""The most requests one inbox answer lists."""


@dataclass
class InboxRow:
    request_id: int
    account: str
    customer_name: str
    customer_group: str
    submitter: str
    submitted_at: datetime | None
    step: str
    fields: int
    due_at: datetime | None
    overdue: bool
    decision: str | None
    since: datetime | None = None
    """when it reached the approver (when they decided it, on the Decided tab)"""
    round: int = 0
    """the submission round listed: a bulk approval names it, so a request resubmitted
    since the list was drawn is not approved unseen"""
    changes: list[str] = field(default_factory=list)
    """what the request would change, one line a field: "Credit limit: 10,000.00 →
    20,000.00 (+10,000.00 (+100.0 %))", written as the viewer reads numbers"""


HANDED_OVER = Assignment.via.in_(("delegation", "reassignment"))
"""An assignment that came from someone else (a delegation or a manager's reassignment)."""


def _tab_condition(tab: str, actor: User, now: datetime):
    open_for_me = and_(
        Assignment.user_id == actor.id, Assignment.state == "open", RequestStep.state == "active"
    )
    if tab == "waiting":
        return open_for_me
    if tab == "delegated":
        return and_(open_for_me, HANDED_OVER)
    if tab == "overdue":
        return and_(open_for_me, RequestStep.due_at < now)
    if tab == "decided":
        return and_(Assignment.user_id == actor.id, Assignment.state.in_(ASSIGNMENT_DECIDED))
    raise NotFound(_("There is no inbox tab {tab}.").format(tab=repr(tab)))


def inbox(
    session: Session,
    actor: User,
    tab: str = "waiting",
    *,
    field: str | None = None,
    customer_group: str | None = None,
    overdue_only: bool = False,
    search: str | None = None,
    limit: int = INBOX_BLOCK,
) -> list[InboxRow]:
    """Up to ``limit`` requests for ``actor`` in one tab, those waiting longest for them
    first (the most recently decided first on the Decided tab)."""
    require_role(actor, *AREAS["approvals"])
    now = utcnow()
    submitter = aliased(User)
    field_count = (
        select(func.count(ProposedChange.id))
        .where(ProposedChange.request_id == ChangeRequest.id)
        .correlate(ChangeRequest)
        .scalar_subquery()
    )
    query = (
        select(
            ChangeRequest.id,
            Customer.account,
            Customer.name,
            Customer.customer_group,
            submitter.full_name,
            ChangeRequest.submitted_at,
            RequestStep.name,
            field_count,
            RequestStep.due_at,
            Assignment.state,
            Assignment.decided_at,
            RequestStep.state,
            Assignment.created_at,
            ChangeRequest.round,
        )
        .join(RequestStep, RequestStep.id == Assignment.request_step_id)
        .join(ChangeRequest, ChangeRequest.id == RequestStep.request_id)
        .join(Customer, Customer.id == ChangeRequest.customer_id)
        .outerjoin(submitter, submitter.id == ChangeRequest.submitted_by_id)
        .where(_tab_condition(tab, actor, now))
    )
    if field:
        query = query.where(
            select(ProposedChange.id)
            .where(ProposedChange.request_id == ChangeRequest.id, ProposedChange.field == field)
            .exists()
        )
    if customer_group:
        query = query.where(func.lower(Customer.customer_group) == customer_group.strip().lower())
    if overdue_only:
        query = query.where(RequestStep.state == "active", RequestStep.due_at < now)
    if search and search.strip():
        term = f"%{search.strip().lower()}%"
        query = query.where(
            or_(func.lower(Customer.account).like(term), func.lower(Customer.name).like(term))
        )
    if tab == "decided":
        query = query.order_by(Assignment.decided_at.desc(), Assignment.id.desc())
    else:
        # longest waiting for this approver first: read in order from
        # ix_assignments_user_state_created, however many are waiting
        query = query.order_by(Assignment.created_at, Assignment.id)
    rows = []
    seen: set[int] = set()
    for row in session.execute(query.limit(max(1, min(int(limit), INBOX_MOST)))):
        (
            request_id,
            account,
            name,
            group,
            submitted_by,
            submitted_at,
            step,
            fields,
            due_at,
            assignment_state,
            decided_at,
            step_state,
            arrived_at,
            request_round,
        ) = row
        if request_id in seen:
            continue
        seen.add(request_id)
        overdue = step_state == "active" and due_at is not None and due_at < now
        decision = assignment_state if tab == "decided" else None
        rows.append(
            InboxRow(
                request_id,
                account,
                name,
                group,
                submitted_by or "",
                submitted_at,
                step,
                fields or 0,
                due_at,
                overdue,
                decision,
                decided_at if tab == "decided" else arrived_at,
                request_round,
            )
        )
    changes = changes_of(session, [row.request_id for row in rows], locale_of(actor.locale))
    for row in rows:
        row.changes = changes[row.request_id]
    return rows


def changes_of(session: Session, request_ids: list[int], locale: str) -> dict[int, list[str]]:
    """Each request's proposals, old → new with the difference, so a person can decide (or
    follow a request) from a list."""
    found: dict[int, list[str]] = {request_id: [] for request_id in request_ids}
    if not found:
        return found
    order = {name: position for position, name in enumerate(FIELDS_BY_NAME)}
    proposals = session.execute(  # the four columns, not the rows as objects
        select(ProposedChange.request_id, ProposedChange.field, ProposedChange.original_value,
               ProposedChange.new_value)
        .where(ProposedChange.request_id.in_(list(found)))
    ).all()  # fmt: skip
    for request_id, name, original, new in sorted(proposals, key=lambda c: (c[0], order[c[1]])):
        spec = field_spec(name)
        line = "{label}: {old} → {new}".format(
            label=spec.label,
            old=spec.display_text(original, locale) or "—",
            new=spec.display_text(new, locale) or "—",
        )
        difference = _difference(name, original, new, locale)
        found[request_id].append(f"{line} ({difference})" if difference else line)
    return found


def inbox_page(session: Session, actor: User, tab: str, *, counted: bool = True,
               **filters) -> tuple[list, dict | None, str | None]:  # fmt: skip
    """What the inbox shows, in one read: the tab's rows (``inbox``), every tab's count
    (``inbox_counts``; None unless ``counted``) and the reader's time zone."""
    counts = inbox_counts(session, actor) if counted else None
    return inbox(session, actor, tab, **filters), counts, actor.time_zone


COUNT_CAP = 1000
"""Tabs show at most this many; more shows as "1,000+" (the Decided tab counts no further)."""


def inbox_counts(session: Session, actor: User) -> dict[str, int]:
    """Requests in each tab.

    An open assignment only ever belongs to the running step of a pending
    request, one per approver and request (the lifecycle tests hold the
    workflow to that), so Waiting and Delegated count the actor's open
    assignments alone, from ix_assignments_user_state_created. Overdue and
    decided requests are counted up to COUNT_CAP + 1: a long history costs no
    more to count than a thousand.
    """
    require_role(actor, *AREAS["approvals"])
    now = utcnow()
    waiting, delegated = session.execute(
        select(func.count(), func.coalesce(func.sum(case((HANDED_OVER, 1), else_=0)), 0)).where(
            Assignment.user_id == actor.id, Assignment.state == "open"
        )
    ).one()
    counts = {"waiting": waiting, "delegated": delegated}
    for tab in ("overdue", "decided"):
        requests = (
            # "+ 0": an expression no index orders, so the planner starts from the
            # user's assignments (ix_assignments_user_state_created) rather than walking
            # every request step in order to make them distinct
            select((RequestStep.request_id + 0).label("request_id"))
            .select_from(Assignment)
            .join(RequestStep, RequestStep.id == Assignment.request_step_id)
            .where(_tab_condition(tab, actor, now))
            .distinct()
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        counts[tab] = session.scalar(select(func.count()).select_from(requests))
    return counts


def count_label(count: int) -> str:
    """A tab's count as the reader writes numbers ("1,000+" past the cap)."""
    language = current_language()
    if count > COUNT_CAP:
        return format_decimal(COUNT_CAP, locale=language) + "+"
    return format_decimal(count, locale=language)


@dataclass
class DiffRow:
    field: str
    label: str
    original: str
    current: str
    new: str
    stale: bool
    change: str
    """The difference for a person: '+50,000.00 (+25.0 %)' for numbers, else ''."""


@dataclass
class RequestView:
    request: ChangeRequest
    customer: Customer
    rows: list[DiffRow]
    step_name: str | None
    step_number: int | None
    step_count: int
    due_at: datetime | None
    overdue: bool
    actions: set[str]
    events: list[RequestEvent]
    recent_changes: list[AuditEntry]
    delegates: list[User]

    locale: str = "en"
    """How the viewer reads numbers; the rows are written that way."""
    zone: str | None = None
    """The viewer's time zone (None: UTC)."""
    reasons: list[tuple[str, str]] = field(default_factory=list)
    """(code, label) a Reject or Request change picks from (none: no reason asked)."""
    reason_labels: dict[str, str] = field(default_factory=dict)
    comments: list = field(default_factory=list)
    """The request's comment thread (data.threads)."""
    attachments: list = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return any(row.stale for row in self.rows)


def _difference(field: str, original: str | None, new: str | None, locale: str) -> str:
    spec = field_spec(field)
    if not spec.is_numeric or new is None:
        return ""
    before = Decimal(original) if original is not None else Decimal(0)
    delta = Decimal(new) - before
    shown = spec.display(abs(delta), locale)
    sign = "+" if delta >= 0 else "−"
    if before == 0:
        return f"{sign}{shown}"
    share = format_share(abs(delta) * 100 / abs(before), locale)
    return f"{sign}{shown} ({sign}{share} %)"


VIEW_LOADERS = {
    "changes": selectinload(ChangeRequest.changes),
    "steps": selectinload(ChangeRequest.steps).selectinload(RequestStep.assignments),
    # users for their names: their roles are not read with them
    "events": selectinload(ChangeRequest.events)
    .joinedload(RequestEvent.actor)
    .lazyload(User.role_rows),
    "submitted_by": selectinload(ChangeRequest.submitted_by).lazyload(User.role_rows),
    "customer": selectinload(ChangeRequest.customer),
}
"""What a request page reads of a request, each read with one statement."""


def request_view(session: Session, actor: User, request_id: int) -> RequestView:
    require_active(actor)
    # after a decision in this session (act_and_show) the request is in memory: only what
    # the decision did not load is read
    request = session.get(ChangeRequest, request_id)
    missing = inspect(request).unloaded if request is not None else set()
    if missing & VIEW_LOADERS.keys():
        session.scalars(
            select(ChangeRequest)
            .where(ChangeRequest.id == request_id)
            .options(*(loader for key, loader in VIEW_LOADERS.items() if key in missing))
        ).all()
    if request is None:
        raise NotFound(_("Change request {id} does not exist.").format(id=request_id))
    customer = request.customer
    locale = locale_of(actor.locale)
    rows = []
    for change in sorted(request.changes, key=lambda c: list(FIELDS_BY_NAME).index(c.field)):
        spec = field_spec(change.field)
        current = current_value_text(customer, change.field)
        rows.append(
            DiffRow(
                field=change.field,
                label=spec.label,
                original=spec.display_text(change.original_value, locale),
                current=spec.display_text(current, locale),
                new=spec.display_text(change.new_value, locale),
                # a proposal is stale only while it can still be decided: once closed, the
                # customer's values are the outcome, not a conflict
                stale=request.state in OPEN_STATES and current != change.original_value,
                change=_difference(change.field, change.original_value, change.new_value, locale),
            )
        )
    step = current_step(request) if request.state == "pending" else None
    round_steps = [s for s in request.steps if s.round == request.round and s.state != "skipped"]
    actions = allowed_actions(session, request, actor)
    delegates = delegate_candidates(session, actor) if "decide" in actions else []
    recent = [
        entry
        for entry in customer_history(session, customer.id, limit=15)
        if entry.request_id != request.id
    ]
    now = utcnow()
    return RequestView(
        request=request,
        customer=customer,
        rows=rows,
        step_name=step.name if step else None,
        step_number=round_steps.index(step) + 1 if step in round_steps else None,
        step_count=len(round_steps),
        due_at=step.due_at if step else None,
        overdue=bool(step and step.due_at and step.due_at < now),
        actions=actions,
        events=list(request.events),
        recent_changes=recent[:10],
        delegates=delegates,
        locale=locale,
        zone=actor.time_zone,
        reasons=active_reasons(session) if "decide" in actions else [],
        reason_labels=reason_labels(session),
        comments=threads.comments(session, actor, request.id),
        attachments=threads.attachments(session, actor, request.id),
    )


def open_assignments(session: Session, actor: User, request_id: int) -> list[tuple[int, str, str]]:
    """(assignment id, holder, step) of a request's undecided assignments, for Reassign
    (one handed back by a holder who may no longer decide is marked so)."""
    require_role(actor, "manager")
    return [
        (assignment_id, holder + (_(" (handed back)") if state == "released" else ""), step)
        for assignment_id, holder, step, state in session.execute(
            select(Assignment.id, User.full_name, RequestStep.name, Assignment.state)
            .join(RequestStep, RequestStep.id == Assignment.request_step_id)
            .join(User, User.id == Assignment.user_id)
            .where(
                RequestStep.request_id == request_id,
                RequestStep.state == "active",
                Assignment.state.in_(UNDECIDED_ASSIGNMENT_STATES),
            )
            .order_by(Assignment.id)
        )
    ]


def reassign_targets(session: Session, actor: User) -> list[tuple[int, str]]:
    """Active approvers and managers a manager may hand an assignment to."""
    require_role(actor, "manager")
    return [
        (user_id, name)
        for user_id, name in session.execute(
            select(User.id, User.full_name)
            .where(
                User.is_active.is_(True),
                select(UserRole.user_id)
                .where(UserRole.user_id == User.id, UserRole.role.in_(("approver", "manager")))
                .exists(),
            )
            .order_by(User.full_name)
        )
    ]


Reassignable = tuple[list[tuple[int, str, str]], list[tuple[int, str]]]


def reassign_choices(session: Session, actor: User, request_id: int) -> Reassignable | None:
    """What Reassign offers on a request page: its open assignments and whom they may go
    to; None when there is nothing to reassign or the actor may not (``open_assignments``
    holds the rule)."""
    try:
        assignments = open_assignments(session, actor, request_id)
    except PermissionDenied:
        return None
    return (assignments, reassign_targets(session, actor)) if assignments else None


def request_page(session: Session, actor: User, request_id: int):
    """All a request page shows: the request (``request_view``) and Reassign's choices."""
    return request_view(session, actor, request_id), reassign_choices(session, actor, request_id)


def next_waiting(session: Session, actor: User, after_request_id: int | None = None) -> int | None:
    """The request waiting longest for ``actor``, other than the one just decided.

    The same order as the inbox's Waiting tab, but one row, read straight
    from the actor's open assignments.
    """
    require_role(actor, *AREAS["approvals"])
    query = (
        select(ChangeRequest.id)
        .join(RequestStep, RequestStep.request_id == ChangeRequest.id)
        .join(Assignment, Assignment.request_step_id == RequestStep.id)
        .where(_tab_condition("waiting", actor, utcnow()))
        .order_by(Assignment.created_at, Assignment.id)
        .limit(1)
    )
    if after_request_id is not None:
        query = query.where(ChangeRequest.id != after_request_id)
    return session.scalar(query)


@dataclass
class BulkResult:
    request_id: int
    account: str
    approved: bool
    message: str


def bulk_approve(
    database: Database, actor_id: int, selected: list[tuple[int, int]]
) -> list[BulkResult]:
    """Approve each (request id, round seen) in its own unit of work, with every check a
    single approval has.

    Stale requests are not approved in bulk: they need a person's explicit confirmation.
    """
    with database.session() as session:
        require_role(session.get(User, actor_id) if actor_id else None, *AREAS["approvals"])
    results = []
    for request_id, seen_round in selected:

        def work(session: Session, request_id: int = request_id, seen: int = seen_round) -> str:
            actor = session.get(User, actor_id)
            request = approve(session, actor, request_id, seen_round=seen)
            return request.customer.account

        try:
            account = database.run(work)
            results.append(BulkResult(request_id, account, True, _("Approved.")))
        except DomainError as error:
            with database.session() as session:
                request = session.get(ChangeRequest, request_id)
                account = request.customer.account if request else "?"
            results.append(BulkResult(request_id, account, False, error.message))
    return results


MY_REQUEST_GROUPS = {
    "draft": ("draft",),
    "pending": ("pending",),
    "change_requested": ("change_requested",),
    "decided": ("approved", "rejected", "discarded"),
}
"""The clerk's view of their requests: not submitted, pending, sent back, decided."""


@dataclass
class MyRequestRow:
    request_id: int
    account: str
    customer_name: str
    state: str
    changes: list[str]
    updated_at: datetime | None
    comment: str | None


def my_requests(
    session: Session, actor: User, group: str | None = None, limit: int = 200
) -> list[MyRequestRow]:
    """The requests ``actor`` started or submitted, the most recently moved first; ``group``
    one of MY_REQUEST_GROUPS (None: all)."""
    require_role(actor, *AREAS["my_requests"])
    query = (
        select(ChangeRequest, Customer.account, Customer.name)
        .join(Customer, Customer.id == ChangeRequest.customer_id)
        .where(or_(ChangeRequest.created_by_id == actor.id,
                   ChangeRequest.submitted_by_id == actor.id))  # fmt: skip
        .order_by(ChangeRequest.updated_at.desc(), ChangeRequest.id.desc())
        .limit(limit)
    )
    if group is not None:
        if group not in MY_REQUEST_GROUPS:
            raise NotFound(_("There is no such list of requests."))
        query = query.where(ChangeRequest.state.in_(MY_REQUEST_GROUPS[group]))
    rows = [
        MyRequestRow(request.id, account, name, request.state, [], request.updated_at,
                     request.last_comment if request.state == "change_requested" else None)
        for request, account, name in session.execute(query)
    ]  # fmt: skip
    changes = changes_of(session, [row.request_id for row in rows], locale_of(actor.locale))
    for row in rows:
        row.changes = changes[row.request_id]
    return rows
