"""Test a workflow version: which steps a change set would run, and who would be asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from data.customers import find_customer, parse_values
from data.errors import ValidationFailed
from data.fields import FIELDS_BY_NAME
from data.i18n import _
from data.models import User
from data.workflows import (
    ChangeSet,
    describe_condition,
    evaluate_condition,
    resolve_assignees,
    version_detail,
)


@dataclass
class StepPreview:
    name: str
    runs: bool
    condition: str
    asked: list[str]


def preview_version(
    session: Session, actor: User, version_id: int, account: str, raw_changes: dict[str, Any]
) -> list[StepPreview]:
    """Which steps would run for this customer and change set, and who would be asked."""
    version = version_detail(session, actor, version_id)
    customer = find_customer(session, account)
    parsed = parse_values(session, raw_changes, locale=actor.locale, country=customer.country)
    changes: ChangeSet = {}
    for name, value in parsed.items():
        spec = FIELDS_BY_NAME[name]
        original, new = spec.to_text(getattr(customer, name)), spec.to_text(value)
        if original != new:
            changes[name] = (original, new)
    if not changes:
        raise ValidationFailed({"changes": _("the change set changes nothing on this customer")})
    return [
        StepPreview(
            name=step.name,
            runs=evaluate_condition(step.condition, changes),
            condition=describe_condition(step.condition),
            asked=[user.full_name for user, _, _ in resolve_assignees(session, step)],
        )
        for step in version.steps
    ]
