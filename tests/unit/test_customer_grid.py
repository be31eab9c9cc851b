"""The customer grid's query: paging, sorting, filtering and search in SQL."""

from __future__ import annotations

import pytest

from data.customer_grid import list_customers
from data.customers import save_customer
from data.errors import PermissionDenied, ValidationFailed


@pytest.fixture
def grid(world):
    for number, (name, country, limit) in enumerate(
        [("Alpha Foods", "IT", "5000"), ("beta 100% Systems", "AT", "70000"),
         ("Gamma_Trading", "AT", "12000"), ("Alpine Motors", "DE", "0")], start=2,
    ):  # fmt: skip
        world.customer(f"C00{number}", name=name, country=country, credit_limit=limit)
    world.act("clerk", save_customer, "C003", {"credit_limit": "90000"}, expected_version=world.version_of("C003"))  # a draft request

    def page(start=0, end=100, **options):
        return world.act("clerk", list_customers, start, end, **options)

    return page


def accounts(page):
    return [row["account"] for row in page.rows]


def test_pages_in_account_order_and_counts(grid):
    first = grid(0, 2, count=True)
    assert accounts(first) == ["C001", "C002"] and first.total == 5
    last = grid(4, 6)
    assert accounts(last) == ["C005"] and last.total == 5  # evident from a short block


def test_counts_stop_at_the_cap_and_leave_the_end_open(grid, monkeypatch):
    import data.customer_grid

    monkeypatch.setattr(data.customer_grid, "COUNT_CAP", 4)
    assert grid(0, 2, count=True).total == 5  # every customer: counted exactly
    assert grid(0, 2, count=True, search="c").total is None  # 5 found: more than the cap
    filtered = {"country": {"filterType": "text", "type": "equals", "filter": "at "}}
    assert grid(0, 1, count=True, filters=filtered).total == 2  # codes match in any case
    others = {"country": {"filterType": "text", "type": "notEqual", "filter": "at"}}
    assert accounts(grid(filters=others)) == ["C002", "C005"]  # and no empty country
    assert grid(4, 6).total == 5  # the last block still says where the end is


def test_sorts_by_any_column(grid):
    page = grid(sort=[{"colId": "credit_limit", "sort": "desc"}])
    assert accounts(page)[:2] == ["C003", "C004"]
    assert accounts(grid(sort=[{"colId": "name", "sort": "asc"}]))[0] == "C002"


def test_filters_text_number_and_open_request_state(grid):
    contains = {"name": {"filterType": "text", "type": "contains", "filter": "100%"}}
    assert accounts(grid(filters=contains)) == ["C003"]  # % is matched literally
    underscore = {"name": {"filterType": "text", "type": "contains", "filter": "a_f"}}
    assert accounts(grid(filters=underscore)) == []  # "Alpha Foods" has "a F": _ is literal
    big = {"credit_limit": {"filterType": "number", "type": "greaterThan", "filter": 10000}}
    assert accounts(grid(filters=big)) == ["C003", "C004"]
    both = {"country": {"filterType": "text", "operator": "OR", "conditions": [
        {"filterType": "text", "type": "equals", "filter": "it"},
        {"filterType": "text", "type": "equals", "filter": "de"}]}}  # fmt: skip
    assert accounts(grid(filters=both)) == ["C002", "C005"]
    state = {"request_state": {"filterType": "text", "type": "contains", "filter": "not sub"}}
    page = grid(filters=state)
    assert accounts(page) == ["C003"] and page.rows[0]["request_state"] == "Not submitted"


def test_search_matches_the_start_of_account_or_name(grid):
    assert accounts(grid(search="c00")) == ["C001", "C002", "C003", "C004", "C005"]
    assert accounts(grid(search="alp")) == ["C002", "C005"]
    assert accounts(grid(search="Foods")) == []


def test_refuses_unknown_columns_bad_ranges_and_nobody(grid, world):
    with pytest.raises(ValidationFailed):
        grid(sort=[{"colId": "password_hash", "sort": "asc"}])
    with pytest.raises(ValidationFailed):
        grid(filters={"version": {"filterType": "number", "type": "equals", "filter": 1}})
    with pytest.raises(ValidationFailed):
        grid(0, 5000)
    with pytest.raises(PermissionDenied):
        world.db.run(lambda s: list_customers(s, None, 0, 10))


@pytest.mark.parametrize("sort", [
    [], [{"colId": "account", "sort": "asc"}], [{"colId": "name", "sort": "asc"}],
    [{"colId": "name", "sort": "desc"}], [{"colId": "customer_group", "sort": "desc"}],
    [{"colId": "credit_limit", "sort": "asc"}],
])  # fmt: skip
def test_reading_block_after_block_by_key_gives_the_rows_skipping_gives(world, sort):
    """Keyset paging (each block read after the last one's cursor) walks the same rows."""
    from data.generate import generate_customers

    generate_customers(world.db, 230)
    for number in range(12):  # names and groups shared by several customers
        world.customer(f"D{number:03d}", name=f"Same Name {number % 3}",
                       customer_group="RETAIL" if number % 2 else "WHOLESALE")  # fmt: skip
    filters = {"currency": {"filterType": "text", "type": "notEqual", "filter": "XXX"}}

    def block(start, after=None):
        return world.act("clerk", list_customers, start, start + 25, sort, filters, after=after)

    by_offset, by_key, after, start = [], [], None, 0
    while True:
        skipped, keyed = block(start), block(start, after)
        by_offset += accounts(skipped)
        by_key += accounts(keyed)
        if not keyed.rows:
            break
        after, start = keyed.cursor, start + len(keyed.rows)
    assert by_key == by_offset and len(by_key) == len(set(by_key)) >= 230
    keyed_sort = not sort or sort[0]["colId"] != "credit_limit"  # credit limits may be empty
    assert (block(0).cursor is not None) == keyed_sort


def test_a_cursor_that_is_not_one_is_ignored(grid):
    """The cursor comes back from the browser: anything odd falls back to skipping rows."""
    for odd in ([{"x": 1}], [1, 2], "C001", [None], ["C001", "C002", "C003"]):
        assert accounts(grid(1, 3, after=odd)) == ["C002", "C003"]


@pytest.mark.parametrize("sort", [
    [{"colId": "request_state", "sort": "desc"}], [{"colId": "credit_limit", "sort": "desc"}],
    [{"colId": "name", "sort": "asc"}, {"colId": "city", "sort": "desc"}],
])  # fmt: skip
def test_a_block_read_by_skipping_rows_is_that_slice_of_the_whole_list(world, sort):
    from data.generate import generate_customers

    generate_customers(world.db, 120)
    for account in ("B0000007", "B0000050", "B0000090"):  # open requests to sort by
        world.act("clerk", save_customer, account, {"credit_limit": "77000"},
                  expected_version=world.version_of(account))  # fmt: skip
    filters = {"currency": {"filterType": "text", "type": "notEqual", "filter": "XXX"}}
    whole = world.act("clerk", list_customers, 0, 1000, sort, filters).rows
    for start in (1, 30, 95):
        block = world.act("clerk", list_customers, start, start + 20, sort, filters).rows
        assert block == whole[start:start + 20]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_broad_country_filter_sorted_by_name_pages_like_the_whole_list(world, direction,
                                                                         monkeypatch):  # fmt: skip
    """A country most customers are in, sorted by name (names shared, so the account breaks
    ties): block by block, by key or by skipping rows, the slices of the whole list."""
    import data.customer_grid
    from data.generate import generate_customers

    generate_customers(world.db, 150)
    for number in range(9):
        world.customer(f"D{number:03d}", name=f"Same Name {number % 2}", country="IT")
    monkeypatch.setattr(data.customer_grid, "COUNT_CAP", 10)  # every country is "broad"
    sort = [{"colId": "name", "sort": direction}]
    filters = {"country": {"filterType": "text", "type": "equals", "filter": "it"}}
    whole = world.act("clerk", list_customers, 0, 1000, sort, filters).rows
    assert len(whole) > 40 and {row["country"] for row in whole} == {"IT"}
    names = [(row["name"], row["account"]) for row in whole]
    by_name = sorted(names, key=lambda pair: pair[0], reverse=direction == "desc")
    assert [name for name, _account in names] == [name for name, _account in by_name]
    for name in {"Same Name 0", "Same Name 1"}:  # ties in account order
        tied = [account for shared, account in names if shared == name]
        assert tied == sorted(tied)
    after = None
    for start in range(0, len(whole), 17):
        skipped = world.act("clerk", list_customers, start, start + 17, sort, filters).rows
        keyed = world.act("clerk", list_customers, start, start + 17, sort, filters,
                          after=after)  # fmt: skip
        assert skipped == keyed.rows == whole[start:start + 17]
        after = keyed.cursor


def test_skipping_to_a_far_block_of_a_country_by_name_reads_one_index_alone(world, monkeypatch):
    """SQLite: the rows skipped to reach the block are entries of the country-and-name
    index, not customers read one by one and checked."""
    from sqlalchemy import event

    import data.customer_grid

    if world.db.engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    for number in range(6):
        world.customer(f"E{number:03d}", name=f"Name {number}", country="IT")
    monkeypatch.setattr(data.customer_grid, "COUNT_CAP", 2)
    seen = []

    def note(_conn, _cursor, statement, parameters, _context, _many):
        if "AS block" in statement:  # the block's query, which skips rows
            seen.append((statement, parameters))

    event.listen(world.db.engine, "before_cursor_execute", note)
    try:
        world.act("clerk", list_customers, 3, 5, [{"colId": "name", "sort": "asc"}],
                  {"country": {"filterType": "text", "type": "equals", "filter": "IT"}})  # fmt: skip
    finally:
        event.remove(world.db.engine, "before_cursor_execute", note)
    (statement, parameters), = seen
    with world.db.engine.connect() as connection:
        plan = " | ".join(row[-1] for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters))  # fmt: skip
    assert "COVERING INDEX ix_customers_country_name" in plan, plan
