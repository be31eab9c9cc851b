"""The customer grid's callback keeps a cursor so the next block is read by key."""

from __future__ import annotations

import data.customer_grid
from data.generate import generate_customers


def test_the_next_block_is_read_after_the_cursor_of_the_last(web, monkeypatch):
    import pages.customers as page

    generate_customers(web.world.db, 250)
    seen = []
    real = data.customer_grid.list_customers

    def spy(*args, **kwargs):
        seen.append(kwargs.get("after"))
        return real(*args, **kwargs)

    monkeypatch.setattr(page, "list_customers", spy)
    with web.signed_in("clerk"):
        first, _, cursor, count = page.rows_for({"startRow": 0, "endRow": 100}, None, None)
        second, _, cursor2, _count = page.rows_for({"startRow": 100, "endRow": 200}, None, cursor)
        # another sort: the cursor belongs to a different query and is not used
        other, _, _, _count = page.rows_for({"startRow": 200, "endRow": 300,
                                     "sortModel": [{"colId": "name", "sort": "desc"}]}, None, cursor2)  # fmt: skip
    assert [row["account"] for row in second["rowData"]][:2] == ["B0000101", "B0000102"]
    assert first["rowData"][-1]["account"] == "B0000100"
    assert seen == [None, ["B0000100"], None]
    assert cursor2["end"] == 200 and len(other["rowData"]) == 51
    assert count == "251 customers."  # under the grid, from the first block's count
