"""Changes that other systems send (the data entity, through the JSON API): a customer's
new values under the Data entity behavior parameter, exactly as an import row applies.

- Allow changes without approval: every changed field applies at once.
- Reject changes: a change to a gated field refuses the whole call, naming the fields;
  nothing applies.
- Create change proposals: the other fields apply; the gated ones become proposals on a
  new request, submitted to the workflow at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import requests as workflow
from data.audit import apply_values, current_value_text
from data.customers import (
    create_customer,
    find_customer,
    find_customer_key,
    parse_values,
    save_customer,
)
from data.errors import Conflict, ValidationFailed
from data.fields import FIELDS_BY_NAME, field_label, field_spec
from data.i18n import _
from data.models import ChangeRequest, Customer, User
from data.numbers import NumericCell
from data.parameters import gated_fields, get_parameters
from data.requests import open_request_for
from data.users import require_role

MACHINE_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,12})?$")
"""A number written as a program writes it: digits, an optional point, no grouping."""

APPLIED, PROPOSED, UNCHANGED, WITHDRAWN = "applied", "proposed", "unchanged", "withdrawn"


class VersionMismatch(Conflict):
    """The caller's idea of the record (its ETag) is not the record's version now."""


@dataclass
class EntityResult:
    customer: Customer
    fields: dict[str, str] = field(default_factory=dict)
    """Each field sent: applied, proposed or unchanged."""
    request: ChangeRequest | None = None


def machine_values(raw: dict[str, Any]) -> dict[str, Any]:
    """JSON values as the field catalogue reads them: a number is a JSON number or a
    string such as "1500.00" (never a locale's grouping), a yes/no field a JSON boolean,
    anything else a string; null empties a field. Every problem at once, per field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        spec = FIELDS_BY_NAME.get(name)
        if spec is None:
            errors[name] = _("is not a customer field")
        elif value is None:
            values[name] = None
        elif spec.is_numeric:
            number = None
            if isinstance(value, int | float) and not isinstance(value, bool):
                number = Decimal(str(value))
            elif isinstance(value, str) and MACHINE_NUMBER.match(value.strip()):
                number = Decimal(value.strip())
            if number is None or not number.is_finite():
                errors[name] = _("must be a number, such as 1500.00")
            else:
                values[name] = NumericCell(number)
        elif spec.kind == "boolean":
            if isinstance(value, bool):
                values[name] = value
            else:
                errors[name] = _("must be true or false")
        elif isinstance(value, str):
            values[name] = value
        else:
            errors[name] = _("must be text")
    if errors:
        raise ValidationFailed(errors)
    return values


def save_as_editor(
    session: Session, actor: User, account: str, raw: dict[str, Any], *, expected_version: int
) -> EntityResult:
    """The customer editor's Save for another system, whatever the Data entity behavior:
    non-gated fields apply, gated ones become proposals on the customer's draft request
    (submitted later with Workflow › Submit); a gated field sent back to its current value
    withdraws its proposal."""
    try:
        saved = save_customer(session, actor, account, machine_values(raw),
                              expected_version=expected_version)  # fmt: skip
    except Conflict as error:
        raise VersionMismatch(error.message) from None
    result = EntityResult(saved.customer, {name: UNCHANGED for name in raw}, saved.request)
    for name in saved.applied:
        result.fields[name] = APPLIED
    for change in saved.proposed:
        result.fields[change.field] = PROPOSED
    for name in saved.withdrawn:
        result.fields[name] = WITHDRAWN
    return result


def create_from_entity(session: Session, actor: User, raw: dict[str, Any]) -> Customer:
    """A new customer from another system: it applies at once, as a new account in an
    import does."""
    return create_customer(session, actor, machine_values(raw), source="api", locale="en")


def update_from_entity(
    session: Session, actor: User, account: str, raw: dict[str, Any], *, expected_version: int
) -> EntityResult:
    """Another system's new values for one customer, under the Data entity behavior."""
    require_role(actor, "clerk")
    values = machine_values(raw)
    customer = session.scalar(
        select(Customer).where(Customer.account == find_customer_key(account))
        .with_for_update().execution_options(populate_existing=True)
    )  # fmt: skip
    if customer is None:
        find_customer(session, account)  # says it does not exist
    if expected_version != customer.version:
        raise VersionMismatch(
            _("Customer {account} is at version {version}, not {expected}: read it again; "
              "nothing was applied.").format(account=customer.account, version=customer.version,
                                             expected=expected_version)
        )  # fmt: skip
    parsed = parse_values(session, values, locale="en", country=customer.country)
    behavior = get_parameters(session).data_entity_behavior
    gated = gated_fields(session) if behavior != "allow" else set()
    changed = {
        name: value
        for name, value in parsed.items()
        if field_spec(name).to_text(value) != current_value_text(customer, name)
    }
    needs_approval = {name: value for name, value in changed.items() if name in gated}
    direct = {name: value for name, value in changed.items() if name not in gated}
    request = open_request_for(session, customer.id)
    if needs_approval and request is not None and request.state == "pending":
        proposed = {c.field: c.new_value for c in request.changes}
        if all(proposed.get(n) == field_spec(n).to_text(v) for n, v in needs_approval.items()):
            needs_approval = {}  # already proposed: a repeat of an earlier call
    if needs_approval and behavior == "reject":
        reason = _("needs approval, and changes from other systems are set to Reject changes")
        raise ValidationFailed(
            {name: reason for name in needs_approval},
            _("Customer {account}: {fields} need approval, and changes from other systems are "
              "set to Reject changes; nothing was applied.").format(
                account=customer.account, fields=", ".join(map(field_label, needs_approval))),
        )  # fmt: skip
    if needs_approval and request is not None:
        raise Conflict(
            _("Customer {account} already has an open change request (#{id}); nothing was "
              "applied.").format(account=customer.account, id=request.id)
        )  # fmt: skip
    result = EntityResult(customer, {name: UNCHANGED for name in parsed})
    for name in apply_values(session, customer, direct, actor, "api"):
        result.fields[name] = APPLIED
    if needs_approval:
        proposals = {name: (current_value_text(customer, name), field_spec(name).to_text(value))
                     for name, value in needs_approval.items()}  # fmt: skip
        request = workflow.submit_new(session, customer, actor, proposals)
        result.fields.update(dict.fromkeys(needs_approval, PROPOSED))
    result.request = request
    return result
