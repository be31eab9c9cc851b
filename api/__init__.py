"""The JSON API under /api/v1: another system's door into the same services as the screens.

flask-smorest builds it on the Flask server Dash runs on: marshmallow schemas validate
what comes in and describe what goes out, and the OpenAPI 3 document
(/api/v1/openapi.json) is derived from them; /api/docs shows it (Swagger UI, served from
this server). Every call carries a bearer token (data/tokens.py) and runs as the token's
user through the services in data/, under that user's roles; errors are problem details
(api/problems.py)."""

from __future__ import annotations

import http
import time
from pathlib import Path

from flask import Flask, g, request, send_from_directory
from flask_limiter import Limiter
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from api import change_requests, customers, imports
from api.core import database
from api.problems import PROBLEM, ProblemSchema, http_problem, problem
from data.i18n import _, reset_language, set_language
from data.numbers import locale_of
from data.tokens import REFUSED, authenticate

PREFIX = "/api/"
SPEC_PATH = "/api/v1/openapi.json"
MAX_BODY_BYTES = 1024 * 1024
STATIC = Path(__file__).resolve().parent / "static"


def is_api_call() -> bool:
    return request.path.startswith(PREFIX)


class ProblemApi(Api):
    """flask-smorest's Api whose errors are problem details, and only for the API: the
    screens' addresses keep Flask's own handling."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        """Every error response the document names is a problem (flask-smorest's own
        registration, with the problem's content type)."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        if not is_api_call():
            return error
        return http_problem(error)


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def rate_key() -> str:
    """Calls are counted per token (its public prefix), else per address."""
    token = _presented_token() or ""
    parts = token.split("_", 2)
    if len(parts) == 3 and parts[0] == "cs" and parts[1]:
        return f"api-token:{parts[1][:16]}"
    return f"api-address:{request.remote_addr}"


def init_api(server: Flask, limiter: Limiter, limit: str) -> Api:
    server.config.update(
        API_TITLE="Countersign",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = ProblemApi(server, spec_kwargs={
        "info": {"description": "Propose and follow changes to customer master data. Send "
                                "the header `Authorization: Bearer cs_…` (your API token) "
                                "with every call."},
        "security": [{"bearer": []}],
    })  # fmt: skip
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for blueprint in (customers.ping, customers.blp, change_requests.blp, imports.blp):
        limiter.limit(limit, key_func=rate_key)(blueprint)
        api.register_blueprint(blueprint)

    @server.before_request
    def authenticate_api_call():
        if not is_api_call() or request.path == SPEC_PATH or request.path.startswith("/api/docs"):
            return None
        request.max_content_length = MAX_BODY_BYTES
        if "" in request.args:  # "?=" or "?&=x": webargs would pass it over unseen
            return problem(400, _("A query parameter has no name; nothing changed."))
        user = database().run(lambda session: _signed_by_token(session))
        if user is None:
            return problem(401, _(REFUSED), headers={"WWW-Authenticate": "Bearer"})
        g.api_user_id, locale = user
        previous = g.pop("language", None)
        if previous is not None:
            reset_language(previous)
        g.language = set_language(locale_of(locale))
        return None

    @server.get("/api/<path:_anything>")
    def nothing_here(_anything: str):
        """Under /api an unknown address is a 404 problem, not the screens' page."""
        return problem(404, _("There is nothing at this address."))

    @server.get("/api/docs")
    def api_docs():
        return send_from_directory(STATIC, "docs.html")

    @server.get("/api/docs/<path:name>")
    def api_docs_files(name: str):
        import swagger_ui_bundle

        if name == "docs.js":
            return send_from_directory(STATIC, name)
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)

    return api


def _signed_by_token(session) -> tuple[int, str | None] | None:
    user = authenticate(session, _presented_token())
    return (user.id, user.locale) if user is not None else None


def too_many_requests(limiter: Limiter):
    """429 with Retry-After: the seconds until the window lets the token call again."""
    current = limiter.current_limit
    wait = max(1, int(current.reset_at - time.time())) if current is not None else 60
    return problem(429, _("Too many requests for this token; wait {seconds} s and try "
                          "again.").format(seconds=wait),
                   headers={"Retry-After": str(wait)})  # fmt: skip
