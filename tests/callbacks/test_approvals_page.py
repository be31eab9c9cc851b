"""The inbox page callbacks: rows and tab counts, bulk approve summary."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, update

from data import requests as svc
from data.customers import save_customer
from data.models import ChangeRequest, Customer
from tests.callbacks.test_customer_editor import text_of, walk


def submit(world, account, clerk="clerk"):
    request_id = world.act(clerk, save_customer, account, {"credit_limit": "20000"}, expected_version=world.version_of(account)).request.id
    world.act(clerk, svc.submit, request_id)
    return request_id


def test_rows_and_counts_for_the_signed_in_approver(web):
    import pages.approvals as page

    first = submit(web.world, "C001")
    with web.signed_in("approver"):
        rows, labels, alert, _note, _more = page.inbox_rows("waiting", None, None, False, None)
    assert [row["request_id"] for row in rows] == [first] and alert is None
    assert labels[0] == "Waiting for me (1)" and labels[3] == "Decided by me (0)"


def test_on_a_phone_each_request_is_a_card_that_links_to_it(web):
    """The grid is hidden below 576 px; the same rows are cards, drawn in the browser from
    the grid's rows (tests/browser/test_approver.py looks at them): each row carries what a
    card shows."""
    import pages.approvals as page

    first = submit(web.world, "C001")
    with web.signed_in("approver"):
        grid, _options, _alert, _note, _shown, _more = page.inbox_answer(
            None, "waiting", page.ANY, page.ANY, False, None, None)
        layout = page.layout()
    (row,) = grid
    assert (row["request_id"], row["account"], row["customer_name"]) == (first, "C001", "Customer C001")
    assert row["changes"] == "Credit limit: 10,000.00 → 20,000.00 (+10,000.00 (+100.0 %))"
    assert row["submitter"] == "Clerk" and row["overdue"] is False
    (grid_node,) = [n for n in walk(layout) if getattr(n, "id", None) == "inbox-grid"]
    (list_node,) = [n for n in walk(layout) if getattr(n, "id", None) == "inbox-cards"]
    assert "d-none d-sm-block" in grid_node.className and "d-sm-none" in list_node.className
    (empty,) = [n for n in walk(layout) if getattr(n, "id", None) == "inbox-empty"]
    assert empty.data == "No requests here."


def test_the_inbox_filters_go_back_to_any_field_and_any_group(web):
    """Each filter's first choice is "Any ...", so a chosen field or group can be undone."""
    import pages.approvals as page

    web.world.customer("C002", customer_group="WHOLESALE")
    first, second = submit(web.world, "C001"), submit(web.world, "C002")
    with web.signed_in("approver"):
        firsts = {node.id: node.options[0]["label"] for node in walk(page.layout())
                  if getattr(node, "id", None) in ("inbox-field", "inbox-group")}
        assert firsts == {"inbox-field": "Any field", "inbox-group": "Any customer group"}
        found = {}
        for field, group in ((page.ANY, page.ANY), ("credit_limit", "WHOLESALE"), ("city", page.ANY),
                             (page.ANY, "RETAIL")):  # fmt: skip
            rows, _labels, _alert, _note, _more = page.inbox_rows("waiting", field, group, False, None)
            found[(field, group)] = sorted(row["request_id"] for row in rows)
    assert list(found.values()) == [sorted([first, second]), [second], [], [first]]


def test_a_long_inbox_shows_the_longest_waiting_and_more_when_asked(web, monkeypatch):
    import pages.approvals as page

    for account in ("C002", "C003"):
        web.world.customer(account)
    first, second, third = (submit(web.world, a) for a in ("C001", "C002", "C003"))
    monkeypatch.setattr(page, "INBOX_BLOCK", 1)
    with web.signed_in("approver"):
        rows, labels, _alert, note, more = page.inbox_rows("waiting", None, None, False, None, 1)
        assert [row["request_id"] for row in rows] == [first] and more
        assert labels[0] == "Waiting for me (3)"
        assert "Showing the 1 that have waited longest" in text_of(note)
        rows, _labels, _alert, note, more = page.inbox_rows("waiting", None, None, False, None, 3)
        assert [row["request_id"] for row in rows] == [first, second, third] and not more
        assert note is None
        # Show more lists the next block; another filter starts from the first again
        answer = page.inbox_answer("inbox-more", "waiting", None, None, False, None, 1)
        assert [row["request_id"] for row in answer[0]] == [first, second]
        assert answer[4] == 2 and answer[5] == "mt-2" and "Showing the 2" in text_of(answer[3])
        answer = page.inbox_answer("inbox-refresh", "waiting", None, None, False, None, 2)
        assert len(answer[0]) == 2 and answer[4] == 2
        answer = page.inbox_answer("inbox-search", "waiting", None, None, False, "C002", 2)
        assert len(answer[0]) == 1 and answer[4] == 1 and answer[3] is None


def test_bulk_approve_summarises_mixed_outcomes(web):
    import pages.approvals as page

    web.world.customer("C002")
    mine = submit(web.world, "C001", clerk="clerkapprover")
    theirs = submit(web.world, "C002")
    with web.signed_in("clerkapprover"):
        summary = page.bulk_summary([{"request_id": mine, "round": 1}, {"request_id": theirs, "round": 1}])
    text = text_of(summary)
    assert "Approved 1 of 2." in text and "proposed or submitted changes in this request" in text
    states = web.world.query(lambda s: [s.get(ChangeRequest, i).state for i in (mine, theirs)])
    assert states == ["pending", "approved"]
    with web.signed_in("clerkapprover"):
        assert "Select the requests" in text_of(page.bulk_summary([]))


def test_next_request_is_looked_up_when_asked_for(web):
    """After a decision the page links to /requests/next; that page opens the oldest request
    still waiting for me, or says nothing is."""
    import pages.request as page

    first = submit(web.world, "C001")
    web.world.customer("C002")
    second = submit(web.world, "C002")
    with web.signed_in("approver"):
        body, alert = page.decision_response("approve", first, None, None, False, 1)
        assert f"/requests/next?after={first}" in str(alert)
        opened = page.layout("next", after=str(first))
        assert f"#{second}" in text_of(opened)
        web.world.act("approver", svc.approve, second, seen_round=web.world.seen(second))
        assert "Nothing else is waiting for you" in text_of(page.layout("next", after=str(second)))
        assert "Nothing else" in text_of(page.layout("next", after="junk"))


def test_approving_what_changed_since_the_page_was_drawn_reloads_the_diff(web):
    """The clerk recalls and resubmits another amount while the approver looks at the old one:
    Approve is refused with the reason, and the page shows the new amount to decide on."""
    import pages.request as page
    from data.customers import find_customer

    world = web.world
    request_id = submit(world, "C001")
    with web.signed_in("approver"):
        drawn = page.layout(str(request_id))
    seen = next(c.data for c in _walk(drawn) if getattr(c, "id", None) == "rq-seen-round")
    world.act("clerk", svc.recall, request_id)
    world.act("clerk", save_customer, "C001", {"credit_limit": "990000"},
              expected_version=world.version_of("C001"))  # fmt: skip
    world.act("clerk", svc.submit, request_id)

    with web.signed_in("approver"):
        body, alert = page.decision_response("approve", request_id, None, None, False, seen)
    assert "changed since you opened it" in text_of(alert)
    assert "990,000.00" in text_of(body)
    assert next(c.data for c in _walk(body) if getattr(c, "id", None) == "rq-seen-round") == seen + 1
    assert world.query(lambda s: find_customer(s, "C001").credit_limit) == 10000


def _walk(component):
    if isinstance(component, list | tuple):
        for item in component:
            yield from _walk(item)
        return
    if component is None or isinstance(component, str | int | float):
        return
    yield component
    yield from _walk(getattr(component, "children", None))


def test_bulk_approve_is_offered_for_ticked_rows_and_confirms_each_change(web):
    import pages.approvals as page

    web.world.customer("C002")
    first, second = submit(web.world, "C001"), submit(web.world, "C002")
    assert page.on_selection([])[:2] == ("Approve selected", True)  # nothing ticked: disabled
    with web.signed_in("approver"):
        rows, _labels, _alert, _note, _more = page.inbox_rows("waiting", None, None, False, None)
    assert [row["changes"] for row in rows] == [
        "Credit limit: 10,000.00 → 20,000.00 (+10,000.00 (+100.0 %))"] * 2
    assert page.on_selection(rows)[:2] == ("Approve 2 requests", False)
    listed = text_of(page.confirmation(rows))
    assert f"#{first} C001" in listed and f"#{second} C002" in listed
    assert listed.count("Credit limit: 10,000.00 → 20,000.00") == 2
    with web.signed_in("approver"):
        result = text_of(page.bulk_summary(rows))
    assert "Approved 2 of 2." in result and f"#{first} C001: Approved." in result


def test_notifications_are_read_one_by_one_and_the_navbar_follows(web):
    import pages.notifications as page

    request_id = submit(web.world, "C001")
    with web.signed_in("approver"):
        listed = text_of(page.notification_list())
        assert f"Request #{request_id} for C001 waits for your decision" in listed
        assert "Mark read" in listed and "Changes pending approval" in listed
        from data.notifications import recent_notifications
        from pages._support import read

        [news] = read(recent_notifications)
        body, notified = page.read_response({"type": page.READ, "id": news.id}, 4)
    assert notified == 5 and "Mark read" not in text_of(body)


def test_each_user_sets_their_email_address_and_how_they_are_told(web):
    import pages.notifications as page
    from data.mail import preferences
    from data.models import User

    with web.signed_in("approver"):
        card = text_of(page.email_card())
        assert "Email address" in card and "A request waits for my decision" in card
        assert "This server sends no email yet" in card
        saved = page.save_email_settings("ann@example.com", {"assigned": "digest",
                                                             "decided": "off",
                                                             "overdue": "immediately"})
        refused = page.save_email_settings("ann@", {"assigned": "off"})
    assert "Saved." in text_of(saved)
    assert "Email must be an email address" in text_of(refused)
    user_id = web.world.user_id("approver")
    assert web.world.query(lambda s: (s.get(User, user_id).email, preferences(s, user_id))) == (
        "ann@example.com", {"assigned": "digest", "decided": "off", "overdue": "immediately"})


def test_an_approver_sets_out_of_office_and_managers_see_it(web):
    from datetime import date, timedelta

    import pages.notifications as page
    import pages.pending as pending

    today = date.today()
    delegate = str(web.world.user_id("approver2"))
    with web.signed_in("approver"):
        card = text_of(page.away_card())
        assert "First day away" in card and "Who decides for you meanwhile" in card
        refused, _ = page.save_absence((today + timedelta(days=2)).isoformat(), today.isoformat(),
                                       delegate, "")  # fmt: skip
        bad_date, _ = page.save_absence("1 Dec", today.isoformat(), delegate, "")
        saved, card = page.save_absence(today.isoformat(), (today + timedelta(days=2)).isoformat(),
                                        delegate, "")  # fmt: skip
    assert "Last day away: must be on or after the first day" in text_of(refused)
    assert "First day away: must be a date" in text_of(bad_date)
    assert "Saved." in text_of(saved) and "Approver2 decides for you" in text_of(card)
    with web.signed_in("manager"):
        shown = text_of(pending.away_card())
    last = (today + timedelta(days=2)).isoformat()
    assert f"Approver is away until {last}; Approver2 decides for them" in shown
    with web.signed_in("clerk"):
        assert "You need the Manager role" in text_of(pending.away_card())


def test_comments_and_documents_on_the_request_page(web):
    import base64

    import pages.request as page
    from data.users import set_active
    from tests.dash_http import client_as

    request_id = submit(web.world, "C001")
    pdf = b"%PDF-1.7\n%%EOF\n"
    with web.signed_in("approver"):
        items, alert, typed = page.on_comment(1, request_id, "Is the letter signed?")
        assert "Is the letter signed?" in text_of(items) and typed == ""
        _items, refused, kept = page.on_comment(1, request_id, "   ")
        assert "Comment: write something first" in text_of(refused)
    with web.signed_in("clerk"):
        content = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
        items, message = page.upload_response(request_id, "letter.pdf", content)
        assert "Attached letter.pdf." in text_of(message) and "letter.pdf" in text_of(items)
        exe = "data:application/pdf;base64," + base64.b64encode(b"MZ\x90\x00" * 8).decode()
        _items, refused = page.upload_response(request_id, "invoice.pdf", exe)
        assert "must be a PDF, PNG or JPEG document" in text_of(refused)
    [link] = [c.href for c in walk(items) if getattr(c, "href", "").startswith("/attachments/")]
    got = client_as(web.app, web.world.user_id("analyst")).get(link)
    assert got.status_code == 200 and got.data == pdf
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    signed_out = client_as(web.app, None).get(link)
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    web.world.act("admin", set_active, web.world.user_id("analyst"), False)
    deactivated = client_as(web.app, web.world.user_id("analyst")).get(link)
    assert deactivated.status_code == 302 and deactivated.data != pdf


def test_a_decision_waits_its_turn_to_write_instead_of_losing_it(web, monkeypatch):
    """On SQLite one writer writes at a time. A decision that read first and then found
    another writer (a batch of reminders) had committed meanwhile could not write and was
    tried again, and again while batches followed each other, until the approver read
    'Someone else changed the same data'. A page's action takes the write lock first."""
    import threading

    import data.db
    from pages._support import act

    if web.world.db.dialect != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    request_id = submit(web.world, "C001")
    retried = []
    real = data.db.is_transient
    monkeypatch.setattr(data.db, "is_transient", lambda error: retried.append(error) or real(error))
    decision_read, other_done = threading.Event(), threading.Event()

    def other_writer(session):
        session.execute(update(Customer).where(Customer.account == "C002").values(city="Pisa"))
        decision_read.wait(timeout=1)  # a decision that read first has read by now
        return None

    def first_flush(session, *_args):
        if not decision_read.is_set():
            decision_read.set()
            other_done.wait(timeout=5)

    web.world.customer("C002")
    event.listen(web.world.db.sessions, "before_flush", first_flush)
    try:
        writer = threading.Thread(target=lambda: (web.world.db.run(other_writer, writes=True),
                                                  other_done.set()))  # fmt: skip
        writer.start()
        time.sleep(0.1)  # the other writer holds the lock
        with web.signed_in("approver"):
            act(svc.approve, request_id, "fine", seen_round=1)
        writer.join()
    finally:
        event.remove(web.world.db.sessions, "before_flush", first_flush)
    assert web.world.query(lambda s: s.get(ChangeRequest, request_id).state) == "approved"
    assert retried == []


def test_an_approval_reads_nothing_twice_that_it_holds(web):
    """Approve on the request page: the signed-in user is read once for the decision and
    the page drawn after it; the step of each assignment and the fields of the request
    come from what the decision loaded, not from further queries."""
    import pages.request as page

    request_id = submit(web.world, "C001")
    statements = []

    def note(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(" ".join(statement.split()))

    engine = web.app.server.extensions["countersign.database"].engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        with web.signed_in("approver"):
            _body, alert = page.decision_response("approve", request_id, None, None, False, 1)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert "Approved." in text_of(alert)
    users_read_one_by_one = [s for s in statements
                             if s.startswith("SELECT users.id") and "WHERE users.id = " in s]  # fmt: skip
    assert len(users_read_one_by_one) == 2  # the approver; the submitter, to tell them
    assert not [s for s in statements if s.startswith("SELECT request_steps.request_id")]
    assert not [s for s in statements if s.startswith("SELECT proposed_changes.field")]


def test_the_tabs_are_counted_as_the_inbox_opens_and_after_a_decision_only(web):
    """Each tab's count is the same whatever tab, filter or search is chosen: it is counted
    as the page opens and after a decision made on it, and another tab, a filter, a search
    or Show more lists rows without counting again."""
    import dash

    import pages.approvals as page

    first = submit(web.world, "C001")
    web.world.customer("C002")
    submit(web.world, "C002")
    with web.signed_in("approver"):
        opened = page.inbox_answer(None, "waiting", page.ANY, page.ANY, False, None, None)
        assert opened[1][0]["label"] == "Waiting for me (2)"
        for trigger, tab, search in (("inbox-tabs", "decided", None),
                                     ("inbox-search", "waiting", "C002"),
                                     ("inbox-field", "waiting", None),
                                     ("inbox-more", "waiting", None)):  # fmt: skip
            answer = page.inbox_answer(trigger, tab, page.ANY, page.ANY, False, search, 100)
            assert answer[1] is dash.no_update, trigger
        assert len(page.inbox_answer("inbox-tabs", "waiting", page.ANY, page.ANY, False, None,
                                     100)[0]) == 2  # fmt: skip
    web.world.act("approver", svc.approve, first, seen_round=web.world.seen(first))
    with web.signed_in("approver"):
        refreshed = page.inbox_answer("inbox-refresh", "waiting", page.ANY, page.ANY, False,
                                      None, 100)  # fmt: skip
    labels = [option["label"] for option in refreshed[1]]
    assert labels[0] == "Waiting for me (1)" and labels[3] == "Decided by me (1)"
