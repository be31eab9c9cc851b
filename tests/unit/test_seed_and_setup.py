"""The demo seed, migrations, start-up and the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from data import cli
from data.config import ConfigurationError, load_settings
from data.db import Database, downgrade_database, upgrade_database
from data.models import AuditEntry, ChangeRequest, Customer, User, WorkflowVersion
from data.parameters import gated_fields
from data.seed import seed_demo
from data.users import sign_in


@pytest.fixture
def seeded(db):
    made = seed_demo(db, customers=60, seed=7)
    return db, made


def test_seed_makes_every_role_every_state_and_an_active_two_step_workflow(seeded):
    db, made = seeded
    with db.session() as session:
        usernames = set(session.scalars(select(User.username)))
        assert {"clerk", "approver", "approver2", "manager", "analyst", "admin"} <= usernames
        assert sign_in(db, "approver", "demo") is not None
        assert session.scalar(select(func.count(Customer.id))) == 60
        states = dict(
            session.execute(
                select(ChangeRequest.state, func.count()).group_by(ChangeRequest.state)
            ).all()
        )
        assert {"draft", "pending", "change_requested", "approved", "rejected"} <= set(states)
        active = session.scalar(select(WorkflowVersion).where(WorkflowVersion.is_active))
        assert [step.name for step in active.steps] == ["Credit control", "Finance manager"]
        assert "credit_limit" in gated_fields(session)
        oldest = session.scalar(select(func.min(ChangeRequest.submitted_at)))
        newest = session.scalar(select(func.max(ChangeRequest.submitted_at)))
        assert (newest - oldest).days >= 30


def test_seed_is_deterministic(db, tmp_path):
    seed_demo(db, customers=30, seed=3)
    other = Database(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade_database(other.url)
    seed_demo(other, customers=30, seed=3)

    def fingerprint(database):
        with database.session() as session:
            return (
                list(session.execute(select(Customer.account, Customer.name, Customer.credit_limit).order_by(Customer.account))),
                list(session.execute(select(ChangeRequest.state).order_by(ChangeRequest.id)).scalars()),
            )

    assert fingerprint(db) == fingerprint(other)
    other.dispose()


def test_seed_refuses_a_database_that_has_users(seeded):
    db, _ = seeded
    with pytest.raises(Exception, match="only fills an empty one"):
        seed_demo(db)


def test_audit_trail_is_append_only_in_the_database(seeded):
    db, _ = seeded
    for statement in ("UPDATE audit_entries SET new_value = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(Exception, match="append-only"), db.session() as session:
            session.execute(text(statement))
    with db.session() as session:
        assert session.scalar(select(func.count(AuditEntry.id))) > 0


def test_migrations_go_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade_database(url)
    downgrade_database(url, "base")
    database = Database(url)
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.dispose()
    upgrade_database(url)
    database = Database(url)
    assert "change_requests" in inspect(database.engine).get_table_names()
    database.dispose()


def test_settings_need_a_secret_key_outside_demo_mode():
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings({"DATABASE_URL": "postgresql://x/y"})
    settings = load_settings({"DATABASE_URL": "postgres://u@h/d", "SECRET_KEY": "k", "PORT": "9000"})
    assert settings.database_url == "postgresql+psycopg://u@h/d"
    assert (settings.demo, settings.port) == (False, 9000)
    with pytest.raises(ConfigurationError, match="PORT"):
        load_settings({"SECRET_KEY": "k", "PORT": "eighty"})


def test_command_line_migrates_seeds_and_escalates(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SECRET_KEY", "k")
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed", "--customers", "20"]) == 0
    assert cli.main(["seed"]) == 1
    assert "only fills an empty one" in capsys.readouterr().err
    assert cli.main(["escalate"]) == 0
    assert "overdue step(s)." in capsys.readouterr().out


def test_the_demo_history_is_counted_for_the_dashboards(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SECRET_KEY", "k")
    assert cli.main(["seed", "--customers", "20"]) == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    read = "SELECT level, slot, metric, key, bucket, n FROM activity_rollups ORDER BY 1, 2, 3, 4, 5"
    with engine.connect() as connection:
        counted = connection.exec_driver_sql(read).all()
    assert counted
    assert cli.main(["recount-dashboards"]) == 0
    assert "Counted" in capsys.readouterr().out
    with engine.connect() as connection:
        assert connection.exec_driver_sql(read).all() == counted
    engine.dispose()


def test_command_line_import_reports_and_exits_non_zero_on_failures(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SECRET_KEY", "k")
    assert cli.main(["seed", "--customers", "5"]) == 0
    good = tmp_path / "good.csv"
    good.write_text("account,city\nC000001,Parma\n")
    assert cli.main(["import", str(good), "--user", "clerk", "--dry-run"]) == 0
    assert "Dry run: 0 created, 1 updated" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("account,credit_limit\nC000001,-1\n")
    assert cli.main(["import", str(bad), "--user", "clerk"]) == 1
    out = capsys.readouterr().out
    assert "row 2 C000001: failed: Credit limit must not be negative" in out
    assert cli.main(["import", str(tmp_path / "missing.csv"), "--user", "clerk"]) == 1
    assert cli.main(["import", str(good), "--user", "analyst"]) == 1


def test_command_line_generates_customers_and_history(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SECRET_KEY", "k")
    assert cli.main(["generate", "--customers", "300", "--requests", "50"]) == 1
    assert "needs a clerk and two approvers" in capsys.readouterr().err
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM customers").scalar() == 0
    engine.dispose()
    assert cli.main(["seed", "--customers", "5"]) == 0
    capsys.readouterr()
    assert cli.main(["generate", "--customers", "300", "--requests", "200"]) == 0
    assert "Added 300 customers and 200 requests" in capsys.readouterr().out
    assert cli.main(["generate", "--customers", "10"]) == 0  # continues after B0000300
    assert cli.main(["generate", "--customers", "-1"]) == 1


def test_the_audit_trail_explains_the_demo_data_and_catches_a_tampered_value(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SECRET_KEY", "k")
    assert cli.main(["seed", "--customers", "25"]) == 0
    capsys.readouterr()
    assert cli.main(["check-audit"]) == 0
    assert "Checked 25 customers" in capsys.readouterr().out
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.begin() as connection:  # a change that bypassed the app
        connection.exec_driver_sql("UPDATE customers SET city = 'Nowhere' WHERE account = 'C000003'")
    engine.dispose()
    assert cli.main(["check-audit"]) == 1
    out = capsys.readouterr().out
    assert "C000003 city: the value is 'Nowhere'" in out
