"""What every API call shares: the token's user, one unit of work, idempotent replays,
cursors and ETags."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Response, current_app, g, request
from sqlalchemy import delete
from sqlalchemy.orm import Session

from data.clock import utcnow
from data.errors import DomainError, ValidationFailed
from data.i18n import _
from data.models import IdempotencyKey, User

IDEMPOTENCY_WINDOW = timedelta(hours=24)
COMPRESSIONS = (":gzip", ":br", ":deflate", ":zstd")
MAX_KEY_LENGTH = 255


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def database():
    from pages._support import DATABASE_KEY  # the app keeps its database there

    return current_app.extensions[DATABASE_KEY]


def json_response(answer: Answer, replayed: bool = False) -> Response:
    response = Response(json.dumps(answer.body, ensure_ascii=False, default=str),
                        status=answer.status, mimetype="application/json")  # fmt: skip
    for name, value in answer.headers.items():
        response.headers[name] = value
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.full_path.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        # a multipart body was parsed into files (get_data is then empty): hash them
        digest.update(b"\0" + name.encode() + b"\0" + (upload.filename or "").encode() + b"\0")
        upload.stream.seek(0)
        digest.update(upload.stream.read())
        upload.stream.seek(0)
    return digest.hexdigest()


def call(produce: Callable[[Session, User], Answer]) -> Response:
    """Run ``produce(session, actor)`` as the token's user in one transaction.

    A POST or PATCH with an Idempotency-Key writes its answer in the same transaction as
    what it did; the same key again within 24 hours replays that answer and does nothing
    (two at once: the database's key lets one through, the other replays it). The same
    key with another request is refused."""
    key, fingerprint = _idempotency_key()
    keyed = key is not None
    user_id = g.api_user_id

    def work(session: Session) -> tuple[Answer, bool]:
        actor = session.get(User, user_id)
        if keyed:
            replay = _replay(session, user_id, key, fingerprint)
            if replay is not None:
                return replay, True
        answer = produce(session, actor)
        if keyed:
            _keep(session, user_id, key, fingerprint, answer)
        return answer, False

    try:
        answer, replayed = database().run(work, writes=True)
    except DomainError:
        # the same call sent twice at once: the first may have finished while this one
        # waited for the row it changes, and then its answer is this one's too
        stored = _stored(user_id, key, fingerprint) if keyed else None
        if stored is None:
            raise
        answer, replayed = stored, True
    return json_response(answer, replayed)


def call_in_steps(produce: Callable[[int], Answer]) -> Response:
    """Run ``produce(user_id)``, a call that commits in steps of its own (an import), as the
    token's user. An Idempotency-Key's answer is kept once it has finished, and a repeat
    within 24 hours replays it. (Two at once both run: an import run twice changes
    nothing more the second time, its rows then unchanged or already proposed.)"""
    key, fingerprint = _idempotency_key()
    user_id = g.api_user_id
    if key is not None:
        with database().session() as session:
            replay = _replay(session, user_id, key, fingerprint)
        if replay is not None:
            return json_response(replay, replayed=True)
    answer = produce(user_id)
    if key is not None:
        database().run(_keep, user_id, key, fingerprint, answer, writes=True)
    return json_response(answer)


def _idempotency_key() -> tuple[str | None, str]:
    """The call's Idempotency-Key (POST and PATCH only) and what it is asked to do."""
    key = request.headers.get("Idempotency-Key")
    if key is None or request.method not in ("POST", "PATCH"):
        return None, ""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed(
            {"Idempotency-Key": _("must be 1 to {count} characters").format(count=MAX_KEY_LENGTH)}
        )
    return key, _fingerprint()


def _replay(session: Session, user_id: int, key: str, fingerprint: str) -> Answer | None:
    """The answer kept for this key within the window; refused for another request."""
    stored = session.get(IdempotencyKey, (user_id, key))
    if stored is not None and stored.created_at > utcnow() - IDEMPOTENCY_WINDOW:
        if stored.fingerprint != fingerprint:
            raise ValidationFailed(
                {"Idempotency-Key": _("was used with another request")},
                _("This Idempotency-Key was used with another request; nothing changed."),
            )
        return Answer(stored.status, json.loads(stored.body), dict(stored.headers))
    if stored is not None:
        session.delete(stored)
        session.flush()
    return None


def _keep(session: Session, user_id: int, key: str, fingerprint: str, answer: Answer) -> None:
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.created_at <= utcnow() - IDEMPOTENCY_WINDOW,
        )
    )
    session.add(
        IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint, status=answer.status,
                       body=json.dumps(answer.body, ensure_ascii=False, default=str),
                       headers=answer.headers)
    )  # fmt: skip
    session.flush()


def _stored(user_id: int, key: str, fingerprint: str) -> Answer | None:
    with database().session() as session:
        stored = session.get(IdempotencyKey, (user_id, key))
        if stored is None or stored.fingerprint != fingerprint:
            return None
        return Answer(stored.status, json.loads(stored.body), dict(stored.headers))


def read(produce: Callable[[Session, User], Answer]) -> Response:
    """A read as the token's user: one session, nothing written."""
    with database().session() as session:
        answer = produce(session, session.get(User, g.api_user_id))
    return json_response(answer)


def encode_cursor(after: list | None) -> str | None:
    if after is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(after).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, list):
        raise ValidationFailed({"cursor": _("is not one this list gave")})
    return value


def etag(version: int) -> str:
    return f'"{version}"'


class IfMatchMissing(DomainError):
    """A change sent without the ETag it was read with (answered 428)."""


def required_version() -> int:
    """The version If-Match names; refused when the header is missing or malformed."""
    version = expected_version()
    if version is None:
        raise IfMatchMissing(_("Send If-Match with the ETag the customer was read with; "
                               "nothing changed."))  # fmt: skip
    return version


def expected_version() -> int | None:
    """The version an If-Match names (None when there is none; a malformed one is refused)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    # a compressed answer's ETag carries its encoding ("7:gzip", flask-compress): the same
    # version
    text = text.split(":", 1)[0] if text.endswith(COMPRESSIONS) else text
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ValidationFailed({"If-Match": _("must be the ETag the customer was read with")})
    return int(text)
