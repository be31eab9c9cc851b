"""The lifecycle's transition table is the one source: the documents' diagram and table
are drawn from it, and the services offer and refuse what it says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data import lifecycle
from data import requests as svc
from data.customers import save_customer
from data.errors import InvalidTransition
from data.lifecycle import RequestState, Who
from data.models import ChangeRequest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/architecture.md")


def test_the_documents_show_the_table_as_it_is(tmp_path):
    copies = []
    for name in DOCUMENTS:
        copy = tmp_path / name.replace("/", "_")
        shutil.copy(ROOT / name, copy)
        copies.append(copy)
    changed = lifecycle.refresh_documents(copies)
    assert changed == [], (
        "the lifecycle diagram or table in the documents is not the one data/lifecycle.py "
        "draws: run python -m data.lifecycle README.md docs/architecture.md"
    )
    assert "pending --> approved: approve" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_state_is_reached_and_every_closed_state_is_final():
    targets = {t.target for t in lifecycle.TRANSITIONS} | {RequestState.DRAFT}
    assert targets == set(RequestState)
    assert not [t for t in lifecycle.TRANSITIONS if t.source in lifecycle.CLOSED_STATES]
    assert set(lifecycle.OPEN_STATES) | set(lifecycle.CLOSED_STATES) == set(RequestState)


def open_request(world, state: str) -> int:
    """C001's request, brought to ``state`` by the services."""
    request_id = world.act("clerk", save_customer, "C001", {"credit_limit": "20000"},
                           expected_version=world.version_of("C001")).request.id
    if state == "draft":
        return request_id
    world.act("clerk", svc.submit, request_id)
    if state == "change_requested":
        world.act("approver", svc.request_change, request_id, "Lower", seen_round=world.seen(request_id))
    if state == "approved":
        world.act("approver", svc.approve, request_id, seen_round=world.seen(request_id))
    if state == "rejected":
        world.act("approver", svc.reject, request_id, "No", seen_round=world.seen(request_id))
    return request_id


SERVICES = {
    "submit": lambda world, rid: world.act("clerk", svc.submit, rid),
    "resubmit": lambda world, rid: world.act("clerk", svc.resubmit, rid),
    "recall": lambda world, rid: world.act("clerk", svc.recall, rid),
    "decide": lambda world, rid: world.act("approver2", svc.approve, rid, seen_round=None),
    "edit": lambda world, rid: world.act("clerk", svc.discard_all, rid),
}


@pytest.mark.parametrize("state", ["draft", "pending", "change_requested", "approved", "rejected"])
def test_the_services_refuse_what_the_table_does_not_allow_and_offer_what_it_does(world, state):
    request_id = open_request(world, state)
    offered = world.query(lambda s: svc.allowed_actions(
        s, s.get(ChangeRequest, request_id), world.user(s, "clerk")))
    expected = set()
    for transition in lifecycle.transitions_from(state):
        if lifecycle.qualifies(transition.who, is_clerk=True, is_submitter=state != "draft"):
            expected |= svc.OFFERED.get(transition.action, set())
    assert offered == expected
    for action, service in SERVICES.items():
        allowed = lifecycle.allows("approve" if action == "decide" else action, state)
        if allowed:
            continue
        with pytest.raises(InvalidTransition) as refused:
            service(world, request_id)
        if (action, state) != ("edit", "pending"):  # which says to recall it first
            assert str(refused.value) == lifecycle.refusal(action, state)
        assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == state


def test_only_assignees_decide_and_only_managers_reassign():
    deciders = {t.who for t in lifecycle.TRANSITIONS if t.action in lifecycle.DECISIONS}
    assert deciders == {Who.ASSIGNEE}
    assert {t.who for t in lifecycle.TRANSITIONS if t.action == "reassign"} == {Who.MANAGER}
