"""The one shared SQLAlchemy model. Schema changes go through Alembic (data/migrations).

Over 500 lines because it is every table and nothing else: the tables' behaviour lives in
the services, their states in data/lifecycle.py."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from data.clock import utcnow
from data.lifecycle import OPEN_STATES

ROLES = ("clerk", "approver", "manager", "analyst", "admin")
POLICIES = ("single", "majority", "percentage", "all")
BEHAVIORS = ("allow", "reject", "propose")

OPEN_STATES_SQL = "state IN (" + ", ".join(f"'{state}'" for state in OPEN_STATES) + ")"


class UTCDateTime(TypeDecorator):
    """Stores naive UTC; always hands back an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    """The user's language and number format ("en", "it"); None: from the browser."""
    time_zone: Mapped[str | None] = mapped_column(String(64))
    """The IANA time zone times are shown in (the browser's); None: UTC."""
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped on sign-out and password reset: every earlier session cookie stops working."""
    email: Mapped[str | None] = mapped_column(String(254))
    """Where email notices go (none: in-app notifications only)."""
    is_service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    """A service account (another system: a CRM, a web shop): it calls the API with its
    tokens and never signs in with a password."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(row.role for row in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class Parameters(Base):
    """The single row of Accounts receivable parameters (id 1)."""

    __tablename__ = "parameters"

    id: Mapped[int] = mapped_column(primary_key=True)
    approvals_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    data_entity_behavior: Mapped[str] = mapped_column(String(10), default="allow")
    disallow_submitter_approval: Mapped[bool] = mapped_column(Boolean, default=True)
    link_hours: Mapped[int] = mapped_column(Integer, default=72, server_default="72")
    """How long the Approve and Reject links in an email work."""
    link_requires_sign_in: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    """Whether those links ask the recipient to sign in before they decide."""
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CustomerGroup(Base):
    """A customer group, set up by an administrator: customers are put in one of these,
    picked from the list, never typed."""

    __tablename__ = "customer_groups"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    description: Mapped[str] = mapped_column(String(60), default="")


class ReasonCode(Base):
    """Why a request is rejected or sent back: an administrator's list, asked for at each
    Reject and Request change, counted on the Throughput page."""

    __tablename__ = "reason_codes"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class FieldSetting(Base):
    """The per-field Enable checkbox: a gated field needs approval."""

    __tablename__ = "field_settings"

    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    gated: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_justification: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    """A request that changes this field is submitted with a justification."""


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    customer_group: Mapped[str] = mapped_column(String(10), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    on_hold: Mapped[str] = mapped_column(String(10), default="No")
    credit_limit: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    mandatory_credit_limit: Mapped[bool] = mapped_column(Boolean, default=False)
    credit_rating: Mapped[str | None] = mapped_column(String(10))
    exclude_interest_charges: Mapped[bool] = mapped_column(Boolean, default=False)
    exclude_collection_fee: Mapped[bool] = mapped_column(Boolean, default=False)
    terms_of_payment: Mapped[str | None] = mapped_column(String(10))
    payment_terms_base_days: Mapped[int | None] = mapped_column(Integer)
    method_of_payment: Mapped[str | None] = mapped_column(String(10))
    payment_specification: Mapped[str | None] = mapped_column(String(10))
    cash_discount: Mapped[str | None] = mapped_column(String(10))
    bank_account: Mapped[str | None] = mapped_column(String(34))
    sales_tax_group: Mapped[str | None] = mapped_column(String(10))
    tax_exempt_number: Mapped[str | None] = mapped_column(String(25))
    invoice_account: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(60))
    postal_code: Mapped[str | None] = mapped_column(String(12))
    country: Mapped[str | None] = mapped_column(String(2))
    email: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_customers_name_lower", func.lower(name)),
        # a country's customers in the grid's order by name: a filter on the country
        # sorted by name reads (and skips) index entries alone
        Index("ix_customers_country_name", country, name, account),
    )


class ChangeRequest(Base):
    """A customer's set of proposed changes and its way through the workflow."""

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_submitted_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, index=True, active_history=True
    )
    """When the request was first submitted (``submitted_at`` moves on each resubmission)."""
    decided_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, index=True, active_history=True
    )
    workflow_version_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_versions.id"))
    round: Mapped[int] = mapped_column(Integer, default=0)
    last_comment: Mapped[str | None] = mapped_column(Text)
    justification: Mapped[str | None] = mapped_column(Text)
    """Why the changes are asked for, given at Submit (required for some fields)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer: Mapped[Customer] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    workflow_version: Mapped[WorkflowVersion | None] = relationship()
    changes: Mapped[list[ProposedChange]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ProposedChange.id"
    )
    steps: Mapped[list[RequestStep]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="(RequestStep.round, RequestStep.position)",
    )
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestEvent.id"
    )
    author_rows: Mapped[list[RequestAuthor]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_change_requests_state_first", "state", "first_submitted_at"),
        Index("ix_change_requests_state_submitted", "state", "submitted_at"),
        Index(
            "uq_change_requests_one_open_per_customer",
            "customer_id",
            unique=True,
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def change_for(self, field: str) -> ProposedChange | None:
        return next((change for change in self.changes if change.field == field), None)

    @property
    def author_ids(self) -> frozenset[int]:
        """Everyone who created, proposed, edited, discarded or submitted any of it."""
        return frozenset(row.user_id for row in self.author_rows)

    def add_author(self, user_id: int) -> None:
        if user_id not in self.author_ids:
            self.author_rows.append(RequestAuthor(user_id=user_id))


class RequestAuthor(Base):
    """A user who shaped a request; segregation of duties keeps them from deciding it."""

    __tablename__ = "request_authors"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class ProposedChange(Base):
    __tablename__ = "proposed_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(40), index=True)
    original_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ChangeRequest] = relationship(back_populates="changes")
    proposed_by: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("request_id", "field"),)


class WorkflowDefinition(Base):
    __tablename__ = "workflow_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40), default="proposed_customer_change")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[WorkflowVersion]] = relationship(
        back_populates="definition", order_by="WorkflowVersion.number"
    )


class WorkflowVersion(Base):
    __tablename__ = "workflow_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("workflow_definitions.id"))
    number: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    definition: Mapped[WorkflowDefinition] = relationship(back_populates="versions")
    steps: Mapped[list[WorkflowStep]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="WorkflowStep.position"
    )

    __table_args__ = (
        UniqueConstraint("definition_id", "number"),
        Index(
            "uq_workflow_versions_one_active",
            "is_active",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )


class WorkflowStep(Base):
    __tablename__ = "workflow_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("workflow_versions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    assignee_role: Mapped[str | None] = mapped_column(String(20))
    policy: Mapped[str] = mapped_column(String(20), default="single")
    percentage: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[dict | None] = mapped_column(JSON)
    time_limit_hours: Mapped[int | None] = mapped_column(Integer)
    escalate_to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalate_to_role: Mapped[str | None] = mapped_column(String(20))

    version: Mapped[WorkflowVersion] = relationship(back_populates="steps")
    assignee_rows: Mapped[list[WorkflowStepUser]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    escalate_to_user: Mapped[User | None] = relationship()

    @property
    def assignee_user_ids(self) -> list[int]:
        return [row.user_id for row in self.assignee_rows]


class WorkflowStepUser(Base):
    __tablename__ = "workflow_step_users"

    step_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_steps.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class RequestStep(Base):
    """One workflow step as it runs for one submission round of a request."""

    __tablename__ = "request_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    workflow_step_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_steps.id"))
    name: Mapped[str] = mapped_column(String(100))
    policy: Mapped[str] = mapped_column(String(20))
    percentage: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="waiting", index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, index=True, active_history=True
    )
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When its deciders were reminded that its time limit is near."""
    overdue_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When its deciders were told it is past its time limit."""
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the step's round was submitted (the request's ``submitted_at`` while the
    round runs): the pending dashboard ages running steps without reading requests."""

    request: Mapped[ChangeRequest] = relationship(back_populates="steps")
    workflow_step: Mapped[WorkflowStep | None] = relationship()
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="step", cascade="all, delete-orphan", order_by="Assignment.id"
    )

    __table_args__ = (
        Index("ix_request_steps_running", "state", "name", "submitted_at", "due_at"),
    )


class Assignment(Base):
    """A user asked to decide a running step, and what they decided."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_step_id: Mapped[int] = mapped_column(
        ForeignKey("request_steps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    via: Mapped[str] = mapped_column(String(20), default="user")
    via_role: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    decided_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, index=True, active_history=True
    )
    comment: Mapped[str | None] = mapped_column(Text)
    delegated_from_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    step: Mapped[RequestStep] = relationship(back_populates="assignments")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    delegated_from: Mapped[User | None] = relationship(foreign_keys=[delegated_from_id])

    __table_args__ = (
        Index("ix_assignments_user_state_created", "user_id", "state", "created_at", "via"),
        # an approver's assignments in one state with their steps, in the steps' order: the
        # inbox counts overdue and decided requests from this index and steps read in turn
        Index("ix_assignments_user_state_step", "user_id", "state", "request_step_id"),
        Index("ix_assignments_user_decided", "user_id", "decided_at"),
    )


class RequestEvent(Base):
    """The workflow history of a request: every action with who, when and comment."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(30))
    step_name: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(20))
    """The reason code of a Reject or Request change (ReasonCode)."""
    details: Mapped[dict | None] = mapped_column(JSON)

    request: Mapped[ChangeRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_request_events_action_at", "action", "at"),)


class ActivityRollup(Base):
    """Counts of dashboard facts per UTC hour (level "h") and UTC day ("d"), of every request
    or of those a filter picks (``dim``); see data.rollups."""

    __tablename__ = "activity_rollups"

    dim: Mapped[str] = mapped_column(String(110), primary_key=True)
    """"" for every request; "f:<field>", "s:<step>", "a:<user id>", "g:<customer group>"
    for the requests that filter picks (day level only)"""
    level: Mapped[str] = mapped_column(String(1), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    """hours (level "h") or days (level "d") since 1970-01-01 UTC"""
    metric: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0,
                                      server_default=text("0"))  # fmt: skip
    """a count is kept in parts, summed when read: concurrent transactions add to parts of
    their own (data.rollups.PARTS), and old parts are folded into part 0"""
    n: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # the parts waiting to be folded
        Index("ix_activity_rollups_parts", "level", "slot",
              sqlite_where=text("part <> 0"), postgresql_where=text("part <> 0")),
        {"sqlite_with_rowid": False},
    )  # fmt: skip


class AuditEntry(Base):
    """Append-only trail of every applied change (database triggers refuse edits)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    entity: Mapped[str] = mapped_column(String(20), default="customer")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User | None] = relationship()


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    behavior: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="running")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    proposed_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Last sign of life of the job running it: a running batch silent for long was cut off."""
    message: Mapped[str | None] = mapped_column(Text)
    """How it ended, for a person, when it did not simply finish."""

    created_by: Mapped[User] = relationship()
    rows: Mapped[list[ImportRow]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="ImportRow.row_number"
    )


class ImportRow(Base):
    __tablename__ = "import_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(Integer)
    account: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)

    batch: Mapped[ImportBatch] = relationship(back_populates="rows")


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"))
    text: Mapped[str] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for the JSON API, kept only as the SHA-256 of its secret; calls made
    with it run as its user, under that user's roles."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    """The token's public part, shown in lists (cs_<prefix>_<secret>)."""
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class IdempotencyKey(Base):
    """The first answer to a POST or PATCH sent with an Idempotency-Key, written in the same
    transaction as what it did: a repeat within the retention replays it."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the method, path and body: the same key with another request is refused."""
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxEvent(Base):
    """Something other systems may be told (a request submitted, decided or applied, a
    customer changed), written in the same transaction as the change it reports; its id
    orders the events, ``event_id`` names it to receivers (who deduplicate on it)."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    account: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Base):
    """An address that receives the events it subscribes to, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    fanned_out_to: Mapped[int] = mapped_column(Integer, default=0)
    """The last outbox event given a delivery for this endpoint."""
    busy_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """A sender's lease: while it runs, no other sender sends to this endpoint."""


class WebhookDelivery(Base):
    """One event for one endpoint: pending until a 2xx answer, retried with backoff."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[OutboxEvent] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()

    __table_args__ = (Index("ix_webhook_deliveries_due", "endpoint_id", "state", "id"),)


class WebhookAttempt(Base):
    """Each try at a delivery: when, the answer's status or the error, how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    milliseconds: Mapped[int] = mapped_column(Integer)


class LoginFailure(Base):
    """Recent failed sign-ins per user name (known or not), for the lockout."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(40), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailPreference(Base):
    """How a user wants one kind of notice by email: at once, in a daily digest, or not."""

    __tablename__ = "email_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12))


class EmailMessage(Base):
    """An email notice: written in the transaction of what it tells (an outbox), then
    rendered and sent by the background worker; a digest's lines wait for its hour."""

    __tablename__ = "email_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"))
    text: Mapped[str] = mapped_column(Text)
    """The notice in the recipient's language (a digest's line; the subject)."""
    state: Mapped[str] = mapped_column(String(10), default="pending")
    """pending, digest (waits for the daily digest), sent, skipped (no longer theirs),
    failed (refused, or retried for a day)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    busy_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_email_messages_due", "state", "next_attempt_at"),)


class Absence(Base):
    """A user away (out of office) between two moments, and who decides for them meanwhile:
    in every workflow, or in one."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_definitions.id"))
    """None: every workflow."""
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    """The first moment they are back (midnight after the last day away, their time)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])
    definition: Mapped[WorkflowDefinition | None] = relationship()


class RequestComment(Base):
    """A comment in a request's thread, visible to all who can see the request."""

    __tablename__ = "request_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    user: Mapped[User] = relationship()


class RequestAttachment(Base):
    """A document attached to a request (PDF, PNG or JPEG, its type read from its content),
    downloadable by those who may see the request; its SHA-256 is in the audit trail."""

    __tablename__ = "request_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship()
