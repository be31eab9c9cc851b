"""The field catalogue: every type parses good values and refuses bad ones by name."""

from __future__ import annotations

from decimal import Decimal

import pytest

from data.customers import find_customer, save_customer
from data.errors import ValidationFailed
from data.fields import FIELDS, FIELDS_BY_NAME, GATEABLE_FIELDS, FieldError

ERP_GATEABLE = {
    "Name", "Credit limit", "Sales tax group", "Method of payment", "Payment specification",
    "Customer group", "Tax exempt number", "Bank account", "Cash discount", "Credit rating",
    "Terms of payment", "Mandatory credit limit", "Payment terms base days",
    "Exclude interest charges", "Exclude collection fee", "Invoice account",
}  # fmt: skip

GOOD = [
    ("credit_limit", "25,000.50", Decimal("25000.50")),
    ("credit_limit", 0, Decimal("0.00")),
    ("credit_limit", "", None),
    ("payment_terms_base_days", "30", 30),
    ("mandatory_credit_limit", "Yes", True),
    ("mandatory_credit_limit", "0", False),
    ("on_hold", "invoice", "Invoice"),
    ("currency", "eur", "EUR"),
    ("country", " it ", "IT"),
    ("bank_account", "it60 x054 2811 1010 0000 0123 456", "IT60X0542811101000000123456"),
    ("bank_account", "GB82WEST12345698765432", "GB82WEST12345698765432"),
    ("email", "anna.rossi@example.it", "anna.rossi@example.it"),
    ("phone", "+39 02 1234 5678", "+390212345678"),  # stored E.164
    ("email", "Anna.Rossi@EXAMPLE.it", "Anna.Rossi@example.it"),  # the domain normalised
    ("terms_of_payment", "Net30", "Net30"),
    ("invoice_account", "c002", "C002"),
    ("name", "  Ditta Bianchi S.r.l.  ", "Ditta Bianchi S.r.l."),
]

BAD = [
    ("credit_limit", "-1", "must not be negative"),
    ("credit_limit", "abc", "must be an amount"),
    ("credit_limit", "1.005", "at most two decimals"),
    ("credit_limit", "NaN", "must be an amount"),
    ("credit_limit", "1e20", "must be an amount"),
    ("credit_limit", "1e3000000", "must be an amount"),
    ("credit_limit", "9" * 40, "too long"),
    ("credit_limit", "1" * 20, "at most"),
    ("credit_limit", "12,5", "must be an amount"),
    ("credit_limit", "1.500,00", "must be an amount"),
    ("credit_limit", "25000,00", "must be an amount"),
    ("payment_terms_base_days", "1e300000", "number"),
    ("payment_terms_base_days", "3e1", "number"),
    ("payment_terms_base_days", "1.5", "whole number"),
    ("payment_terms_base_days", "400", "at most 365"),
    ("payment_terms_base_days", "-1", "at least 0"),
    ("mandatory_credit_limit", "maybe", "Yes or No"),
    ("on_hold", "Sometimes", "one of No, Invoice, All"),
    ("currency", "EURO", "ISO 4217"),
    ("currency", "XYZ", "ISO 4217"),
    ("country", "XX", "ISO 3166"),
    ("bank_account", "IT60X0542811101000000123457", "check digits"),
    ("bank_account", "12345", "must be an IBAN"),
    ("email", "anna@", "email address"),
    ("email", "a b@example.com", "email address"),
    ("phone", "call me", "phone number"),
    # what hand-written patterns let through, refused by the libraries that know
    ("bank_account", "US64SVBK00000000000000", "US has no IBANs"),
    ("bank_account", "DE8937040044053201300000", "wrong length"),
    ("phone", "0000", "phone number"),
    ("phone", "+1 ((((", "phone number"),
    ("email", "a..b@example.com", "email address"),
    ("name", "x" * 101, "at most 100 characters"),
    ("name", "   ", "is required"),
    ("name", "bad\x00name", "control character"),
    ("customer_group", "", "is required"),
    ("terms_of_payment", "<script>", "only letters"),
    ("invoice_account", "no spaces!", "account number"),
]


def test_a_phone_number_is_read_in_the_customers_country_and_shown_formatted():
    phone = FIELDS_BY_NAME["phone"]
    assert phone.parse("02 1234 5678", country="IT") == "+390212345678"
    assert phone.parse("+41 44 668 18 00", country="IT") == "+41446681800"
    with pytest.raises(FieldError, match="not a valid phone number in DE"):
        phone.parse("0000 12", country="DE")
    assert phone.display("+390212345678") == "+39 02 1234 5678"
    assert phone.display("0039-legacy") == "0039-legacy"  # stored before numbers were checked


def test_every_erp_gateable_field_is_offered():
    assert {spec.label for spec in GATEABLE_FIELDS} >= ERP_GATEABLE
    assert not FIELDS_BY_NAME["account"].gateable
    assert {spec.group for spec in FIELDS} == {
        "General", "Credit and collections", "Payment", "Invoice and delivery", "Address and contact"
    }  # fmt: skip


@pytest.mark.parametrize(("name", "raw", "expected"), GOOD)
def test_good_values_parse(name, raw, expected):
    spec = FIELDS_BY_NAME[name]
    value = spec.parse(raw)
    assert value == expected
    assert spec.from_text(spec.to_text(value)) == value


@pytest.mark.parametrize(("name", "raw", "message"), BAD)
def test_bad_values_are_refused(name, raw, message):
    with pytest.raises(FieldError, match=message):
        FIELDS_BY_NAME[name].parse(raw)


@pytest.mark.parametrize(("name", "raw", "message"), BAD)
def test_bad_values_change_nothing_in_the_database(world, name, raw, message):
    before = world.query(lambda s: dict(vars(find_customer(s, "C001"))))
    with pytest.raises(ValidationFailed) as error:
        world.act("clerk", save_customer, "C001", {name: raw, "city": "Changed"}, expected_version=world.version_of("C001"))
    assert list(error.value.errors) == [name]
    assert error.value.errors[name].startswith(FIELDS_BY_NAME[name].label)
    after = world.query(lambda s: dict(vars(find_customer(s, "C001"))))
    before.pop("_sa_instance_state"), after.pop("_sa_instance_state")
    assert after == before


def test_invoice_account_must_be_an_existing_customer(world):
    with pytest.raises(ValidationFailed, match="is not a customer"):
        world.act("clerk", save_customer, "C001", {"invoice_account": "C404"}, expected_version=world.version_of("C001"))
    world.customer("C002")
    world.act("clerk", save_customer, "C001", {"invoice_account": "C002"}, expected_version=world.version_of("C001"))


def test_unknown_and_key_fields_cannot_be_saved(world):
    with pytest.raises(ValidationFailed) as error:
        world.act("clerk", save_customer, "C001", {"shoe_size": "42", "account": "C777"}, expected_version=world.version_of("C001"))
    assert set(error.value.errors) == {"shoe_size", "account"}


def test_display_is_for_people():
    assert FIELDS_BY_NAME["credit_limit"].display_text("50000.00") == "50,000.00"
    assert FIELDS_BY_NAME["mandatory_credit_limit"].display_text("true") == "Yes"
    assert FIELDS_BY_NAME["city"].display_text(None) == ""
