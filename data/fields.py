"""The customer field catalogue: the one source of truth for every customer field.

Forms, the Parameters field list, imports and diff tables all read ``FIELDS``.
Each field knows how to parse a raw value (from a form, a file or a caller),
how to store it as text in a proposal or the audit trail, and how to show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pycountry

from data.numbers import NumberError, NumericCell, format_amount, parse_decimal, parse_whole

GROUPS = (
    "General",
    "Credit and collections",
    "Payment",
    "Invoice and delivery",
    "Address and contact",
)

ON_HOLD_CHOICES = ("No", "Invoice", "All")

MAX_AMOUNT = Decimal("999999999999.99")
ACCOUNT_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _%./-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()./-]{3,24}$")
IBAN_PATTERN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
"""ASCII control characters, and the bidirectional overrides that make text read otherwise."""

TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


class FieldError(ValueError):
    """A value that fails its field's validation; the text is for a person."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str
    group: str
    gateable: bool = True
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = field(default_factory=tuple)
    minimum: int | None = None
    maximum: int | None = None
    help: str = ""

    @property
    def blank(self) -> Any:
        """The value of an empty field."""
        return False if self.kind == "boolean" else None

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("money", "integer")

    def parse(self, raw: Any, locale: str | None = None) -> Any:
        """Turn a raw value into the field's typed value, or raise FieldError; numbers are
        read as a person of ``locale`` writes them (see data.numbers)."""
        if isinstance(raw, NumericCell):
            raw = raw if self.is_numeric else str(raw)
        if isinstance(raw, str) and not isinstance(raw, NumericCell):
            if CONTROL_CHARACTERS.search(raw):
                raise FieldError("contains a control character")
            raw = raw.strip()
            if raw == "":
                raw = None
        if raw is None:
            if self.required:
                raise FieldError("is required")
            return self.blank
        if self.is_numeric:
            return getattr(self, f"_parse_{self.kind}")(raw, locale)
        return getattr(self, f"_parse_{self.kind}")(raw)

    def to_text(self, value: Any) -> str | None:
        """The canonical text stored in proposals and the audit trail."""
        if value is None:
            return None
        if self.kind == "boolean":
            return "true" if value else "false"
        if self.kind == "money":
            return f"{Decimal(value):.2f}"
        return str(value)

    def from_text(self, text: str | None) -> Any:
        """The typed value of a canonical text."""
        if text is None:
            return self.blank
        if self.kind == "boolean":
            return text == "true"
        if self.kind == "money":
            return Decimal(text)
        if self.kind == "integer":
            return int(text)
        return text

    def display(self, value: Any, locale: str | None = None) -> str:
        """How a person of ``locale`` reads the value."""
        if value is None or value == "":
            return ""
        if self.kind == "boolean":
            return "Yes" if value else "No"
        if self.kind == "money":
            return format_amount(Decimal(value), locale)
        return str(value)

    def display_text(self, text: str | None, locale: str | None = None) -> str:
        return self.display(self.from_text(text), locale)

    def input_text(self, text: str | None, locale: str | None = None) -> str | None:
        """A stored value as it stands in an input for a person of ``locale`` to edit."""
        if self.kind == "money" and text is not None:
            return format_amount(Decimal(text), locale)
        return text

    def _check_length(self, text: str) -> str:
        if self.max_length is not None and len(text) > self.max_length:
            raise FieldError(f"must be at most {self.max_length} characters")
        return text

    def _parse_text(self, raw: Any) -> str:
        return self._check_length(str(raw))

    def _parse_code(self, raw: Any) -> str:
        text = self._check_length(str(raw))
        if not CODE_PATTERN.match(text):
            raise FieldError("may contain only letters, digits, spaces and _ % . / -")
        return text

    def _parse_account(self, raw: Any) -> str:
        text = str(raw).upper()
        if not ACCOUNT_PATTERN.match(text):
            raise FieldError("must be an account number: up to 20 letters, digits or dashes")
        return text

    def _parse_money(self, raw: Any, locale: str | None = None) -> Decimal:
        try:
            amount = parse_decimal(raw, locale=locale, noun="an amount")
        except NumberError as error:
            raise FieldError(str(error)) from None
        if amount < 0:
            raise FieldError("must not be negative")
        if amount > MAX_AMOUNT:
            raise FieldError(f"must be at most {format_amount(MAX_AMOUNT, locale)}")
        if amount != amount.quantize(Decimal("0.01")):
            raise FieldError("must have at most two decimals")
        return amount.quantize(Decimal("0.01"))

    def _parse_integer(self, raw: Any, locale: str | None = None) -> int:
        try:
            return parse_whole(raw, minimum=self.minimum, maximum=self.maximum, locale=locale)
        except NumberError as error:
            raise FieldError(str(error)) from None

    def _parse_boolean(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise FieldError("must be Yes or No")

    def _parse_choice(self, raw: Any) -> str:
        for choice in self.choices:
            if str(raw).lower() == choice.lower():
                return choice
        raise FieldError("must be one of " + ", ".join(self.choices))

    def _parse_currency(self, raw: Any) -> str:
        code = str(raw).upper()
        if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
            raise FieldError("must be an ISO 4217 currency code, such as EUR")
        return code

    def _parse_country(self, raw: Any) -> str:
        code = str(raw).upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise FieldError("must be an ISO 3166 country code, such as IT")
        return code

    def _parse_iban(self, raw: Any) -> str:
        iban = re.sub(r"\s+", "", str(raw)).upper()
        if not IBAN_PATTERN.match(iban) or pycountry.countries.get(alpha_2=iban[:2]) is None:
            raise FieldError("must be an IBAN, such as IT60X0542811101000000123456")
        if not iban_checksum_ok(iban):
            raise FieldError("is not a valid IBAN: the check digits do not match")
        return iban

    def _parse_email(self, raw: Any) -> str:
        text = self._check_length(str(raw))
        if not EMAIL_PATTERN.match(text):
            raise FieldError("must be an email address, such as name@example.com")
        return text

    def _parse_phone(self, raw: Any) -> str:
        text = str(raw)
        if not PHONE_PATTERN.match(text):
            raise FieldError("must be a phone number: digits, spaces and + ( ) - . /")
        return text


def iban_checksum_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def _f(name: str, label: str, kind: str, group: str, **options: Any) -> FieldSpec:
    return FieldSpec(name=name, label=label, kind=kind, group=group, **options)


FIELDS: tuple[FieldSpec, ...] = (
    _f("account", "Account number", "account", "General", gateable=False, required=True),
    _f("name", "Name", "text", "General", required=True, max_length=100),
    _f("customer_group", "Customer group", "code", "General", required=True, max_length=10),
    _f("currency", "Currency", "currency", "General", required=True),
    _f("on_hold", "On hold", "choice", "General", required=True, choices=ON_HOLD_CHOICES),
    _f("credit_limit", "Credit limit", "money", "Credit and collections"),
    _f("mandatory_credit_limit", "Mandatory credit limit", "boolean", "Credit and collections"),
    _f("credit_rating", "Credit rating", "code", "Credit and collections", max_length=10),
    _f("exclude_interest_charges", "Exclude interest charges", "boolean", "Credit and collections"),
    _f("exclude_collection_fee", "Exclude collection fee", "boolean", "Credit and collections"),
    _f("terms_of_payment", "Terms of payment", "code", "Payment", max_length=10),
    _f(
        "payment_terms_base_days",
        "Payment terms base days",
        "integer",
        "Payment",
        minimum=0,
        maximum=365,
    ),
    _f("method_of_payment", "Method of payment", "code", "Payment", max_length=10),
    _f("payment_specification", "Payment specification", "code", "Payment", max_length=10),
    _f("cash_discount", "Cash discount", "code", "Payment", max_length=10),
    _f("bank_account", "Bank account", "iban", "Payment"),
    _f("sales_tax_group", "Sales tax group", "code", "Invoice and delivery", max_length=10),
    _f("tax_exempt_number", "Tax exempt number", "text", "Invoice and delivery", max_length=25),
    _f("invoice_account", "Invoice account", "account", "Invoice and delivery"),
    _f("street", "Street", "text", "Address and contact", max_length=120),
    _f("city", "City", "text", "Address and contact", max_length=60),
    _f("postal_code", "Postal code", "text", "Address and contact", max_length=12),
    _f("country", "Country", "country", "Address and contact"),
    _f("email", "Email", "email", "Address and contact", max_length=120),
    _f("phone", "Phone", "phone", "Address and contact"),
)

FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
EDITABLE_FIELDS: tuple[FieldSpec, ...] = tuple(spec for spec in FIELDS if spec.name != "account")
GATEABLE_FIELDS: tuple[FieldSpec, ...] = tuple(spec for spec in FIELDS if spec.gateable)


def field_spec(name: str) -> FieldSpec:
    try:
        return FIELDS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"Unknown customer field: {name}") from None


def field_label(name: str) -> str:
    spec = FIELDS_BY_NAME.get(name)
    return spec.label if spec else name


FIELD_OPTIONS_GATEABLE = [{"label": spec.label, "value": spec.name} for spec in GATEABLE_FIELDS]
