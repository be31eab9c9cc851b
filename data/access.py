"""Which roles may open which area of the app (the navigation follows these rules)."""

from __future__ import annotations

from data.models import ROLES, User

AREAS: dict[str, tuple[str, ...]] = {
    "customers": ROLES,
    "approvals": ("approver", "manager", "admin"),
    "imports": ("clerk",),
    "pending": ("manager",),
    "throughput": ("analyst", "manager"),
    "requests": ("manager", "analyst"),
    "notifications": ROLES,
    "parameters": ("admin",),
    "workflows": ("admin",),
    "users": ("admin",),
}


def can_open(user: User | None, area: str) -> bool:
    return user is not None and user.is_active and user.has_role(*AREAS[area])
