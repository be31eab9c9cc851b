"""The API's shapes (marshmallow): what it answers and what it takes, read from the field
catalogue, so the OpenAPI document names every customer field with its type."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields

from data.feeds import CUSTOMER_SORTS, MAX_PAGE, REQUEST_STATES
from data.fields import EDITABLE_FIELDS, FIELDS, FieldSpec

MONEY_PATTERN = r"^\d{1,12}\.\d{2}$"


def _out(spec: FieldSpec) -> fields.Field:
    """A customer field as the API writes it: amounts as exact decimal strings."""
    options = {"allow_none": not spec.required, "metadata": {"description": spec.label_id}}
    if spec.kind == "money":
        options["metadata"].update(pattern=MONEY_PATTERN, example="1500.00")
        return fields.String(**options)
    if spec.kind == "integer":
        return fields.Integer(**options)
    if spec.kind == "boolean":
        return fields.Boolean(**options)
    return fields.String(**options)


def _in(spec: FieldSpec) -> fields.Field:
    """A customer field as the API takes it: validated by the catalogue (data.entity), so
    the schema passes the value through and only says what it should be."""
    if spec.is_numeric:
        kind = {"oneOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}]}
    elif spec.kind == "boolean":
        kind = {"type": "boolean"}
    else:
        kind = {"type": "string"}
        if spec.max_length:
            kind["maxLength"] = spec.max_length
        if spec.choices:
            kind["enum"] = list(spec.choices)
    return fields.Raw(allow_none=True, metadata={"description": spec.label_id, "nullable": True,
                                                 **kind})  # fmt: skip


class PingSchema(ma.Schema):
    ok = fields.Boolean(required=True)


class RequestRefSchema(ma.Schema):
    id = fields.Integer(required=True)
    state = fields.String(required=True)
    href = fields.String(required=True)


CustomerSchema = ma.Schema.from_dict(
    {
        **{spec.name: _out(spec) for spec in FIELDS},
        "version": fields.Integer(required=True, metadata={"description": "The ETag's version"}),
        "updated_at": fields.DateTime(),
        "open_request": fields.Nested(RequestRefSchema, allow_none=True),
        "href": fields.String(),
    },
    name="Customer",
)


class CustomerPageSchema(ma.Schema):
    items = fields.List(fields.Nested(CustomerSchema))
    next_cursor = fields.String(allow_none=True)


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


CustomerUpdateSchema = _Strict.from_dict(
    {spec.name: _in(spec) for spec in EDITABLE_FIELDS}, name="CustomerUpdate"
)
CustomerCreateSchema = _Strict.from_dict(
    {spec.name: _in(spec) for spec in FIELDS}, name="CustomerCreate"
)


class CustomerQuerySchema(_Strict):
    sort = fields.String(load_default="account", validate=ma.validate.OneOf(CUSTOMER_SORTS))
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_PAGE))
    q = fields.String(metadata={"description": "Account number prefix or part of the name"},
                      validate=ma.validate.Length(max=100))
    customer_group = fields.String(validate=ma.validate.Length(max=10))
    country = fields.String(validate=ma.validate.Length(max=2))
    currency = fields.String(validate=ma.validate.Length(max=3))
    on_hold = fields.String(validate=ma.validate.Length(max=10))
    updated_since = fields.AwareDateTime()


class PageQuerySchema(_Strict):
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_PAGE))


class FieldOutcomeSchema(ma.Schema):
    field = fields.String(required=True)
    outcome = fields.String(required=True, validate=ma.validate.OneOf(
        ["applied", "proposed", "unchanged", "withdrawn"]))  # fmt: skip


class CustomerUpdateResultSchema(ma.Schema):
    customer = fields.Nested(CustomerSchema, required=True)
    fields_ = fields.List(fields.Nested(FieldOutcomeSchema), data_key="fields", required=True)
    request = fields.Nested(RequestRefSchema, allow_none=True)


class ChangeSchema(ma.Schema):
    field = fields.String(required=True)
    label = fields.String()
    original = fields.String(allow_none=True)
    current = fields.String(allow_none=True)
    new = fields.String(allow_none=True)
    stale = fields.Boolean()


class EventSchema(ma.Schema):
    at = fields.DateTime()
    action = fields.String()
    user = fields.String(allow_none=True)
    step = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "Reason code given"})
    for_ = fields.String(allow_none=True, data_key="for", metadata={
        "description": "Whom the user decided for (out of office)"})


class RequestSchema(ma.Schema):
    id = fields.Integer(required=True)
    state = fields.String(required=True, validate=ma.validate.OneOf(REQUEST_STATES))
    state_label = fields.String()
    customer = fields.String(required=True, metadata={"description": "Account number"})
    round = fields.Integer(metadata={"description": "Send it back with a decision"})
    submitted_by = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    step = fields.String(allow_none=True)
    justification = fields.String(allow_none=True)
    changes = fields.List(fields.Nested(ChangeSchema))
    actions = fields.List(fields.String(), metadata={"description": "What the caller may do"})
    events = fields.List(fields.Nested(EventSchema))
    href = fields.String()


class RequestPageSchema(ma.Schema):
    items = fields.List(fields.Nested(RequestSchema))
    next_cursor = fields.String(allow_none=True)


class RequestQuerySchema(PageQuerySchema):
    state = fields.String(validate=ma.validate.OneOf(REQUEST_STATES))
    customer = fields.String(validate=ma.validate.Length(max=20))
    submitter = fields.String(validate=ma.validate.Length(max=40))
    assigned_to_me = fields.Boolean(load_default=False)
    since = fields.AwareDateTime()


class SubmitSchema(_Strict):
    justification = fields.String(allow_none=True, validate=ma.validate.Length(max=4000),
                                  metadata={"description": "Why the changes are asked for "
                                                           "(required for some fields)"})


DECISIONS = ("approve", "reject", "request_change", "delegate")


class DecisionSchema(_Strict):
    decision = fields.String(required=True, validate=ma.validate.OneOf(DECISIONS))
    round = fields.Integer(metadata={"description": "The round the caller read (approve, reject, "
                                                    "request_change)"})  # fmt: skip
    comment = fields.String(allow_none=True, validate=ma.validate.Length(max=4000))
    confirm_stale = fields.Boolean(load_default=False)
    reason = fields.String(allow_none=True, validate=ma.validate.Length(max=20), metadata={
        "description": "A reason code (reject, request_change), required while the "
                       "administrators' list has any"})  # fmt: skip
    delegate_to = fields.String(metadata={"description": "User name (delegate)"},
                                validate=ma.validate.Length(max=40))


class AuditEntrySchema(ma.Schema):
    id = fields.Integer()
    at = fields.DateTime()
    field = fields.String()
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)
    source = fields.String()
    request_id = fields.Integer(allow_none=True)
    batch_id = fields.Integer(allow_none=True)
    user = fields.String(allow_none=True)


class AuditPageSchema(ma.Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = fields.String(allow_none=True)


class ImportQuerySchema(_Strict):
    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "Say what each row would do, and change nothing"})  # fmt: skip
    decimal = fields.String(load_default=".", validate=ma.validate.OneOf([".", ","]), metadata={
        "description": "The file's decimal separator: '.' reads 1,500.00, ',' reads 1.500,00"})


class ImportFileSchema(_Strict):
    file = Upload(required=True, metadata={"description": "CSV or Excel (.xlsx), up to 20 MB; "
                                                          "key column: account"})  # fmt: skip


class ImportRowSchema(ma.Schema):
    row = fields.Integer(metadata={"description": "Row number in the file (the header is 1)"})
    account = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "created, updated, unchanged, proposed, "
                                                     "rejected or failed"})  # fmt: skip
    message = fields.String(allow_none=True)


class ImportBatchSchema(ma.Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "None for a dry run"})
    dry_run = fields.Boolean()
    filename = fields.String()
    status = fields.String(metadata={"description": "finished, failed, interrupted, running "
                                                    "(a dry run: preview)"})  # fmt: skip
    behavior = fields.String(metadata={"description": "The Data entity behavior it ran under"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    rows = fields.List(fields.Nested(ImportRowSchema))
    rows_shown = fields.Integer(metadata={"description": "Rows listed (refused ones first), "
                                                         "at most 1,000"})  # fmt: skip
    href = fields.String(allow_none=True)


class CommentSchema(_Strict):
    text = fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))


class CommentItemSchema(ma.Schema):
    id = fields.Integer()
    at = fields.DateTime()
    user = fields.String()
    text = fields.String()


class CommentListSchema(ma.Schema):
    items = fields.List(fields.Nested(CommentItemSchema))


class AttachmentFileSchema(_Strict):
    file = Upload(required=True, metadata={"description": "PDF, PNG or JPEG, up to 10 MB"})


class AttachmentSchema(ma.Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    at = fields.DateTime()
    href = fields.String()


class AttachmentListSchema(ma.Schema):
    items = fields.List(fields.Nested(AttachmentSchema))
