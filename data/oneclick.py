"""One-click decisions: the Approve and Reject links in an email.

A link carries, signed with the app's secret key (itsdangerous), who it was sent to,
which assignment and which decision. It works for the hours the parameters say
(``link_hours``, 72 by default) and only while that assignment is open: once decided,
recalled or passed on, every link to it is spent. Opening it only shows the changes and
a button; the decision is a POST that goes through the same service as the request page,
so every rule is checked again (still assigned, segregation of duties, stale values,
request still open). With ``link_requires_sign_in`` the recipient signs in first.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from data.errors import DomainError, PermissionDenied
from data.i18n import _
from data.lifecycle import AssignmentState, StepState
from data.models import Assignment, ChangeRequest, User
from data.parameters import get_parameters

SALT = "countersign one-click decision"
DECISIONS = ("approve", "reject")


class LinkRefused(DomainError):
    """A link that cannot be used: forged, expired, spent, or not the recipient's."""


@dataclass(frozen=True)
class Link:
    user_id: int
    assignment_id: int
    decision: str


def link_token(secret: str, user_id: int, assignment_id: int, decision: str) -> str:
    return URLSafeTimedSerializer(secret, salt=SALT).dumps([user_id, assignment_id, decision])


def read_link(session: Session, secret: str, token: str) -> Link:
    """The link ``token`` stands for, if it is genuine and not expired."""
    hours = get_parameters(session).link_hours
    try:
        user_id, assignment_id, decision = URLSafeTimedSerializer(secret, salt=SALT).loads(
            token, max_age=hours * 3600
        )
    except SignatureExpired:
        raise LinkRefused(_("This link has expired: open the request in Countersign to "
                            "decide.")) from None  # fmt: skip
    except (BadSignature, ValueError, TypeError):
        raise LinkRefused(_("This link is not valid.")) from None
    if decision not in DECISIONS or not isinstance(user_id, int):
        raise LinkRefused(_("This link is not valid."))
    return Link(user_id, assignment_id, decision)


@dataclass
class LinkTarget:
    user: User
    assignment: Assignment
    request: ChangeRequest
    requires_sign_in: bool


def link_target(session: Session, link: Link, signed_in_id: int | None = None) -> LinkTarget:
    """Who the link is for and the assignment it decides, while it is still theirs to
    decide; ``signed_in_id``: the user signed in in this browser, if any."""
    user = session.get(User, link.user_id)
    assignment = session.get(Assignment, link.assignment_id)
    if user is None or assignment is None or assignment.user_id != user.id:
        raise LinkRefused(_("This link is not valid."))
    if not user.is_active:
        raise PermissionDenied(_("Your account is deactivated."))
    requires_sign_in = get_parameters(session).link_requires_sign_in
    if signed_in_id is not None and signed_in_id != user.id:
        raise PermissionDenied(_("This link was sent to {name}; you are signed in as someone "
                                 "else.").format(name=user.full_name))  # fmt: skip
    step = assignment.step
    request = step.request
    if (assignment.state != AssignmentState.OPEN or step.state != StepState.ACTIVE
            or step.round != request.round):  # fmt: skip
        raise LinkRefused(_("Request #{id} no longer waits for your decision: this link is "
                            "spent.").format(id=request.id))  # fmt: skip
    return LinkTarget(user, assignment, request, requires_sign_in)


def decide_by_link(session: Session, link: Link, *, signed_in_id: int | None,
                   comment: str | None, confirm_stale: bool,
                   reason: str | None = None) -> ChangeRequest:  # fmt: skip
    """The decision the link names, as its recipient, through the request page's
    services (every rule checked again, under the request's lock)."""
    from data.requests import approve, get_request, reject

    target = link_target(session, link, signed_in_id)
    if target.requires_sign_in and signed_in_id != target.user.id:
        raise PermissionDenied(_("Sign in to decide from this link."))
    get_request(session, target.request.id, lock=True)  # wait for anyone deciding it now
    session.expire_all()
    target = link_target(session, link, signed_in_id)  # and look again once it is ours
    seen_round = target.assignment.step.round
    if link.decision == "approve":
        return approve(session, target.user, target.request.id, comment or None,
                       seen_round=seen_round, confirm_stale=confirm_stale)  # fmt: skip
    return reject(session, target.user, target.request.id, comment or "", seen_round=seen_round,
                  reason=reason)
