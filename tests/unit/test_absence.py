"""Out of office: new and already-open assignments go to the delegate while someone is
away, along a chain; a cycle is refused; the submitter never gets their own request; the
history says who decided for whom; managers see who is away."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from data import requests as svc
from data.absence import cancel_absence, my_absences, set_absence, who_is_away
from data.clock import utcnow
from data.errors import PermissionDenied, ValidationFailed
from data.models import Absence, Assignment, ChangeRequest, Notification, RequestEvent
from data.schedule import run_schedule
from data.workflows import StepSpec
from tests.unit.test_workflow import named, submit

TODAY = utcnow().date()


def away(world, username, delegate, days=(0, 3), **options):
    return world.act(username, set_absence, TODAY + timedelta(days=days[0]),
                     TODAY + timedelta(days=days[1]), world.user_id(delegate), **options).id


def asked(world, request_id) -> list[tuple[str, str, str | None]]:
    """The step's assignments: (who, state, for whom)."""
    def read(session):
        rows = session.scalars(select(Assignment).join(Assignment.step)
                               .where(Assignment.step.has(request_id=request_id))
                               .order_by(Assignment.id))  # fmt: skip
        return [(a.user.username, a.state, a.delegated_from.username if a.delegated_from else None)
                for a in rows]  # fmt: skip
    return world.query(read)


def history(world, request_id):
    return world.query(lambda s: [(e.action, (e.details or {}).get("for"))
                                  for e in s.scalars(select(RequestEvent).where(
                                      RequestEvent.request_id == request_id)
                                      .order_by(RequestEvent.id))])  # fmt: skip


@pytest.fixture
def one_approver(world):
    world.workflow([StepSpec(name="Credit", assignee_user_ids=named(world, "approver"))])
    return world


def test_a_new_assignment_goes_to_the_delegate_who_decides_for_them(one_approver):
    world = one_approver
    away(world, "approver", "approver2")
    request_id = submit(world, {"credit_limit": "20000"})
    assert asked(world, request_id) == [("approver2", "open", "approver")]
    told = world.query(lambda s: [n.user_id for n in s.scalars(select(Notification))])
    assert told == [world.user_id("approver2")]
    world.act("approver2", svc.approve, request_id, "for Alessandro", seen_round=1)
    assert ("approved", "Approver") in history(world, request_id)
    assert ("out_of_office", "Approver") in history(world, request_id)
    assert world.query(lambda s: s.get(ChangeRequest, request_id).state) == "approved"


def test_open_work_is_handed_over_when_the_absence_starts(one_approver):
    world = one_approver
    request_id = submit(world, {"credit_limit": "20000"})
    later = away(world, "approver", "approver2", days=(2, 4))
    assert asked(world, request_id) == [("approver", "open", None)]  # not yet away
    with world.db.session() as session:  # two days on: the absence has begun
        session.execute(update(Absence).where(Absence.id == later)
                        .values(starts_at=utcnow() - timedelta(minutes=1)))  # fmt: skip
    run_schedule(world.db)
    assert asked(world, request_id) == [("approver", "delegated", None),
                                        ("approver2", "open", "approver")]  # fmt: skip
    with pytest.raises(PermissionDenied):
        world.act("approver", svc.approve, request_id, None, seen_round=1)
    run_schedule(world.db)  # once
    assert len(asked(world, request_id)) == 2


def test_setting_an_absence_that_has_begun_hands_over_at_once(one_approver):
    world = one_approver
    request_id = submit(world, {"credit_limit": "20000"})
    away(world, "approver", "approver2")
    assert asked(world, request_id)[-1] == ("approver2", "open", "approver")


def test_a_chain_is_followed_and_a_cycle_refused(one_approver):
    world = one_approver
    away(world, "approver2", "approver3")
    away(world, "approver", "approver2")
    request_id = submit(world, {"credit_limit": "20000"})
    assert asked(world, request_id) == [("approver3", "open", "approver")]
    with pytest.raises(ValidationFailed, match="hands their work to you"):
        away(world, "approver3", "approver")  # approver → approver2 → approver3 → approver


def test_the_submitter_never_gets_their_own_request(world):
    world.workflow([StepSpec(name="Credit", assignee_user_ids=named(world, "approver"))])
    away(world, "approver", "clerkapprover")
    request_id = submit(world, {"credit_limit": "20000"}, clerk="clerkapprover")
    assert asked(world, request_id) == [("approver", "open", None)]  # stays: nobody else may


def test_an_absence_for_one_workflow_only(one_approver):
    world = one_approver
    from data.models import WorkflowDefinition

    definitions = world.query(lambda s: s.scalars(select(WorkflowDefinition.id)
                                                  .order_by(WorkflowDefinition.id)).all())
    away(world, "approver", "approver2", definition_id=definitions[0])  # an older workflow
    request_id = submit(world, {"credit_limit": "20000"})
    assert asked(world, request_id) == [("approver", "open", None)]


def test_bad_absences_are_refused_naming_the_field(world):
    with pytest.raises(ValidationFailed) as refused:
        world.act("approver", set_absence, TODAY + timedelta(days=3), TODAY,
                  world.user_id("approver2"))  # fmt: skip
    assert "ends_on" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        world.act("approver", set_absence, TODAY, TODAY, world.user_id("analyst"))
    assert "not an approver" in refused.value.errors["delegate"]
    with pytest.raises(ValidationFailed) as refused:
        world.act("approver", set_absence, TODAY, TODAY, world.user_id("approver"))
    assert "delegate" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        world.act("approver", set_absence, None, None, None)
    assert set(refused.value.errors) == {"starts_on", "ends_on", "delegate"}
    with pytest.raises(ValidationFailed) as refused:
        world.act("approver", set_absence, TODAY - timedelta(days=5), TODAY - timedelta(days=2),
                  world.user_id("approver2"))  # fmt: skip
    assert "past" in refused.value.errors["ends_on"]


def test_managers_see_who_is_away_and_an_absence_can_end_early(one_approver):
    world = one_approver
    absence = away(world, "approver", "approver2")
    [shown] = world.act("manager", who_is_away)
    assert (shown.name, shown.delegate, shown.now) == ("Approver", "Approver2", True)
    with pytest.raises(PermissionDenied):
        world.act("clerk", who_is_away)
    with pytest.raises(PermissionDenied):
        world.act("approver2", cancel_absence, absence)
    world.act("approver", cancel_absence, absence)
    assert world.act("approver", my_absences) == []
    request_id = submit(world, {"credit_limit": "20000"})
    assert asked(world, request_id) == [("approver", "open", None)]


def test_the_history_reads_who_decided_for_whom(one_approver):
    from components.request import events_list
    from tests.callbacks.test_customer_editor import text_of

    world = one_approver
    away(world, "approver", "approver2")
    request_id = submit(world, {"credit_limit": "20000"})
    world.act("approver2", svc.approve, request_id, "ok", seen_round=1)
    with world.db.session() as session:
        events = list(session.scalars(select(RequestEvent).where(
            RequestEvent.request_id == request_id).order_by(RequestEvent.id)))
        shown = " ".join(text_of(events_list(events)).split())
    assert "Out of office: handed over · Credit Approver2 for Approver" in shown
    assert "Approved · Credit by Approver2 for Approver" in shown
