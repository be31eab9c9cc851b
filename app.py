"""Countersign: builds the Dash app and its Flask server.

``python app.py`` migrates the database, seeds demo data into an empty demo
database, and serves on HOST:PORT. ``gunicorn app:server`` serves production.
"""

from __future__ import annotations

import contextlib
import gc
import secrets
from pathlib import Path
from urllib.parse import quote

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, hooks, no_update
from dash.background_callback.managers import BaseBackgroundCallbackManager
from dash.exceptions import DashException
from flask import abort, g, redirect, request, send_file, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import bindparam, select
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge, TooManyRequests
from werkzeug.serving import WSGIRequestHandler

from api import init_api, is_api_call, too_many_requests
from api.problems import problem
from components.charts import GRAPHS_STORE
from components.layout import navbar_contents, shell
from components.signin import safe_next, signin_page
from data.config import Settings, load_settings
from data.db import Database, schema_lock, upgrade_database
from data.i18n import N_, _, current_language, reset_language, set_language
from data.imports import recover_abandoned_batches
from data.jobs import use_celery
from data.models import User
from data.notifications import unread_count
from data.numbers import DEFAULT_LOCALE, LOCALES, locale_of
from data.requests import waiting_counts
from data.seed import is_seeded, seed_demo
from data.users import (
    BUSY_MESSAGE,
    SignInLocked,
    adopt_browser_locale,
    adopt_time_zone,
    end_sessions,
    set_locale,
    sign_in,
)
from links import init_links
from pages._support import (
    DATABASE_KEY,
    SessionUser,
    act,
    attempt,
    database,
    job_data,
    load_actor,
    log,
    parse_session_id,
    read,
    signed_in_user_id,
)

ROOT = Path(__file__).resolve().parent
PUBLIC_PATHS = ("/login", "/assets/", "/_favicon", "/api/", "/decide/")
"""All a signed-out visitor may reach: the sign-in page, its stylesheets and the icon,
the JSON API (which asks every call for its token, api/__init__.py) and the decision
links of email (each signed for its recipient, links/__init__.py). Every Dash
endpoint (callbacks, layout, dependencies, bundles) asks for a session before it reads
anything of the request."""
MAX_REQUEST_BYTES = 28 * 1024 * 1024
"""A callback request: an import file of up to 20 MB travels in it, base64-encoded."""
MAX_SIGNIN_BYTES = 16 * 1024

# every callback request carries the signed-in user to a background job it starts
hooks.custom_data("countersign")(lambda _context: job_data())


@hooks.index()
def _page_language(index: str) -> str:
    """``<html lang>`` follows the signed-in user's language."""
    return index.replace("<html>", f'<html lang="{current_language()}">', 1)


def background_manager(settings: Settings):
    """Where background callbacks (long imports) run.

    With COUNTERSIGN_JOBS_URL (redis://…) they go to Celery workers shared by every
    app server (``celery -A app:celery_app worker``); otherwise to processes on
    this machine, with their progress and results in a diskcache folder.
    """
    if settings.jobs_url:
        from celery import Celery
        from dash import CeleryManager

        celery = Celery("countersign", broker=settings.jobs_url, backend=settings.jobs_url)
        return CeleryManager(celery, expire=3600)
    import diskcache

    folder = settings.jobs_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return _local_jobs_manager()(diskcache.Cache(str(folder)), expire=3600)


def _local_jobs_manager():
    """Dash's DiskcacheManager, calm about a job process that ends while it is looked at.

    Between "does process N exist" and "list its children" a finished job can
    exit; Dash then raises NoSuchProcess out of the request that collects the
    job's result. A process that is gone needs no stopping.
    """
    import psutil
    from dash import DiskcacheManager

    class LocalJobs(DiskcacheManager):
        def terminate_job(self, job):
            with contextlib.suppress(psutil.NoSuchProcess):
                super().terminate_job(job)

        def job_running(self, job):
            try:
                return super().job_running(job)
            except psutil.NoSuchProcess:
                return False

    return LocalJobs


def create_app(settings: Settings | None = None, *, seed_if_empty: bool | None = None) -> Dash:
    """The app for these settings, with its database migrated (and seeded in demo mode)."""
    settings = settings or load_settings()
    database = Database(settings.database_url)
    # several workers may start at once: one migrates and seeds, the others wait for it
    with schema_lock(settings.database_url):
        upgrade_database(settings.database_url, locked=True)
        if (settings.demo if seed_if_empty is None else seed_if_empty) and not is_seeded(database):
            seed_demo(database)
        database.run(recover_abandoned_batches)  # imports cut off when the app last stopped

    # background callbacks registered by an earlier app in this process are not this one's
    BaseBackgroundCallbackManager.functions.clear()
    BaseBackgroundCallbackManager.managers.clear()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        title="Countersign",
        update_title=None,
        suppress_callback_exceptions=True,
        background_callback_manager=background_manager(settings),
        compress=True,  # gzip for Dash's bundles and callback answers
    )
    server = app.server
    server.secret_key = settings.secret_key
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    server.extensions[DATABASE_KEY] = database
    database.send_email(settings.mail())
    limiter = _set_up_sign_in(server, settings)
    init_api(server, limiter, settings.api_limit)
    init_links(server)
    if settings.jobs_url:  # webhooks go out from the Celery workers (data/jobs.py)
        use_celery(app._background_manager.handle, database)
    elif settings.webhook_worker:
        start_webhook_worker(database)
    _handle_errors(server)
    app.layout = shell
    _register_shell_callbacks(app)
    _set_security_headers(app)
    _serve_plotly_basic(server)
    # Dash runs its page modules for every app it builds, and takes the callbacks they
    # register when it sets itself up, before its first request: set it up now (through
    # Flask's request hooks), so each app holds its own callbacks and the next app built in
    # this process (tests build many) starts from none
    with server.test_request_context("/"):
        server.preprocess_request()
    return app


def start_webhook_worker(database: Database) -> None:
    """Webhooks go out from a thread beside the app (data/webhooks.py)."""
    import threading

    from data.webhooks import run_worker

    thread = threading.Thread(target=run_worker, args=(database, threading.Event()),
                              name="countersign-webhooks", daemon=True)  # fmt: skip
    thread.start()


PLOTLY_BASIC = ROOT / "vendor" / "plotly.js-basic-dist-min" / "plotly-basic.min.js"
"""plotly.js with only its scatter, bar and pie traces (all the dashboards draw), the same
version as the plotly package's full bundle (tests/callbacks/test_dashboards.py checks)."""
PLOTLY_PATH = "/_dash-component-suites/plotly/package_data/plotly.min.js"


def _serve_plotly_basic(server) -> None:
    """A chart's first draw waits for plotly.js, which Dash fetches when a page first shows
    a graph: the basic bundle instead of the whole (1.2 MB against 4.8 MB to read and run)."""

    @server.before_request
    def plotly_basic():
        if request.path == PLOTLY_PATH:
            return send_file(PLOTLY_BASIC, mimetype="text/javascript", max_age=365 * 24 * 3600)
        return None


def _set_security_headers(app: Dash) -> None:
    """CSP with hashes of Dash's own inline scripts; no framing; no referrer leaks.

    The hashes are taken once Dash has set itself up (on the first request),
    when every page's clientside callbacks are known.
    """
    policy: list[str] = []

    def content_security_policy() -> str:
        if not policy:  # the app is set up: every clientside callback is known
            policy.append(
                "; ".join(
                    [
                        "default-src 'self'",
                        "script-src 'self' " + " ".join(app.csp_hashes()),
                        "style-src 'self' 'unsafe-inline'",  # components set inline styles
                        "img-src 'self' data:",
                        "font-src 'self' data:",
                        "connect-src 'self'",
                        "object-src 'none'",
                        "base-uri 'self'",
                        "form-action 'self'",
                        "frame-ancestors 'none'",
                    ]
                )
            )
        return policy[0]

    @app.server.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, DashException)


def _handle_errors(server) -> None:
    """No traceback ever reaches a browser; a malformed callback request gets a 400."""

    @server.errorhandler(InternalServerError)
    def on_error(error):
        original = getattr(error, "original_exception", None)
        log.exception("unhandled error on %s", request.path, exc_info=original)
        if is_api_call():
            return problem(500, _("Something went wrong on our side; nothing changed."))
        if request.path.startswith("/_dash-update-component"):
            if isinstance(original, MALFORMED):
                return {"message": _("This request could not be understood; nothing changed.")}, 400
            return {"message": _("Something went wrong on our side; nothing changed.")}, 500
        return _("Something went wrong on our side. Please go back and try again."), 500

    @server.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        megabytes = (request.max_content_length or MAX_REQUEST_BYTES) // (1024 * 1024)
        message = _("This request is larger than {size} MB; nothing changed.")
        if is_api_call():
            return problem(413, message.format(size=megabytes))
        return {"message": message.format(size=megabytes)}, 413


def request_language() -> str:
    """The language of this request: the signed-in user's, else the browser's."""
    if current_user and current_user.is_authenticated:
        return locale_of(getattr(current_user, "locale", None))
    return request.accept_languages.best_match(list(LOCALES)) or DEFAULT_LOCALE


SESSION_CHECK = select(User.is_active, User.session_epoch, User.locale).where(
    User.id == bindparam("user_id")
)
"""Whether a session cookie's user may still go on (built once: SQLAlchemy then reuses its
compiled form on every request)."""


def _set_up_sign_in(server, settings: Settings) -> Limiter:
    login_manager = LoginManager(server)
    limiter = Limiter(
        get_remote_address,
        app=server,
        storage_uri=settings.rate_limit_storage,
        default_limits=[],
        headers_enabled=False,
    )

    @limiter.request_filter
    def unlimited() -> bool:
        """Only signing in and the API have limits: no other request asks the limiter."""
        return request.path != "/login" and not is_api_call()

    @server.teardown_request
    def forget_language(_error):
        token = g.pop("language", None)
        if token is not None:
            reset_language(token)

    @login_manager.user_loader
    def load_user(session_id: str) -> SessionUser | None:
        parsed = parse_session_id(session_id)
        if parsed is None:
            return None
        user_id, epoch = parsed
        # every request asks: three columns in one statement (no user object, no roles)
        found = database().lookup(SESSION_CHECK, {"user_id": user_id})
        if found is None:
            return None
        is_active, session_epoch, locale = found
        if not is_active or session_epoch != epoch:
            return None
        return SessionUser(user_id, epoch, locale)

    @server.before_request
    def require_sign_in():
        g.language = set_language(request_language())
        if request.path == "/login":
            request.max_content_length = MAX_SIGNIN_BYTES
        if request.path.startswith(PUBLIC_PATHS) or current_user.is_authenticated:
            return None
        if request.method == "GET" and not request.path.startswith("/_"):
            return redirect("/login?next=" + quote(request.full_path.rstrip("?")))
        return {"message": _("Sign in first.")}, 401

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return session["csrf"]

    @server.get("/login")
    def login_form():
        return signin_page(csrf=csrf_token(), target=safe_next(request.args.get("next")),
                           language=current_language())  # fmt: skip

    @server.post("/login")
    @limiter.limit(settings.sign_in_limit, key_func=get_remote_address)
    def login():
        form = request.form
        target = safe_next(form.get("next"))
        username = (form.get("username") or "")[:100]

        def again(message: str, status: int = 200):
            page = signin_page(csrf=csrf_token(), target=target, username=username,
                               message=message)  # fmt: skip
            return page, status

        if not secrets.compare_digest(str(form.get("csrf", "")), session.get("csrf", "-")):
            return again(
                _("This sign-in form has expired; enter your user name and password again.")
            )
        password = form.get("password") or ""
        if not username.strip() or not password:
            return again(_("Enter your user name and password."))
        try:
            signed_in = sign_in(database(), username, password)
        except SignInLocked as locked:
            return again(_(locked.message), 429 if locked.message != BUSY_MESSAGE else 503)
        if signed_in is None:
            return again(_(BAD_CREDENTIALS))
        browser_locale = request.accept_languages.best_match(list(LOCALES))
        database().run(adopt_browser_locale, signed_in.user_id, browser_locale)
        session.clear()
        login_user(SessionUser(signed_in.user_id, signed_in.session_epoch))
        return redirect(target)

    @server.errorhandler(TooManyRequests)
    def too_many(_error):
        if is_api_call():
            return too_many_requests(limiter)
        if request.path != "/login":
            return {"message": _("Too many requests; wait a minute and try again.")}, 429
        page = signin_page(csrf=csrf_token(), target=safe_next(request.form.get("next")),
                           message=_(TOO_MANY_FROM_HERE))  # fmt: skip
        return page, 429

    @server.post("/logout")
    def logout():
        user_id = signed_in_user_id()
        if user_id is not None:
            database().run(end_sessions, user_id)
        logout_user()
        session.clear()
        return redirect("/login")

    @server.get("/logout")
    def logout_by_link():
        abort(405)

    return limiter


BAD_CREDENTIALS = N_("That user name and password do not match an active account.")
TOO_MANY_FROM_HERE = N_("Too many sign-in attempts from your network. Wait a minute and try again.")


def _register_shell_callbacks(app: Dash) -> None:
    # a dashboard's charts, set aside in its answer, drawn once its numbers are shown
    app.clientside_callback(
        ClientsideFunction(namespace="countersign", function_name="drawCharts"),
        Output({"type": "chart-slot", "key": ALL}, "children"),
        Input(GRAPHS_STORE, "data"),
    )
    # the navigation bar's toggle on a narrow screen
    app.clientside_callback(
        """function(clicks, open) {
            const opened = clicks ? !open : false;
            return [opened, String(opened)];
        }""",
        Output("cs-nav-collapse", "is_open"),
        Output("cs-nav-toggle", "aria-expanded"),
        Input("cs-nav-toggle", "n_clicks"),
        State("cs-nav-collapse", "is_open"),
        prevent_initial_call=True,
    )
    # the browser's IANA time zone, so pages show local days and times
    app.clientside_callback(
        """function(_, known) {
            const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
            return zone === known ? window.dash_clientside.no_update : zone;
        }""",
        Output("cs-tz", "data"),
        Input("cs-url", "pathname"),
        State("cs-tz", "data"),
    )

    @app.callback(Output("cs-tz-saved", "data"), Input("cs-tz", "data"), prevent_initial_call=True)
    def remember_time_zone(zone):
        """Kept on the user, so every page (and every message to them) shows their times."""
        changed, _alert = attempt(lambda: act(adopt_time_zone, zone))
        return bool(changed) or no_update

    # no page sends this: it is the benchmarks' baseline, a callback that does no work
    @app.callback(Output("cs-ping", "data"), Input("cs-ping", "modified_timestamp"),
                  prevent_initial_call=True)  # fmt: skip
    def ping(stamp):
        return stamp

    @app.callback(
        Output("cs-locale-saved", "data"),
        Input("cs-locale", "value"),
        prevent_initial_call=True,
    )
    def choose_locale(locale):
        """The signed-in user's own language; the page is then drawn again in it. (The
        select is drawn anew with the navbar, which fires this with the current value.)"""
        current, _alert = attempt(lambda: read(lambda _session, actor: actor.locale))
        if locale == current:
            return no_update
        user, _alert = attempt(lambda: act(set_locale, str(locale or "")))
        return no_update if user is None else user.locale

    app.clientside_callback(
        "function(saved) { if (saved) { window.location.reload(); } return null; }",
        Output("cs-locale-saved", "clear_data"),
        Input("cs-locale-saved", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("cs-navbar", "children"), Input("cs-url", "pathname"), Input("cs-notified", "data")
    )
    def render_navbar(_pathname, _notified):
        with database().session() as session:
            actor = load_actor(session)
            if actor is None or not actor.is_active:
                return navbar_contents(None, {})
            counts = {**waiting_counts(session, actor), "unread": unread_count(session, actor)}
            return navbar_contents(actor, counts)


def __getattr__(name: str):
    """``app`` and ``server`` are built on first use, so importing this module is cheap."""
    if name in ("app", "server", "celery_app"):
        built = create_app()
        manager = built._background_manager
        celery = manager.handle if type(manager).__name__ == "CeleryManager" else None
        globals().update(app=built, server=built.server, celery_app=celery)
        # what the process holds from now on (modules, the app, its pages) lives as long
        # as the process: the collector need not look through it on every full collection
        gc.collect()
        gc.freeze()
        return globals()[name]
    raise AttributeError(name)


class QuietRequestHandler(WSGIRequestHandler):
    """``python app.py``'s server, naming no server software or Python version."""

    def version_string(self) -> str:
        return "Countersign"


if __name__ == "__main__":
    settings = load_settings()
    application = create_app(settings)
    print(f"Countersign is serving on http://{settings.host}:{settings.port}")
    application.run(
        host=settings.host, port=settings.port, debug=False, request_handler=QuietRequestHandler
    )
