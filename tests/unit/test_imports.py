"""Imports obey the Data entity behavior; bad files and rows change nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from data.csvout import csv_text, safe_cell
from data.customers import find_customer
from data.errors import PermissionDenied, ValidationFailed
from data.importfile import MAX_BYTES, read_import_file, template_csv
from data.imports import import_customers
from data.models import AuditEntry, ChangeRequest, Customer, ImportBatch, ImportRow
from data.parameters import update_parameters


def run(world, text, username="clerk", dry_run=False, filename="customers.csv"):
    file = read_import_file(filename, text.encode() if isinstance(text, str) else text)
    return import_customers(world.db, world.user_id(username), file, dry_run=dry_run)


def customer(world, account="C001"):
    return world.query(lambda s: find_customer(s, account))


def outcomes(summary):
    return [(r.account, r.outcome) for r in summary.results]


CHANGE = "account,credit_limit,city\nC001,25000,Genova\n"


def test_allow_applies_every_field_directly(world):
    world.act("admin", update_parameters, data_entity_behavior="allow")
    summary = run(world, CHANGE)
    assert outcomes(summary) == [("C001", "updated")]
    assert (customer(world).credit_limit, customer(world).city) == (Decimal("25000.00"), "Genova")
    sources = world.query(lambda s: {a.source for a in s.scalars(select(AuditEntry).where(AuditEntry.batch_id == summary.batch_id))})
    assert sources == {"import_batch"}


def test_approvals_off_applies_every_field_whatever_the_behavior(world):
    world.act("admin", update_parameters, approvals_enabled=False, data_entity_behavior="reject")
    assert outcomes(run(world, CHANGE)) == [("C001", "updated")]
    assert customer(world).credit_limit == Decimal("25000.00")


def test_reject_refuses_the_whole_row_naming_customer_and_field(world):
    world.act("admin", update_parameters, data_entity_behavior="reject")
    world.customer("C002")
    summary = run(world, CHANGE + "C002,,Bari\n")
    assert outcomes(summary) == [("C001", "rejected"), ("C002", "updated")]
    assert "Customer C001: Credit limit need approval" in summary.results[0].message
    assert (customer(world).credit_limit, customer(world).city) == (Decimal("10000.00"), None)
    assert customer(world, "C002").city == "Bari"
    assert not summary.ok


def test_propose_applies_the_rest_and_submits_the_gated_values(world):
    world.act("admin", update_parameters, data_entity_behavior="propose")
    summary = run(world, CHANGE)
    assert outcomes(summary) == [("C001", "proposed")]
    assert (customer(world).credit_limit, customer(world).city) == (Decimal("10000.00"), "Genova")
    request = world.query(lambda s: s.scalar(select(ChangeRequest)))
    assert (request.state, request.submitted_by_id) == ("pending", world.user_id("clerk"))
    # the same file again changes nothing
    again = run(world, CHANGE)
    assert outcomes(again) == [("C001", "unchanged")]
    assert world.query(lambda s: s.scalar(select(func.count(ChangeRequest.id)))) == 1


def test_propose_refuses_a_customer_with_another_open_request(world):
    from data.customers import save_customer

    world.act("admin", update_parameters, data_entity_behavior="propose")
    world.act("clerk", save_customer, "C001", {"on_hold": "All"}, expected_version=world.version_of("C001"))
    summary = run(world, CHANGE)
    assert outcomes(summary) == [("C001", "failed")]
    assert "already has an open change request" in summary.results[0].message
    assert customer(world).city is None


def test_new_accounts_create_customers_and_reruns_are_unchanged(world):
    text = "Account number;Name;Customer group;Currency;On hold\nC777;Nuova S.p.A.;RETAIL;EUR;No\n"
    assert outcomes(run(world, text)) == [("C777", "created")]
    assert customer(world, "C777").name == "Nuova S.p.A."
    assert outcomes(run(world, text)) == [("C777", "unchanged")]


def test_dry_run_previews_without_writing(world):
    world.act("admin", update_parameters, data_entity_behavior="propose")
    text = "account,name,customer_group,currency,on_hold,credit_limit\nC001,,,,,25000\nC888,New One,RETAIL,EUR,No,5\n"
    before = world.query(lambda s: (s.scalar(select(func.count(Customer.id))), s.scalar(select(func.count(AuditEntry.id)))))
    summary = run(world, text, dry_run=True)
    assert outcomes(summary) == [("C001", "proposed"), ("C888", "created")]
    assert summary.batch_id is None
    after = world.query(lambda s: (s.scalar(select(func.count(Customer.id))), s.scalar(select(func.count(AuditEntry.id)))))
    assert after == before
    assert world.query(lambda s: s.scalar(select(func.count(ChangeRequest.id)))) == 0


def test_the_batch_keeps_counts_and_row_results(world):
    world.act("admin", update_parameters, data_entity_behavior="reject")
    summary = run(world, CHANGE + "C404,,\n")
    batch = world.query(lambda s: s.get(ImportBatch, summary.batch_id))
    assert (batch.status, batch.rejected_count, batch.failed_count, batch.total_rows) == ("finished", 1, 1, 2)
    rows = world.query(lambda s: [(r.row_number, r.account, r.outcome) for r in s.scalars(select(ImportRow).order_by(ImportRow.row_number))])
    assert rows == [(2, "C001", "rejected"), (3, "C404", "failed")]


def test_bad_rows_fail_alone_with_a_reason(world):
    world.customer("C002")
    text = ("account,credit_limit,email,name\n"
            "C001,-5,,\nC002,abc,not-mail,\nC001,1,,\n,1,,\nC003,1,,x\n")
    summary = run(world, text)
    by_row = {r.number: (r.outcome, r.message) for r in summary.results}
    assert by_row[2][0] == "failed" and "appears 2 times" in by_row[2][1]
    assert by_row[3][0] == "failed" and "Credit limit must be an amount" in by_row[3][1] and "Email" in by_row[3][1]
    assert by_row[5] == ("failed", "Account number is missing.")
    assert by_row[6][0] == "failed" and "is required" in by_row[6][1]  # a new customer needs its required fields
    assert customer(world).credit_limit == Decimal("10000.00")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"   \n", "empty"), (b"account,name\n", "header but no rows"),
     (b"account,shoe_size\nC001,42\n", "unknown columns: shoe_size"),
     (b"name,city\nX,Y\n", "key column"), (b"account,city,City\nC001,a,b\n", "columns given twice"),
     (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"), (b"PK\x03\x04not really excel", "cannot be read")],
)
def test_bad_files_are_refused_whole(content, message):
    with pytest.raises(ValidationFailed, match=message):
        read_import_file("upload.csv", content)


def test_a_file_over_the_limit_is_refused():
    with pytest.raises(ValidationFailed, match="larger than 20 MB"):
        read_import_file("big.csv", b"a" * (MAX_BYTES + 1))


def test_encodings_delimiters_and_excel(world):
    latin1 = "account;city\nC001;Forlì\n".encode("latin-1")
    assert read_import_file("a.csv", latin1).rows[0].values["city"] == "Forlì"
    bom = "\ufeffaccount\tcity\nC001\tTorino\n".encode()
    assert read_import_file("b.csv", bom).rows[0].values == {"account": "C001", "city": "Torino"}
    workbook = Workbook()
    workbook.active.append(["Account number", "City"])
    workbook.active.append(["C001", "Lecce"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert outcomes(run(world, buffer.getvalue(), filename="c.xlsx")) == [("C001", "updated")]
    assert customer(world).city == "Lecce"


def test_formula_like_cells_are_stored_as_text_and_neutralised_on_download(world):
    run(world, "account,city\nC001,=cmd|' /C calc'!A0\n")
    assert customer(world).city == "=cmd|' /C calc'!A0"
    assert safe_cell("=cmd|x") == "'=cmd|x" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-1") == "'-1" and safe_cell("Roma") == "Roma"


def test_no_part_of_a_cell_runs_as_a_formula_where_a_locale_splits_it():
    """Semicolon-locale spreadsheets split unquoted cells at ';': every text cell is
    quoted, and a formula start after any delimiter is neutralised too."""
    import csv
    import io

    text = csv_text(["account", "message"], [("X;=1+1;@SUM(A1)", "a,+b\t-c|@d"), (7, None)])
    assert text.splitlines()[1] == '"X;\'=1+1;\'@SUM(A1)","a,\'+b\t\'-c|\'@d"'
    for delimiter in ",;\t|":
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            for cell in row:
                assert not cell.lstrip('"').startswith(("=", "+", "-", "@")), (delimiter, cell)
    assert text.splitlines()[2] == '7,""'


def test_only_clerks_may_import(world):
    with pytest.raises(PermissionDenied):
        run(world, CHANGE, username="analyst")
    assert customer(world).city is None


def test_template_has_every_header_and_an_example_row(world):
    lines = template_csv().splitlines()
    assert lines[0].startswith('"account","name","customer_group"')
    parsed = read_import_file("template.csv", template_csv().encode())
    assert outcomes(import_customers(world.db, world.user_id("clerk"), parsed, dry_run=True)) == [("C900001", "created")]


def refuse_in_bulk(monkeypatch, account, error):
    """The chunk's set-based update writes, then fails, when it holds ``account``."""
    import data.imports as imports

    real_update = imports.update_customers

    def failing_update(session, actor, changes, *args, **kwargs):
        real_update(session, actor, changes, *args, **kwargs)
        if any(customer.account == account for customer, _ in changes):
            raise error

    monkeypatch.setattr(imports, "update_customers", failing_update)


def test_a_row_the_database_refuses_fails_alone_and_leaves_nothing_partial(world, monkeypatch):
    """A fault while one row writes undoes that row only; the rest of its chunk lands."""
    from sqlalchemy.exc import IntegrityError

    import data.imports as imports

    refuse_in_bulk(monkeypatch, "C002", IntegrityError("UPDATE customers", {}, Exception("bulk")))
    world.customer("C002")
    world.customer("C003")
    real_apply = imports.apply_values

    def failing_apply(session, customer, values, *args, **kwargs):
        real_apply(session, customer, values, *args, **kwargs)  # written, then refused
        if customer.account == "C002":
            raise IntegrityError("UPDATE customers", {}, Exception("injected"))
        return list(values)

    monkeypatch.setattr(imports, "apply_values", failing_apply)
    summary = run(world, "account,city\nC001,Genova\nC002,Bari\nC003,Pisa\n")
    assert outcomes(summary) == [("C001", "updated"), ("C002", "failed"), ("C003", "updated")]
    assert [customer(world, a).city for a in ("C001", "C002", "C003")] == ["Genova", None, "Pisa"]
    audited = world.query(lambda s: s.scalars(select(AuditEntry.customer_id).where(AuditEntry.batch_id == summary.batch_id)).all())
    assert len(audited) == 2
    monkeypatch.setattr(imports, "apply_values", real_apply)
    assert outcomes(run(world, "account,city\nC002,Bari\n")) == [("C002", "updated")]


def test_a_chunk_the_database_breaks_is_redone_a_row_at_a_time(world, monkeypatch):
    """An error that spoils the chunk's transaction falls back to one transaction per row."""
    from sqlalchemy.exc import OperationalError

    import data.imports as imports

    world.customer("C002")
    real_apply = imports.apply_values
    calls = {"C002": 0}

    def flaky_apply(session, customer, values, *args, **kwargs):
        if customer.account == "C002":
            calls["C002"] += 1
            raise OperationalError("UPDATE customers", {}, Exception("connection lost"))
        return real_apply(session, customer, values, *args, **kwargs)

    monkeypatch.setattr(imports, "apply_values", flaky_apply)
    refuse_in_bulk(monkeypatch, "C002", OperationalError("UPDATE customers", {}, Exception("lost")))
    summary = run(world, "account,city\nC001,Genova\nC002,Bari\n")
    assert outcomes(summary) == [("C001", "updated"), ("C002", "failed")]
    assert "nothing of it was applied" in summary.results[1].message
    assert (customer(world).city, customer(world, "C002").city) == ("Genova", None)
    recorded = world.query(lambda s: s.scalars(select(ImportRow.outcome).where(ImportRow.batch_id == summary.batch_id).order_by(ImportRow.row_number)).all())
    assert recorded == ["updated", "failed"]
    batch = world.query(lambda s: s.get(ImportBatch, summary.batch_id))
    assert (batch.updated_count, batch.failed_count) == (1, 1)


def test_rows_beyond_one_chunk_all_land_with_progress(world, monkeypatch):
    import data.imports as imports

    monkeypatch.setattr(imports, "CHUNK_ROWS", 3)
    lines = "".join(f"N{n:03d},New {n},RETAIL,EUR,No\n" for n in range(1, 9))
    file = read_import_file("new.csv", ("account,name,customer_group,currency,on_hold\n" + lines).encode())
    seen = []
    summary = import_customers(world.db, world.user_id("clerk"), file, progress=lambda done, total: seen.append((done, total)))
    assert summary.counts["created"] == 8
    assert seen == [(3, 8), (6, 8), (8, 8)]
    assert world.query(lambda s: s.scalar(select(func.count(ImportRow.id)).where(ImportRow.batch_id == summary.batch_id))) == 8


def test_the_audit_trail_explains_every_value_after_imports_edits_and_approvals(world):
    from data import requests as svc
    from data.audit import verify_audit
    from data.customers import save_customer

    world.act("admin", update_parameters, data_entity_behavior="propose")
    world.customer("C002")
    summary = run(world, "account,credit_limit,city\nC001,25000,Genova\nC003,1,Pisa\nC002,,Bari\n")
    request_id = world.query(lambda s: s.scalar(select(ChangeRequest.id).where(ChangeRequest.state == "pending")))
    world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    world.act("clerk", save_customer, "C002", {"city": "Lecce"}, expected_version=world.version_of("C002"))
    check = world.query(verify_audit)
    assert check.ok, check.problems
    assert check.customers == 2 and summary.counts["failed"] == 1  # C003 lacks its required fields
