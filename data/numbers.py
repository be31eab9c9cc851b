"""The one parser for every number a person or a file types: amounts, whole numbers,
percentages, thresholds, time limits.

Text is checked by its shape before anything converts it: no exponent (``1e3000000``
would take Python minutes to turn into an integer), no more than ``MAX_LENGTH``
characters, digit groups of exactly three. What does not match is refused, never
read another way.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

MAX_LENGTH = 32
"""No amount or count in this product needs more characters than this."""

_PLAIN = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}((,[0-9]{3})+|( [0-9]{3})+)(\.[0-9]+)?")


class NumberError(ValueError):
    """Text that is not a number in the accepted form; the message is for a person."""


def parse_decimal(raw: Any, *, example: str = "25000.00", noun: str = "a number") -> Decimal:
    """A finite Decimal from ``raw`` (text, int or Decimal): digits with an optional
    decimal point, optionally grouped in threes by commas or spaces (``25,000.50``)."""
    if isinstance(raw, bool):
        raise NumberError(f"must be {noun}, such as {example}")
    if isinstance(raw, int):
        raw = str(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite() or len(str(raw)) > MAX_LENGTH:
            raise NumberError(f"must be {noun}, such as {example}")
        return raw
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip()
    if len(text) > MAX_LENGTH:
        raise NumberError(f"is too long for {noun} (at most {MAX_LENGTH} characters)")
    if not (_PLAIN.fullmatch(text) or _GROUPED.fullmatch(text)):
        raise NumberError(f"must be {noun}, such as {example}")
    return Decimal(text.replace(",", "").replace(" ", ""))


def parse_whole(
    raw: Any, *, minimum: int | None = None, maximum: int | None = None, example: str = "30"
) -> int:
    """A whole number within [minimum, maximum] (``30`` or ``30.0``)."""
    number = parse_decimal(raw, example=example, noun="a whole number")
    if number != number.to_integral_value():
        raise NumberError("must be a whole number")
    if minimum is not None and number < minimum:
        raise NumberError(f"must be at least {minimum:,}")
    if maximum is not None and number > maximum:
        raise NumberError(f"must be at most {maximum:,}")
    return int(number)


UTC_OFFSET_LIMIT = 14 * 60
"""The farthest a time zone is from UTC, in minutes (UTC+14, Kiribati)."""


def utc_offset_minutes(raw: Any) -> int:
    """A browser's offset from UTC in minutes east; anything else is taken as UTC."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return 0
    try:
        return parse_whole(raw, minimum=-UTC_OFFSET_LIMIT, maximum=UTC_OFFSET_LIMIT)
    except NumberError:
        return 0
