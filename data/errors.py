"""Domain errors. Each carries a message fit to show a person."""

from __future__ import annotations


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
            message = "; ".join(f"{field}: {text}" for field, text in self.errors.items())
        super().__init__(message)


class StaleChange(DomainError):
    """Proposals whose original value no longer matches the customer.

    ``fields`` lists the stale field names; approving needs explicit confirmation.
    """

    def __init__(self, fields: list[str], message: str):
        super().__init__(message)
        self.fields = list(fields)


class Conflict(DomainError):
    """Someone else changed the same data at the same moment."""
