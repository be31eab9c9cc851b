"""Reason codes: why a request is rejected or sent back. An administrator keeps the list
(Parameters page); while it has active codes, every Reject and Request change names one
(the history shows it, the Throughput page counts rejections by reason)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.errors import ValidationFailed
from data.i18n import _
from data.models import AuditEntry, ReasonCode, User
from data.users import require_active, require_role

CODE = re.compile(r"^[A-Z0-9_]{1,20}$")


def active_reasons(session: Session) -> list[tuple[str, str]]:
    """(code, label) of the reasons a decider picks from, by label."""
    return [tuple(row) for row in session.execute(
        select(ReasonCode.code, ReasonCode.label).where(ReasonCode.active)
        .order_by(ReasonCode.label))]  # fmt: skip


def reason_labels(session: Session) -> dict[str, str]:
    """Every code's label, retired ones too (the history names them)."""
    return dict(session.execute(select(ReasonCode.code, ReasonCode.label)).all())


def checked_reason(session: Session, reason: str | None) -> str | None:
    """The reason a Reject or Request change gives: one of the active codes while there
    are any (else none is asked for)."""
    codes = {code for code, _label in active_reasons(session)}
    if not codes:
        return None
    if not reason or reason not in codes:
        raise ValidationFailed({"reason": _("choose a reason from the list")})
    return reason


def list_reasons(session: Session, actor: User) -> list[ReasonCode]:
    require_active(actor)
    return list(session.scalars(select(ReasonCode).order_by(ReasonCode.code)))


def add_reason(session: Session, actor: User, code: str | None, label: str | None) -> ReasonCode:
    """A new reason (administrators): a code of capitals, digits and _, and its label."""
    require_role(actor, "admin")
    code = (code or "").strip().upper()
    label = " ".join((label or "").split())
    errors = {}
    if not CODE.match(code):
        errors["reason_code"] = _("must be 1 to 20 capital letters, digits or _")
    elif session.get(ReasonCode, code) is not None:
        errors["reason_code"] = _("{code} is set up already").format(code=code)
    if not label or len(label) > 100:
        errors["reason_label"] = _("must be 1 to 100 characters")
    if errors:
        raise ValidationFailed(errors)
    reason = ReasonCode(code=code, label=label, active=True)
    session.add(reason)
    session.add(AuditEntry(entity="reason_code", field=code, new_value=label,
                           source="parameters", user_id=actor.id))  # fmt: skip
    session.flush()
    return reason


def set_reason_active(session: Session, actor: User, code: str, active: bool) -> ReasonCode:
    """Retire a reason (or bring it back): the history keeps naming it."""
    require_role(actor, "admin")
    reason = session.get(ReasonCode, code)
    if reason is None:
        raise ValidationFailed({"reason_code": _("{code} is not set up").format(code=code)})
    if reason.active != active:
        reason.active = active
        session.add(AuditEntry(entity="reason_code", field=code, old_value=str(not active),
                               new_value=str(active), source="parameters",
                               user_id=actor.id))  # fmt: skip
        session.flush()
    return reason
