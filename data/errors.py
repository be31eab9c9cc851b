"""Domain errors. Each carries a message fit to show a person."""

from __future__ import annotations

from data.i18n import N_, gettext


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PermissionDenied(DomainError):
    """The acting user may not do this."""


class NotFound(DomainError):
    """The thing asked for does not exist."""


class InvalidTransition(DomainError):
    """The request is not in a state that allows this action."""


class ValidationFailed(DomainError):
    """One or more values are invalid; ``errors`` maps field name to message."""

    def __init__(self, errors: dict[str, str], message: str | None = None):
        self.errors = dict(errors)
        if message is None:
            message = "; ".join(readable(field, text) for field, text in self.errors.items())
        super().__init__(message)


KEY_LABELS = {
    "comment": N_("Comment"),
    "starts_on": N_("First day away"),
    "ends_on": N_("Last day away"),
    "delegate": N_("Who decides for you meanwhile"),
    "workflow": N_("Workflow"),
    "reason": N_("Reason"),
    "justification": N_("Justification"),
    "reason_code": N_("Code"),
    "reason_label": N_("Reason"),
    "link_hours": N_("Email decision links work for (hours)"),
    "to_user": N_("Person"),
    "file": N_("File"),
    "roles": N_("Roles"),
    "password": N_("Password"),
    "username": N_("User name"),
    "full_name": N_("Name"),
    "changes": N_("Proposed changes"),
    "gated": N_("Customer fields"),
}
"""How a person calls the values that are not customer fields."""


def readable(key: str, text: str) -> str:
    """A refusal a person reads: "Credit limit must not be negative", "Comment: is required
    to reject", not "comment: is required to reject" (a text that names its subject
    already stays as it is)."""
    if text[:1].isupper():
        return text
    from data.fields import FIELDS_BY_NAME  # the catalogue's labels, read when needed

    spec = FIELDS_BY_NAME.get(key)
    name = spec.label if spec else gettext(KEY_LABELS.get(key, key.replace("_", " ").capitalize()))
    return f"{name} {text}" if spec else f"{name}: {text}"


class StaleChange(DomainError):
    """Proposals whose original value no longer matches the customer.

    ``fields`` lists the stale field names; approving needs explicit confirmation.
    """

    def __init__(self, fields: list[str], message: str):
        super().__init__(message)
        self.fields = list(fields)


class Conflict(DomainError):
    """Someone else changed the same data at the same moment."""
