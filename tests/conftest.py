"""Fixtures shared by every test: databases on SQLite and PostgreSQL, users, a workflow."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from data.config import normalise_database_url
from data.db import Database, upgrade_database
from data.models import Base, User
from data.parameters import ensure_defaults, update_parameters
from data.users import add_user
from data.workflows import StepSpec, activate_version, create_definition, save_version

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
_SHARED_DATABASE = pytest.StashKey[str]()
NO_POSTGRESQL = "PostgreSQL not configured: set TEST_DATABASE_URL (the CI sets it) to run this"

DIALECTS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgresql),
]


def _worker_database(url: str, worker: str, create: bool) -> str:
    """Under pytest-xdist each worker has a PostgreSQL database of its own beside the one
    TEST_DATABASE_URL names (tests truncate every table): created fresh, dropped after."""
    admin = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    name = f"{admin.url.database}_{worker}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if create:
            connection.execute(text(f"CREATE DATABASE {name}"))
    own = admin.url.set(database=name).render_as_string(hide_password=False)
    admin.dispose()
    return own


def pytest_configure(config: pytest.Config) -> None:
    global TEST_DATABASE_URL
    config.addinivalue_line("markers", "postgresql: runs against TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if TEST_DATABASE_URL and worker:
        config.stash[_SHARED_DATABASE] = TEST_DATABASE_URL
        TEST_DATABASE_URL = _worker_database(TEST_DATABASE_URL, worker, create=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = config.stash.get(_SHARED_DATABASE, None)
    if shared:
        _worker_database(shared, os.environ["PYTEST_XDIST_WORKER"], create=False)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under pytest-xdist (make test): every test on its own, except the browser tests,
    which run one after another on one worker (each drives a Chromium and a server; two at
    once on a small machine only make both slower)."""
    if config.getvalue("dist") not in ("load", "loadscope", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "browser" if nodeid.startswith("tests/browser/") else nodeid

    return BrowserTestsTogether(config, log)


def pytest_setup_options():
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    return options


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with small costs: the same code path, a hundredth of the time."""
    from argon2 import PasswordHasher

    import data.users

    production = data.users._hasher
    data.users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    data.users._hasher = production


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    if not TEST_DATABASE_URL:
        pytest.skip(NO_POSTGRESQL)
    url = normalise_database_url(TEST_DATABASE_URL)
    upgrade_database(url)
    return url


def _truncate_postgresql(url: str) -> None:
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def fresh_database(dialect: str, request: pytest.FixtureRequest, tmp_path) -> Database:
    if dialect == "sqlite":
        path = tmp_path / f"{uuid.uuid4().hex}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("postgresql_url")
        _truncate_postgresql(url)
        database = Database(url)
    with database.session() as session:
        ensure_defaults(session)
    return database


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """An empty, migrated database with default parameters, on each dialect."""
    database = fresh_database(request.param, request, tmp_path)
    yield database
    database.dispose()


class World:
    """A database with users of every role, approvals on, and an active workflow."""

    USERS = {
        "clerk": ["clerk"],
        "clerk2": ["clerk"],
        "approver": ["approver"],
        "approver2": ["approver"],
        "approver3": ["approver"],
        "manager": ["manager"],
        "analyst": ["analyst"],
        "admin": ["admin"],
        "clerkapprover": ["clerk", "approver"],
    }
    GATED = ("credit_limit", "on_hold", "terms_of_payment", "bank_account", "name")

    def __init__(self, db: Database):
        self.db = db
        with db.session() as session:
            for username, roles in self.USERS.items():
                add_user(session, username, username.title(), "secret", roles)
            admin = self.user(session, "admin")
            update_parameters(
                session,
                admin,
                approvals_enabled=True,
                gated={name: True for name in self.GATED},
            )
        self.workflow([StepSpec(name="Credit control", assignee_role="approver")])
        self.customer("C001")

    @staticmethod
    def user(session, username: str) -> User:
        return session.scalar(select(User).where(User.username == username))

    def user_id(self, username: str) -> int:
        with self.db.session() as session:
            return self.user(session, username).id

    def act(self, username: str, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``service(session, user, ...)`` as ``username`` in one unit of work."""

        def work(session):
            return service(session, self.user(session, username), *args, **kwargs)

        return self.db.run(work)

    def seen(self, request_id: int) -> int:
        """The round of the request as an approver sees it now (a decision names it)."""
        from data.models import ChangeRequest

        with self.db.session() as session:
            return session.get(ChangeRequest, request_id).round

    def version_of(self, account: str) -> int:
        """The customer's version as an editor opened now would hold it."""
        from data.customers import find_customer

        with self.db.session() as session:
            return find_customer(session, account).version

    def workflow(self, steps: list[StepSpec]) -> int:
        def work(session):
            admin = self.user(session, "admin")
            definition = create_definition(session, admin)
            version = save_version(session, admin, definition.id, steps)
            activate_version(session, admin, version.id)
            return version.id

        return self.db.run(work)

    def customer(self, account: str, **values: Any) -> None:
        from data.customers import create_customer

        fields = {
            "account": account,
            "name": f"Customer {account}",
            "customer_group": "RETAIL",
            "currency": "EUR",
            "on_hold": "No",
            "credit_limit": "10000",
            "terms_of_payment": "Net30",
        }
        fields.update(values)
        self.act("clerk", create_customer, fields)

    def query(self, work: Callable[..., Any]) -> Any:
        with self.db.session() as session:
            return work(session)


@pytest.fixture
def world(db: Database) -> World:
    return World(db)


class Web:
    """The real app on a fresh SQLite database holding a World."""

    def __init__(self, tmp_path):
        from app import create_app
        from data.config import Settings

        url = f"sqlite:///{tmp_path / 'web.db'}"
        settings = Settings(database_url=url, secret_key="test-key", demo=False,
                            host="127.0.0.1", port=8050)  # fmt: skip
        self.app = create_app(settings)
        self.world = World(Database(url))

    @contextmanager
    def signed_in(self, username: str | None):
        """A request context signed in as ``username`` (None: nobody)."""
        from flask_login import login_user

        from pages._support import SessionUser

        with self.app.server.test_request_context("/_dash-update-component", method="POST"):
            if username is not None:
                login_user(SessionUser(self.world.user_id(username)))
            yield


@pytest.fixture
def web(tmp_path) -> Iterator[Web]:
    instance = Web(tmp_path)
    yield instance
    instance.world.db.dispose()
