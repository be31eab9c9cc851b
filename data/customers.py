"""Customers: reading, creating, and the clerk's Save with its proposals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from data.audit import apply_values, current_value_text, customer_history, record_customer_change
from data.customer_groups import group_choices, set_up_group
from data.errors import Conflict, NotFound, ValidationFailed
from data.fields import EDITABLE_FIELDS, FIELDS, FIELDS_BY_NAME, FieldError, field_spec
from data.i18n import _
from data.models import (
    AuditEntry,
    ChangeRequest,
    Customer,
    ProposedChange,
    RequestEvent,
    User,
)
from data.numbers import locale_of
from data.parameters import gated_fields
from data.reasons import active_reasons
from data.requests import (
    allowed_actions,
    close_if_empty,
    ensure_draft,
    open_request_for,
    propose,
)
from data.users import delegate_candidates, require_active, require_role


@dataclass
class SaveResult:
    """What one Save did: applied fields, proposals made, and the open request."""

    customer: Customer
    applied: list[str] = field(default_factory=list)
    proposed: list[ProposedChange] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    request: ChangeRequest | None = None

    @property
    def has_proposals(self) -> bool:
        return bool(self.proposed)


def find_customer_key(account: str) -> str:
    """An account number as customers are keyed (as typed: spaces around, lower case)."""
    return account.strip().upper()


def find_customer(session: Session, account: str) -> Customer:
    key = find_customer_key(account)
    customer = session.scalar(select(Customer).where(Customer.account == key))
    if customer is None:
        raise NotFound(_("Customer {account} does not exist.").format(account=account))
    return customer


def get_customer(session: Session, actor: User, account: str) -> Customer:
    require_active(actor)
    return find_customer(session, account)


def customer_values(customer: Customer) -> dict[str, Any]:
    return {spec.name: getattr(customer, spec.name) for spec in FIELDS}


def _country_of(raw: dict[str, Any], country: str | None) -> str | None:
    """The country a phone number is read in: the one being saved with it, else the
    customer's."""
    given = raw.get("country")
    if isinstance(given, str) and len(given.strip()) == 2:
        return given.strip().upper()
    return country


def parse_values(
    session: Session,
    raw: dict[str, Any],
    *,
    creating: bool = False,
    coming_accounts: set[str] | frozenset[str] = frozenset(),
    locale: str | None = None,
    country: str | None = None,
) -> dict[str, Any]:
    """Validate raw values with the field catalogue; every error at once, per field.

    ``coming_accounts``: accounts not yet written that an invoice account may name
    (new customers earlier in the same import). ``locale``: how numbers are written
    (the user's, or the import file's convention). ``country``: the customer's, for a
    phone number written without its country code (a country in ``raw`` comes first).
    """
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name, value in raw.items():
        spec = FIELDS_BY_NAME.get(name)
        if spec is None:
            errors[name] = _("is not a customer field")
            continue
        if name == "account" and not creating:
            errors[name] = _("cannot be changed")
            continue
        try:
            parsed[name] = spec.parse(value, locale, _country_of(raw, country))
        except FieldError as error:
            errors[name] = f"{spec.label} {error}"
    invoice_account = parsed.get("invoice_account")
    if invoice_account and "invoice_account" not in errors:
        exists = invoice_account in coming_accounts or session.scalar(
            select(Customer.id).where(Customer.account == invoice_account)
        )
        if not exists and invoice_account != parsed.get("account"):
            errors["invoice_account"] = _("Invoice account {account} is not a customer").format(
                account=invoice_account
            )
    if parsed.get("customer_group") and "customer_group" not in errors:
        try:
            parsed["customer_group"] = set_up_group(session, parsed["customer_group"])
        except ValueError as problem:
            errors["customer_group"] = str(problem)
    if errors:
        raise ValidationFailed(errors)
    return parsed


def parse_new_customer(
    session: Session,
    raw: dict[str, Any],
    coming_accounts: set[str] | frozenset[str] = frozenset(),
    locale: str | None = None,
) -> dict[str, Any]:
    """A new customer's values, validated: every required field present and every value valid."""
    missing = {
        spec.name: _("{field} is required").format(field=spec.label)
        for spec in FIELDS
        if spec.required and spec.name not in raw
    }
    parsed = parse_values(session, dict(raw), creating=True, coming_accounts=coming_accounts,
                          locale=locale)  # fmt: skip
    if missing:
        raise ValidationFailed(missing)
    return parsed


def create_customer(
    session: Session,
    actor: User,
    raw: dict[str, Any],
    source: str = "direct_edit",
    batch_id: int | None = None,
    locale: str | None = None,
) -> Customer:
    """A new customer applies at once; each set field goes into the audit trail. Numbers
    are read in ``locale`` (an import file's convention), else as the actor writes them."""
    require_role(actor, "clerk")
    parsed = parse_new_customer(session, raw, locale=locale or actor.locale)
    if session.scalar(select(Customer.id).where(Customer.account == parsed["account"])):
        raise ValidationFailed(
            {
                "account": _("Account number {account} already exists").format(
                    account=parsed["account"]
                )
            }
        )
    customer = Customer(**parsed)
    session.add(customer)
    session.flush()
    for spec in EDITABLE_FIELDS:
        text = spec.to_text(getattr(customer, spec.name))
        if text != spec.to_text(spec.blank):
            record_customer_change(
                session, customer, spec.name, None, text, source, actor, batch_id=batch_id
            )
    return customer


def save_customer(
    session: Session,
    actor: User,
    account: str,
    raw: dict[str, Any],
    *,
    expected_version: int,
) -> SaveResult:
    """The clerk's Save: non-gated fields apply at once, gated ones become proposals.

    ``raw`` holds only the fields the user changed. A gated field set back to the
    customer's current value withdraws its proposal. Nothing is saved when any
    value is invalid, when the customer changed since ``expected_version`` (the
    version the editor was opened on: required), or when a gated field is locked
    by a pending request.
    """
    require_role(actor, "clerk")
    if type(expected_version) is not int:
        raise ValidationFailed(
            {"version": _("is required")},
            _(
                "This save does not say which version of the customer it edits; "
                "reload the customer and try again. Nothing was saved."
            ),
        )
    customer = session.get(
        Customer, find_customer(session, account).id, with_for_update=True, populate_existing=True
    )
    if expected_version != customer.version:
        raise Conflict(
            _(
                "Customer {account} was changed by someone else since you opened it. "
                "Reload to see the latest values; nothing was saved."
            ).format(account=customer.account)
        )
    parsed = parse_values(session, raw, locale=actor.locale, country=customer.country)
    gated = gated_fields(session)
    request = open_request_for(session, customer.id)
    pending_fields = (
        {c.field for c in request.changes} if request and request.state == "pending" else set()
    )

    locked = {
        name: _("{field} has changes pending approval and cannot be edited now").format(
            field=field_spec(name).label
        )
        for name, value in parsed.items()
        if (
            name in pending_fields
            or (name in gated and request is not None and request.state == "pending")
        )
        and field_spec(name).to_text(value) != current_value_text(customer, name)
    }
    if locked:
        raise ValidationFailed(locked)

    result = SaveResult(customer=customer)
    direct: dict[str, Any] = {}
    for name, value in parsed.items():
        spec = field_spec(name)
        new_text = spec.to_text(value)
        current_text = current_value_text(customer, name)
        if name in gated:
            has_proposal = request is not None and request.change_for(name) is not None
            if new_text == current_text and not has_proposal:
                continue
            if result.request is None:
                result.request = request = ensure_draft(session, customer, actor)
            change = propose(session, request, actor, name, current_text, new_text)
            if change is None:
                result.withdrawn.append(name)
            else:
                result.proposed.append(change)
        elif new_text != current_text:
            direct[name] = value

    result.applied = apply_values(session, customer, direct, actor, "direct_edit")
    if result.request is not None and not result.request.changes:
        close_if_empty(session, result.request, actor)
    result.request = open_request_for(session, customer.id)
    return result


@dataclass
class EditorView:
    """Everything the customer editor shows, read in one unit of work."""

    customer: Customer
    values: dict[str, str | None]
    gated: set[str]
    request: ChangeRequest | None
    actions: set[str]
    locked: set[str]
    may_edit: bool
    audit: list[AuditEntry]
    requests: list[ChangeRequest]
    locale: str
    """How the viewer writes numbers: ``values`` are written that way."""
    zone: str | None = None
    """The viewer's time zone (None: UTC)."""
    delegates: list[User] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)
    """(code, label) a Reject or Request change picks from (none: no reason asked)."""
    """Whom the viewer may delegate the open request's decision to (when they decide it)."""
    groups: list[tuple[str, str]] = field(default_factory=list)
    """The customer groups to pick from: (code, description)."""


def editor_view(session: Session, actor: User, account: str) -> EditorView:
    require_active(actor)
    customer = find_customer(session, account)
    request = open_request_for(session, customer.id)
    gated = gated_fields(session)
    locked: set[str] = set()
    if request is not None and request.state == "pending":
        locked = gated | {change.field for change in request.changes}
    history = list(
        session.scalars(
            select(ChangeRequest)
            .where(ChangeRequest.customer_id == customer.id)
            .order_by(ChangeRequest.id.desc())
            .limit(20)
            .options(
                selectinload(ChangeRequest.changes),
                selectinload(ChangeRequest.events)
                .joinedload(RequestEvent.actor)
                .lazyload(User.role_rows),  # for their names
            )
        )
    )
    if request is not None:
        request = next(r for r in history if r.id == request.id)
    locale = locale_of(actor.locale)
    actions = allowed_actions(session, request, actor)
    return EditorView(
        customer=customer,
        values={
            spec.name: spec.input_text(spec.to_text(getattr(customer, spec.name)), locale)
            for spec in FIELDS
        },  # fmt: skip
        gated=gated,
        request=request,
        actions=actions,
        locked=locked,
        may_edit=actor.has_role("clerk"),
        audit=customer_history(session, customer.id),
        requests=history,
        locale=locale,
        zone=actor.time_zone,
        delegates=delegate_candidates(session, actor) if "decide" in actions else [],
        reasons=active_reasons(session) if "decide" in actions else [],
        groups=group_choices(session),
    )
