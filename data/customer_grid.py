"""The customer grid's query: AG Grid's sort and filter models translated to SQL, read a
page at a time by key (keyset paging), counted up to a cap."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from data.errors import ValidationFailed
from data.fields import FIELDS_BY_NAME
from data.i18n import _
from data.labels import REQUEST_STATE_LABELS
from data.lifecycle import OPEN_STATES
from data.models import (
    ChangeRequest,
    Customer,
    User,
)
from data.users import require_active

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
    if broad and sort and not _in_index_order(filters, sort) and (
        session.get_bind().dialect.name == "sqlite"
    ):
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
    elif start:
        # skipping rows: find the block's customers first, reading only what the filter
        # and the order need, then the columns (the open request's state above all) of
        # those rows alone
        block = query.with_only_columns(Customer.id).offset(start).subquery("block")
        query = query.join(block, block.c.id == Customer.id).limit(None)
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


IN_ORDER_WITHIN = {"country": "name"}
"""A column whose index holds each value's customers in another column's order (then by
account): an equality filter on it, sorted by that column, reads the matches in order."""


def _in_index_order(filters: dict[str, dict[str, Any]] | None,
                    sort: list[dict[str, str]]) -> bool:  # fmt: skip
    """Whether an equality filter's index gives the rows in the sort's order already."""
    first = sort[0].get("colId")
    return any(
        IN_ORDER_WITHIN.get(name) == first
        and model.get("filterType") == "text"
        and model.get("type") == "equals"
        and name in UPPER_CASE
        for name, model in (filters or {}).items()
    )


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
