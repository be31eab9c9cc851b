"""/api/v1/requests: list and read change requests; submit, recall and decide them under the
same rules as the request page (segregation of duties, the stale check, the step's policy)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import Answer, call, database, decode_cursor, encode_cursor, read
from api.customers import IDEMPOTENCY
from api.problems import PROBLEM, ProblemSchema, domain_problem
from api.schemas import (
    AttachmentFileSchema,
    AttachmentListSchema,
    AttachmentSchema,
    CommentItemSchema,
    CommentListSchema,
    CommentSchema,
    DecisionSchema,
    RequestPageSchema,
    RequestQuerySchema,
    RequestSchema,
    SubmitSchema,
)
from data import requests as workflow
from data import threads
from data.audit import current_value_text
from data.errors import DomainError, NotFound, ValidationFailed
from data.feeds import list_requests
from data.fields import FIELDS_BY_NAME, field_label
from data.i18n import _
from data.lifecycle import OPEN_STATES, REQUEST_STATE_LABELS
from data.models import ChangeRequest, User
from data.users import require_active

blp = Blueprint(
    "requests",
    __name__,
    url_prefix="/api/v1/requests",
    description="Change requests: follow them, submit, recall and decide them.",
)
blp.register_error_handler(DomainError, domain_problem)


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def request_document(session: Session, actor: User, request: ChangeRequest, *,
                     full: bool = True) -> dict[str, Any]:  # fmt: skip
    customer = request.customer
    order = list(FIELDS_BY_NAME)
    changes = []
    for change in sorted(request.changes, key=lambda c: order.index(c.field)):
        current = current_value_text(customer, change.field)
        changes.append({
            "field": change.field,
            "label": field_label(change.field),
            "original": change.original_value,
            "current": current,
            "new": change.new_value,
            "stale": request.state in OPEN_STATES and current != change.original_value,
        })  # fmt: skip
    step = workflow.current_step(request) if request.state == "pending" else None
    document = {
        "id": request.id,
        "state": request.state,
        "state_label": REQUEST_STATE_LABELS[request.state],
        "customer": customer.account,
        "round": request.round,
        "submitted_by": request.submitted_by.username if request.submitted_by else None,
        "submitted_at": _iso(request.submitted_at),
        "decided_at": _iso(request.decided_at),
        "updated_at": _iso(request.updated_at),
        "step": step.name if step else None,
        "justification": request.justification,
        "changes": changes,
        "href": f"/api/v1/requests/{request.id}",
    }
    if full:
        document["actions"] = sorted(workflow.allowed_actions(session, request, actor))
        document["events"] = [
            {"at": _iso(event.at), "action": event.action,
             "user": event.actor.username if event.actor else None,
             "step": event.step_name, "comment": event.comment, "reason": event.reason,
             "for": (event.details or {}).get("for")}
            for event in request.events
        ]  # fmt: skip
    return document


def _request(session: Session, actor: User, request_id: int) -> ChangeRequest:
    require_active(actor)
    request = session.get(ChangeRequest, request_id)
    if request is None:
        raise NotFound(_("Change request {id} does not exist.").format(id=request_id))
    return request


@blp.route("")
class Requests(MethodView):
    @blp.arguments(RequestQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, RequestPageSchema)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query):
        """Change requests, newest first, a page at a time"""

        def produce(session: Session, actor: User) -> Answer:
            page = list_requests(
                session, actor, state=query.get("state"), account=query.get("customer"),
                submitter=query.get("submitter"), assigned_to_me=query["assigned_to_me"],
                since=query.get("since"), after=decode_cursor(query.get("cursor")),
                limit=query["limit"],
            )  # fmt: skip
            items = [request_document(session, actor, r, full=False) for r in page.rows]
            return Answer(200, {"items": items, "next_cursor": encode_cursor(page.after)})

        return read(produce)


@blp.route("/<int(max=2147483647):request_id>")
class RequestItem(MethodView):
    @blp.response(200, RequestSchema)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, request_id):
        """One change request: its changes (original, current and new values), what the
        caller may do, and its history"""

        def produce(session: Session, actor: User) -> Answer:
            request = _request(session, actor, request_id)
            return Answer(200, request_document(session, actor, request))

        return read(produce)


def _acted(request_id: int, act) -> Any:
    def produce(session: Session, actor: User) -> Answer:
        _request(session, actor, request_id)
        request = act(session, actor)
        session.flush()
        return Answer(200, request_document(session, actor, request))

    return call(produce)


@blp.route("/<int(max=2147483647):request_id>/submit")
class RequestSubmit(MethodView):
    @blp.response(200, RequestSchema)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.arguments(SubmitSchema, required=False)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, body, request_id):
        """Workflow › Submit (or resubmit a request sent back), with a justification, which
        the parameters may require for some fields"""
        justification = (body or {}).get("justification")

        def act(session: Session, actor: User) -> ChangeRequest:
            if session.get(ChangeRequest, request_id).state == "change_requested":
                return workflow.resubmit(session, actor, request_id, justification)
            return workflow.submit(session, actor, request_id, justification)

        return _acted(request_id, act)


@blp.route("/<int(max=2147483647):request_id>/discard")
class RequestDiscard(MethodView):
    @blp.response(200, RequestSchema)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, request_id):
        """Discard all changes of a draft or sent-back request"""
        return _acted(request_id,
                      lambda session, actor: workflow.discard_all(session, actor, request_id))


@blp.route("/<int(max=2147483647):request_id>/changes/<string:field>")
class RequestChange(MethodView):
    @blp.response(200, RequestSchema)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    def delete(self, request_id, field):
        """Discard one proposed change (the editor's Discard on its row)"""
        return _acted(request_id, lambda session, actor: workflow.delete_proposal(
            session, actor, request_id, field))  # fmt: skip


@blp.route("/<int(max=2147483647):request_id>/recall")
class RequestRecall(MethodView):
    @blp.response(200, RequestSchema)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, request_id):
        """The submitter takes a pending request back to Not submitted"""
        return _acted(request_id, lambda session, actor: workflow.recall(session, actor,
                                                                          request_id))  # fmt: skip


@blp.route("/<int(max=2147483647):request_id>/decision")
class RequestDecision(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(200, RequestSchema)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, body, request_id):
        """Approve, reject, request a change or delegate, with a comment; approve, reject
        and request_change name the round read (a request resubmitted since is refused)"""
        decision = body["decision"]
        comment = body.get("comment")

        def act(session: Session, actor: User) -> ChangeRequest:
            if decision == "delegate":
                username = (body.get("delegate_to") or "").strip().lower()
                target = session.scalar(select(User.id).where(User.username == username))
                if not username or target is None:
                    raise ValidationFailed({"delegate_to": _("must be the user name of an "
                                                             "active approver")})  # fmt: skip
                return workflow.delegate(session, actor, request_id, target, comment)
            seen = body.get("round")
            if seen is None:
                raise ValidationFailed({"round": _("is required: the round of the request you "
                                                   "read")})  # fmt: skip
            if decision == "approve":
                return workflow.approve(session, actor, request_id, comment, seen_round=seen,
                                        confirm_stale=body["confirm_stale"])  # fmt: skip
            reason = body.get("reason")
            if decision == "reject":
                return workflow.reject(session, actor, request_id, comment, seen_round=seen,
                                       reason=reason)  # fmt: skip
            return workflow.request_change(session, actor, request_id, comment, seen_round=seen,
                                           reason=reason)  # fmt: skip

        return _acted(request_id, act)


def _comment_document(comment) -> dict:
    return {"id": comment.id, "at": _iso(comment.at), "user": comment.user.username,
            "text": comment.text}  # fmt: skip


def _attachment_document(request_id: int, item) -> dict:
    return {"id": item.id, "filename": item.filename, "content_type": item.content_type,
            "size": item.size, "sha256": item.sha256, "uploaded_by": item.uploaded_by.full_name,
            "at": _iso(item.at),
            "href": f"/api/v1/requests/{request_id}/attachments/{item.id}"}  # fmt: skip


@blp.route("/<int(max=2147483647):request_id>/comments")
class RequestComments(MethodView):
    @blp.response(200, CommentListSchema)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, request_id):
        """The request's comment thread, oldest first"""
        return read(lambda session, actor: Answer(200, {"items": [
            _comment_document(c) for c in threads.comments(session, actor, request_id)]}))

    @blp.arguments(CommentSchema)
    @blp.response(201, CommentItemSchema)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, body, request_id):
        """Add a comment, visible to all who can see the request"""

        def produce(session: Session, actor: User) -> Answer:
            comment = threads.add_comment(session, actor, request_id, body["text"])
            return Answer(201, _comment_document(comment))

        return call(produce)


@blp.route("/<int(max=2147483647):request_id>/attachments")
class RequestAttachments(MethodView):
    @blp.response(200, AttachmentListSchema)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, request_id):
        """The documents attached to the request"""
        return read(lambda session, actor: Answer(200, {"items": [
            _attachment_document(request_id, item)
            for item in threads.attachments(session, actor, request_id)]}))

    @blp.arguments(AttachmentFileSchema, location="files")
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, files, request_id):
        """Attach a PDF, PNG or JPEG (up to 10 MB; its type is read from its content)"""
        upload = files["file"]
        content = upload.read()

        def produce(session: Session, actor: User) -> Answer:
            item = threads.add_attachment(session, actor, request_id, upload.filename, content)
            return Answer(201, _attachment_document(request_id, item))

        return call(produce)


@blp.route("/<int(max=2147483647):request_id>/attachments/<int(max=2147483647):attachment_id>")
class RequestAttachmentItem(MethodView):
    @blp.response(200, description="The document itself", content_type="application/octet-stream")
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, request_id, attachment_id):
        """Download one attached document"""
        from links import document_response

        with database().session() as session:
            item = threads.attachment_content(session, session.get(User, g.api_user_id),
                                              attachment_id, request_id)  # fmt: skip
            return document_response(item.content, item.content_type, item.filename)
