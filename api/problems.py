"""Errors as problem details (RFC 9457): ``application/problem+json`` with the status, a
title, a detail a person can read, and the fields at fault."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import Response
from werkzeug.exceptions import HTTPException

from api.core import IfMatchMissing
from data.entity import VersionMismatch
from data.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    StaleChange,
    ValidationFailed,
    readable,
)
from data.i18n import _

PROBLEM_TYPE = "about:blank"
PROBLEM = "application/problem+json"


class FieldProblemSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "The field (or parameter) at fault"})
    message = ma.fields.String()


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldProblemSchema))


def problem(status: int, detail: str, *, title: str | None = None,
            errors: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:  # fmt: skip
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": name, "message": readable(name, text)}
                          for name, text in errors.items()]  # fmt: skip
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype=PROBLEM)  # fmt: skip
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def domain_problem(error: DomainError) -> Response:
    """A service's refusal as the status that says what kind it is."""
    if isinstance(error, ValidationFailed):
        return problem(422, error.message, errors=error.errors)
    if isinstance(error, StaleChange):
        return problem(409, error.message, stale_fields=error.fields)
    if isinstance(error, IfMatchMissing):
        return problem(428, error.message)
    if isinstance(error, VersionMismatch):
        return problem(412, error.message)
    if isinstance(error, Conflict | InvalidTransition):
        return problem(409, error.message)
    if isinstance(error, PermissionDenied):
        return problem(403, error.message)
    if isinstance(error, NotFound):
        return problem(404, error.message)
    return problem(422, error.message)


def http_problem(error: HTTPException) -> Response:
    """Flask's and webargs's refusals (404, 405, a body that fails its schema)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422 and isinstance(messages, dict):
        errors: dict[str, str] = {}
        for _location, fields in messages.items():
            for name, texts in _flatten(fields):
                errors[name] = "; ".join(texts)
        return problem(422, _("Some values are not valid; nothing changed."), errors=errors)
    detail = {
        404: _("There is nothing at this address."),
        405: _("This address does not take {method}.").format(method=_method()),
        400: _("This request could not be understood; nothing changed."),
        415: _("Send the body as JSON (Content-Type: application/json)."),
    }.get(status, error.description or "")
    return problem(status, detail)


def _method() -> str:
    from flask import request

    return request.method


def _flatten(fields: Any, prefix: str = "") -> list[tuple[str, list[str]]]:
    """webargs's nested messages as (dotted field name, messages)."""
    if isinstance(fields, list):
        return [(prefix or "body", [str(text) for text in fields])]
    found: list[tuple[str, list[str]]] = []
    if isinstance(fields, dict):
        for name, inner in fields.items():
            found += _flatten(inner, f"{prefix}.{name}" if prefix else str(name))
    return found
