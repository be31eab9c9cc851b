"""Accounts receivable parameters: the Customer approval section and the gated fields."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.customer_groups import ensure_customer_groups
from data.errors import ValidationFailed
from data.fields import FIELDS_BY_NAME, GATEABLE_FIELDS
from data.i18n import N_, Labels, _
from data.labels import DATA_ENTITY_BEHAVIOR_LABELS
from data.lifecycle import OPEN_STATES
from data.models import (
    BEHAVIORS,
    AuditEntry,
    ChangeRequest,
    FieldSetting,
    Parameters,
    ProposedChange,
    User,
)
from data.users import require_role

PARAMETERS_ID = 1
PARAMETER_LABELS = Labels(
    {
        "approvals_enabled": N_("Enable customer approvals"),
        "data_entity_behavior": N_("Data entity behavior"),
        "disallow_submitter_approval": N_("Disallow approval by submitter"),
        "link_hours": N_("Email decision links work for (hours)"),
        "link_requires_sign_in": N_("Email decision links ask to sign in first"),
    }
)
MAX_LINK_HOURS = 24 * 30


def ensure_defaults(session: Session) -> None:
    """Create the parameters row and a setting for every gateable field, if missing."""
    if session.get(Parameters, PARAMETERS_ID) is None:
        session.add(Parameters(id=PARAMETERS_ID))
    known = set(session.scalars(select(FieldSetting.field)))
    for spec in GATEABLE_FIELDS:
        if spec.name not in known:
            session.add(FieldSetting(field=spec.name, gated=False))
    session.flush()
    ensure_customer_groups(session)


def get_parameters(session: Session) -> Parameters:
    """The parameters row, read once per unit of work (the session holds on to it: its
    identity map alone would let it go once no caller refers to it)."""
    parameters = session.get(Parameters, PARAMETERS_ID)
    if parameters is None:
        ensure_defaults(session)
        parameters = session.get(Parameters, PARAMETERS_ID)
    session.info["parameters"] = parameters
    return parameters


def gated_fields(session: Session) -> set[str]:
    """Fields that need approval right now (empty when approvals are off)."""
    if not get_parameters(session).approvals_enabled:
        return set()
    return set(session.scalars(select(FieldSetting.field).where(FieldSetting.gated.is_(True))))


def justification_fields(session: Session) -> set[str]:
    """Fields whose proposals are submitted with a justification."""
    return set(session.scalars(select(FieldSetting.field)
                               .where(FieldSetting.needs_justification.is_(True))))  # fmt: skip


def field_enable_settings(session: Session) -> dict[str, bool]:
    return {row.field: row.gated for row in session.scalars(select(FieldSetting))}


def _audit_parameter(session: Session, actor: User, name: str, old: object, new: object) -> None:
    session.add(
        AuditEntry(
            entity="parameters",
            field=name,
            old_value=None if old is None else str(old),
            new_value=None if new is None else str(new),
            source="parameters",
            user_id=actor.id,
        )
    )


def update_parameters(
    session: Session,
    actor: User,
    *,
    approvals_enabled: bool | None = None,
    data_entity_behavior: str | None = None,
    disallow_submitter_approval: bool | None = None,
    gated: dict[str, bool] | None = None,
    link_hours: int | None = None,
    link_requires_sign_in: bool | None = None,
    justify: dict[str, bool] | None = None,
) -> list[str]:
    """Change parameters (admins only); returns a line per change, each audited."""
    require_role(actor, "admin")
    if link_hours is not None and not 1 <= link_hours <= MAX_LINK_HOURS:
        raise ValidationFailed({"link_hours": _("must be a whole number of hours from 1 to "
                                                "{most}").format(most=MAX_LINK_HOURS)})  # fmt: skip
    if data_entity_behavior is not None and data_entity_behavior not in BEHAVIORS:
        raise ValidationFailed({"data_entity_behavior": _("choose one of the listed behaviors")})
    unknown = sorted(name for name in {**(gated or {}), **(justify or {})}
                     if name not in FIELDS_BY_NAME)  # fmt: skip
    not_gateable = sorted(
        name
        for name in (gated or {})
        if name in FIELDS_BY_NAME and not FIELDS_BY_NAME[name].gateable
    )
    if unknown or not_gateable:
        raise ValidationFailed(
            {"gated": _("cannot gate {fields}").format(fields=", ".join(unknown + not_gateable))}
        )

    parameters = get_parameters(session)
    changes: list[str] = []
    for name, value in (
        ("approvals_enabled", approvals_enabled),
        ("data_entity_behavior", data_entity_behavior),
        ("disallow_submitter_approval", disallow_submitter_approval),
        ("link_hours", link_hours),
        ("link_requires_sign_in", link_requires_sign_in),
    ):
        old = getattr(parameters, name)
        if value is None or value == old:
            continue
        setattr(parameters, name, value)
        _audit_parameter(session, actor, name, old, value)
        if name == "data_entity_behavior":
            shown_old, shown_new = (
                DATA_ENTITY_BEHAVIOR_LABELS[old],
                DATA_ENTITY_BEHAVIOR_LABELS[value],
            )
        elif name == "link_hours":
            shown_old, shown_new = str(old), str(value)
        else:
            shown_old, shown_new = (_("Yes") if old else _("No")), (_("Yes") if value else _("No"))
        changes.append(f"{PARAMETER_LABELS[name]}: {shown_old} → {shown_new}")

    settings = {row.field: row for row in session.scalars(select(FieldSetting))}
    for name, value in sorted((gated or {}).items()):
        row = settings.get(name) or FieldSetting(field=name, gated=False)
        if row.gated == value:
            continue
        session.add(row)
        _audit_parameter(session, actor, f"gated:{name}", row.gated, value)
        row.gated = value
        label = FIELDS_BY_NAME[name].label
        state = _("needs approval") if value else _("no longer needs approval")
        changes.append(f"{label}: {state}")
    for name, value in sorted((justify or {}).items()):
        row = settings.get(name) or FieldSetting(field=name, gated=False)
        if row.needs_justification == value:
            continue
        session.add(row)
        _audit_parameter(session, actor, f"justify:{name}", row.needs_justification, value)
        row.needs_justification = value
        state = (_("needs a justification at submit") if value
                 else _("no longer needs a justification"))  # fmt: skip
        changes.append(f"{FIELDS_BY_NAME[name].label}: {state}")
    session.flush()
    return changes


@dataclass
class FieldRow:
    name: str
    label: str
    group: str
    gated: bool
    open: int
    """How many open requests (not submitted, pending or sent back) propose a change to it."""
    pending: int = 0
    """Of those, how many are pending approval: the count the managers' dashboard shows."""
    needs_justification: bool = False


@dataclass
class ParametersView:
    approvals_enabled: bool
    data_entity_behavior: str
    disallow_submitter_approval: bool
    fields: list[FieldRow]
    link_hours: int = 72
    link_requires_sign_in: bool = False


def parameters_view(session: Session, actor: User) -> ParametersView:
    require_role(actor, "admin")
    parameters = get_parameters(session)
    settings = field_enable_settings(session)
    justified = justification_fields(session)
    opened: dict[str, int] = {}
    pending: dict[str, int] = {}
    for name, state, count in session.execute(
        select(ProposedChange.field, ChangeRequest.state, func.count(ProposedChange.id))
        .join(ChangeRequest, ChangeRequest.id == ProposedChange.request_id)
        .where(ChangeRequest.state.in_(OPEN_STATES))
        .group_by(ProposedChange.field, ChangeRequest.state)
    ):
        opened[name] = opened.get(name, 0) + count
        if state == "pending":
            pending[name] = count
    rows = [
        FieldRow(
            spec.name,
            spec.label,
            spec.group,
            settings.get(spec.name, False),
            opened.get(spec.name, 0),
            pending.get(spec.name, 0),
            spec.name in justified,
        )  # fmt: skip
        for spec in GATEABLE_FIELDS
    ]
    return ParametersView(
        approvals_enabled=parameters.approvals_enabled,
        data_entity_behavior=parameters.data_entity_behavior,
        disallow_submitter_approval=parameters.disallow_submitter_approval,
        fields=rows,
        link_hours=parameters.link_hours,
        link_requires_sign_in=parameters.link_requires_sign_in,
    )
