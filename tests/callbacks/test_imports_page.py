"""The Imports page callbacks: preview, import, downloads."""

from __future__ import annotations

import base64

from data.customers import find_customer
from tests.callbacks.test_customer_editor import text_of


def upload(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_preview_then_import_then_download_neutralised_results(web):
    import pages.imports as page

    contents = upload("account,city\nC001,=HYPERLINK(\"x\")\nC404,\n")
    with web.signed_in("clerk"):
        layout, stored, message, _actions = page.preview("f.csv", contents)
        assert message is None and "2 rows would give" in text_of(layout)
        result, rows = page.run_upload(stored)
        assert "imported with problems" in text_of(result)
        # the row results stay on the page, the failed first
        assert [row["account"] for row in rows.rowData] == ["C404", "C001"]
        batch_id = int(text_of(result).split("#")[1].split(" ")[0])
        csv_text = page.batch_csv(batch_id)
    assert web.world.query(lambda s: find_customer(s, "C001").city) == '=HYPERLINK("x")'
    assert csv_text.splitlines()[0] == '"row","account","outcome","message"'
    assert '3,"C404","failed"' in csv_text


def test_non_clerks_cannot_preview_or_import(web):
    import pages.imports as page

    with web.signed_in("analyst"):
        layout, stored, message, _actions = page.preview("f.csv", upload("account,city\nC001,Roma\n"))
        assert "Clerk role" in text_of(message) and stored is None
        assert "Clerk role" in text_of(page.run_upload({"filename": "f.csv", "contents": upload("account,city\nC001,Roma\n")})[0])
    assert web.world.query(lambda s: find_customer(s, "C001").city) is None


def test_template_download(web):
    import pages.imports as page

    with web.signed_in("clerk"):
        assert page.template_csv().startswith('"account","name"')


def test_a_long_preview_shows_the_rows_that_matter_first(web, monkeypatch):
    import pages.imports as page

    monkeypatch.setattr(page, "PREVIEW_ROWS", 3)
    web.world.customer("C002")
    text = "account,city\nC001,\nC002,\nC001,\nC404,\nC002,Bari\n"  # duplicates fail
    with web.signed_in("clerk"):
        layout, *_ = page.preview("f.csv", upload(text))
    grid = next(c for c in layout.children if getattr(c, "id", None) == "imp-preview-grid")
    assert [r["number"] for r in grid.rowData] == [2, 3, 4]
    assert "Showing 3 of 5 rows" in text_of(layout) and "5 rows would give" in text_of(layout)
