"""The bulk generators behind the benchmarks make data the services read like real history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from data.clock import utcnow
from data.dashboards.pending import pending_overview
from data.dashboards.throughput import ThroughputFilters, throughput
from data.generate import generate_customers, generate_history
from data.models import Assignment, ChangeRequest, Customer, RequestStep, User
from data.users import add_user


def history_users(db) -> tuple[int, int, int, int, int]:
    """(clerk, approver, second approver, finance, manager) ids for generated history."""
    with db.session() as session:
        return (
            add_user(session, "clerk", "Clerk", "secret", ["clerk"]).id,
            add_user(session, "a1", "A One", "secret", ["approver"]).id,
            add_user(session, "a2", "A Two", "secret", ["approver"]).id,
            add_user(session, "fin", "Finance", "secret", ["approver"]).id,
            add_user(session, "boss", "Boss", "secret", ["manager", "analyst"]).id,
        )


def test_generated_history_is_consistent_and_readable_by_the_dashboards(db):
    generate_customers(db, 500)
    clerk, first, second, finance, manager = history_users(db)
    made = generate_history(db, 2000, clerk_id=clerk, approver_ids=(first, second),
                            finance_id=finance, days=60, batch=700)  # fmt: skip
    assert made["requests"] == 2000 and 0 < made["open"] < 500
    now = utcnow()
    with db.session() as session:
        states = dict(session.execute(select(ChangeRequest.state, func.count()).group_by(ChangeRequest.state)).all())
        assert sum(states.values()) == 2000 and states["approved"] > states["rejected"] > 0
        assert states.get("pending", 0) + states.get("change_requested", 0) == made["open"]
        bad = session.scalar(select(func.count()).where(
            ChangeRequest.decided_at < ChangeRequest.first_submitted_at))
        assert bad == 0
        assert session.scalar(select(func.max(ChangeRequest.decided_at))) <= now
        # running steps were reminded as their limit neared and told when it passed, as it
        # happened: the schedule, when it first runs over the history, has no notices to send
        from data.requests import remind

        overdue = session.scalar(select(func.count()).select_from(RequestStep).where(
            RequestStep.state == "active", RequestStep.due_at <= now))
        assert overdue > 0 and remind(session, now) == 0
        session.rollback()
        open_customers = session.scalars(select(ChangeRequest.customer_id).where(
            ChangeRequest.state.in_(("pending", "change_requested")))).all()
        assert len(open_customers) == len(set(open_customers))
        active = session.scalar(select(func.count(RequestStep.id)).where(RequestStep.state == "active"))
        assert active == states.get("pending", 0)
        holders = session.scalar(select(func.count(Assignment.id)).where(Assignment.state == "open"))
        assert holders == 2 * active
        assert session.scalar(select(func.count(Customer.id))) == 500
        boss = session.get(User, manager)
        overview = pending_overview(session, boss, days=30)
        assert overview.open_requests == made["open"]
        assert overview.backlog[-1][1] == made["open"]
        start = (now - timedelta(days=30)).date()
        figures = throughput(session, boss, ThroughputFilters.make(start, now.date(), "week", today=now.date()))
        since = datetime(start.year, start.month, start.day, tzinfo=UTC)
        decided = session.scalar(select(func.count()).where(
            ChangeRequest.state.in_(("approved", "rejected")), ChangeRequest.decided_at >= since))
        assert sum(row[2] + row[3] for row in figures.volume) == decided > 0


def test_the_app_goes_on_working_after_a_generated_history(db):
    from data import requests as svc

    generate_customers(db, 50)
    with db.session() as session:
        clerk = add_user(session, "clerk", "Clerk", "secret", ["clerk"]).id
        first = add_user(session, "a1", "A One", "secret", ["approver"]).id
        second = add_user(session, "a2", "A Two", "secret", ["approver"]).id
    generate_history(db, 20, clerk_id=clerk, approver_ids=(first, second), finance_id=first,
                     days=1, all_pending=True, fields=("on_hold",))
    with db.session() as session:
        request_id = session.scalar(select(ChangeRequest.id).order_by(ChangeRequest.id))
        svc.approve(session, session.get(User, first), request_id, seen_round=1)  # new events, audit, notices
    with db.session() as session:
        request = session.get(ChangeRequest, request_id)
        assert request.state == "approved" and request.customer.on_hold != "No"


def test_generated_open_requests_can_be_decided_through_the_engine(db):
    """Approving a generated two-step request starts its second step, as a real one would."""
    from data import requests as svc
    from data.parameters import ensure_defaults

    generate_customers(db, 600)
    with db.session() as session:
        ensure_defaults(session)
        clerk = add_user(session, "clerk", "Clerk", "secret", ["clerk"]).id
        first = add_user(session, "a1", "A One", "secret", ["approver"]).id
        second = add_user(session, "a2", "A Two", "secret", ["approver"]).id
        finance = add_user(session, "fin", "Finance", "secret", ["approver"]).id
    generate_history(db, 400, clerk_id=clerk, approver_ids=(first, second), finance_id=finance,
                     all_pending=True, fields=("credit_limit",))  # fmt: skip
    with db.session() as session:
        two_steps = session.scalars(
            select(RequestStep.request_id).where(RequestStep.name == "Finance manager")
        ).first()
        approver = session.get(User, first)
    assert two_steps is not None
    db.run(lambda s: svc.approve(s, s.get(User, approver.id), two_steps, confirm_stale=True,
                                  seen_round=1))
    with db.session() as session:
        request = session.get(ChangeRequest, two_steps)
        step = svc.current_step(request)
        assert request.state == "pending" and step.name == "Finance manager"
        assert [a.user_id for a in step.assignments] == [finance]
    db.run(lambda s: svc.approve(s, s.get(User, finance), two_steps, confirm_stale=True,
                                  seen_round=1))
    assert db.run(lambda s: s.get(ChangeRequest, two_steps).state) == "approved"


def test_every_page_counts_a_generated_history_alike(db):
    """One definition of each count: on a generated history (requests pending at either
    step, sent back, decided), the managers' dashboard, its drill-through lists, the
    Parameters page, the approvers' inbox and navbar counts, and the clerk's My requests
    all agree with each other and with the rows themselves."""
    from data.dashboards.request_list import RequestFilters, request_list
    from data.inbox import inbox_counts, my_requests
    from data.parameters import ensure_defaults, parameters_view
    from data.requests import waiting_counts

    generate_customers(db, 1000)
    clerk, first, second, finance, manager = history_users(db)
    with db.session() as session:
        ensure_defaults(session)
        admin = add_user(session, "admin", "Admin", "secret", ["admin"]).id
    made = generate_history(db, 1200, clerk_id=clerk, approver_ids=(first, second),
                            finance_id=finance, days=60, batch=500)  # fmt: skip
    with db.session() as session:
        states = dict(session.execute(
            select(ChangeRequest.state, func.count()).group_by(ChangeRequest.state)).all())
        pending, sent_back = states.get("pending", 0), states.get("change_requested", 0)
        assert pending > 0 and sent_back > 0 and pending + sent_back == made["open"]
        boss = session.get(User, manager)
        overview = pending_overview(session, boss, days=30)
        assert (overview.open_requests, overview.at_a_step, overview.sent_back) == (
            pending + sent_back, pending, sent_back)
        assert sum(count for _step, count in overview.by_step) == overview.at_a_step
        assert overview.backlog[-1][1] == overview.open_requests

        # the dashboard's drill-through lists: each card and bar leads to as many requests
        def listed(**filters) -> int:
            return request_list(session, boss, RequestFilters(**filters), limit=1)[0]

        assert listed(state="open") == overview.open_requests
        assert listed(state="pending") == overview.at_a_step
        assert listed(state="change_requested") == overview.sent_back
        for step, count in overview.by_step:
            assert listed(state="pending", step=step) == count
        for approver_id, _name, count in overview.by_approver:
            assert listed(state="pending", approver_id=approver_id) == count
        by_field = dict(overview.by_field)
        for name, count in by_field.items():
            assert listed(state="pending", field=name) == count

        # the Parameters page counts the same proposals per field
        view = parameters_view(session, session.get(User, admin))
        assert {row.name: row.pending for row in view.fields if row.pending} == by_field

        # each approver's inbox tab, navbar badge and the dashboard's "who holds what"
        holding = {approver_id: count for approver_id, _name, count in overview.by_approver}
        for approver_id in (first, second, finance):
            approver = session.get(User, approver_id)
            waiting = inbox_counts(session, approver)["waiting"]
            assert waiting == waiting_counts(session, approver)["to_decide"]
            assert waiting == holding.get(approver_id, 0)

        # the clerk's My requests and navbar badge
        clerk_user = session.get(User, clerk)
        assert waiting_counts(session, clerk_user)["sent_back"] == overview.sent_back
        mine_sent_back = my_requests(session, clerk_user, "change_requested", limit=10_000)
        mine_pending = my_requests(session, clerk_user, "pending", limit=10_000)
        assert (len(mine_pending), len(mine_sent_back)) == (overview.at_a_step, overview.sent_back)
