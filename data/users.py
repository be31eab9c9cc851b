"""Users, roles, passwords, and the role checks every service starts with."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from data.labels import ROLE_LABELS
from data.models import ROLES, LoginFailure, User, UserRole

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 4


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
        raise PermissionDenied("Sign in with an active account to do this.")
    if not actor.has_role(*roles):
        needed = " or ".join(ROLE_LABELS[role] for role in roles)
        raise PermissionDenied(f"You need the {needed} role to do this.")
    return actor


def require_active(actor: User | None) -> User:
    if actor is None or not actor.is_active:
        raise PermissionDenied("Sign in with an active account to do this.")
    return actor


def _check_roles(roles: list[str] | set[str] | tuple[str, ...]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValidationFailed({"roles": "unknown role: " + ", ".join(unknown)})
    return sorted(set(roles))


def add_user(
    session: Session, username: str, full_name: str, password: str, roles: list[str]
) -> User:
    """Create a user with no permission check: for the seed and the command line."""
    errors: dict[str, str] = {}
    username = username.strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = "use letters, digits, dots and underscores"
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = f"{username} is already taken"
    if not full_name.strip():
        errors["full_name"] = "is required"
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=username, full_name=full_name.strip(), password_hash=hash_password(password)
    )
    user.role_rows = [UserRole(role=role) for role in _check_roles(roles)]
    session.add(user)
    session.flush()
    return user


def create_user(
    session: Session, actor: User, username: str, full_name: str, password: str, roles: list[str]
) -> User:
    require_role(actor, "admin")
    return add_user(session, username, full_name, password, roles)


def set_roles(session: Session, actor: User, user_id: int, roles: list[str]) -> User:
    require_role(actor, "admin")
    user = get_user(session, user_id)
    wanted = set(_check_roles(roles))
    if user.id == actor.id and "admin" not in wanted:
        raise ValidationFailed({"roles": "you cannot remove your own Admin role"})
    user.role_rows = [row for row in user.role_rows if row.role in wanted] + [
        UserRole(role=role) for role in sorted(wanted - user.roles)
    ]
    session.flush()
    return user


def set_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    require_role(actor, "admin")
    user = get_user(session, user_id)
    if user.id == actor.id and not active:
        raise ValidationFailed({"is_active": "you cannot deactivate yourself"})
    user.is_active = active
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
LOCKED_MESSAGE = (
    "Too many failed sign-ins with this user name. Wait 15 minutes and try again."
)


class SignInLocked(DomainError):
    """Sign-ins for this user name are paused after repeated failures."""


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (never says which part was wrong).

    Every user name, known or not, is locked for 15 minutes after 5 failures
    within 15 minutes, with the same message either way; the failures are
    written in this transaction, so the caller commits them.
    """
    key = username.strip().lower()[:40]
    now = utcnow()
    record = session.get(LoginFailure, key, with_for_update=True)
    if record is not None and record.locked_until is not None and record.locked_until > now:
        _hasher.hash(password)  # spend the same time as a real check
        raise SignInLocked(LOCKED_MESSAGE)
    user = session.scalar(select(User).where(User.username == key))
    if user is None:
        _hasher.hash(password)
    elif password_matches(user.password_hash, password) and user.is_active:
        if record is not None:
            session.delete(record)
        return user
    if record is None:
        record = LoginFailure(username=key, failures=0, first_failed_at=now)
        session.add(record)
    elif now - record.first_failed_at > FAILURE_WINDOW or record.locked_until is not None:
        record.failures, record.first_failed_at, record.locked_until = 0, now, None
    record.failures += 1
    if record.failures >= MAX_FAILURES:
        record.locked_until = now + LOCKOUT
    session.flush()
    return None


def end_sessions(session: Session, user_id: int) -> None:
    """Sign the user out everywhere: every session cookie issued so far stops working."""
    user = session.get(User, user_id, with_for_update=True)
    if user is not None:
        user.session_epoch = (user.session_epoch or 0) + 1


def active_users_with_role(session: Session, role: str) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == role, User.is_active.is_(True))
            .order_by(User.username)
        )
    )


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
) -> list[str]:
    """Set a user's roles and status, and reset the password when one is given."""
    require_role(actor, "admin")
    user = get_user(session, user_id)
    changes = []
    if set(roles) != user.roles:
        set_roles(session, actor, user_id, roles)
        changes.append("roles")
    if active != user.is_active:
        set_active(session, actor, user_id, active)
        changes.append("activated" if active else "deactivated")
    if new_password:
        if len(new_password) < MIN_PASSWORD_LENGTH:
            raise ValidationFailed(
                {"password": f"must be at least {MIN_PASSWORD_LENGTH} characters"}
            )
        user.password_hash = hash_password(new_password)
        user.session_epoch = (user.session_epoch or 0) + 1
        changes.append("password reset")
    session.flush()
    return changes


def user_detail(session: Session, actor: User, user_id: int) -> User:
    require_role(actor, "admin")
    return get_user(session, user_id)
