"""Status badges: one colour per change-request state."""

from __future__ import annotations

import dash_bootstrap_components as dbc

from data.labels import REQUEST_STATE_LABELS, ROLE_LABELS

STATE_COLOURS = {
    "draft": "secondary",
    "pending": "warning",
    "change_requested": "info",
    "approved": "success",
    "rejected": "danger",
    "discarded": "light",
}


def status_badge(state: str) -> dbc.Badge:
    return dbc.Badge(
        REQUEST_STATE_LABELS.get(state, state),
        color=STATE_COLOURS.get(state, "secondary"),
        text_color="dark" if state in ("pending", "change_requested", "discarded") else None,
        className="status-badge",
        pill=True,
    )


def role_badges(roles) -> list:
    return [
        dbc.Badge(ROLE_LABELS[role], color="light", text_color="dark", className="me-1 border")
        for role in sorted(roles)
    ]
