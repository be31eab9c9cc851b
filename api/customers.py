"""/api/v1/customers: list, read, create, and change under the Data entity behavior."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy.orm import Session, object_session

from api.core import Answer, call, decode_cursor, encode_cursor, etag, read, required_version
from api.problems import PROBLEM, ProblemSchema, domain_problem
from api.schemas import (
    AuditPageSchema,
    CustomerCreateSchema,
    CustomerPageSchema,
    CustomerQuerySchema,
    CustomerSchema,
    CustomerUpdateResultSchema,
    CustomerUpdateSchema,
    PageQuerySchema,
    PingSchema,
)
from data.customers import get_customer
from data.entity import create_from_entity, save_as_editor, update_from_entity
from data.errors import DomainError
from data.feeds import CUSTOMER_FILTERS, audit_trail, list_customers
from data.fields import FIELDS
from data.models import AuditEntry, Customer, User
from data.requests import open_request_for

blp = Blueprint("customers", __name__, url_prefix="/api/v1/customers",
                description="Customers: read them, create them, change them.")  # fmt: skip
blp.register_error_handler(DomainError, domain_problem)

IF_MATCH = {"in": "header", "name": "If-Match", "required": True,
            "description": "The ETag the customer was read with", "schema": {"type": "string"}}
IDEMPOTENCY = {"in": "header", "name": "Idempotency-Key", "required": False,
               "description": "A repeat within 24 hours replays the first answer",
               "schema": {"type": "string", "maxLength": 255}}  # fmt: skip


def request_ref(request) -> dict | None:
    if request is None:
        return None
    return {"id": request.id, "state": request.state, "href": f"/api/v1/requests/{request.id}"}


def customer_document(session: Session, customer: Customer, *,
                      request=False) -> dict[str, Any]:  # fmt: skip
    """The customer as the API writes it; ``request``: its open request when the caller
    knows it already (None: it has none)."""
    document: dict[str, Any] = {}
    for spec in FIELDS:
        value = getattr(customer, spec.name)
        document[spec.name] = spec.to_text(value) if spec.kind == "money" else value
    document.update(
        version=customer.version,
        updated_at=customer.updated_at.isoformat() if customer.updated_at else None,
        open_request=request_ref(open_request_for(session, customer.id)
                                 if request is False else request),
        href=f"/api/v1/customers/{customer.account}",
    )
    return document


ping = Blueprint("ping", __name__, url_prefix="/api/v1",
                 description="Check a token: answers when the token is valid, doing nothing else.")
ping.register_error_handler(DomainError, domain_problem)


@ping.route("/ping")
class Ping(MethodView):
    @ping.response(200, PingSchema)
    def get(self):
        """Whether the token works (the API's lightest call)"""
        return {"ok": True}


@blp.route("")
class Customers(MethodView):
    @blp.arguments(CustomerQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, CustomerPageSchema)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query):
        """Customers, a page at a time (keyset: pass next_cursor as cursor)"""

        def produce(session: Session, actor: User) -> Answer:
            page = list_customers(
                session, actor, sort=query["sort"], after=decode_cursor(query.get("cursor")),
                limit=query["limit"], search=query.get("q"),
                filters={name: query[name] for name in CUSTOMER_FILTERS if name in query},
                updated_since=query.get("updated_since"),
            )  # fmt: skip
            items = [customer_document(session, customer) for customer in page.rows]
            return Answer(200, {"items": items, "next_cursor": encode_cursor(page.after)})

        return read(produce)

    @blp.arguments(CustomerCreateSchema)
    @blp.response(201, CustomerSchema)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, body):
        """Create a customer (it applies at once, as a new account in an import does)"""

        def produce(session: Session, actor: User) -> Answer:
            customer = create_from_entity(session, actor, body)
            document = customer_document(session, customer)
            return Answer(201, document, {"ETag": etag(customer.version),
                                          "Location": document["href"]})  # fmt: skip

        return call(produce)


@blp.route("/<string:account>")
class CustomerItem(MethodView):
    @blp.response(200, CustomerSchema)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, account):
        """One customer; its ETag is its version"""

        def produce(session: Session, actor: User) -> Answer:
            customer = get_customer(session, actor, account)
            return Answer(200, customer_document(session, customer),
                          {"ETag": etag(customer.version)})  # fmt: skip

        return read(produce)

    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerUpdateResultSchema)
    @blp.alt_response(412, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(428, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IF_MATCH, IDEMPOTENCY])
    def patch(self, body, account):
        """Change fields under the Data entity behavior: applied, proposed (the workflow
        starts at once) or refused"""
        version = required_version()
        return call(lambda session, actor: _changed(
            update_from_entity(session, actor, account, body, expected_version=version)))


@blp.route("/<string:account>/proposals")
class CustomerProposals(MethodView):
    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerUpdateResultSchema)
    @blp.alt_response(412, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(428, schema=ProblemSchema, content_type=PROBLEM)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IF_MATCH, IDEMPOTENCY])
    def post(self, body, account):
        """Save as the customer editor does: non-gated fields apply, gated ones become
        proposals on the customer's draft request (submit it with
        /requests/{id}/submit); whatever the Data entity behavior"""
        version = required_version()
        return call(lambda session, actor: _changed(
            save_as_editor(session, actor, account, body, expected_version=version)))


def _changed(result) -> Answer:
    """What a change did, field by field, with the customer as it is now."""
    session = object_session(result.customer)
    session.flush()
    return Answer(
        200,
        {
            "customer": customer_document(session, result.customer, request=result.request),
            "fields": [{"field": name, "outcome": outcome}
                       for name, outcome in result.fields.items()],
            "request": request_ref(result.request),
        },
        {"ETag": etag(result.customer.version)},
    )  # fmt: skip


@blp.route("/<string:account>/audit")
class CustomerAudit(MethodView):
    @blp.arguments(PageQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, AuditPageSchema)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, query, account):
        """The customer's audit trail, newest first"""

        def produce(session: Session, actor: User) -> Answer:
            page = audit_trail(session, actor, account, after=decode_cursor(query.get("cursor")),
                               limit=query["limit"])  # fmt: skip
            return Answer(200, {"items": [audit_document(entry) for entry in page.rows],
                                "next_cursor": encode_cursor(page.after)})  # fmt: skip

        return read(produce)


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "field": entry.field,
        "old_value": entry.old_value,
        "new_value": entry.new_value,
        "source": entry.source,
        "request_id": entry.request_id,
        "batch_id": entry.batch_id,
        "user": entry.user.username if entry.user else None,
    }
