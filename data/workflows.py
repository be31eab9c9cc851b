"""Workflow definitions: versions, ordered approval steps, conditions, assignees."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from data.access import may_decide
from data.errors import NotFound, ValidationFailed
from data.fields import FIELDS_BY_NAME, field_label
from data.i18n import N_, _, current_language
from data.labels import PROPOSED_CUSTOMER_CHANGE_WORKFLOW
from data.lifecycle import StepState
from data.models import (
    POLICIES,
    ROLES,
    User,
    WorkflowDefinition,
    WorkflowStep,
    WorkflowStepUser,
    WorkflowVersion,
    utcnow,
)
from data.numbers import NumberError, parse_decimal, parse_whole
from data.users import active_users_with_role, require_role

MAX_TIME_LIMIT_HOURS = 24 * 366
"""A step's time limit: at most a year."""
CONDITION_KINDS = ("changed", "increase", "decrease", "increase_pct", "decrease_pct")
NUMERIC_CONDITION_KINDS = CONDITION_KINDS[1:]

ChangeSet = dict[str, tuple[str | None, str | None]]
"""Field name → (original text, new text) of the proposals being submitted."""


@dataclass
class StepSpec:
    """What the designer saves for one approval step."""

    name: str
    assignee_user_ids: list[int] = field(default_factory=list)
    assignee_role: str | None = None
    policy: str = "single"
    percentage: int | None = None
    condition: dict[str, Any] | None = None
    time_limit_hours: int | None = None
    escalate_to_user_id: int | None = None
    escalate_to_role: str | None = None


def condition_problem(condition: dict[str, Any] | None) -> str | None:
    """Why a condition is not usable, or None when it is."""
    if condition is None:
        return None
    kind = condition.get("kind")
    name = condition.get("field")
    if kind not in CONDITION_KINDS:
        return _("unknown condition kind {kind}").format(kind=repr(kind))
    if name not in FIELDS_BY_NAME:
        return _("the condition names an unknown field {field}").format(field=repr(name))
    if kind in NUMERIC_CONDITION_KINDS:
        if not FIELDS_BY_NAME[name].is_numeric:
            return _("{field} is not a number, so it cannot increase or decrease").format(
                field=field_label(name)
            )
        key = "percent" if kind.endswith("_pct") else "amount"
        try:
            threshold = parse_decimal(condition.get(key))
        except NumberError:
            return _("the condition needs a number for {key}").format(key=key)
        if not threshold.is_finite() or threshold < 0:
            return _("the condition's {key} must be zero or more").format(key=key)
    return None


def describe_condition(condition: dict[str, Any] | None) -> str:
    if not condition:
        return _("Always")
    label = field_label(condition["field"])
    kind = condition["kind"]
    if kind == "changed":
        return _("{field} is among the changed fields").format(field=label)
    increases = kind.startswith("increase")
    if kind.endswith("_pct"):
        message = (
            _("{field} increases by more than {number} %")
            if increases
            else _("{field} decreases by more than {number} %")
        )
        number = condition["percent"]
    else:
        message = (
            _("{field} increases by more than {number}")
            if increases
            else _("{field} decreases by more than {number}")
        )
        number = condition["amount"]
    return message.format(
        field=label, number=format_decimal(Decimal(str(number)), locale=current_language())
    )


def evaluate_condition(condition: dict[str, Any] | None, changes: ChangeSet) -> bool:
    """Whether a step with this condition runs for this change set."""
    if not condition:
        return True
    name = condition["field"]
    if name not in changes:
        return False
    if condition["kind"] == "changed":
        return True
    original_text, new_text = changes[name]
    original = Decimal(original_text) if original_text is not None else Decimal(0)
    new = Decimal(new_text) if new_text is not None else Decimal(0)
    kind = condition["kind"]
    delta = new - original if kind.startswith("increase") else original - new
    if kind.endswith("_pct"):
        threshold = Decimal(str(condition["percent"]))
        if original == 0:
            return delta > 0
        return delta * 100 / abs(original) > threshold
    return delta > Decimal(str(condition["amount"]))


def _check_step(spec: StepSpec, position: int, session: Session) -> dict[str, str]:
    errors: dict[str, str] = {}
    key = _("step {position}").format(position=position)
    if not spec.name or not spec.name.strip():
        errors[key] = _("needs a name")
    if spec.policy not in POLICIES:
        errors[key] = _("unknown completion policy {policy}").format(policy=repr(spec.policy))
    if spec.policy == "percentage" and not (spec.percentage and 1 <= spec.percentage <= 100):
        errors[key] = _("a percentage policy needs a percentage from 1 to 100")
    if spec.assignee_role is not None and spec.assignee_role not in ROLES:
        errors[key] = _("unknown role {role}").format(role=repr(spec.assignee_role))
    if spec.escalate_to_role is not None and spec.escalate_to_role not in ROLES:
        errors[key] = _("unknown escalation role {role}").format(role=repr(spec.escalate_to_role))
    if spec.time_limit_hours is not None and not 0 < spec.time_limit_hours <= MAX_TIME_LIMIT_HOURS:
        errors[key] = _("the time limit must be from 1 to {hours} hours (a year)").format(
            hours=format_decimal(MAX_TIME_LIMIT_HOURS, locale=current_language())
        )
    for user_id in [*spec.assignee_user_ids, spec.escalate_to_user_id]:
        if user_id is not None and session.get(User, user_id) is None:
            errors[key] = _("user {id} does not exist").format(id=user_id)
    problem = condition_problem(spec.condition)
    if problem:
        errors[key] = problem
    return errors


def create_definition(
    session: Session, actor: User, name: str = PROPOSED_CUSTOMER_CHANGE_WORKFLOW
) -> WorkflowDefinition:
    require_role(actor, "admin")
    if not name.strip():
        raise ValidationFailed({"name": "is required"})
    definition = WorkflowDefinition(name=name.strip(), created_by_id=actor.id)
    session.add(definition)
    session.flush()
    return definition


def save_version(
    session: Session, actor: User, definition_id: int, steps: list[StepSpec]
) -> WorkflowVersion:
    """Save the designer's steps as the definition's next version (not yet active)."""
    require_role(actor, "admin")
    definition = session.get(WorkflowDefinition, definition_id)
    if definition is None:
        raise NotFound(_("Workflow {id} does not exist.").format(id=definition_id))
    errors: dict[str, str] = {}
    for position, spec in enumerate(steps, start=1):
        errors.update(_check_step(spec, position, session))
    if errors:
        raise ValidationFailed(errors)
    number = (
        session.scalar(
            select(func.max(WorkflowVersion.number)).where(
                WorkflowVersion.definition_id == definition_id
            )
        )
        or 0
    ) + 1
    version = WorkflowVersion(definition=definition, number=number, created_by_id=actor.id)
    for position, spec in enumerate(steps, start=1):
        step = WorkflowStep(
            position=position,
            name=spec.name.strip(),
            assignee_role=spec.assignee_role,
            policy=spec.policy,
            percentage=spec.percentage if spec.policy == "percentage" else None,
            condition=spec.condition or None,
            time_limit_hours=spec.time_limit_hours,
            escalate_to_user_id=spec.escalate_to_user_id,
            escalate_to_role=spec.escalate_to_role,
        )
        step.assignee_rows = [
            WorkflowStepUser(user_id=user_id) for user_id in dict.fromkeys(spec.assignee_user_ids)
        ]
        version.steps.append(step)
    session.add(version)
    session.flush()
    return version


def activation_problems(version: WorkflowVersion) -> list[str]:
    problems: list[str] = []
    if not version.steps:
        problems.append(_("A workflow needs at least one approval step."))
    for step in version.steps:
        if not step.assignee_rows and not step.assignee_role:
            problems.append(_("Step '{step}' has no assignees.").format(step=step.name))
        problem = condition_problem(step.condition)
        if problem:
            problems.append(_("Step '{step}': {problem}.").format(step=step.name, problem=problem))
    return problems


def activate_version(session: Session, actor: User, version_id: int) -> WorkflowVersion:
    """Make this the one active version; submitted requests keep the version they have."""
    require_role(actor, "admin")
    version = session.get(WorkflowVersion, version_id)
    if version is None:
        raise NotFound(_("Workflow version {id} does not exist.").format(id=version_id))
    problems = activation_problems(version)
    if problems:
        raise ValidationFailed({"workflow": " ".join(problems)})
    session.execute(
        update(WorkflowVersion)
        .where(WorkflowVersion.is_active.is_(True), WorkflowVersion.id != version.id)
        .values(is_active=False)
    )
    session.flush()
    version.is_active = True
    version.activated_at = utcnow()
    session.flush()
    return version


def active_version(session: Session) -> WorkflowVersion | None:
    return session.scalar(select(WorkflowVersion).where(WorkflowVersion.is_active.is_(True)))


def resolve_assignees(
    session: Session, step: WorkflowStep, excluded: Collection[int] = ()
) -> list[tuple[User, str, str | None]]:
    """The users asked to decide a step: (user, via, via_role); ``excluded`` (the
    request's authors, under segregation of duties) and users who may not decide left out."""
    chosen: dict[int, tuple[User, str, str | None]] = {}
    for user_id in step.assignee_user_ids:
        user = session.get(User, user_id)
        if user is not None and user.id not in excluded and may_decide(user):
            chosen[user.id] = (user, "user", None)
    if step.assignee_role:
        for user in active_users_with_role(session, step.assignee_role):
            if user.id not in excluded and user.id not in chosen:
                chosen[user.id] = (user, "role", step.assignee_role)
    return list(chosen.values())


@dataclass(frozen=True)
class RoundPlan:
    """What a submission starts: the steps whose conditions hold (``running``, in order),
    the first of them, and the first running step nobody may decide (``unstaffed``)."""

    steps: list[WorkflowStep]
    running: list[WorkflowStep]
    unstaffed: WorkflowStep | None

    @property
    def first(self) -> WorkflowStep | None:
        return self.running[0] if self.running else None

    def state_of(self, step: WorkflowStep) -> StepState:
        """The step's state once the round has started."""
        if step is self.first:
            return StepState.ACTIVE
        return StepState.WAITING if step in self.running else StepState.SKIPPED

    def history(self) -> list[tuple[str, WorkflowStep]]:
        """The round's first events in the steps' order: the steps skipped before the first
        that runs, that one started, then the steps skipped after it."""
        return [("step_started" if step is self.first else "step_skipped", step)
                for step in self.steps if step is self.first or step not in self.running]


def plan_round(
    steps: list[WorkflowStep], changes: ChangeSet, assignees: Callable[[WorkflowStep], list]
) -> RoundPlan:
    """The one planner of a round, for the engine (``requests.submit``) and the set-based
    import writer (``bulk.BatchSubmission``) alike; ``assignees(step)`` says who may decide."""
    steps = sorted(steps, key=lambda step: step.position)
    running = [step for step in steps if evaluate_condition(step.condition, changes)]
    unstaffed = next((step for step in running if not assignees(step)), None)
    return RoundPlan(steps, running, unstaffed)


def escalation_targets(
    session: Session, step: WorkflowStep, excluded: Collection[int] = ()
) -> list[tuple[User, str | None]]:
    """The users a step past its time limit goes to: (user, via_role)."""
    users: dict[int, tuple[User, str | None]] = {}
    if step.escalate_to_user_id is not None:
        user = session.get(User, step.escalate_to_user_id)
        if user is not None and user.id not in excluded and may_decide(user):
            users[user.id] = (user, None)
    if step.escalate_to_role:
        for user in active_users_with_role(session, step.escalate_to_role):
            if user.id not in excluded:
                users.setdefault(user.id, (user, step.escalate_to_role))
    return list(users.values())


def list_definitions(session: Session, actor: User) -> list[WorkflowDefinition]:
    require_role(actor, "admin")
    return list(
        session.scalars(
            select(WorkflowDefinition)
            .order_by(WorkflowDefinition.id)
            .options(selectinload(WorkflowDefinition.versions).selectinload(WorkflowVersion.steps))
        )
    )


def version_detail(session: Session, actor: User, version_id: int) -> WorkflowVersion:
    require_role(actor, "admin")
    version = session.get(
        WorkflowVersion,
        version_id,
        options=[selectinload(WorkflowVersion.steps), selectinload(WorkflowVersion.definition)],
    )
    if version is None:
        raise NotFound(_("Workflow version {id} does not exist.").format(id=version_id))
    return version


def _whole_number(
    value: Any, what: str, errors: dict[str, str], key: str, maximum: int, locale: str | None
) -> int | None:
    if value in (None, ""):
        return None
    try:
        return parse_whole(value, minimum=1, maximum=maximum, locale=locale)
    except NumberError as error:
        errors[key] = f"{_(what)} {error}"
        return None


def _user_ids(values: Any, errors: dict[str, str], key: str) -> list[int]:
    if values in (None, ""):
        return []
    if not isinstance(values, list) or not all(
        type(v) is int or (isinstance(v, str) and v.isdigit() and len(v) < 12) for v in values
    ):
        errors[key] = _("choose users from the list")
        return []
    return [int(v) for v in values]


def step_spec_from_form(form: dict[str, Any], position: int, locale: str | None = None) -> StepSpec:
    """A StepSpec from the designer's plain values, numbers written as in ``locale``; bad
    numbers are refused by name."""
    errors: dict[str, str] = {}
    key = _("step {position}").format(position=position)
    condition = None
    kind = form.get("condition_kind") or None
    if kind:
        condition = {"kind": kind, "field": form.get("condition_field")}
        if kind in NUMERIC_CONDITION_KINDS:
            try:
                threshold = parse_decimal(form.get("condition_value", ""), locale=locale,
                                          example=50000)  # fmt: skip
            except NumberError as error:
                errors[key] = _("the condition's number {problem}").format(problem=error)
            else:
                name = "percent" if kind.endswith("_pct") else "amount"
                condition[name] = (
                    int(threshold) if threshold == int(threshold) else float(threshold)
                )
    spec = StepSpec(
        name=str(form.get("name") or "").strip(),
        assignee_user_ids=_user_ids(form.get("assignee_user_ids"), errors, key),
        assignee_role=form.get("assignee_role") or None,
        policy=form.get("policy") or "single",
        percentage=_whole_number(
            form.get("percentage"), N_("The percentage"), errors, key, 100, locale
        ),
        condition=condition,
        time_limit_hours=_whole_number(
            form.get("time_limit_hours"),
            N_("The time limit"),
            errors,
            key,
            MAX_TIME_LIMIT_HOURS,
            locale,
        ),  # fmt: skip
        escalate_to_user_id=(_user_ids([form["escalate_to_user_id"]], errors, key) or [None])[0]
        if form.get("escalate_to_user_id")
        else None,
        escalate_to_role=form.get("escalate_to_role") or None,
    )
    if errors:
        raise ValidationFailed(errors)
    return spec


def save_version_from_forms(
    session: Session, actor: User, definition_id: int, forms: list[dict[str, Any]]
) -> WorkflowVersion:
    """Save the designer's plain step values as a new version: admins only, checked before
    any value is read."""
    require_role(actor, "admin")
    if not isinstance(forms, list) or not all(isinstance(form, dict) for form in forms):
        raise ValidationFailed({"steps": _("the steps could not be read")})
    specs = [step_spec_from_form(form, i, actor.locale) for i, form in enumerate(forms, start=1)]
    return save_version(session, actor, definition_id, specs)
