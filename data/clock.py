"""The one clock every timestamp comes from; the seed and tests can set it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_fixed_now: ContextVar[datetime | None] = ContextVar("countersign_fixed_now", default=None)


def utcnow() -> datetime:
    return _fixed_now.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Within the block, ``utcnow()`` answers ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("clock_at needs an aware datetime")
    token = _fixed_now.set(moment)
    try:
        yield
    finally:
        _fixed_now.reset(token)
