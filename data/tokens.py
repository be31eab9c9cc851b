"""API tokens and service accounts: how another system calls the JSON API as a user.

A token is ``cs_<prefix>_<secret>``: the prefix finds it, the SHA-256 of the whole token
(random, 256 bits, so a fast hash suffices) proves it. Only the hash is kept; the token is
shown once, when it is made. A call with a token runs as the token's user, through the
same services and role checks as that user's screens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from data.clock import utcnow
from data.errors import NotFound, ValidationFailed
from data.i18n import N_, _
from data.models import ApiToken, User, UserRole
from data.users import (
    _check_roles,
    forget_role_holders,
    get_user,
    new_username,
    require_role,
)

DEFAULT_DAYS = 90
MAX_DAYS = 730
LAST_USE_EVERY = timedelta(minutes=1)
"""A token's last use is written at most this often (not a write per call)."""
SERVICE_PASSWORD = "!"
"""A service account's password hash: no password ever matches it."""
REFUSED = N_("A valid API token is required: send it as 'Authorization: Bearer <token>'.")


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is the only time the token is seen in full."""

    id: int
    secret: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, actor: User, user_id: int, name: str, days: int = DEFAULT_DAYS
) -> NewToken:
    """An administrator makes a token for a user or a service account."""
    require_role(actor, "admin")
    user = get_user(session, user_id)
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("is required")
    elif len(name) > 60:
        errors["name"] = _("must be at most {count} characters").format(count=60)
    if type(days) is not int or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("must be a whole number of days from 1 to {maximum}").format(
            maximum=MAX_DAYS
        )
    if not user.is_active:
        errors["user"] = _("{name} is not active").format(name=user.full_name)
    if errors:
        raise ValidationFailed(errors)
    prefix = secrets.token_hex(6)
    secret = f"cs_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        secret_hash=_digest(secret),
        created_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return NewToken(token.id, secret, token.expires_at)


def authenticate(session: Session, presented: str | None) -> User | None:
    """The active user a presented token belongs to; None for a missing, malformed,
    unknown, expired or revoked token, or an inactive user (the caller cannot tell which)."""
    if not presented or len(presented) > 200:
        return None
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "cs":
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(presented)):
        return None
    now = utcnow()
    if token.revoked_at is not None or token.expires_at <= now:
        return None
    user = token.user
    if not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_EVERY:
        token.last_used_at = now
    return user


def revoke_token(session: Session, actor: User, token_id: int) -> ApiToken:
    require_role(actor, "admin")
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_("API token {id} does not exist.").format(id=token_id))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def list_tokens(session: Session, actor: User) -> list[ApiToken]:
    """Every token, newest first, with its user: for the Users page."""
    require_role(actor, "admin")
    return list(session.scalars(select(ApiToken).options(joinedload(ApiToken.user))
                                .order_by(ApiToken.id.desc())))  # fmt: skip


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """A token's state as a message id: Active, Expired or Revoked."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return N_("Revoked")
    if token.expires_at <= now:
        return N_("Expired")
    return N_("Active")


def create_service_account(
    session: Session, actor: User, username: str, full_name: str, roles: list[str]
) -> User:
    """A user for another system (a CRM, a web shop): it has roles and tokens, and no
    password, so it never signs in to the screens."""
    require_role(actor, "admin")
    username, errors = new_username(session, username)
    if not (full_name or "").strip():
        errors["full_name"] = _("is required")
    if not roles:
        errors["roles"] = _("choose at least one role")
    if "admin" in roles:
        errors["roles"] = _("a service account cannot be an administrator")
    if errors:
        raise ValidationFailed(errors)
    user = User(username=username, full_name=full_name.strip(), password_hash=SERVICE_PASSWORD,
                is_service=True)  # fmt: skip
    user.role_rows = [UserRole(role=role) for role in _check_roles(roles)]
    forget_role_holders(session)
    session.add(user)
    session.flush()
    return user

