"""Every customer field, through the editor and through an import column, against bad values.

The corpus is built from the field catalogue, so a new field is covered the
day it is added: for every field a NUL byte, an escape sequence and a
bidirectional override; for text fields one character over the limit; for
required fields whitespace only; and for each type the values it must refuse
(wrong type, negative amounts, invalid IBAN, currency, country, email...).
Each must be refused with a message that names the field, and change nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data.customers import find_customer, save_customer
from data.errors import ValidationFailed
from data.fields import EDITABLE_FIELDS
from data.importfile import read_import_file
from data.imports import import_customers
from data.models import AuditEntry, ChangeRequest, ImportRow
from data.parameters import update_parameters

BY_KIND = {
    "money": ["abc", "-5", "-0.01", "1.001", "NaN", "Infinity", "1e400", "12,34,5.6.7", "١٠٠"],
    "integer": ["abc", "1.5", "-1", "366", "1e3", "٣"],
    "boolean": ["maybe", "2", "yess"],
    "choice": ["Sometimes", "none of these"],
    "currency": ["EURO", "XYZ", "€", "12"],
    "country": ["XX", "Italy", "I", "123"],
    "iban": ["12345", "IT60X0542811101000000123457", "IT60 X054 2811 1010 0000 0123 45€"],
    "email": ["anna@", "@example.com", "a b@example.com", "anna@@example.com"],
    "phone": ["call me", "+39 (0) abc", "1" * 40],
    "account": ["no spaces!", "x" * 30, "C-001;DROP"],
    "code": ["<script>", "semi;colon", "quote'd"],
    "text": [],
}
EVERYWHERE = ["bad\x00value", "esc\x1b[31m", "abc\u202eevil"]


def corpus() -> list[tuple[str, str]]:
    cases = []
    for spec in EDITABLE_FIELDS:
        values = list(EVERYWHERE) + BY_KIND[spec.kind]
        if spec.max_length:
            values.append("x" * (spec.max_length + 1))
        if spec.required:
            values += ["   ", "\t \u00a0"]
        cases += [(spec.name, value) for value in values]
    return cases


CORPUS = corpus()


def test_the_corpus_covers_every_field():
    assert {name for name, _ in CORPUS} == {spec.name for spec in EDITABLE_FIELDS}
    assert len(CORPUS) > 150


def snapshot(world):
    def read(session):
        customer = vars(find_customer(session, "C001")).copy()
        customer.pop("_sa_instance_state")
        return (customer, session.scalar(select(func.count(AuditEntry.id))),
                session.scalar(select(func.count(ChangeRequest.id))))  # fmt: skip

    return world.query(read)


@pytest.mark.parametrize(("name", "value"), CORPUS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CORPUS)])
def test_the_editor_refuses_it_naming_the_field(world, name, value):
    label = {spec.name: spec.label for spec in EDITABLE_FIELDS}[name]
    before = snapshot(world)
    with pytest.raises(ValidationFailed) as refused:
        world.act("clerk", save_customer, "C001", {name: value, "city": "Changed"}
                  if name != "city" else {name: value}, expected_version=world.version_of("C001"))  # fmt: skip
    assert list(refused.value.errors) == [name]
    assert refused.value.errors[name].startswith(label)
    assert snapshot(world) == before


def test_an_import_refuses_each_bad_cell_naming_the_field(world):
    world.act("admin", update_parameters, data_entity_behavior="allow")
    before = snapshot(world)
    labels = {spec.name: spec.label for spec in EDITABLE_FIELDS}
    rows = files = 0
    for name, value in CORPUS:
        if not value.strip():
            continue  # an empty cell in an import means "leave as it is"
        other = "city" if name != "city" else "street"
        text = f"account,{name},{other}\n" + "C001," + _csv(value) + ",Changed\n"
        try:
            file = read_import_file("bad.csv", text.encode())
        except ValidationFailed as refused:
            assert "binary" in refused.message, (name, value, refused.message)
            files += 1  # refused whole, before any row: a NUL byte means a binary file
            continue
        rows += 1
        summary = import_customers(world.db, world.user_id("clerk"), file)
        [result] = summary.results
        assert result.outcome == "failed", (name, value, result)
        assert labels[name] in result.message, (name, value, result.message)
    assert snapshot(world)[:2] == before[:2]
    recorded = world.query(lambda s: s.scalar(select(func.count(ImportRow.id)).where(ImportRow.outcome == "failed")))
    assert recorded == rows and rows + files > 150


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
