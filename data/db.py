"""Engines, units of work and migrations."""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Select, create_engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import NullPool

from data import outbox, rollups
from data.config import normalise_database_url
from data.errors import Conflict
from data.i18n import N_, _

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_ID = 7_211_004
T = TypeVar("T")

CONFLICT_MESSAGE = N_(
    "Someone else changed the same data at the same moment. "
    "Reload the page to see the latest values and try again."
)


def make_engine(url: str, **options: Any) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        _use_real_sqlite_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **options)


def _use_real_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions.

    The sqlite3 module only begins a transaction before a write, so reads would
    not share one snapshot with the writes that follow them. WAL mode lets readers
    go on while one writer writes.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing.get() else "BEGIN")


_writing: ContextVar[bool] = ContextVar("writing", default=False)
"""A unit of work that will write: on SQLite it takes the write lock when it begins (and
waits its turn for it), instead of reading first and failing to upgrade its snapshot when
another writer committed in between."""


def is_transient(error: BaseException) -> bool:
    """A conflict that a fresh attempt may not meet again."""
    if isinstance(error, StaleDataError):
        return True
    if isinstance(error, OperationalError):
        text_ = str(error.orig).lower()
        return (
            "database is locked" in text_ or "deadlock" in text_ or "could not serialize" in text_
        )
    if isinstance(error, IntegrityError):
        text_ = str(error.orig).lower()
        return "unique" in text_ or "duplicate key" in text_
    return False


class _Held:
    """A thread's connection for ``Database.lookup``: one of the pool's, kept checked out
    while the thread lives and given back when it ends (a server that starts a thread per
    request gives each back at once). PostgreSQL reads on it in autocommit."""

    def __init__(self, engine: Engine):
        self.pid = os.getpid()
        self.connection = engine.raw_connection()
        postgresql = engine.dialect.name == "postgresql"
        if postgresql:
            self.connection.driver_connection.autocommit = True
        self._finalizer = weakref.finalize(self, _give_back, self.connection, postgresql,
                                           self.pid)  # fmt: skip

    def close(self) -> None:
        """Closed now, and counted out of the pool."""
        if self._finalizer.detach() is not None and self.pid == os.getpid():
            self.connection.invalidate()


def _give_back(connection: Any, postgresql: bool, pid: int) -> None:
    if pid != os.getpid():
        return  # a forked process: the parent's
    try:
        if postgresql:
            connection.driver_connection.autocommit = False  # as the pool's others are
        connection.close()
    except Exception:  # the connection is gone already
        connection.invalidate()


class Database:
    """One database: its engine and the units of work run against it."""

    def __init__(self, url: str, **engine_options: Any):
        self.url = normalise_database_url(url)
        self.engine = make_engine(self.url, **engine_options)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        rollups.count_activity(self.sessions)  # the dashboards' facts, counted as they flush
        self.events_committed: list[Callable[[], None]] = []
        """Called after a commit that wrote outbox events (a sender may start at once)."""
        outbox.watch(self.sessions, self.events_committed)  # written with the change
        self.mail = None
        """How email goes out (data/mail.py); None: notifications stay in the app."""
        self._pid = os.getpid()
        self._lookups = threading.local()
        """Each thread's connection for ``lookup`` (``_Held``)."""
        self._holders: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._statements: dict[Select, tuple[str, tuple[str, ...] | None]] = {}

    def after_fork(self) -> None:
        """In a process forked from the one that opened this database (a background job):
        leave the parent's pooled connections to the parent and open new ones."""
        if self._pid != os.getpid():
            self.engine.dispose(close=False)  # the lookup connections too: the parent's
            self._pid = os.getpid()

    def send_email(self, mail) -> None:
        """Write email notices from now on (sent by the background worker with ``mail``)."""
        from data.mail import EMAIL_ON

        self.mail = mail
        self.sessions.configure(info={EMAIL_ON: mail is not None})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends, rolls back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def lookup(self, statement: Select, params: dict[str, Any]) -> tuple | None:
        """The first row of one SELECT, read on a connection this thread keeps for it: no
        pool checkout, no transaction, nothing of SQLAlchemy between (the check every
        request makes of its session, most of what a callback costs beyond Dash). Each
        call reads the database as it is now. A connection that fails is closed and the
        SELECT runs once more on a new one."""
        sql, names = self._compiled(statement)
        values = tuple(params[name] for name in names) if names is not None else params
        for attempt in (1, 2):
            connection = self._lookup_connection()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(sql, values)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                return tuple(row) if row is not None else None
            except self.engine.dialect.loaded_dbapi.Error:
                self._drop_lookup_connection()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _compiled(self, statement: Select) -> tuple[str, tuple[str, ...] | None]:
        """A SELECT as the driver takes it, worked out once: (SQL, the order of its
        parameters, or None when the driver takes them by name)."""
        found = self._statements.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self.engine.dialect)
            names = tuple(compiled.positiontup) if compiled.positional else None
            found = self._statements[statement] = (str(compiled), names)
        return found

    def _lookup_connection(self):
        held = getattr(self._lookups, "held", None)
        if held is not None and held.pid == os.getpid():
            return held.connection
        held = self._lookups.held = _Held(self.engine)
        self._holders.add(held)
        return held.connection

    def _drop_lookup_connection(self) -> None:
        held = getattr(self._lookups, "held", None)
        self._lookups.held = None
        if held is not None and held.pid == os.getpid():
            held.close()

    def run(self, work: Callable[..., T], *args: Any, attempts: int = 6, writes: bool = False,
            then: Callable[[Session, T], Any] | None = None, **kwargs: Any) -> Any:  # fmt: skip
        """Run ``work(session, *args, **kwargs)`` in one transaction (``writes``: one that
        will write, begun with the write lock on SQLite).

        A transaction that loses a race is rolled back whole, so running it again
        from fresh data is safe; the waits between attempts double (about 0.3 s
        in all, with jitter so two losers do not meet again), and after the last
        attempt the caller gets Conflict.

        ``then(session, result)``, when given, runs once the work has committed, in the
        same session and a read transaction of its own: the rows the work loaded or wrote
        are taken from memory as committed (what a page shows after its action), the
        rest read afresh. Its answer is returned instead of the work's.
        """
        for attempt in range(1, attempts + 1):
            token = _writing.set(writes)
            session = self.sessions()
            try:
                try:
                    result = work(session, *args, **kwargs)
                    session.commit()
                except (StaleDataError, OperationalError, IntegrityError) as error:
                    session.rollback()
                    if not is_transient(error):
                        raise
                    if attempt == attempts:
                        raise Conflict(_(CONFLICT_MESSAGE)) from error
                    time.sleep(0.01 * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
                    continue
                except BaseException:
                    session.rollback()
                    raise
                finally:
                    _writing.reset(token)
                return result if then is None else then(session, result)
            finally:
                session.close()  # ends the read of ``then`` too
        raise AssertionError("unreachable")

    def analyze(self) -> None:
        """Refresh the planner's statistics (after loading many rows at once)."""
        with self.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")

    def dispose(self) -> None:
        for held in list(self._holders):
            held.close()
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_database_url(url).replace("%", "%%"))
    return config


@contextmanager
def _sqlite_foreign_keys_paused(connection) -> Iterator[None]:
    """SQLite rebuilds a table to alter it: foreign keys wait until the migration is done.

    The pragma only takes effect outside a transaction, so it is set on the
    driver's connection before the migration begins one; afterwards every
    foreign key is checked.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")
    broken = raw.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"a migration left {len(broken)} broken foreign key(s): {broken[:5]}")


def _refresh_sqlite_statistics(connection) -> None:
    """Give SQLite's planner statistics: all of them when there are none yet (a database
    loaded in bulk, or never analysed); else those of each table with an index never
    measured (one a migration just made: SQLite weighs an index without statistics as if
    it picked a few rows, and would read through it where a measured one serves better),
    then those ``PRAGMA optimize`` finds stale."""
    analysed = connection.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
    ).scalar()
    if not analysed:
        connection.exec_driver_sql("ANALYZE")
    else:
        unmeasured = connection.exec_driver_sql(
            "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'index' AND name NOT IN "
            "(SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)"
        ).scalars().all()
        for table in unmeasured:
            connection.exec_driver_sql(f'ANALYZE "{table}"')
        connection.exec_driver_sql("PRAGMA optimize")
    connection.commit()


@contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """One process at a time, across processes and machines, brings this database up
    (migrations, then the demo seed): PostgreSQL's advisory lock, or a lock file beside
    a SQLite database."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if not path or path.startswith(":memory:") or url == "sqlite://":
            yield
            return
        lock_path = Path(path + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                connection.commit()
    finally:
        engine.dispose()


@contextmanager
def held_while_running(url: str, lock_id: int) -> Iterator[bool]:
    """Try, without waiting, to hold a lock named ``lock_id`` on this database for as long
    as the block runs (PostgreSQL's session advisory lock, or a lock file beside a SQLite
    database); yields whether it is held. A process that dies lets it go."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if not path or path.startswith(":memory:") or url == "sqlite://":
            yield True
            return
        with open(f"{path}.{lock_id}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            held = connection.execute(text("SELECT pg_try_advisory_lock(:id)"),
                                      {"id": lock_id}).scalar()  # fmt: skip
            connection.commit()
            try:
                yield bool(held)
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                    connection.commit()
    finally:
        engine.dispose()


def upgrade_database(url: str, revision: str = "head", *, locked: bool = False) -> None:
    """Bring the database to ``revision``; several processes may call this at once
    (``locked``: the caller holds ``schema_lock`` already)."""
    if not locked:
        with schema_lock(url):
            upgrade_database(url, revision, locked=True)
        return
    _migrate(url, command.upgrade, revision)


ROLLUPS_REVISION = "0019"
"""The last revision that made the dashboards' rollups table anew (counted again after it)."""


def _crossed(before: str | None, after: str | None, revision: str) -> bool:
    """Whether an upgrade from ``before`` to ``after`` applied ``revision`` (the revisions
    are numbered in order)."""
    return after is not None and int(after) >= int(revision) > int(before or 0)


def downgrade_database(url: str, revision: str) -> None:
    _migrate(url, command.downgrade, revision)


def _migrate(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    url = normalise_database_url(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection, _sqlite_foreign_keys_paused(connection):
            config = alembic_config(url)
            config.attributes["connection"] = connection
            before = MigrationContext.configure(connection).get_current_revision()
            step(config, revision)
            connection.commit()
            after = MigrationContext.configure(connection).get_current_revision()
            if _crossed(before, after, ROLLUPS_REVISION):
                # the rollups table came with that revision: count what was there before it
                # (the migration carries only its DDL; the counting is the app's own code)
                rollups.rebuild(connection)
                connection.commit()
            if step is command.upgrade and engine.dialect.name == "sqlite":
                _refresh_sqlite_statistics(connection)
    finally:
        engine.dispose()
