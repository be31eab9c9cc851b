"""What every page callback needs: the database, the signed-in actor, friendly errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import dash
from dash import dcc, html
from flask import current_app, has_request_context
from flask_login import UserMixin, current_user
from sqlalchemy.orm import Session

from components.feedback import UNEXPECTED, error_alert
from data.access import can_open
from data.db import Database
from data.errors import DomainError
from data.i18n import _, current_language, speaking
from data.models import User
from data.numbers import DEFAULT_LOCALE, locale_of

DATABASE_KEY = "countersign.database"
T = TypeVar("T")
log = logging.getLogger("countersign")
_job_user: ContextVar[int | None] = ContextVar("countersign_job_user", default=None)


class SessionUser(UserMixin):
    """What the signed cookie names: a user id and session epoch, checked on each request."""

    def __init__(self, user_id: int, epoch: int = 0, locale: str | None = None):
        self.id = f"{user_id}.{epoch}" if epoch else str(user_id)
        self.locale = locale
        """The user's language as loaded with the session, for the request's language."""


def parse_session_id(value: str) -> tuple[int, int] | None:
    """(user id, epoch) from the cookie's id; None when it is not one."""
    user_id, _dot, epoch = str(value).partition(".")
    if not user_id.isdigit() or not (epoch == "" or epoch.isdigit()):
        return None
    return int(user_id), int(epoch or 0)


def database() -> Database:
    return current_app.extensions[DATABASE_KEY]


def signed_in_user_id() -> int | None:
    job_user = _job_user.get()
    if job_user is not None:
        return job_user
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        parsed = parse_session_id(current_user.get_id())
        return parsed[0] if parsed else None
    return None


def job_data() -> dict[str, Any]:
    """What a background job needs from the request that started it (``dash.hooks.custom_data``):
    computed in the web process from the signed-in session, never sent by the browser."""
    return {"user_id": signed_in_user_id(), "language": current_language()}


@contextmanager
def background_job() -> Iterator[None]:
    """Run a background callback's body as the user who started it, with the app's database.

    The job may run in a process forked from a web worker or on a Celery worker;
    the services check that user's roles as they would in the web process.
    """
    data = dash.callback_context.custom_data.get("countersign") or {}
    server = dash.get_app().server
    token = _job_user.set(data.get("user_id"))
    try:
        with server.app_context(), speaking(data.get("language")):
            database().after_fork()
            yield
    finally:
        _job_user.reset(token)


def load_actor(session: Session) -> User | None:
    """The signed-in user as of this transaction (None when nobody is signed in)."""
    user_id = signed_in_user_id()
    return session.get(User, user_id) if user_id is not None else None


def viewer_locale() -> str:
    """The signed-in user's language ("en" when nobody is signed in, or none was chosen)."""
    user_id = signed_in_user_id()
    if user_id is None:
        return DEFAULT_LOCALE
    with database().session() as session:
        user = session.get(User, user_id)
        return locale_of(user.locale if user is not None else None)


def drawn_for(store_id: str, values: tuple | list | None, body: Any) -> html.Div:
    """A body drawn with the page, and beside it (a store) the inputs it was drawn for: the
    callback that draws it again when they change is called once as the page shows, with
    the same inputs, and then has nothing to do (``already_drawn``). None: draw it again."""
    return html.Div([dcc.Store(id=store_id, data=None if values is None else list(values)),
                     body])  # fmt: skip


def already_drawn(values: tuple | list, shown: Any) -> bool:
    return isinstance(shown, list) and list(values) == shown


def viewer_zone() -> str | None:
    """The signed-in user's IANA time zone (None: UTC), for showing times."""
    with database().session() as session:
        actor = load_actor(session)
        return actor.time_zone if actor is not None else None


def act(service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``service(session, actor, ...)`` as the signed-in user in one unit of work that
    writes: on SQLite it waits its turn for the write lock before it reads, where a read
    first would fail to write if another writer (a batch of reminders) committed between."""
    return database().run(lambda session: service(session, load_actor(session), *args, **kwargs),
                          writes=True)


def act_and_show(show: Callable[[Session, User | None], Any], service: Callable[..., T],
                 *args: Any, **kwargs: Any) -> tuple[T, tuple[Any, Any]]:  # fmt: skip
    """``act``, then what the page shows after it: ``show(session, actor)`` runs once the
    change has committed, in the same session, so what the change loaded or wrote is not
    read again. Returns (the service's answer, ``attempt``'s answer for ``show``): a
    refusal to show is told, while the change stays made."""
    actors: list[User | None] = []

    def work(session: Session) -> T:
        # the user who acted is the one ``show`` is for: held here, it stays in the
        # session (whose map of loaded rows holds none that nothing refers to)
        actors[:] = [load_actor(session)]
        return service(session, actors[0], *args, **kwargs)

    return database().run(
        work, writes=True,
        then=lambda session, done: (done, attempt(lambda: show(session, actors[0]))),
    )  # fmt: skip


def read(service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Like ``act`` for reads: one session, no retries."""
    with database().session() as session:
        return service(session, load_actor(session), *args, **kwargs)


def attempt(work: Callable[[], T], *, passing: tuple[type[Exception], ...] = ()):
    """Run ``work``; return (result, None), or (None, an alert fit to show).

    Errors of the ``passing`` types are raised for the caller to show in its own way.
    """
    try:
        return work(), None
    except passing:
        raise
    except DomainError as error:
        return None, error_alert(error.message)
    except Exception:
        log.exception("unexpected error in a callback")
        return None, error_alert(_(UNEXPECTED))


def guard(area: str) -> Any:
    """None when the signed-in user may open ``area``; else what to show instead."""
    with database().session() as session:
        return _denied(load_actor(session), area)


def _denied(actor: User | None, area: str) -> Any:
    if actor is None or not actor.is_active:
        return dcc.Location(id="cs-to-login", href="/login", refresh=True)
    if not can_open(actor, area):
        return html.Div(
            [
                html.H1(_("Not available"), className="h4"),
                html.P(_("Your roles do not include this page.")),
            ],
            className="py-4",
        )
    return None


def guarded_read(area: str, service: Callable[..., T], *args: Any) -> tuple[Any, T | None, Any]:
    """A page's layout in one session: ``guard(area)``, then ``read(service, ...)`` as
    ``attempt`` runs it. Returns (what to show instead or None, the result, the alert)."""
    with database().session() as session:
        actor = load_actor(session)
        denied = _denied(actor, area)
        if denied is not None:
            return denied, None, None
        result, alert = attempt(lambda: service(session, actor, *args))
        return None, result, alert


def page_title(name: str) -> Callable[..., str]:
    """A page's browser title in the reader's language (``name`` is a message id)."""
    return lambda **_path: f"{_(name)} · Countersign"
