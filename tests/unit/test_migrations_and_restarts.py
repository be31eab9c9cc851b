"""Migrations keep the data through a downgrade and upgrade; the app outlives a database restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from data.audit import verify_audit
from data.db import Database, downgrade_database, upgrade_database
from tests.conftest import DIALECTS, NO_POSTGRESQL, TEST_DATABASE_URL


@pytest.fixture(params=DIALECTS)
def empty_url(request, tmp_path) -> Iterator[str]:
    """An empty database of its own (on PostgreSQL a scratch database beside the test one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    if not TEST_DATABASE_URL:
        pytest.skip(NO_POSTGRESQL)
    from data.config import normalise_database_url

    admin = create_engine(normalise_database_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    name = f"countersign_m_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("customers", "change_requests", "audit_entries", "request_events", "users")
        }
    engine.dispose()
    return found


def test_data_survives_a_downgrade_and_the_upgrade_back(empty_url):
    from data.models import ActivityRollup, ChangeRequest, Customer, CustomerGroup
    from data.seed import seed_demo
    from tests.unit.test_rollups import assert_rollups_match_a_rebuild

    upgrade_database(empty_url)
    database = Database(empty_url)
    seed_demo(database, customers=15)
    with database.session() as session:
        first_submitted = dict(session.execute(
            select(ChangeRequest.id, ChangeRequest.first_submitted_at)).all())
    database.dispose()
    before = counts(empty_url)
    assert before["change_requests"] > 0

    downgrade_database(empty_url, "-1")  # one step
    assert counts(empty_url) == before
    downgrade_database(empty_url, "0003")  # before first_submitted_at existed
    assert counts(empty_url) == before
    downgrade_database(empty_url, "0001")  # the first revision
    assert counts(empty_url) == before
    upgrade_database(empty_url)  # from the first revision to head, with the data in place
    assert counts(empty_url) == before

    database = Database(empty_url)
    with database.session() as session:
        # the column came back filled from the workflow events
        assert dict(session.execute(
            select(ChangeRequest.id, ChangeRequest.first_submitted_at)).all()) == first_submitted
        assert verify_audit(session).ok
        # the dashboards' rollups were counted again from the rows, once the revision that
        # holds them was applied
        assert session.scalar(select(func.count()).select_from(ActivityRollup)) > 0
    assert_rollups_match_a_rebuild(database)
    with database.session() as session:
        # the customer groups list came back from the groups customers are in
        in_use = set(session.scalars(select(Customer.customer_group)))
        assert set(session.scalars(select(CustomerGroup.code))) == in_use
    database.dispose()


def test_the_app_serves_again_after_the_database_drops_every_connection(tmp_path):
    """What a PostgreSQL restart does to the pool: every connection dies; pre-ping replaces them."""
    if not TEST_DATABASE_URL:
        pytest.skip(NO_POSTGRESQL)
    from app import create_app
    from data.config import Settings, normalise_database_url
    from tests.dash_http import client_as

    url = normalise_database_url(TEST_DATABASE_URL)
    upgrade_database(url)
    app = create_app(Settings(database_url=url, secret_key="k", demo=False, host="", port=0))
    client = client_as(app, None)
    assert client.get("/login").status_code == 200
    database = app.server.extensions["countersign.database"]
    with database.session() as session:  # fill the pool
        session.execute(text("SELECT 1"))

    killer = create_engine(url, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = ''"
        )).scalar()
    killer.dispose()
    assert killed >= 1
    with database.session() as session:
        assert session.execute(select(func.count()).select_from(text("users"))).scalar() >= 0
    assert client.get("/login").status_code == 200


def test_an_index_a_migration_makes_on_sqlite_is_measured_at_once(tmp_path):
    """A database SQLite's planner has statistics for gets those of an index a migration
    adds as the migration ends: without them, SQLite weighs the new index as if it picked a
    few rows and reads through it where a measured one serves (the inbox's waiting tab,
    sorted instead of read in order)."""
    from data.generate import generate_customers

    url = f"sqlite:///{tmp_path / 'stats.db'}"
    upgrade_database(url, "0019")
    generate_customers(Database(url), 50)  # and measures every index
    upgrade_database(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            measured = set(connection.execute(text("SELECT idx FROM sqlite_stat1")).scalars())
    finally:
        engine.dispose()
    assert "ix_customers_country_name" in measured


def test_a_count_kept_in_parts_is_one_count_before_the_parts_and_after(empty_url):
    """Going back before the rollups had parts sums each count's parts into one row; going
    forward again keeps that sum, as part 0."""
    upgrade_database(empty_url)
    engine = create_engine(empty_url)
    row = "'', 'h', 500000, 'sub', '', 0"
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO activity_rollups (dim, level, slot, metric, key, bucket, part, n) "
                f"VALUES ({row}, 0, 2), ({row}, 5, 3), ({row}, 11, 4)"))
        downgrade_database(empty_url, "0021")
        read = "SELECT slot, n FROM activity_rollups"
        with engine.connect() as connection:
            assert connection.execute(text(read)).all() == [(500000, 9)]
        upgrade_database(empty_url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT slot, n, part FROM activity_rollups")).all() == [
                (500000, 9, 0)]
    finally:
        engine.dispose()
