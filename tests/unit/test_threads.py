"""A request's comment thread, its attached documents and the justification some fields
need at Submit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data import requests as svc
from data.customers import save_customer
from data.errors import PermissionDenied, ValidationFailed
from data.models import AuditEntry, ChangeRequest, RequestEvent
from data.parameters import update_parameters
from data.threads import (
    MAX_ATTACHMENT,
    add_attachment,
    add_comment,
    attachment_content,
    attachments,
    comments,
)
from data.users import set_active
from tests.unit.test_workflow import submit

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def draft(world, values) -> int:
    return world.act("clerk", save_customer, "C001", values,
                     expected_version=world.version_of("C001")).request.id  # fmt: skip


def test_everyone_who_can_see_the_request_reads_and_adds_comments(world):
    request_id = submit(world, {"credit_limit": "20000"})
    world.act("clerk", add_comment, request_id, "  The customer sent new accounts.  ")
    world.act("approver", add_comment, request_id, "Thanks, reading them.")
    thread = world.act("analyst", comments, request_id)
    assert [(c.user.username, c.text) for c in thread] == [
        ("clerk", "The customer sent new accounts."), ("approver", "Thanks, reading them.")]
    with pytest.raises(ValidationFailed):
        world.act("approver", add_comment, request_id, "   ")
    world.act("admin", set_active, world.user_id("analyst"), False)
    with pytest.raises(PermissionDenied):
        world.act("analyst", comments, request_id)


def test_documents_are_taken_by_their_content_and_their_hash_is_audited(world):
    request_id = submit(world, {"credit_limit": "20000"})
    added = world.act("clerk", add_attachment, request_id, "../../balance sheet.pdf", PDF)
    assert (added.filename, added.content_type, added.size) == ("balance sheet.pdf",
                                                                "application/pdf", len(PDF))
    world.act("approver", add_attachment, request_id, "scan.png", PNG)
    listed = world.act("manager", attachments, request_id)
    assert [(a.filename, a.content_type) for a in listed] == [
        ("balance sheet.pdf", "application/pdf"), ("scan.png", "image/png")]
    import hashlib

    audited = world.query(lambda s: [e.new_value for e in s.scalars(
        select(AuditEntry).where(AuditEntry.field == "attachment"))])  # fmt: skip
    assert audited[0] == f"balance sheet.pdf sha256:{hashlib.sha256(PDF).hexdigest()}"
    assert world.act("analyst", attachment_content, added.id).content == PDF


@pytest.mark.parametrize(("name", "content", "says"), [
    ("invoice.pdf", EXECUTABLE, "PDF, PNG or JPEG"),   # a renamed executable
    ("notes.txt", b"plain text", "PDF, PNG or JPEG"),
    ("big.pdf", b"%PDF-" + b"0" * MAX_ATTACHMENT, "larger than 10 MB"),
    ("empty.pdf", b"", "empty"),
])  # fmt: skip
def test_wrong_type_too_big_and_renamed_executables_are_refused(world, name, content, says):
    request_id = submit(world, {"credit_limit": "20000"})
    with pytest.raises(ValidationFailed, match=says) as refused:
        world.act("clerk", add_attachment, request_id, name, content)
    assert "file" in refused.value.errors
    assert world.act("clerk", attachments, request_id) == []


def test_a_download_by_someone_who_may_not_see_the_request_is_refused(world):
    request_id = submit(world, {"credit_limit": "20000"})
    added = world.act("clerk", add_attachment, request_id, "a.pdf", PDF)
    world.act("admin", set_active, world.user_id("analyst"), False)
    with pytest.raises(PermissionDenied):
        world.act("analyst", attachment_content, added.id)
    with world.db.session() as session, pytest.raises(PermissionDenied):
        attachment_content(session, None, added.id)


def test_a_field_an_admin_marks_needs_a_justification_at_submit(world):
    world.act("admin", update_parameters, justify={"bank_account": True})
    plain = draft(world, {"credit_limit": "20000"})
    world.act("clerk", svc.submit, plain)  # credit limit needs none
    world.act("clerk", svc.recall, plain)
    world.act("clerk", save_customer, "C001", {"bank_account": "IT60X0542811101000000123456"},
              expected_version=world.version_of("C001"))  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        world.act("clerk", svc.submit, plain)
    assert refused.value.errors == {"justification": "is required for Bank account"}
    world.act("clerk", svc.submit, plain, "New bank after the merger; letter attached.")
    request = world.query(lambda s: s.get(ChangeRequest, plain))
    assert request.justification == "New bank after the merger; letter attached."
    said = world.query(lambda s: s.scalar(select(RequestEvent.comment).where(
        RequestEvent.action == "submitted").order_by(RequestEvent.id.desc())))  # fmt: skip
    assert said == "New bank after the merger; letter attached."
    # sent back and resubmitted: the justification stays unless a new one is given
    world.act("approver", svc.request_change, plain, "Which bank?", seen_round=2)
    world.act("clerk", svc.resubmit, plain)
    assert world.query(lambda s: s.get(ChangeRequest, plain).justification).startswith("New bank")
