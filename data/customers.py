"""Customers: reading, creating, and the clerk's Save with its proposals."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from data.audit import customer_history, record_customer_change
from data.customer_groups import group_choices, set_up_group
from data.errors import Conflict, NotFound, ValidationFailed
from data.fields import EDITABLE_FIELDS, FIELDS, FIELDS_BY_NAME, FieldError, field_spec
from data.i18n import _
from data.labels import REQUEST_STATE_LABELS
from data.lifecycle import OPEN_STATES
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
from data.requests import (
    allowed_actions,
    close_if_empty,
    current_value_text,
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


def find_customer(session: Session, account: str) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.account == account.strip().upper()))
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


def apply_values(
    session: Session,
    customer: Customer,
    values: dict[str, Any],
    actor: User,
    source: str,
    batch_id: int | None = None,
) -> list[str]:
    """Set parsed values on the customer now, each with its audit entry; returns the fields."""
    for name, value in values.items():
        old_text = current_value_text(customer, name)
        setattr(customer, name, value)
        record_customer_change(
            session,
            customer,
            name,
            old_text,
            field_spec(name).to_text(value),
            source,
            actor,
            batch_id=batch_id,
        )
    session.flush()
    return list(values)


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


GRID_COLUMNS = (
    "account",
    "name",
    "customer_group",
    "city",
    "country",
    "currency",
    "credit_limit",
    "on_hold",
    "request_state",
)
TEXT_FILTERS = {
    "contains": lambda column, text: column.ilike(f"%{_escape_like(text)}%", escape="\\"),
    "notContains": lambda column, text: ~column.ilike(f"%{_escape_like(text)}%", escape="\\"),
    "equals": lambda column, text: func.lower(column) == text.lower(),
    "notEqual": lambda column, text: func.lower(column) != text.lower(),
    "startsWith": lambda column, text: column.ilike(f"{_escape_like(text)}%", escape="\\"),
    "endsWith": lambda column, text: column.ilike(f"%{_escape_like(text)}", escape="\\"),
}
UPPER_CASE = ("account", "country", "currency")
"""Grid columns whose values are always stored in capitals (codes and account numbers)."""
NUMBER_FILTERS = {
    "equals": lambda column, number: column == number,
    "notEqual": lambda column, number: column != number,
    "greaterThan": lambda column, number: column > number,
    "greaterThanOrEqual": lambda column, number: column >= number,
    "lessThan": lambda column, number: column < number,
    "lessThanOrEqual": lambda column, number: column <= number,
}


def _starts_with(column, prefix: str):
    """A prefix match as a range, so an index on ``column`` serves it."""
    return (column >= prefix) & (column < prefix + "\U0010ffff")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class CustomerPage:
    rows: list[dict[str, Any]]
    total: int | None
    """How many rows match, when asked for (the first block of a query) or evident."""
    cursor: list[Any] | None = None
    """The last row's sort key, to ask for the next block with ``after`` (keyset paging)."""


KEYSET_COLUMNS = ("account", "name", "customer_group", "currency", "on_hold")
"""Grid columns that are never empty: a sort on one of them can page by key."""


COUNT_CAP = 10_000
"""The grid counts matching customers up to this many; beyond, the count stays unknown."""


def list_customers(
    session: Session,
    actor: User,
    start: int,
    end: int,
    sort: list[dict[str, str]] | None = None,
    filters: dict[str, dict[str, Any]] | None = None,
    search: str | None = None,
    count: bool = False,
    after: list[Any] | None = None,
) -> CustomerPage:
    """One page of the customer grid, sorted and filtered in SQL.

    ``sort`` and ``filters`` follow AG Grid's sortModel and filterModel; unknown
    columns or filter types are refused. ``search`` matches account or name.
    With ``count`` the total of matching rows is counted too: every customer
    exactly, a filtered or searched set up to COUNT_CAP (``total`` stays None
    beyond, as it does without ``count``). ``after``, the
    ``cursor`` of the block that ends where this one starts, reads the block
    by key (an index range) instead of skipping ``start`` rows, when the sort
    allows it (by account, or by one column that is never empty).
    """
    require_active(actor)
    if start < 0 or end <= start or end - start > 1000:
        raise ValidationFailed({"rows": _("ask for between 1 and 1,000 rows from row 0 on")})
    state = (
        select(ChangeRequest.state)
        .where(ChangeRequest.customer_id == Customer.id, ChangeRequest.state.in_(OPEN_STATES))
        .correlate(Customer)
        .scalar_subquery()
    )
    columns = {name: getattr(Customer, name) for name in GRID_COLUMNS if name != "request_state"}
    columns["request_state"] = state
    query = select(*(column.label(name) for name, column in columns.items()))

    if search and search.strip():
        term = search.strip()
        query = query.where(
            _starts_with(Customer.account, term.upper())
            | _starts_with(func.lower(Customer.name), term.lower())
        )

    def filtered_by(cols: dict[str, Any]):
        return query.where(*(_grid_filter(cols, name, model)
                             for name, model in (filters or {}).items()))  # fmt: skip

    total = None
    broad = False
    searched = bool(filters) or bool(search and search.strip())
    if count and not searched:
        # every customer: counted from the smallest index, so the scrollbar knows the end
        total = session.scalar(select(func.count()).select_from(Customer))
    elif count or (filters and sort):
        # counted up to a cap: past it the grid scrolls on without a known end, and a
        # filter that matches half a million customers costs no more than one that
        # matches ten thousand
        matches = filtered_by(columns).with_only_columns(Customer.id).limit(COUNT_CAP + 1)
        matching = session.scalar(select(func.count()).select_from(matches.subquery()))
        broad = matching > COUNT_CAP
        if count and not broad:
            total = matching
    if broad and sort and session.get_bind().dialect.name == "sqlite":
        # a filter most customers pass: walking the sort column's index and skipping
        # the few that fail beats reading every match through the filter's index and
        # then sorting them, which SQLite's planner would pick (PostgreSQL weighs it)
        query = filtered_by({name: func.coalesce(column, None) for name, column in columns.items()})
    else:
        query = filtered_by(columns)
    order = []
    for item in sort or []:
        if item.get("colId") not in columns or item.get("sort") not in ("asc", "desc"):
            raise ValidationFailed(
                {"sort": _("cannot sort by {column}").format(column=repr(item.get("colId")))}
            )
        column = columns[item["colId"]]
        order.append(column.asc() if item["sort"] == "asc" else column.desc())
    key_names = _keyset_names(sort or [])
    query = query.order_by(*order, Customer.account).limit(end - start)
    usable = (
        key_names is not None
        and isinstance(after, list)
        and len(after) == len(key_names) + 1
        and all(isinstance(value, str) for value in after)  # keyset columns hold text
    )
    if usable:
        query = query.where(_after(key_names, (sort or [{}])[0].get("sort"), after))
    else:
        query = query.offset(start)
    rows = [dict(row._mapping) for row in session.execute(query)]
    cursor = None
    if key_names is not None and rows:
        cursor = [rows[-1][name] for name in key_names] + [rows[-1]["account"]]
    # shown as the viewer reads them: sorting and filtering happened in SQL on the values
    credit_limit, on_hold = FIELDS_BY_NAME["credit_limit"], FIELDS_BY_NAME["on_hold"]
    for row in rows:
        row["credit_limit"] = credit_limit.display(row["credit_limit"], actor.locale)
        row["on_hold"] = on_hold.display(row["on_hold"])
        row["request_state"] = REQUEST_STATE_LABELS.get(row["request_state"], "")
    if total is None and len(rows) < end - start:
        total = start + len(rows)
    return CustomerPage(rows=rows, total=total, cursor=cursor)


def _keyset_names(sort: list[dict[str, str]]) -> list[str] | None:
    """The sort columns before the account tie-break, when keyset paging can serve them."""
    if not sort:
        return []
    if len(sort) != 1:
        return None
    name, direction = sort[0].get("colId"), sort[0].get("sort")
    if name == "account":
        return [] if direction == "asc" else None
    return [name] if name in KEYSET_COLUMNS else None


def _after(names: list[str], direction: str | None, cursor: list[Any]):
    """Rows after the cursor in (column, account) order; the column's own bound lets an
    index on it serve the range."""
    if not names:
        return Customer.account > str(cursor[0])
    column = getattr(Customer, names[0])
    value, account = cursor[0], str(cursor[1])
    if direction == "desc":
        return (column <= value) & ((column < value) | (Customer.account > account))
    return (column >= value) & ((column > value) | (Customer.account > account))


def _grid_filter(columns: dict[str, Any], name: str, model: dict[str, Any]):
    if name not in columns:
        raise ValidationFailed({"filter": _("cannot filter by {column}").format(column=repr(name))})
    if "conditions" in model:
        parts = [_grid_filter(columns, name, condition) for condition in model["conditions"]]
        return or_(*parts) if model.get("operator") == "OR" else and_(*parts)
    column = columns[name]
    kind = model.get("filterType")
    operator = model.get("type")
    if name == "request_state" and kind == "text":
        labels = {label.lower(): state for state, label in REQUEST_STATE_LABELS.items()}
        wanted = [s for label, s in labels.items() if str(model.get("filter", "")).lower() in label]
        return column.in_(wanted)
    if kind == "text" and name in UPPER_CASE and operator in ("equals", "notEqual"):
        # stored in capitals: compared as they are, so their index can serve the filter
        text = str(model.get("filter", "")).strip().upper()
        return column == text if operator == "equals" else column != text
    if kind == "text" and operator in TEXT_FILTERS:
        return TEXT_FILTERS[operator](column, str(model.get("filter", "")))
    if kind == "number" and operator in NUMBER_FILTERS:
        try:
            number = Decimal(str(model.get("filter")))
        except InvalidOperation:
            raise ValidationFailed(
                {"filter": _("{column}: not a number").format(column=name)}
            ) from None
        return NUMBER_FILTERS[operator](column, number)
    raise ValidationFailed(
        {
            "filter": _("unsupported filter {kind}/{operator} on {column}").format(
                kind=kind, operator=operator, column=repr(name)
            )
        }
    )


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
                selectinload(ChangeRequest.events).joinedload(RequestEvent.actor),
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
        groups=group_choices(session),
    )
