"""The one parser for every number a person or a file types: amounts, whole numbers,
percentages, thresholds, time limits; and how amounts are written for a person.

Text is checked by its shape before anything converts it: no exponent (``1e3000000``
would take Python minutes to turn into an integer), no more than ``MAX_LENGTH``
characters, only digits, signs and separators; then it must parse strictly in the
user's locale (Babel). What does not is refused, never read another way.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import NumberFormatError, format_decimal
from babel.numbers import parse_decimal as babel_parse_decimal

from data.i18n import DEFAULT_LOCALE, LOCALES, N_, _, locale_of  # noqa: F401 - re-exported

MAX_LENGTH = 32
"""No amount or count in this product needs more characters than this."""

_ALLOWED = re.compile(r"[0-9.,+\- \u00a0\u202f']+")
"""Digits, signs, and the decimal and group separators of the supported locales; anything
else (an exponent, a letter) is refused before Babel sees it."""


class NumberError(ValueError):
    """Text that is not a number in the accepted form; the message is for a person."""


class NumericCell(str):
    """A number that came as a number (an Excel cell), not as text: its value does not
    depend on any locale's separators."""

    number: Decimal

    def __new__(cls, number: Decimal | int | float) -> NumericCell:
        value = Decimal(str(number))
        cell = super().__new__(cls, format(value, "f"))
        cell.number = value
        return cell


def format_amount(value: Decimal | int, locale: str | None = None) -> str:
    """An amount as a person of ``locale`` reads and types it: 1,500.00 or 1.500,00.

    Babel's ``#,##0.00`` in the locale: Python writes the digits (rounded half to even, as
    Babel does) with ``,`` and ``.``, and these become the locale's own symbols, read once
    per locale from Babel (a grid block writes a hundred amounts; this is 20 times faster
    than asking Babel for each, and ``tests/unit/test_locales.py`` holds the two equal)."""
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        return format_decimal(value, format="#,##0.00", locale=locale_of(locale))
    return f"{value:,.2f}".translate(_symbols(locale_of(locale)))


@cache
def _symbols(locale: str) -> dict[int, str]:
    symbols = Locale.parse(locale).number_symbols["latn"]
    return str.maketrans({",": symbols["group"], ".": symbols["decimal"],
                          "-": symbols["minusSign"]})  # fmt: skip


def format_share(value: Decimal, locale: str | None = None) -> str:
    """A percentage's number as a person of ``locale`` reads it: 12.5 or 12,5 (Babel's
    ``#,##0.0``, written as ``format_amount`` writes amounts)."""
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        return format_decimal(value, format="#,##0.0", locale=locale_of(locale))
    return f"{value:,.1f}".translate(_symbols(locale_of(locale)))


def parse_decimal(
    raw: Any, *, locale: str | None = None, noun: str = N_("a number"), example: Any = 1500
) -> Decimal:
    """A finite Decimal from ``raw`` written the way a person of ``locale`` writes it.

    Text must parse strictly in that locale (Babel): ``1.500,00`` is 1500 in
    Italian and refused in English; ``12,5`` is 12.5 in Italian and refused in
    English (never 125). An int, Decimal or ``NumericCell`` is a number already.
    ``noun`` is a message id (translated here).
    """
    locale = locale_of(locale)
    written = format_amount(example, locale) if isinstance(example, int) else str(example)
    noun = _(noun)
    refusal = _("must be {noun} written like {written}").format(noun=noun, written=written)
    too_long = _("is too long for {noun} (at most {count} characters)").format(
        noun=noun, count=MAX_LENGTH
    )
    if isinstance(raw, bool):
        raise NumberError(refusal)
    if isinstance(raw, NumericCell):
        return raw.number
    if isinstance(raw, int | float | Decimal):
        if isinstance(raw, int) and len(str(raw)) > MAX_LENGTH:
            raise NumberError(too_long)
        value = Decimal(str(raw))
        if not value.is_finite() or abs(value.adjusted()) > MAX_LENGTH:
            raise NumberError(refusal)
        return value
    text = str(raw).strip()
    if len(text) > MAX_LENGTH:
        raise NumberError(too_long)
    if not _ALLOWED.fullmatch(text) or not any(ch.isdigit() for ch in text):
        raise NumberError(refusal)
    try:
        value = babel_parse_decimal(text, locale=locale, strict=True)
    except (NumberFormatError, ValueError):
        raise NumberError(refusal) from None
    if not value.is_finite():
        raise NumberError(refusal)
    return value


def parse_whole(
    raw: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    locale: str | None = None,
    example: Any = "30",
) -> int:
    """A whole number within [minimum, maximum], written as in ``locale``."""
    number = parse_decimal(raw, locale=locale, noun=N_("a whole number"), example=example)
    if number != number.to_integral_value():
        raise NumberError(_("must be a whole number"))
    if minimum is not None and number < minimum:
        raise NumberError(
            _("must be at least {minimum}").format(
                minimum=format_decimal(minimum, locale=locale_of(locale))
            )
        )
    if maximum is not None and number > maximum:
        raise NumberError(
            _("must be at most {maximum}").format(
                maximum=format_decimal(maximum, locale=locale_of(locale))
            )
        )
    return int(number)
