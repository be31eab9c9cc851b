"""What someone outside the test suite tried: huge numbers, bombs, parallel guesses,
imports that stop half way, look-alike names, values out of range."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from data.errors import ValidationFailed
from data.fields import FIELDS_BY_NAME, FieldError
from data.importfile import MAX_ROWS, read_import_file
from data.imports import import_customers, recover_abandoned_batches
from data.models import Customer, ImportBatch, ImportRow, LoginFailure
from data.numbers import NumberError, parse_decimal, parse_whole

# 6. numbers are checked by shape before anything converts them


@pytest.mark.parametrize("raw", ["1e3000000", "1E300000", "9" * 33, "1e1000000", "-1e9", "Infinity"])
def test_numbers_with_exponents_or_too_many_digits_are_refused_unconverted(raw):
    with pytest.raises(NumberError):
        parse_decimal(raw)
    with pytest.raises(NumberError):
        parse_whole(raw, minimum=0, maximum=365)
    with pytest.raises(FieldError):
        FIELDS_BY_NAME["payment_terms_base_days"].parse(raw)
    with pytest.raises(FieldError):
        FIELDS_BY_NAME["credit_limit"].parse(raw)


@pytest.mark.parametrize(("raw", "value"), [("25,000.50", "25000.50"), ("+7", "7"),
                                            ("0.5", "0.5"), (12, "12")])  # fmt: skip
def test_numbers_in_the_accepted_shapes_still_parse(raw, value):
    from decimal import Decimal

    assert parse_decimal(raw) == Decimal(value)


def test_the_designer_refuses_a_huge_time_limit_and_an_exponent(world):
    from data.workflows import create_definition, save_version_from_forms

    definition = world.act("admin", lambda s, a: create_definition(s, a).id)
    for hours, message in (("100000000", "at most 8,784"), ("1e3000000", "whole number")):
        form = {"name": "Slow", "assignee_role": "approver", "time_limit_hours": hours}
        with pytest.raises(ValidationFailed, match=message):
            world.act("admin", save_version_from_forms, definition, [form])


def test_a_non_admin_is_refused_before_a_step_is_read(world):
    from data.errors import PermissionDenied
    from data.workflows import save_version_from_forms

    class Unreadable(dict):
        def get(self, *_args):
            raise AssertionError("a step was read before the role was checked")

    with pytest.raises(PermissionDenied):
        world.act("clerk", save_version_from_forms, 1, [Unreadable()])


# 7. an Excel bomb is refused within a memory budget


def bomb(rows: int = 5_000_000) -> bytes:
    """A 1-2 MB xlsx whose sheet unpacks to gigabytes of rows."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                         'package/2006/content-types"><Override PartName="/xl/workbook.xml" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
                         '.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
                         '.worksheet+xml"/></Types>')  # fmt: skip
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats'
                        b'.org/spreadsheetml/2006/main"><sheetData>')  # fmt: skip
            row = (b'<row><c t="inlineStr"><is><t>C000000000000001</t></is></c><c t="inlineStr">'
                   b'<is><t>Bomb city name that is long</t></is></c></row>')  # fmt: skip
            for _ in range(rows // 10_000):
                sheet.write(row * 10_000)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def test_an_excel_bomb_is_refused_and_the_reader_stays_under_500_mb(tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb())
    assert path.stat().st_size < 3 * 1024 * 1024
    script = (
        "import resource, sys\n"
        "from data.importfile import read_import_file\n"
        "from data.errors import ValidationFailed\n"
        f"content = open({str(path)!r}, 'rb').read()\n"
        "try:\n"
        "    read_import_file('bomb.xlsx', content)\n"
        "    print('READ')\n"
        "except ValidationFailed as error:\n"
        "    print('REFUSED', error.message)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=str(Path(__file__).parents[2]))  # fmt: skip
    verdict, peak_mb = done.stdout.strip().splitlines()
    assert verdict.startswith("REFUSED") and "unpacks to more than" in verdict, done.stderr
    assert int(peak_mb) < 500


def test_a_csv_past_the_row_budget_is_refused():
    content = "account,city\n" + "C1,X\n" * (MAX_ROWS + 1)
    with pytest.raises(ValidationFailed, match="more than 200,000 rows"):
        read_import_file("big.csv", content.encode())


# 8. parallel guesses never get past the count


def test_parallel_wrong_passwords_are_each_counted_before_they_are_checked(world, monkeypatch):
    import data.users as users

    checked = []
    real = users.password_matches

    def counting(password_hash, password):
        checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(users, "password_matches", counting)
    barrier = threading.Barrier(40)
    outcomes = []

    def guess(password):
        barrier.wait()
        try:
            outcomes.append(users.sign_in(world.db, "clerk", password))
        except users.SignInLocked as locked:
            outcomes.append(locked.message)

    threads = [threading.Thread(target=guess, args=(f"wrong{n}",)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) <= users.MAX_FAILURES, len(checked)
    assert outcomes.count(users.LOCKED_MESSAGE) >= 40 - users.MAX_FAILURES
    assert world.query(lambda s: s.get(LoginFailure, "clerk").failures) == len(checked)
    with pytest.raises(users.SignInLocked):
        users.sign_in(world.db, "clerk", "secret")  # the right one, after the guesses


def test_new_passwords_are_long_and_not_common(world):
    from data.users import create_user

    for password, message in (("short", "at least 12"), ("password1234", "most common"),
                              ("aaaaaaaaaaaaaaaa", "most common"),
                              ("eve-is-the-best-user", "user name")):  # fmt: skip
        with pytest.raises(ValidationFailed, match=message):
            world.act("admin", create_user, "eve", "Eve", password, ["clerk"])
    world.act("admin", create_user, "eve", "Eve", "correct horse battery", ["clerk"])


# 9. an import never stops half way while saying nothing changed


def run_import(world, text: str):
    return import_customers(world.db, world.user_id("clerk"), read_import_file("c.csv", text.encode()))


def test_bad_account_cells_fail_their_row_and_the_batch_ends(world):
    long_account = "A" * 25
    summary = run_import(world, "account,name,customer_group,currency,on_hold\n"
                                "C100,One,RETAIL,EUR,No\n"
                                f"{long_account},Two,RETAIL,EUR,No\n"
                                + ",,,,\n" * 3000  # the NUL further in than the binary sniff
                                + "C1\x0001,Three,RETAIL,EUR,No\n"
                                "C101,Four,RETAIL,EUR,No\n")  # fmt: skip
    outcomes = [(r.account, r.outcome) for r in summary.results]
    assert outcomes == [("C100", "created"), ("", "failed"), ("", "failed"), ("C101", "created")]
    assert "Account number" in summary.results[1].message
    with world.db.session() as session:
        batch = session.get(ImportBatch, summary.batch_id)
        assert (batch.status, batch.created_count, batch.failed_count) == ("finished", 2, 2)
        assert session.scalar(select(Customer.id).where(Customer.account == "C101"))
        accounts = list(session.scalars(select(ImportRow.account).order_by(ImportRow.row_number)))
        assert accounts == ["C100", None, None, "C101"]


def test_an_import_that_stops_half_way_ends_its_batch_saying_so(world, monkeypatch):
    import data.imports as imports

    monkeypatch.setattr(imports, "CHUNK_ROWS", 1)
    calls = {"n": 0}
    real = imports._run_chunk

    def dies_on_the_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("the job ran out of memory")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "_run_chunk", dies_on_the_second)
    with pytest.raises(MemoryError):
        run_import(world, "account,city\nC001,Lecce\nC001X,Bari\n")
    with world.db.session() as session:
        batch = session.scalars(select(ImportBatch)).one()
        assert batch.status == "failed" and batch.updated_count == 1
        assert "stopped before it finished" in batch.message


def test_a_batch_whose_job_died_is_marked_interrupted(world):
    from datetime import timedelta

    from data.clock import utcnow

    with world.db.session() as session:
        session.add(ImportBatch(filename="x.csv", created_by_id=world.user_id("clerk"),
                                behavior="allow", total_rows=10,
                                heartbeat_at=utcnow() - timedelta(hours=1)))  # fmt: skip
    assert world.db.run(recover_abandoned_batches) == 1
    with world.db.session() as session:
        batch = session.scalars(select(ImportBatch)).one()
        assert batch.status == "interrupted" and "cut off" in batch.message
        assert batch.finished_at is not None


# 16. look-alike user names


@pytest.mark.parametrize(("typed", "problem"), [
    ("\u0430dmin", "one alphabet"),      # Cyrillic а + Latin dmin
    ("ad\u043cin", "one alphabet"),
    ("ａｄｍｉｎ", "already taken"),      # fullwidth: NFKC makes it admin
    ("adm in", "letters, digits"),
])  # fmt: skip
def test_look_alike_user_names_are_refused(world, typed, problem):
    from data.users import create_user

    with pytest.raises(ValidationFailed, match=problem):
        world.act("admin", create_user, typed, "Look Alike", "correct horse battery", ["admin"])


def test_user_names_in_one_other_alphabet_are_welcome(world):
    from data.users import create_user

    user = world.act("admin", create_user, "Ирина", "Irina", "correct horse battery", ["clerk"])
    assert user.username == "ирина"
