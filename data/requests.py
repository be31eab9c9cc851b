"""The change-request lifecycle: proposals, submission, decisions, and applying.

The states and the transition table live in data/lifecycle.py; this module carries
the actions out.

Over 500 lines on purpose: every action shares the row lock, the round check, the
segregation of duties and the event trail below, and the engine reads best top to
bottom in one place (submission, decisions, escalation, applying).

Every action locks the request row (SELECT … FOR UPDATE on PostgreSQL) and bumps
its version, so two people acting at once never both win: the loser's
transaction fails its version check, is rolled back whole, and is run again by
``Database.run`` against fresh data, where it meets a clear domain error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from data import lifecycle
from data.absence import stand_in, stand_ins
from data.access import may_decide
from data.audit import apply_values, current_value_text
from data.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    StaleChange,
    ValidationFailed,
)
from data.fields import field_label, field_spec
from data.i18n import N_, _
from data.lifecycle import (
    ASSIGNMENT_VOTES,
    COUNTED_ASSIGNMENT_STATES,
    OPEN_STATES,
    STEP_RUNNING,
    UNDECIDED_ASSIGNMENT_STATES,
    AssignmentState,
    RequestState,
    StepState,
    Who,
)
from data.localtime import local_text
from data.models import (
    Absence,
    Assignment,
    ChangeRequest,
    Customer,
    Parameters,
    ProposedChange,
    RequestAuthor,
    RequestEvent,
    RequestStep,
    User,
    WorkflowStep,
    WorkflowVersion,
    utcnow,
)
from data.notifications import notify
from data.parameters import get_parameters, justification_fields
from data.reasons import checked_reason
from data.users import require_active, require_role
from data.workflows import (
    ChangeSet,
    active_version,
    escalation_targets,
    plan_round,
    resolve_assignees,
)

CHANGED_SINCE_SEEN = N_(
    "This request changed since you opened it: its proposed changes were resubmitted. "
    "Review them again before you decide; nothing was decided."
)


NOT_WAITING_FOR_YOU = N_("This request is not waiting for you.")


class RequestChanged(Conflict):
    """A decision names a round of the request that is no longer the one waiting."""


@dataclass(frozen=True)
class StaleProposal:
    field: str
    original_value: str | None
    current_value: str | None


# ---------------------------------------------------------------- look-ups


LOCK = {"key_share": True}
"""The lock a change to a request takes on its row."""


def get_request(session: Session, request_id: int, *, lock: bool = False) -> ChangeRequest:
    # locked against other changes to the request, not against rows that name it (a
    # notice or a history line another transaction adds): FOR NO KEY UPDATE on PostgreSQL
    request = session.get(
        ChangeRequest, request_id, with_for_update=LOCK if lock else None, populate_existing=lock
    )
    if request is None:
        raise NotFound(_("Change request {id} does not exist.").format(id=request_id))
    return request


def open_request_for(session: Session, customer_id: int) -> ChangeRequest | None:
    return session.scalar(
        select(ChangeRequest).where(
            ChangeRequest.customer_id == customer_id, ChangeRequest.state.in_(OPEN_STATES)
        )
    )


def stale_proposals(request: ChangeRequest) -> list[StaleProposal]:
    """Proposals whose original value no longer equals the customer's current value."""
    stale = []
    for change in request.changes:
        current = current_value_text(request.customer, change.field)
        if current != change.original_value:
            stale.append(StaleProposal(change.field, change.original_value, current))
    return stale


def current_step(request: ChangeRequest) -> RequestStep | None:
    return next(
        (step for step in request.steps
         if step.round == request.round and step.state == StepState.ACTIVE),
        None,
    )


def change_set(request: ChangeRequest) -> ChangeSet:
    return {change.field: (change.original_value, change.new_value) for change in request.changes}


def excluded_deciders(parameters: Parameters, author_ids: frozenset[int]) -> frozenset[int]:
    """Who may not decide a request: everyone who shaped it (created, proposed, edited,
    discarded or submitted any of it), while Disallow approval by submitter is on.

    The one home of segregation of duties: assignment, delegation, reassignment,
    escalation and every decision ask it.
    """
    return author_ids if parameters.disallow_submitter_approval else frozenset()


def _excluded(session: Session, request: ChangeRequest) -> frozenset[int]:
    return excluded_deciders(get_parameters(session), request.author_ids)


def _touch(request: ChangeRequest) -> None:
    """Every action updates the request row, so its version check catches a race."""
    request.updated_at = utcnow()


def _event(
    session: Session,
    request: ChangeRequest,
    actor: User | None,
    action: str,
    *,
    step: RequestStep | None = None,
    comment: str | None = None,
    details: dict | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        RequestEvent(
            request=request,
            actor_id=actor.id if actor else None,
            action=action,
            step_name=step.name if step else None,
            comment=comment or None,
            reason=reason,
            details=details,
        )
    )


def allowed_actions(session: Session, request: ChangeRequest | None, actor: User) -> set[str]:
    """What ``actor`` may do with ``request`` now, read from the lifecycle's transition
    table (the same table the actions' guards read)."""
    if request is None or not actor.is_active:
        return set()
    actions: set[str] = set()
    is_clerk, is_submitter = actor.has_role("clerk"), request.submitted_by_id == actor.id
    for transition in lifecycle.transitions_from(request.state):
        if transition.who is Who.ASSIGNEE:
            step = current_step(request)
            if step and _decision_problem(session, request, step, actor) is None:
                actions.add("decide")
        elif lifecycle.qualifies(transition.who, is_clerk=is_clerk, is_submitter=is_submitter):
            actions |= OFFERED.get(transition.action, set())
    if not request.changes:
        actions.discard("submit")  # nothing to submit yet
    return actions


OFFERED = {
    "edit": {"edit_proposals", "discard"},
    "submit": {"submit"},
    "resubmit": {"resubmit"},
    "recall": {"recall"},
}
"""The table's actions as the screens and the API name what they offer."""


def _refuse_unless_allowed(action: str, request: ChangeRequest) -> None:
    problem = lifecycle.refusal(action, request.state)
    if problem is not None:
        raise InvalidTransition(problem)


def waiting_counts(session: Session, actor: User) -> dict[str, int]:
    """Items waiting for ``actor``: requests to decide, and requests sent back to them."""
    to_decide = session.scalar(
        select(func.count(func.distinct(RequestStep.request_id)))
        .join(Assignment, Assignment.request_step_id == RequestStep.id)
        .where(
            Assignment.user_id == actor.id,
            Assignment.state == AssignmentState.OPEN,
            RequestStep.state == StepState.ACTIVE,
        )
    )
    sent_back = session.scalar(
        select(func.count(ChangeRequest.id)).where(
            ChangeRequest.state == RequestState.CHANGE_REQUESTED,
            ChangeRequest.submitted_by_id == actor.id,
        )
    )
    return {"to_decide": to_decide or 0, "sent_back": sent_back or 0}


# ---------------------------------------------------------------- proposals


def ensure_draft(session: Session, customer: Customer, actor: User) -> ChangeRequest:
    """The customer's open request that may take proposals now, created if needed."""
    request = open_request_for(session, customer.id)
    if request is None:
        request = ChangeRequest(customer=customer, state=RequestState.DRAFT, created_by_id=actor.id)
        request.add_author(actor.id)
        session.add(request)
        session.flush()
        return request
    check_proposals_editable(request, actor)
    return request


def check_proposals_editable(request: ChangeRequest, actor: User) -> None:
    if request.state == RequestState.PENDING:
        raise InvalidTransition(
            _(
                "These changes are pending approval: recall the request before changing its "
                "proposals."
            )
        )
    if request.state == RequestState.CHANGE_REQUESTED and request.submitted_by_id != actor.id:
        raise PermissionDenied(
            _("This request was sent back to its submitter; only they can change its proposals.")
        )
    _refuse_unless_allowed("edit", request)


def propose(
    session: Session,
    request: ChangeRequest,
    actor: User,
    field: str,
    original_text: str | None,
    new_text: str | None,
) -> ProposedChange | None:
    """Add or replace the proposal for a field; a value back to the original removes it."""
    existing = request.change_for(field)
    _touch(request)
    request.add_author(actor.id)
    if new_text == original_text:
        if existing is not None:
            request.changes.remove(existing)
            session.flush()
        return None
    if existing is None:
        existing = ProposedChange(field=field)
        request.changes.append(existing)
    existing.original_value = original_text
    existing.new_value = new_text
    existing.proposed_by_id = actor.id
    existing.proposed_at = utcnow()
    session.flush()
    return existing


def close_if_empty(session: Session, request: ChangeRequest, actor: User) -> None:
    """A request left with no proposals closes: deleted if never submitted, else Discarded."""
    if request.changes:
        return
    if request.round == 0:
        session.delete(request)
    else:
        request.state = RequestState.DISCARDED
        request.decided_at = utcnow()
        _event(session, request, actor, "discarded")
    session.flush()


def delete_proposal(session: Session, actor: User, request_id: int, field: str) -> ChangeRequest:
    """Discard one proposed field."""
    require_role(actor, "clerk")
    request = get_request(session, request_id, lock=True)
    check_proposals_editable(request, actor)
    change = request.change_for(field)
    if change is None:
        raise NotFound(
            _("There is no proposed change for {field}.").format(field=field_label(field))
        )
    request.changes.remove(change)
    request.add_author(actor.id)
    _touch(request)
    session.flush()
    close_if_empty(session, request, actor)
    return request


def discard_all(session: Session, actor: User, request_id: int) -> ChangeRequest:
    """Discard all changes of a draft or sent-back request."""
    require_role(actor, "clerk")
    request = get_request(session, request_id, lock=True)
    check_proposals_editable(request, actor)
    request.changes.clear()
    request.add_author(actor.id)
    _touch(request)
    session.flush()
    close_if_empty(session, request, actor)
    return request


# ---------------------------------------------------------------- submission


def submit(session: Session, actor: User, request_id: int,
           justification: str | None = None) -> ChangeRequest:  # fmt: skip
    """Workflow › Submit: send a draft to the active workflow (with a justification, which
    the parameters may require for some fields)."""
    require_role(actor, "clerk")
    request = get_request(session, request_id, lock=True)
    _refuse_unless_allowed("submit", request)
    if not request.changes:
        raise ValidationFailed({"changes": _("there are no proposed changes to submit")})
    request.justification = _justified(session, request, justification)
    version = _active_version(session)
    request.workflow_version = version
    request.submitted_by_id = actor.id
    request.add_author(actor.id)
    request.submitted_at = utcnow()
    if request.first_submitted_at is None:
        request.first_submitted_at = request.submitted_at
    _start_round(session, request, actor, "submitted", comment=request.justification)
    return request


MAX_JUSTIFICATION = 4000


def _justified(session: Session, request: ChangeRequest, given: str | None) -> str | None:
    """The justification a submission carries: the one given now, else the one it had;
    refused when a proposed field needs one and there is none."""
    text = (given or "").strip() or request.justification
    if text and len(text) > MAX_JUSTIFICATION:
        raise ValidationFailed({"justification": _("at most {count} characters").format(
            count=MAX_JUSTIFICATION)})  # fmt: skip
    needing = justification_fields(session) & {change.field for change in request.changes}
    if needing and not text:
        raise ValidationFailed({"justification": _("is required for {fields}").format(
            fields=", ".join(sorted(field_label(name) for name in needing)))})  # fmt: skip
    return text


def submit_new(
    session: Session, customer: Customer, actor: User, proposals: dict[str, tuple[str | None, str]]
) -> ChangeRequest:
    """Another system's change set (the API, an import) for a customer with no open
    request: a new request with these proposals (field: (original, new) as text),
    submitted at once. What ensure_draft, propose and submit do one after another, written
    in one go."""
    require_role(actor, "clerk")
    now = utcnow()
    request = ChangeRequest(
        customer=customer,
        state=RequestState.DRAFT,
        created_by_id=actor.id,
        workflow_version=_active_version(session),
        submitted_by_id=actor.id,
        submitted_at=now,
        first_submitted_at=now,
        round=0,
        author_rows=[RequestAuthor(user_id=actor.id)],
        changes=[
            ProposedChange(field=field, original_value=original, new_value=new,
                           proposed_by_id=actor.id, proposed_at=now)
            for field, (original, new) in proposals.items()
        ],  # fmt: skip
        steps=[],
        events=[],
    )
    session.add(request)
    _start_round(session, request, actor, "submitted")
    return request


def _active_version(session: Session) -> WorkflowVersion:
    version = active_version(session)
    if version is None:
        raise InvalidTransition(
            _("There is no active Proposed customer change workflow; ask an admin to activate one.")
        )
    return version


def resubmit(session: Session, actor: User, request_id: int,
             justification: str | None = None) -> ChangeRequest:  # fmt: skip
    """Resubmit a request sent back with Request change; it keeps its workflow version
    (and its justification, unless a new one is given)."""
    require_role(actor, "clerk")
    request = get_request(session, request_id, lock=True)
    _refuse_unless_allowed("resubmit", request)
    if request.submitted_by_id != actor.id:
        raise PermissionDenied(_("Only the submitter can resubmit this request."))
    if not request.changes:
        raise ValidationFailed({"changes": _("there are no proposed changes to submit")})
    given = (justification or "").strip() or None
    request.justification = _justified(session, request, justification)
    request.submitted_at = utcnow()
    _start_round(session, request, actor, "resubmitted", comment=given)
    return request


def _start_round(session: Session, request: ChangeRequest, actor: User, action: str,
                 comment: str | None = None) -> None:  # fmt: skip
    """Create this round's steps (conditions evaluated now) and start the first that runs."""
    excluded = _excluded(session, request)
    with session.no_autoflush:  # the request is written once, below, with its new round
        plan = plan_round(list(request.workflow_version.steps), change_set(request),
                          lambda step: resolve_assignees(session, step, excluded))  # fmt: skip
    if plan.unstaffed is not None:
        raise InvalidTransition(
            (
                _(
                    "Step '{step}' has nobody who may approve this request (nobody who "
                    "proposed or submitted it may approve it). Ask an admin to add "
                    "approvers to the workflow."
                )
                if excluded
                else _(
                    "Step '{step}' has nobody who may approve this request. Ask an admin "
                    "to add approvers to the workflow."
                )
            ).format(step=plan.unstaffed.name)
        )

    request.round += 1
    request.state = RequestState.PENDING
    request.last_comment = None
    _touch(request)
    _event(
        session,
        request,
        actor,
        action,
        comment=comment,
        details={"workflow_version": request.workflow_version.number},
    )
    made = {}
    for workflow_step in plan.steps:
        made[workflow_step.id] = step = RequestStep(
            round=request.round,
            position=workflow_step.position,
            workflow_step=workflow_step,
            name=workflow_step.name,
            policy=workflow_step.policy,
            percentage=workflow_step.percentage,
            # the first that runs starts below (_advance), with its assignments
            state=StepState.WAITING if workflow_step in plan.running else StepState.SKIPPED,
            submitted_at=request.submitted_at,
            assignments=[],
        )
        request.steps.append(step)
    if plan.first is None:
        stale = stale_proposals(request)
        if stale:
            raise _stale_error(stale)
    for kind, workflow_step in plan.history():
        if kind == "step_started":
            _advance(session, request, actor)
        else:
            _event(session, request, None, "step_skipped", step=made[workflow_step.id])
    if plan.first is None:
        _advance(session, request, actor)  # nothing runs: the values apply now


def _activate(session: Session, request: ChangeRequest, step: RequestStep) -> None:
    now = utcnow()
    step.state = StepState.ACTIVE
    step.started_at = now
    limit = step.workflow_step.time_limit_hours
    step.due_at = now + timedelta(hours=limit) if limit else None
    excluded = _excluded(session, request)
    with session.no_autoflush:  # the step is written once, below, as it starts
        assignees = resolve_assignees(session, step.workflow_step, excluded)
        definition_id = request.workflow_version.definition_id
        standing_in = stand_ins(session, [user for user, _via, _role in assignees],
                                definition_id, excluded, now)  # fmt: skip
    asked: list[int] = []
    for user, via, via_role in assignees:
        deputy = standing_in[user.id]
        if deputy.id != user.id and deputy.id not in standing_in and deputy.id not in asked:
            # out of office: their delegate is asked instead, and the history says so
            step.assignments.append(Assignment(user_id=deputy.id, via="out_of_office",
                                               via_role=via_role, delegated_from_id=user.id))
            asked.append(deputy.id)
            _event(session, request, None, "out_of_office", step=step,
                   details={"for": user.full_name, "to": deputy.full_name})  # fmt: skip
        else:
            step.assignments.append(Assignment(user_id=user.id, via=via, via_role=via_role))
            asked.append(user.id)
    _event(session, request, None, "step_started", step=step)
    if request.id is None:
        session.flush()  # a request made in this transaction: its number goes in the notices
    for user_id in asked:
        _notify_assigned(session, request, step, user_id)


ASSIGNED = N_("Request #{id} for {account} waits for your decision ({step}).")


def _notify_assigned(session: Session, request: ChangeRequest, step: RequestStep, user_id: int):
    notify(
        session,
        user_id,
        "assigned",
        request,
        ASSIGNED,
        id=request.id,
        account=request.customer.account,
        step=step.name,
    )


def _advance(session: Session, request: ChangeRequest, actor: User) -> None:
    """Start the next waiting step of this round, or apply when none is left."""
    waiting = [s for s in request.steps
               if s.round == request.round and s.state == StepState.WAITING]  # fmt: skip
    if waiting:
        _activate(session, request, min(waiting, key=lambda s: s.position))
        session.flush()
        return
    _apply(session, request, actor)


def _apply(session: Session, request: ChangeRequest, actor: User) -> None:
    """Set every proposed value on the customer in this transaction, with its audit trail."""
    customer = session.get(Customer, request.customer_id, with_for_update=True)
    values = {change.field: field_spec(change.field).from_text(change.new_value)
              for change in request.changes}  # fmt: skip
    apply_values(session, customer, values, actor, "approved_request", request_id=request.id)
    request.state = RequestState.APPROVED
    request.decided_at = utcnow()
    _event(
        session, request, None, "applied", details={"fields": [c.field for c in request.changes]}
    )
    notify(
        session,
        request.submitted_by_id,
        "approved",
        request,
        N_("Request #{id} for {account} was approved; its values now apply."),
        id=request.id,
        account=customer.account,
    )
    session.flush()


def recall(session: Session, actor: User, request_id: int) -> ChangeRequest:
    """The submitter takes a pending request back to Not submitted."""
    require_active(actor)
    request = get_request(session, request_id, lock=True)
    _refuse_unless_allowed("recall", request)
    if request.submitted_by_id != actor.id:
        raise PermissionDenied(_("Only the submitter can recall this request."))
    _close_round(request, StepState.CANCELLED)
    request.state = RequestState.DRAFT
    _touch(request)
    _event(session, request, actor, "recalled")
    session.flush()
    return request


def _close_round(request: ChangeRequest, step_state: str) -> None:
    now = utcnow()
    for step in request.steps:
        if step.round == request.round and step.state in STEP_RUNNING:
            step.state = step_state if step.state == StepState.ACTIVE else StepState.CANCELLED
            step.completed_at = now
            for assignment in step.assignments:
                if assignment.state == AssignmentState.OPEN:
                    assignment.state = AssignmentState.CANCELLED


# ---------------------------------------------------------------- decisions


def _stale_error(stale: list[StaleProposal]) -> StaleChange:
    names = ", ".join(field_label(item.field) for item in stale)
    return StaleChange(
        [item.field for item in stale],
        _("{fields} changed since the proposal was made; confirm to approve anyway.").format(
            fields=names
        ),
    )


def _decision_problem(
    session: Session, request: ChangeRequest, step: RequestStep, actor: User
) -> DomainError | None:
    """Why ``actor`` may not decide ``step`` now, or None when they may.

    One person, one vote per step: whoever already decided the step (under any
    assignment: their own, a delegation, a reassignment) may not decide it again.
    """
    if actor.id in _excluded(session, request):
        return PermissionDenied(
            _("You proposed or submitted changes in this request, so you cannot decide it.")
        )
    mine = [a for a in step.assignments if a.user_id == actor.id]
    if any(a.state in ASSIGNMENT_VOTES for a in mine):
        return InvalidTransition(_("You have already decided this step."))
    open_assignment = next((a for a in mine if a.state == AssignmentState.OPEN), None)
    if open_assignment is None:
        return PermissionDenied(_(NOT_WAITING_FOR_YOU))
    if not may_decide(actor, open_assignment.via_role):
        return PermissionDenied(_("Your roles no longer include deciding approvals."))
    return None


def _my_open_assignment(
    session: Session, request: ChangeRequest, actor: User, seen_round: int | None
) -> tuple[RequestStep, Assignment]:
    """The step and assignment ``actor`` decides now; every rule of deciding checked here."""
    require_active(actor)
    _refuse_unless_allowed("decide", request)
    if seen_round is not None and seen_round != request.round:
        raise RequestChanged(_(CHANGED_SINCE_SEEN))
    step = current_step(request)
    problem = (
        _decision_problem(session, request, step, actor)
        if step
        else PermissionDenied(_(NOT_WAITING_FOR_YOU))
    )
    if problem is not None:
        raise problem
    assignment = next(a for a in step.assignments
                      if a.user_id == actor.id and a.state == AssignmentState.OPEN)  # fmt: skip
    return step, assignment


def _require_comment(comment: str | None, action: str) -> str:
    if not comment or not comment.strip():
        raise ValidationFailed({"comment": _("is required to {action}").format(action=_(action))})
    return comment.strip()


def approve(
    session: Session,
    actor: User,
    request_id: int,
    comment: str | None = None,
    *,
    seen_round: int,
    confirm_stale: bool = False,
) -> ChangeRequest:
    """Workflow › Approve; when all approvals are complete the values are applied.

    ``seen_round`` is the round of the request the approver reviewed (``request.round``
    when the page was drawn): a request resubmitted since is refused, not approved.
    """
    request = get_request(session, request_id, lock=True)
    step, assignment = _my_open_assignment(session, request, actor, seen_round)
    stale = stale_proposals(request)
    if stale and not confirm_stale:
        raise _stale_error(stale)
    _decide(assignment, AssignmentState.APPROVED, comment)
    _touch(request)
    _event(
        session,
        request,
        actor,
        "approved",
        step=step,
        comment=comment,
        details=_on_behalf(assignment, {"stale_confirmed": [s.field for s in stale]}
                           if stale else {}),
    )
    outcome = step_outcome(step)
    if outcome == "approved":
        _finish_step(step, StepState.APPROVED)
        _advance(session, request, actor)
    elif outcome == "rejected":
        _finish_step(step, StepState.REJECTED)
        _close_rejected(session, request)
    if request.state == RequestState.PENDING:
        _tell_submitter_of_vote(session, request, actor, step, approved=True)
    session.flush()
    return request


def _tell_submitter_of_vote(session: Session, request: ChangeRequest, actor: User,
                            step: RequestStep, *, approved: bool) -> None:  # fmt: skip
    """The submitter hears of every decision, also one that leaves the request pending
    (a step approved with more to come, one vote of several)."""
    message = (N_("Request #{id} for {account}: {name} approved ({step}); it goes on.")
               if approved else
               N_("Request #{id} for {account}: {name} rejected ({step}); other approvers of "
                  "the step still decide."))  # fmt: skip
    notify(session, request.submitted_by_id, "progress", request, message, id=request.id,
           account=request.customer.account, name=actor.full_name, step=step.name)


def reject(
    session: Session, actor: User, request_id: int, comment: str, *, seen_round: int,
    reason: str | None = None,
) -> ChangeRequest:
    """Workflow › Reject, with a comment and (while the admin list has any) a reason."""
    comment = _require_comment(comment, N_("reject"))
    reason = checked_reason(session, reason)
    request = get_request(session, request_id, lock=True)
    step, assignment = _my_open_assignment(session, request, actor, seen_round)
    _decide(assignment, AssignmentState.REJECTED, comment)
    _touch(request)
    _event(session, request, actor, "rejected", step=step, comment=comment, reason=reason,
           details=_on_behalf(assignment, {}))
    if step_outcome(step) == "rejected":
        _finish_step(step, StepState.REJECTED)
        request.last_comment = comment
        _close_rejected(session, request)
    else:
        _tell_submitter_of_vote(session, request, actor, step, approved=False)
    session.flush()
    return request


def request_change(
    session: Session, actor: User, request_id: int, comment: str, *, seen_round: int,
    reason: str | None = None,
) -> ChangeRequest:
    """Send the request back to its submitter with a comment (and a reason, while the
    admin list has any)."""
    comment = _require_comment(comment, N_("request a change"))
    reason = checked_reason(session, reason)
    request = get_request(session, request_id, lock=True)
    step, assignment = _my_open_assignment(session, request, actor, seen_round)
    _decide(assignment, AssignmentState.CHANGE_REQUESTED, comment)
    _close_round(request, StepState.CHANGE_REQUESTED)
    request.state = RequestState.CHANGE_REQUESTED
    request.last_comment = comment
    _touch(request)
    _event(session, request, actor, "change_requested", step=step, comment=comment,
           reason=reason,
           details=_on_behalf(assignment, {"fields": [c.field for c in request.changes]}))
    notify(
        session,
        request.submitted_by_id,
        "change_requested",
        request,
        N_("Request #{id} for {account} was sent back: {comment}"),
        id=request.id,
        account=request.customer.account,
        comment=comment,
    )
    session.flush()
    return request


def delegate(
    session: Session, actor: User, request_id: int, to_user_id: int, comment: str | None = None
) -> ChangeRequest:
    """Hand one's own open assignment to another approver."""
    request = get_request(session, request_id, lock=True)
    step, assignment = _my_open_assignment(session, request, actor, None)
    target = _check_new_assignee(session, request, step, to_user_id)
    assignment.state = AssignmentState.DELEGATED
    assignment.decided_at = utcnow()
    assignment.comment = comment
    step.assignments.append(
        Assignment(user_id=target.id, via="delegation", delegated_from_id=actor.id)
    )
    _notify_assigned(session, request, step, target.id)
    _touch(request)
    _event(
        session,
        request,
        actor,
        "delegated",
        step=step,
        comment=comment,
        details={"to": target.username},
    )
    session.flush()
    return request


def reassign(
    session: Session, actor: User, assignment_id: int, to_user_id: int, comment: str | None = None
) -> ChangeRequest:
    """A manager moves a stuck assignment to another user."""
    require_role(actor, "manager")
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("Assignment {id} does not exist.").format(id=assignment_id))
    request = get_request(session, assignment.step.request_id, lock=True)
    if (
        assignment.state not in UNDECIDED_ASSIGNMENT_STATES
        or assignment.step.state != StepState.ACTIVE
        or request.state != RequestState.PENDING
    ):
        raise InvalidTransition(_("This assignment is no longer open."))
    target = _check_new_assignee(session, request, assignment.step, to_user_id)
    assignment.state = AssignmentState.REASSIGNED
    assignment.decided_at = utcnow()
    assignment.comment = comment
    assignment.step.assignments.append(
        Assignment(user_id=target.id, via="reassignment", delegated_from_id=assignment.user_id)
    )
    _notify_assigned(session, request, assignment.step, target.id)
    _touch(request)
    _event(
        session,
        request,
        actor,
        "reassigned",
        step=assignment.step,
        comment=comment,
        details={"from": assignment.user.username, "to": target.username},
    )
    session.flush()
    return request


def _check_new_assignee(
    session: Session, request: ChangeRequest, step: RequestStep, to_user_id: int
) -> User:
    """The user an assignment may be handed to (delegation or Reassign): someone who
    may decide, is no author of the request, and has no say yet on this step."""
    target = session.get(User, to_user_id)
    if target is None or not target.is_active:
        raise ValidationFailed({"to_user": _("choose an active user")})
    if not may_decide(target):
        raise ValidationFailed(
            {"to_user": _("{name} is not an approver").format(name=target.full_name)}
        )
    if target.id in _excluded(session, request):
        raise ValidationFailed(
            {"to_user": _("{name} proposed or submitted these changes, so they cannot decide "
                          "them").format(name=target.full_name)}
        )  # fmt: skip
    theirs = [a for a in step.assignments if a.user_id == target.id]
    if any(a.state in ASSIGNMENT_VOTES for a in theirs):
        raise ValidationFailed(
            {"to_user": _("{name} has already decided this step").format(name=target.full_name)}
        )
    if any(a.state == AssignmentState.OPEN for a in theirs):
        raise ValidationFailed(
            {
                "to_user": _("{name} is already asked to decide this step").format(
                    name=target.full_name
                )
            }
        )
    return target


def _on_behalf(assignment: Assignment, details: dict) -> dict | None:
    """A decision's details, naming whom the decider stands in for (out of office)."""
    if assignment.via == "out_of_office" and assignment.delegated_from is not None:
        details = {**details, "for": assignment.delegated_from.full_name}
    return details or None


def _decide(assignment: Assignment, state: str, comment: str | None) -> None:
    assignment.state = state
    assignment.decided_at = utcnow()
    assignment.comment = comment.strip() if comment else None


def step_outcome(step: RequestStep) -> str | None:
    """'approved', 'rejected' or None (undecided) under the step's completion policy."""
    escalated = [
        a for a in step.assignments if a.via == "escalation" and a.state in ASSIGNMENT_VOTES
    ]
    if escalated:
        return escalated[0].state
    # one person, one vote: a user's decision counts once, whatever assignments they held
    votes: dict[int, str] = {}
    for a in step.assignments:
        if a.via == "escalation" or a.state not in COUNTED_ASSIGNMENT_STATES:
            continue
        if a.state in ASSIGNMENT_VOTES or a.user_id not in votes:
            votes[a.user_id] = a.state
    total = len(votes)
    approvals = sum(state == "approved" for state in votes.values())
    rejections = sum(state == "rejected" for state in votes.values())
    still_open = total - approvals - rejections
    if total == 0:
        return None
    if step.policy == "single":
        if approvals:
            return "approved"
        return "rejected" if rejections else None
    if step.policy == "all":
        if rejections:
            return "rejected"
        return "approved" if approvals == total else None
    needed = step.percentage / 100 * total if step.policy == "percentage" else total / 2
    strictly = step.policy == "majority"

    def reached(count: int) -> bool:
        return count > needed if strictly else count >= needed

    if reached(approvals):
        return "approved"
    if not reached(approvals + still_open):
        return "rejected"
    return None


def _finish_step(step: RequestStep, state: str) -> None:
    step.state = state
    step.completed_at = utcnow()
    for assignment in step.assignments:
        if assignment.state == AssignmentState.OPEN:
            assignment.state = AssignmentState.CANCELLED


def _close_rejected(session: Session, request: ChangeRequest) -> None:
    _close_round(request, StepState.CANCELLED)
    request.state = RequestState.REJECTED
    request.decided_at = utcnow()
    _event(session, request, None, "closed_rejected")
    notify(
        session,
        request.submitted_by_id,
        "rejected",
        request,
        N_("Request #{id} for {account} was rejected."),
        id=request.id,
        account=request.customer.account,
    )


# ---------------------------------------------------------------- time limits


def overdue_steps(session: Session, now: datetime | None = None) -> list[RequestStep]:
    now = now or utcnow()
    return list(
        session.scalars(
            select(RequestStep)
            .where(RequestStep.state == StepState.ACTIVE, RequestStep.due_at < now)
            .order_by(RequestStep.due_at)
        )
    )


def hand_over_absent(session: Session, now: datetime | None = None) -> int:
    """Hand each open assignment of someone away now to whoever stands in for them (their
    delegate, along the chain), with a notice and a line in the request's history.
    Returns how many were handed over."""
    now = now or utcnow()
    handed = 0
    waiting = session.scalars(
        select(Assignment)
        .join(RequestStep, RequestStep.id == Assignment.request_step_id)
        .join(Absence, Absence.user_id == Assignment.user_id)
        .where(Assignment.state == AssignmentState.OPEN, RequestStep.state == StepState.ACTIVE,
               Absence.starts_at <= now, Absence.ends_at > now)
        .distinct().order_by(Assignment.id)
    )  # fmt: skip
    for assignment in list(waiting):
        step = assignment.step
        request = get_request(session, step.request_id, lock=True)
        if assignment.state != AssignmentState.OPEN or request.state != RequestState.PENDING:
            continue
        absent = assignment.user
        deputy = stand_in(session, absent, request.workflow_version.definition_id,
                          _excluded(session, request), now)  # fmt: skip
        if deputy.id == absent.id or any(a.user_id == deputy.id for a in step.assignments
                                          if a.state in (AssignmentState.OPEN, *ASSIGNMENT_VOTES)):
            continue  # nobody else may, or the deputy has a say on this step already
        assignment.state = AssignmentState.DELEGATED
        assignment.decided_at = now
        step.assignments.append(Assignment(user_id=deputy.id, via="out_of_office",
                                           via_role=assignment.via_role,
                                           delegated_from_id=absent.id))  # fmt: skip
        _notify_assigned(session, request, step, deputy.id)
        _touch(request)
        _event(session, request, None, "out_of_office", step=step,
               details={"for": absent.full_name, "to": deputy.full_name})  # fmt: skip
        handed += 1
    session.flush()
    return handed


REMIND_BEFORE = timedelta(hours=24)
"""Deciders are reminded this long before a step's time limit (a quarter of the limit
when that is shorter)."""
OVERDUE = N_("Request #{id} for {account} is overdue ({step}).")


SCHEDULE_BATCH = 200
"""Steps the schedule looks at in one transaction: a long backlog (the first run over a
large history) is worked through in short transactions, which a decision never waits
long behind."""

BATCH_SECONDS = 0.2
"""A batch also ends once it has worked this long (steps with many deciders to tell): the
rows it changed stay locked until it commits, and a decision on one of them waits."""

Cursor = tuple[datetime, int] | None
"""Where a batch of the schedule ended: the last step's (due time, id); None when done."""


def _time_is_up(started: float, steps: list[RequestStep], index: int) -> Cursor:
    """Where a batch stops before ``steps[index]`` when BATCH_SECONDS have passed since
    ``started``; None: go on."""
    if index == 0 or time.monotonic() - started < BATCH_SECONDS:
        return None
    return steps[index - 1].due_at, steps[index - 1].id


def _batch_of_steps(session: Session, query, after: Cursor) -> tuple[list[RequestStep], Cursor]:
    """The next SCHEDULE_BATCH steps of ``query`` in (due time, id) order after ``after``."""
    if after is not None:
        query = query.where(or_(RequestStep.due_at > after[0],
                                and_(RequestStep.due_at == after[0], RequestStep.id > after[1])))
    steps = list(session.scalars(
        query.order_by(RequestStep.due_at, RequestStep.id).limit(SCHEDULE_BATCH)))  # fmt: skip
    last = (steps[-1].due_at, steps[-1].id) if len(steps) == SCHEDULE_BATCH else None
    return steps, last


def _all_batches(session: Session, some, now: datetime | None) -> int:
    done, after = 0, None
    while True:
        count, after = some(session, now, after)
        done += count
        if after is None:
            return done


def remind(session: Session, now: datetime | None = None) -> int:
    """Remind the deciders of each running step once as its time limit nears, and tell
    them once when it has passed. Returns the steps whose deciders were told."""
    return _all_batches(session, remind_some, now or utcnow())


def remind_some(session: Session, now: datetime | None = None,
                after: Cursor = None) -> tuple[int, Cursor]:  # fmt: skip
    """``remind`` for the next batch of steps: (steps told, where the next batch starts)."""
    now = now or utcnow()
    told = 0
    due, last = _batch_of_steps(session, (
        select(RequestStep)
        .where(RequestStep.state == StepState.ACTIVE, RequestStep.due_at.is_not(None),
               RequestStep.due_at <= now + REMIND_BEFORE,
               or_(RequestStep.reminded_at.is_(None), RequestStep.overdue_told_at.is_(None)))
    ), after)  # fmt: skip
    started = time.monotonic()
    for index, step in enumerate(due):
        if (stop := _time_is_up(started, due, index)) is not None:
            session.flush()
            return told, stop
        lead = min(REMIND_BEFORE, (step.due_at - step.started_at) / 4) if step.started_at \
            else REMIND_BEFORE  # fmt: skip
        if step.due_at <= now:
            if step.overdue_told_at is not None:
                continue
            _tell_deciders(session, step, "overdue", OVERDUE)
            step.overdue_told_at = now
            step.reminded_at = step.reminded_at or now  # no "due soon" after "overdue"
        elif step.due_at - lead <= now and step.reminded_at is None:
            _tell_deciders(session, step, "reminder",
                           N_("Request #{id} for {account} is due by {when} ({step})."))
            step.reminded_at = now
        else:
            continue
        told += 1
    session.flush()
    return told, last


def _tell_deciders(session: Session, step: RequestStep, kind: str, message: str) -> None:
    request = step.request
    for assignment in step.assignments:
        if assignment.state == AssignmentState.OPEN:
            recipient = session.get(User, assignment.user_id)
            notify(session, assignment.user_id, kind, request, message, id=request.id,
                   account=request.customer.account, step=step.name,
                   when=local_text(step.due_at, recipient.time_zone if recipient else None))


def escalate_overdue(session: Session, now: datetime | None = None) -> int:
    """Give each overdue step with an escalation target to that target, once (its
    deciders are told it is overdue, if ``remind`` has not told them yet)."""
    return _all_batches(session, escalate_some, now or utcnow())


def escalate_some(session: Session, now: datetime | None = None,
                  after: Cursor = None) -> tuple[int, Cursor]:  # fmt: skip
    """``escalate_overdue`` for the next batch of steps: (steps escalated, where the next
    batch starts)."""
    now = now or utcnow()
    escalated = 0
    steps, last = _batch_of_steps(session, (
        select(RequestStep)
        .join(WorkflowStep, WorkflowStep.id == RequestStep.workflow_step_id)
        .where(RequestStep.state == StepState.ACTIVE, RequestStep.due_at < now,
               RequestStep.escalated_at.is_(None),
               or_(WorkflowStep.escalate_to_user_id.is_not(None),
                   WorkflowStep.escalate_to_role.is_not(None)))
    ), after)  # fmt: skip
    started = time.monotonic()
    for index, step in enumerate(steps):
        if (stop := _time_is_up(started, steps, index)) is not None:
            session.flush()
            return escalated, stop
        request = get_request(session, step.request_id, lock=True)
        targets = escalation_targets(session, step.workflow_step, _excluded(session, request))
        if not targets:
            continue
        already = {a.user_id for a in step.assignments if a.state == AssignmentState.OPEN}
        if step.overdue_told_at is None:
            _tell_deciders(session, step, "overdue", OVERDUE)
            step.overdue_told_at = now or utcnow()
        for user, via_role in targets:
            if user.id not in already:
                step.assignments.append(
                    Assignment(user_id=user.id, via="escalation", via_role=via_role)
                )
                _notify_assigned(session, request, step, user.id)
        step.escalated_at = now or utcnow()
        _touch(request)
        _event(
            session,
            request,
            None,
            "escalated",
            step=step,
            details={"to": [user.username for user, _ in targets]},
        )
        escalated += 1
    session.flush()
    return escalated, last


# ---------------------------------------------------------------- role changes


def release_undecidable_assignments(session: Session, user: User, reason: str) -> int:
    """Hand back every open assignment ``user`` may no longer decide (roles removed,
    account deactivated): each waits, released, for a manager's Reassign, and the
    request's history says so. Returns how many were released."""
    released = 0
    for assignment in session.scalars(
        select(Assignment)
        .join(RequestStep, RequestStep.id == Assignment.request_step_id)
        .where(
            Assignment.user_id == user.id,
            Assignment.state == AssignmentState.OPEN,
            RequestStep.state == StepState.ACTIVE,
        )
    ):
        if may_decide(user, assignment.via_role):
            continue
        request = get_request(session, assignment.step.request_id, lock=True)
        assignment.state = AssignmentState.RELEASED
        assignment.decided_at = utcnow()
        _touch(request)
        _event(session, request, None, "released", step=assignment.step,
               comment=_("{name} {reason}; a manager can reassign it.").format(
                   name=user.full_name, reason=reason),
               details={"from": user.username})  # fmt: skip
        released += 1
    session.flush()
    return released
