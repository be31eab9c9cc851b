"""Which roles may open which area of the app (the navigation follows these rules)."""

from __future__ import annotations

from data.models import ROLES, User

AREAS: dict[str, tuple[str, ...]] = {
    "customers": ROLES,
    "approvals": ("approver", "manager", "admin"),
    "imports": ("clerk",),
    "my_requests": ("clerk",),
    "pending": ("manager",),
    "throughput": ("analyst", "manager"),
    "requests": ("manager", "analyst"),
    "notifications": ROLES,
    "parameters": ("admin",),
    "workflows": ("admin",),
    "users": ("admin",),
    "webhooks": ("admin",),
}


def can_open(user: User | None, area: str) -> bool:
    return user is not None and user.is_active and user.has_role(*AREAS[area])


DECIDING_ROLES = ("approver", "manager")
"""Roles that may decide a step they are asked to decide (also through a named
assignment, a delegation or a reassignment)."""


def may_decide(user: User | None, via_role: str | None = None) -> bool:
    """Whether ``user`` may decide an assignment now: active, and holding a deciding role
    or the role the step asked (``via_role``). Checked at every decision, not only when
    the assignment was made."""
    if user is None or not user.is_active:
        return False
    return user.has_role(*DECIDING_ROLES) or (via_role is not None and user.has_role(via_role))
