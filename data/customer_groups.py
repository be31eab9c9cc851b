"""Customer groups: the list an administrator sets up, which customers' groups come from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.errors import ValidationFailed
from data.fields import FieldError, field_spec
from data.i18n import _
from data.models import AuditEntry, Customer, CustomerGroup, User
from data.users import require_active, require_role

DEFAULT_GROUPS = ("RETAIL", "WHOLESALE", "EXPORT", "INTERCO")
"""A new installation's groups (an administrator adds more on the Parameters page)."""
_CACHE = "countersign.customer_groups"


def ensure_customer_groups(session: Session) -> None:
    """A database without any group starts with DEFAULT_GROUPS."""
    if session.scalar(select(func.count()).select_from(CustomerGroup)) == 0:
        session.add_all(CustomerGroup(code=code, description="") for code in DEFAULT_GROUPS)
        session.flush()
        session.info.pop(_CACHE, None)


def group_codes(session: Session) -> frozenset[str]:
    """The codes customers may be put in (read once per unit of work: an import's rows
    are checked against one reading)."""
    codes = session.info.get(_CACHE)
    if codes is None:
        codes = frozenset(session.scalars(select(CustomerGroup.code)))
        session.info[_CACHE] = codes
    return codes


def group_choices(session: Session) -> list[tuple[str, str]]:
    """(code, description) of every group, by code: what a customer's group is picked from."""
    return [tuple(row) for row in session.execute(
        select(CustomerGroup.code, CustomerGroup.description).order_by(CustomerGroup.code))]


def set_up_group(session: Session, code: str) -> str:
    """The set-up group ``code`` names (written in any case: "retail" is RETAIL), or
    ValueError saying it is not set up."""
    codes = group_codes(session)
    if code in codes:
        return code
    for known in codes:
        if known.casefold() == code.casefold():
            return known
    raise ValueError(_("Customer group {code} is not set up; an administrator adds groups on "
                       "the Parameters page").format(code=code))  # fmt: skip


@dataclass(frozen=True)
class GroupRow:
    code: str
    description: str
    customers: int
    """How many customers are in the group."""


def customer_groups(session: Session, actor: User) -> list[GroupRow]:
    """Every group, by code, with how many customers are in it."""
    require_active(actor)
    group = Customer.customer_group
    counts = dict(session.execute(select(group, func.count()).group_by(group)).all())
    return [GroupRow(code, description, counts.get(code, 0))
            for code, description in group_choices(session)]  # fmt: skip


def add_customer_group(session: Session, actor: User, code: str, description: str = "") -> str:
    """Set up a new group (administrators); returns its code as stored."""
    require_role(actor, "admin")
    errors: dict[str, str] = {}
    try:
        parsed = field_spec("customer_group").parse(code)
        parsed = parsed.upper() if parsed else parsed
    except FieldError as error:
        parsed, errors["code"] = None, f"{_('Code')} {error}"
    description = " ".join((description or "").split())
    if len(description) > 60:
        errors["description"] = _("Description: at most {count} characters").format(count=60)
    if parsed and any(known.casefold() == parsed.casefold() for known in group_codes(session)):
        errors["code"] = _("Customer group {code} is set up already").format(code=parsed)
    if errors:
        raise ValidationFailed(errors)
    session.add(CustomerGroup(code=parsed, description=description))
    session.add(AuditEntry(entity="customer_group", field=parsed, new_value=description,
                           source="parameters", user_id=actor.id))  # fmt: skip
    session.flush()
    session.info.pop(_CACHE, None)
    return parsed
