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

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from schwifty import IBAN
from schwifty.exceptions import (
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)

from data.i18n import N_, _
from data.numbers import NumberError, NumericCell, format_amount, parse_decimal, parse_whole

GROUPS = (
    N_("General"),
    N_("Credit and collections"),
    N_("Payment"),
    N_("Invoice and delivery"),
    N_("Address and contact"),
)
"""The editor's sections, as message ids (``_(group)`` where a section is shown)."""

ON_HOLD_CHOICES = (N_("No"), N_("Invoice"), N_("All"))
"""Stored in English; shown and accepted in the reader's language too."""

MAX_AMOUNT = Decimal("999999999999.99")
ACCOUNT_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _%./-]*$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
"""ASCII control characters, and the bidirectional overrides that make text read otherwise."""

TRUE_WORDS = {"true", "yes", "y", "1", "on", "sì", "si"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


class FieldError(ValueError):
    """A value that fails its field's validation; the text is for a person."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label_id: str
    """The English label, the message id of ``label``."""
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
    def label(self) -> str:
        """The field's label in the reader's language."""
        return _(self.label_id)

    @property
    def blank(self) -> Any:
        """The value of an empty field."""
        return False if self.kind == "boolean" else None

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("money", "integer")

    def parse(self, raw: Any, locale: str | None = None, country: str | None = None) -> Any:
        """Turn a raw value into the field's typed value, or raise FieldError; numbers are
        read as a person of ``locale`` writes them (see data.numbers), a phone number
        without its country code as one of ``country`` (the customer's)."""
        if isinstance(raw, NumericCell):
            raw = raw if self.is_numeric else str(raw)
        if isinstance(raw, str) and not isinstance(raw, NumericCell):
            if CONTROL_CHARACTERS.search(raw):
                raise FieldError(_("contains a control character"))
            raw = raw.strip()
            if raw == "":
                raw = None
        if raw is None:
            if self.required:
                raise FieldError(_("is required"))
            return self.blank
        if self.is_numeric:
            return getattr(self, f"_parse_{self.kind}")(raw, locale)
        if self.kind == "phone":
            return self._parse_phone(raw, country)
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
            return _("Yes") if value else _("No")
        if self.kind == "choice":
            return _(value)
        if self.kind == "phone":
            return phone_shown(str(value))
        if self.kind == "money":
            return format_amount(Decimal(value), locale)
        return str(value)

    def display_text(self, text: str | None, locale: str | None = None) -> str:
        return self.display(self.from_text(text), locale)

    def input_text(self, text: str | None, locale: str | None = None) -> str | None:
        """A stored value as it stands in an input for a person of ``locale`` to edit."""
        if self.kind == "money" and text is not None:
            return format_amount(Decimal(text), locale)
        if self.kind == "phone" and text is not None:
            return phone_shown(text)
        return text

    def _check_length(self, text: str) -> str:
        if self.max_length is not None and len(text) > self.max_length:
            raise FieldError(_("must be at most {count} characters").format(count=self.max_length))
        return text

    def _parse_text(self, raw: Any) -> str:
        return self._check_length(str(raw))

    def _parse_code(self, raw: Any) -> str:
        text = self._check_length(str(raw))
        if not CODE_PATTERN.match(text):
            raise FieldError(_("may contain only letters, digits, spaces and _ % . / -"))
        return text

    def _parse_account(self, raw: Any) -> str:
        text = str(raw).upper()
        if not ACCOUNT_PATTERN.match(text):
            raise FieldError(_("must be an account number: up to 20 letters, digits or dashes"))
        return text

    def _parse_money(self, raw: Any, locale: str | None = None) -> Decimal:
        try:
            amount = parse_decimal(raw, locale=locale, noun=N_("an amount"))
        except NumberError as error:
            raise FieldError(str(error)) from None
        if amount < 0:
            raise FieldError(_("must not be negative"))
        if amount > MAX_AMOUNT:
            raise FieldError(
                _("must be at most {maximum}").format(maximum=format_amount(MAX_AMOUNT, locale))
            )
        if amount != amount.quantize(Decimal("0.01")):
            raise FieldError(_("must have at most two decimals"))
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
        raise FieldError(_("must be Yes or No"))

    def _parse_choice(self, raw: Any) -> str:
        for choice in self.choices:
            if str(raw).lower() in (choice.lower(), _(choice).lower()):
                return choice
        raise FieldError(
            _("must be one of {choices}").format(
                choices=", ".join(_(choice) for choice in self.choices)
            )
        )

    def _parse_currency(self, raw: Any) -> str:
        code = str(raw).upper()
        if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
            raise FieldError(_("must be an ISO 4217 currency code, such as EUR"))
        return code

    def _parse_country(self, raw: Any) -> str:
        code = str(raw).upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise FieldError(_("must be an ISO 3166 country code, such as IT"))
        return code

    def _parse_iban(self, raw: Any) -> str:
        """An IBAN as schwifty knows it: a country that has IBANs, its length, its bank code
        format and the check digits; stored without spaces."""
        text = str(raw)
        if len(text) > 64:
            raise FieldError(_("must be an IBAN, such as IT60X0542811101000000123456"))
        try:
            return IBAN(text).compact
        except InvalidChecksumDigits:
            raise FieldError(_("is not a valid IBAN: the check digits do not match")) from None
        except InvalidCountryCode:
            raise FieldError(
                _("is not a valid IBAN: {country} has no IBANs").format(country=text[:2].upper())
            ) from None
        except InvalidLength:
            raise FieldError(
                _("is not a valid IBAN: it has the wrong length for its country")
            ) from None
        except SchwiftyException:
            raise FieldError(_("must be an IBAN, such as IT60X0542811101000000123456")) from None

    def _parse_email(self, raw: Any) -> str:
        """An address email-validator accepts (its syntax, not whether it receives mail),
        stored in its normal form."""
        text = self._check_length(str(raw))
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError:
            raise FieldError(_("must be an email address, such as name@example.com")) from None

    def _parse_phone(self, raw: Any, country: str | None = None) -> str:
        """A number valid for its country (phonenumbers): with its country code, or written
        as in the customer's country; stored as E.164 (+390212345678)."""
        text = str(raw)
        if len(text) > 40:
            raise FieldError(_("must be a phone number, such as +39 02 1234 5678"))
        try:
            number = phonenumbers.parse(text, (country or "").upper() or None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            if country and not text.strip().startswith("+"):
                raise FieldError(
                    _("is not a valid phone number in {country}; write it with its country "
                      "code, such as +39 02 1234 5678").format(country=country)
                )  # fmt: skip
            raise FieldError(_("must be a phone number, such as +39 02 1234 5678"))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_shown(text: str) -> str:
    """A stored number in the international format (+39 02 1234 5678); a value stored
    before numbers were checked shows as it was."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _f(name: str, label: str, kind: str, group: str, **options: Any) -> FieldSpec:
    return FieldSpec(name=name, label_id=label, kind=kind, group=group, **options)


FIELDS: tuple[FieldSpec, ...] = (
    _f("account", N_("Account number"), "account", N_("General"), gateable=False, required=True),
    _f("name", N_("Name"), "text", N_("General"), required=True, max_length=100),
    _f("customer_group", N_("Customer group"), "code", N_("General"), required=True, max_length=10),
    _f("currency", N_("Currency"), "currency", N_("General"), required=True),
    _f("on_hold", N_("On hold"), "choice", N_("General"), required=True, choices=ON_HOLD_CHOICES),
    _f("credit_limit", N_("Credit limit"), "money", N_("Credit and collections")),
    _f(
        "mandatory_credit_limit",
        N_("Mandatory credit limit"),
        "boolean",
        N_("Credit and collections"),
    ),
    _f("credit_rating", N_("Credit rating"), "code", N_("Credit and collections"), max_length=10),
    _f(
        "exclude_interest_charges",
        N_("Exclude interest charges"),
        "boolean",
        N_("Credit and collections"),
    ),
    _f(
        "exclude_collection_fee",
        N_("Exclude collection fee"),
        "boolean",
        N_("Credit and collections"),
    ),
    _f("terms_of_payment", N_("Terms of payment"), "code", N_("Payment"), max_length=10),
    _f(
        "payment_terms_base_days",
        N_("Payment terms base days"),
        "integer",
        N_("Payment"),
        minimum=0,
        maximum=365,
    ),
    _f("method_of_payment", N_("Method of payment"), "code", N_("Payment"), max_length=10),
    _f("payment_specification", N_("Payment specification"), "code", N_("Payment"), max_length=10),
    _f("cash_discount", N_("Cash discount"), "code", N_("Payment"), max_length=10),
    _f("bank_account", N_("Bank account"), "iban", N_("Payment")),
    _f("sales_tax_group", N_("Sales tax group"), "code", N_("Invoice and delivery"), max_length=10),
    _f(
        "tax_exempt_number",
        N_("Tax exempt number"),
        "text",
        N_("Invoice and delivery"),
        max_length=25,
    ),
    _f("invoice_account", N_("Invoice account"), "account", N_("Invoice and delivery")),
    _f("street", N_("Street"), "text", N_("Address and contact"), max_length=120),
    _f("city", N_("City"), "text", N_("Address and contact"), max_length=60),
    _f("postal_code", N_("Postal code"), "text", N_("Address and contact"), max_length=12),
    _f("country", N_("Country"), "country", N_("Address and contact")),
    _f("email", N_("Email"), "email", N_("Address and contact"), max_length=120),
    _f("phone", N_("Phone"), "phone", N_("Address and contact")),
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


def gateable_field_options() -> list[dict[str, str]]:
    return [{"label": spec.label, "value": spec.name} for spec in GATEABLE_FIELDS]
