"""What people add to a request besides its changes: a comment thread, and documents
(PDF, PNG, JPEG) attached as evidence. Both are visible to everyone who may see the
request (every active user, as the request page is); a document's type is read from its
content, never from its name, and its SHA-256 goes into the audit trail."""

from __future__ import annotations

import hashlib
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, undefer

from data.errors import NotFound, ValidationFailed
from data.i18n import _
from data.models import AuditEntry, RequestAttachment, RequestComment, User
from data.requests import get_request
from data.users import require_active

MAX_COMMENT = 4000
MAX_ATTACHMENT = 10 * 1024 * 1024
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
"""The kinds of document taken, by how their content starts."""


def add_comment(session: Session, actor: User, request_id: int, text: str | None) -> RequestComment:
    require_active(actor)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"comment": _("write something first")})
    if len(text) > MAX_COMMENT:
        raise ValidationFailed({"comment": _("at most {count} characters").format(
            count=MAX_COMMENT)})  # fmt: skip
    request = get_request(session, request_id)
    comment = RequestComment(request_id=request.id, user_id=actor.id, text=text)
    session.add(comment)
    session.flush()
    return comment


def comments(session: Session, actor: User, request_id: int) -> list[RequestComment]:
    require_active(actor)
    get_request(session, request_id)
    return list(session.scalars(
        select(RequestComment).where(RequestComment.request_id == request_id)
        .options(joinedload(RequestComment.user).lazyload(User.role_rows))
        .order_by(RequestComment.id)
    ))  # fmt: skip


def content_type_of(content: bytes) -> str | None:
    """The document's type from its first bytes (None: not a kind that is taken)."""
    return next((kind for start, kind in SIGNATURES if content.startswith(start)), None)


def _safe_name(filename: str | None, kind: str) -> str:
    """The name shown and offered on download: no path, no control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()[:200]
    return name or {"application/pdf": "document.pdf", "image/png": "image.png",
                    "image/jpeg": "image.jpg"}[kind]  # fmt: skip


def add_attachment(session: Session, actor: User, request_id: int, filename: str | None,
                   content: bytes) -> RequestAttachment:  # fmt: skip
    """Attach a PDF, PNG or JPEG of at most 10 MB; anything else is refused, whatever its
    name says."""
    require_active(actor)
    if not content:
        raise ValidationFailed({"file": _("the file is empty")})
    if len(content) > MAX_ATTACHMENT:
        raise ValidationFailed({"file": _("the file is larger than {size} MB").format(
            size=MAX_ATTACHMENT // (1024 * 1024))})  # fmt: skip
    kind = content_type_of(content)
    if kind is None:
        raise ValidationFailed({"file": _("must be a PDF, PNG or JPEG document (its content "
                                          "says it is not)")})  # fmt: skip
    request = get_request(session, request_id)
    digest = hashlib.sha256(content).hexdigest()
    attachment = RequestAttachment(request_id=request.id, filename=_safe_name(filename, kind),
                                   content_type=kind, size=len(content), sha256=digest,
                                   content=content, uploaded_by_id=actor.id)  # fmt: skip
    session.add(attachment)
    session.add(AuditEntry(entity="request", field="attachment",
                           new_value=f"{attachment.filename} sha256:{digest}",
                           source="attachment", request_id=request.id,
                           user_id=actor.id))  # fmt: skip
    session.flush()
    return attachment


def attachments(session: Session, actor: User, request_id: int) -> list[RequestAttachment]:
    """The documents attached to a request, with who attached them (not their content)."""
    require_active(actor)
    get_request(session, request_id)
    return list(session.scalars(
        select(RequestAttachment).where(RequestAttachment.request_id == request_id)
        .options(joinedload(RequestAttachment.uploaded_by).lazyload(User.role_rows))
        .order_by(RequestAttachment.id)
    ))  # fmt: skip


def attachment_content(session: Session, actor: User | None, attachment_id: int,
                       request_id: int | None = None) -> RequestAttachment:  # fmt: skip
    """An attachment with its content, for someone who may see its request (of
    ``request_id``, when the caller names one)."""
    require_active(actor)
    attachment = session.scalar(
        select(RequestAttachment).options(undefer(RequestAttachment.content))
        .where(RequestAttachment.id == attachment_id)
    )  # fmt: skip
    if attachment is not None and request_id is not None and attachment.request_id != request_id:
        attachment = None
    if attachment is None:
        raise NotFound(_("This attachment does not exist."))
    return attachment


def thread(session: Session, actor: User, request_id: int):
    """A request's thread as its page shows it: (comments, documents, the reader's zone)."""
    return (comments(session, actor, request_id), attachments(session, actor, request_id),
            actor.time_zone)  # fmt: skip
