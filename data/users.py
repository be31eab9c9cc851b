"""Users, roles, passwords, and the role checks every service starts with."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from types import EllipsisType
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from data.i18n import N_, _
from data.labels import ROLE_LABELS
from data.localtime import zone_name
from data.models import ROLES, LoginFailure, User, UserRole
from data.numbers import LOCALES

if TYPE_CHECKING:
    from data.db import Database

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
"""For every password a person chooses (NIST SP 800-63B asks at least 8; 12 here)."""
MAX_PASSWORD_LENGTH = 256
USERNAME_PATTERN = re.compile(r"^[\w.]+$")


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most used passwords (zxcvbn's list, from leaked password sets)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def new_password_problem(password: str, username: str = "") -> str | None:
    """Why a password a person chooses is refused (short, common, their user name), or None."""
    problem = None
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = _("must be at least {count} characters").format(count=MIN_PASSWORD_LENGTH)
    elif len(password) > MAX_PASSWORD_LENGTH:
        problem = _("must be at most {count} characters").format(count=MAX_PASSWORD_LENGTH)
    elif password.lower() in _common_passwords() or len(set(password)) < 4:
        problem = _("is one of the most common passwords; choose another")
    elif username and username.lower() in password.lower():
        problem = "must not contain the user name"
    return problem


def check_new_password(password: str, username: str = "") -> None:
    problem = new_password_problem(password, username)
    if problem:
        raise ValidationFailed(
            {"password": problem}, _("Password {problem}.").format(problem=problem)
        )


def _script(character: str) -> str | None:
    """The writing system of a letter ("LATIN", "CYRILLIC", …); None for digits and marks."""
    if not character.isalpha():
        return None
    return unicodedata.name(character, "UNKNOWN").split(" ")[0]


def normalise_username(raw: str) -> str:
    """The one spelling of a user name: NFKC (fullwidth ａ is a, ２ is 2), trimmed, lower."""
    return unicodedata.normalize("NFKC", raw or "").strip().lower()


def username_problem(username: str) -> str | None:
    """Why a (normalised) user name cannot be used, or None."""
    if not username or len(username) > 40 or not USERNAME_PATTERN.match(username):
        return _("use letters, digits, dots and underscores (at most 40)")
    if len({script for script in map(_script, username) if script}) > 1:
        return _("use letters of one alphabet only (no look-alike letters from another)")
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def require_role(actor: User | None, *roles: str) -> User:
    """Return the actor if active and holding one of ``roles``; else PermissionDenied."""
    if actor is None or not actor.is_active:
        raise PermissionDenied(_("Sign in with an active account to do this."))
    if not actor.has_role(*roles):
        needed = _(" or ").join(ROLE_LABELS[role] for role in roles)
        raise PermissionDenied(_("You need the {role} role to do this.").format(role=needed))
    return actor


def delegate_candidates(session: Session, actor: User) -> list[User]:
    """Whom ``actor`` may hand a decision to: every other active approver, by name."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == "approver", User.is_active.is_(True), User.id != actor.id)
            .order_by(User.full_name)
        )
    )


def require_active(actor: User | None) -> User:
    if actor is None or not actor.is_active:
        raise PermissionDenied(_("Sign in with an active account to do this."))
    return actor


def _check_roles(roles: list[str] | set[str] | tuple[str, ...]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValidationFailed(
            {"roles": _("unknown role: {roles}").format(roles=", ".join(unknown))}
        )
    return sorted(set(roles))


def new_username(session: Session, raw: str) -> tuple[str, dict[str, str]]:
    """A new user's name as it is kept, and what is wrong with it (free, well formed)."""
    username = normalise_username(raw)
    problem = username_problem(username)
    if not problem and session.scalar(select(User.id).where(User.username == username)):
        problem = _("{username} is already taken").format(username=username)
    return username, {"username": problem} if problem else {}


def add_user(
    session: Session,
    username: str,
    full_name: str,
    password: str,
    roles: list[str],
    *,
    password_policy: bool = False,
) -> User:
    """Create a user with no permission check: for the seed and the command line.

    ``password_policy``: the password is one a person chose now, held to
    ``new_password_problem`` (the demo seed's and the tests' are not)."""
    username, errors = new_username(session, username)
    if not full_name.strip():
        errors["full_name"] = "is required"
    if not password:
        errors["password"] = "is required"
    elif password_policy and (problem := new_password_problem(password, username)):
        errors["password"] = problem
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=username, full_name=full_name.strip(), password_hash=hash_password(password)
    )
    user.role_rows = [UserRole(role=role) for role in _check_roles(roles)]
    forget_role_holders(session)
    session.add(user)
    session.flush()
    return user


def create_user(
    session: Session, actor: User, username: str, full_name: str, password: str, roles: list[str]
) -> User:
    require_role(actor, "admin")
    return add_user(session, username, full_name, password, roles, password_policy=True)


def set_roles(session: Session, actor: User, user_id: int, roles: list[str]) -> User:
    require_role(actor, "admin")
    user = get_user(session, user_id)
    wanted = set(_check_roles(roles))
    if user.id == actor.id and "admin" not in wanted:
        raise ValidationFailed({"roles": _("you cannot remove your own Admin role")})
    forget_role_holders(session)
    user.role_rows = [row for row in user.role_rows if row.role in wanted] + [
        UserRole(role=role) for role in sorted(wanted - user.roles)
    ]
    session.flush()
    _release_assignments(session, user, _("no longer holds a role that decides approvals"))
    return user


def set_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    require_role(actor, "admin")
    user = get_user(session, user_id)
    if user.id == actor.id and not active:
        raise ValidationFailed({"is_active": _("you cannot deactivate yourself")})
    user.is_active = active
    forget_role_holders(session)
    # every session cookie issued before, by the old or the new status, stops working
    user.session_epoch = (user.session_epoch or 0) + 1
    session.flush()
    if not active:
        _release_assignments(session, user, _("was deactivated"))
    return user


def _release_assignments(session: Session, user: User, reason: str) -> None:
    from data.requests import release_undecidable_assignments  # requests imports this module

    release_undecidable_assignments(session, user, reason)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("User {id} does not exist.").format(id=user_id))
    return user


MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
LOCKED_MESSAGE = N_("Too many failed sign-ins with this user name. Wait 15 minutes and try again.")


class SignInLocked(DomainError):
    """Sign-ins for this user name are paused after repeated failures."""


BUSY_MESSAGE = N_("Signing in is busy right now; wait a moment and try again.")


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, as the session cookie names them."""

    user_id: int
    session_epoch: int


def _count_attempt(session: Session, key: str) -> bool:
    """Count a sign-in attempt for ``key`` before its password is looked at; False when
    the name is paused (the pause, if this attempt starts it, is written too).

    The first statement writes (an insert that does nothing when the row is
    there), so SQLite takes its write lock at once and parallel attempts queue
    instead of failing to upgrade a read lock; PostgreSQL locks the row.
    """
    now = utcnow()
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(LoginFailure)
        .values(username=key, failures=0, first_failed_at=now)
        .on_conflict_do_nothing()
    )
    record = session.get(LoginFailure, key, with_for_update=True, populate_existing=True)
    if record.locked_until is not None and record.locked_until > now:
        return False
    if now - record.first_failed_at > FAILURE_WINDOW or record.locked_until is not None:
        record.failures, record.first_failed_at, record.locked_until = 0, now, None
    if record.failures >= MAX_FAILURES:
        record.locked_until = now + LOCKOUT
        return False
    record.failures += 1  # taken back if the password turns out right
    return True


def sign_in(database: Database, username: str, password: str) -> SignedIn | None:
    """The active user with these credentials, or None (never says which part was wrong).

    Every user name, known or not, is paused for 15 minutes after 5 failures
    within 15 minutes, with the same message either way. Each attempt is
    counted (committed) before its password is checked: an attempt that
    cannot be counted is refused unchecked (``SignInLocked`` with a busy
    message), so parallel guesses never get past the count.
    """
    key = normalise_username(username)[:40]
    if not key or not password or len(password) > MAX_PASSWORD_LENGTH:
        _hasher.hash(password or "-")  # spend the same time as a real check
        return None
    try:
        may_check = database.run(_count_attempt, key)
    except (SQLAlchemyError, DomainError):
        raise SignInLocked(BUSY_MESSAGE) from None
    if not may_check:
        _hasher.hash(password)
        raise SignInLocked(LOCKED_MESSAGE)
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == key))
        found = (user.id, user.password_hash, user.is_active, user.session_epoch) if user else None
    if found is None:
        _hasher.hash(password)
        return None
    user_id, password_hash, active, epoch = found
    if not (password_matches(password_hash, password) and active):
        return None
    try:
        database.run(_forget_failures, key)
    except (SQLAlchemyError, DomainError):
        raise SignInLocked(BUSY_MESSAGE) from None
    return SignedIn(user_id, epoch or 0)


def _forget_failures(session: Session, key: str) -> None:
    record = session.get(LoginFailure, key, with_for_update=True)
    if record is not None:
        session.delete(record)


def end_sessions(session: Session, user_id: int) -> None:
    """Sign the user out everywhere: every session cookie issued so far stops working."""
    user = session.get(User, user_id, with_for_update=True)
    if user is not None:
        user.session_epoch = (user.session_epoch or 0) + 1


def set_locale(session: Session, actor: User, locale: str) -> User:
    """The signed-in user's own language and number format."""
    require_active(actor)
    if locale not in LOCALES:
        raise ValidationFailed({"locale": "choose " + " or ".join(LOCALES.values())})
    actor.locale = locale
    session.flush()
    return actor


def adopt_time_zone(session: Session, actor: User, zone: object) -> bool:
    """The signed-in user's browser reported its IANA time zone: times are shown in it.
    Writes only when it changed; returns whether it did."""
    require_active(actor)
    name = zone_name(zone)
    if name is None or actor.time_zone == name:
        return False
    actor.time_zone = name
    session.flush()
    return True


def adopt_browser_locale(session: Session, user_id: int, locale: str | None) -> None:
    """A user who never chose a language gets the browser's (kept on the user)."""
    user = session.get(User, user_id)
    if user is not None and user.locale is None and locale in LOCALES:
        user.locale = locale


def active_users_with_role(session: Session, role: str) -> list[User]:
    """The active holders of ``role``, read once per unit of work (a submission asks for
    each step's role twice: to plan the round and to start its first step); any change to
    users' roles or status in the unit of work forgets it."""
    cache = session.info.setdefault(ROLE_HOLDERS, {})
    if role not in cache:
        cache[role] = list(
            session.scalars(
                select(User)
                .join(UserRole)
                .where(UserRole.role == role, User.is_active.is_(True))
                .order_by(User.username)
            )
        )
    return list(cache[role])


ROLE_HOLDERS = "active role holders"


def forget_role_holders(session: Session) -> None:
    session.info.pop(ROLE_HOLDERS, None)


def checked_email(raw: str | None) -> str | None:
    """A user's email address in its normal form (blank: none), or ValidationFailed."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationFailed(
            {"email": _("must be an email address, such as name@example.com")}
        ) from None


def list_users(session: Session, actor: User) -> list[User]:
    require_role(actor, "admin")
    return list(session.scalars(select(User).order_by(User.username)))


def update_user(
    session: Session,
    actor: User,
    user_id: int,
    *,
    roles: list[str],
    active: bool,
    new_password: str | None = None,
    email: str | None | EllipsisType = ...,
) -> list[str]:
    """Set a user's roles and status (and email address, when one is given: blank clears
    it), and reset the password when one is given."""
    require_role(actor, "admin")
    user = get_user(session, user_id)
    changes = []
    address = user.email if email is ... else checked_email(email)
    if address != user.email:
        user.email = address
        changes.append(_("email address"))
    if set(roles) != user.roles:
        set_roles(session, actor, user_id, roles)
        changes.append(_("roles"))
    if active != user.is_active:
        set_active(session, actor, user_id, active)
        changes.append(_("activated") if active else _("deactivated"))
    if new_password:
        check_new_password(new_password, user.username)
        user.password_hash = hash_password(new_password)
        user.session_epoch = (user.session_epoch or 0) + 1
        changes.append(_("password reset"))
    session.flush()
    return changes


def user_detail(session: Session, actor: User, user_id: int) -> User:
    require_role(actor, "admin")
    return get_user(session, user_id)
