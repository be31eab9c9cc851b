"""The dashboard pages' callbacks: figures, drill-through, CSV downloads, Reassign."""

from __future__ import annotations

import csv
import io
import re

import pytest

from components.charts import GRAPHS_STORE
from data.inbox import open_assignments
from data.models import Assignment, RequestEvent
from tests.callbacks.test_customer_editor import text_of, walk
from tests.unit.test_metrics import build_history

RANGE = ("2026-02-27", "2026-03-10", "day", None, None, None, None, 0)


@pytest.fixture
def history(web):
    return build_history(web.world)


def drawn(component):
    """Every component of a dashboard's answer, its charts (set aside to be drawn after
    the numbers) included."""
    from dash import dcc

    nodes = list(walk(component))
    stores = [node.data for node in nodes if getattr(node, "id", None) == GRAPHS_STORE]
    return nodes + [dcc.Graph(**graph) for store in stores for graph in store.values()]


def figure_data(component, graph_id):
    """The figure of the dcc.Graph with ``graph_id`` (a string or a dict id) in a layout tree."""
    found = [node.figure for node in drawn(component)
             if getattr(node, "id", None) == graph_id
             or (isinstance(getattr(node, "id", None), dict) and node.id.get("chart") == graph_id)]
    assert found, f"no graph {graph_id}"
    return found[0]


def figure_rows(component, table_id):
    """The rows of the figure table ``table-<table_id>`` (its Show data), as texts."""
    (table,) = [node for node in walk(component) if getattr(node, "id", None) == f"table-{table_id}"]
    return [[text_of(cell) for cell in row.children] for row in table.children[1].children]


@pytest.mark.parametrize("page_name", ["pending", "throughput"])
def test_dashboards_come_with_their_figures_kpis_first_and_charts_in_fixed_height_boxes(
    web, history, page_name
):
    """The page holds its figures when it comes: the KPI row first, with its numbers, and
    every chart's box at the chart's height, filled once plotly.js is there. Beside them,
    the inputs they were drawn for, so the first call of the page's callback draws nothing
    again; other inputs are drawn."""
    import importlib

    from dash.exceptions import PreventUpdate

    from components.charts import CHART_HEIGHT

    page = importlib.import_module(f"pages.{page_name}")
    prefix = "pd" if page_name == "pending" else "tp"
    with web.signed_in("manager"):
        layout = page.layout()
    body = next(node for node in walk(layout) if getattr(node, "id", None) == f"{prefix}-body")
    (shown,) = [node for node in walk(body) if getattr(node, "id", None) == f"{prefix}-shown"]
    figures = body.children.children[1].children[0]
    first = text_of(figures.children[0])  # the KPI row comes first, with numbers
    assert re.match(r"Open requests 3 " if page_name == "pending" else r"Decided \d+ request", first)
    boxes = [node for node in walk(body) if (getattr(node, "style", None) or {}).get("height")]
    assert len(boxes) == len(page.CHARTS)
    assert {box.style["height"] for box in boxes} == {f"{CHART_HEIGHT}px"}
    titles = text_of(body)
    assert all(page.CHARTS[name][0] in titles for name in page.CHARTS)
    callback = page.on_range if page_name == "pending" else page.on_filters
    with web.signed_in("manager"):
        with pytest.raises(PreventUpdate):
            callback(*shown.data, shown.data)
        other = [*shown.data[:-1], "Asia/Kolkata"]
        drawn = callback(*other, shown.data)
    assert drawn.children[0].data == other


def test_pending_dashboard_shows_kpis_and_bars_that_link_to_their_requests(web, history):
    import pages.pending as page

    with web.signed_in("manager"):
        body = page.render("30", 0)
    text = text_of(body)
    for expected in ("Open requests 3", "Proposed field changes waiting 4", "Overdue steps 3"):
        assert expected in text
    by_approver = figure_data(body, "by-approver")
    assert list(by_approver["data"][0]["y"]) == ["Approver", "Approver2", "Approver3"]
    assert list(by_approver["data"][0]["x"]) == [3, 2, 1]
    link = by_approver["data"][0]["customdata"][2]
    assert link == f"/requests?state=pending&approver={history['approver3']}"
    assert page.drill_target({"points": [{"customdata": link}]}) == link
    assert page.drill_target({"points": [{"customdata": "https://evil.example"}]}) is page.no_update
    # the table behind the chart leads to the same lists, by keyboard too
    (table,) = [node for node in walk(body) if getattr(node, "id", None) == "table-by-approver"]
    hrefs = [node.href for node in walk(table) if getattr(node, "href", None)]
    assert hrefs[2] == link and len(hrefs) == 3


def test_pending_csv_is_the_table_behind_the_chart(web, history):
    import pages.pending as page

    with web.signed_in("manager"):
        sent = page.download("by-field", "30", 0)
        body = page.render("30", 0)
    rows = list(csv.reader(io.StringIO(sent["content"])))
    assert rows[0] == ["Field", "Proposed changes"]
    assert rows[1:] == [["Credit limit", "1"], ["Name", "1"], ["On hold", "1"], ["Terms of payment", "1"]]
    assert "Credit limit 1 Name 1 On hold 1 Terms of payment 1" in text_of(body)
    with web.signed_in("manager"):
        assert page.download("nope", "30", 0) is page.no_update


def test_only_managers_get_the_pending_figures(web, history):
    import pages.pending as page

    for username, refusal in (("analyst", "Manager role"), ("clerk", "Manager role"),
                              (None, "Sign in")):  # fmt: skip
        with web.signed_in(username):
            assert refusal in text_of(page.render("30", 0))
            assert page.download("by-field", "30", 0) is page.no_update


def test_throughput_figures_tables_and_csv_agree(web, history):
    import pages.throughput as page

    with web.signed_in("analyst"):
        body = page.render(*RANGE)
        sent = page.download("per-approver", *RANGE)
    volume = figure_data(body, "tp-volume")
    assert [trace["name"] for trace in volume["data"]] == ["Submitted", "Approved", "Rejected"]
    assert list(volume["data"][0]["y"]) == [1, 1, 1, 1, 1, 1]
    kpis = text_of(body.children[1].children[0])  # the headline numbers come first
    assert "Decided 3 requests in the range" in kpis and "Approved 67%" in kpis
    cycle = figure_data(body, "tp-cycle")
    days = [f"2026-02-{d}" for d in (27, 28)] + [f"2026-03-{d:02d}" for d in range(1, 11)]
    assert list(cycle["data"][0]["x"]) == days  # every day of the range ...
    decided = {row[0] for row in figure_rows(body, "cycle")}
    assert [value is not None for value in cycle["data"][0]["y"]] == [d in decided for d in days]
    assert len(decided) < len(days)  # ... a day without decisions is a gap in the line
    rows = list(csv.reader(io.StringIO(sent["content"])))
    assert rows == [
        ["Approver", "Approved", "Rejected", "Change requested", "Delegated"],
        ["Approver", "2", "0", "1", "0"], ["Approver2", "0", "1", "0", "0"], ["Approver3", "1", "0", "0", "0"],
    ]
    assert "Approver 2 0 1 0 Approver2 0 1 0 0 Approver3 1 0 0 0" in text_of(body)


def test_throughput_refuses_bad_filters_with_a_message(web, history):
    import pages.throughput as page

    with web.signed_in("analyst"):
        text = text_of(page.render("2026-03-10", "2026-03-01", "day", None, None, None, None, 0))
    assert "Start date: comes after the end of the range." in text
    with web.signed_in("clerk"):
        assert "Analyst or Manager role" in text_of(page.render(*RANGE))


def test_csv_downloads_neutralise_formulas(web, history):
    import pages.throughput as page
    from data.models import User

    def rename(session):
        session.query(User).filter(User.username == "approver").update({"full_name": "=HYPERLINK(1)"})
        session.commit()

    web.world.query(rename)
    with web.signed_in("analyst"):
        sent = page.download("per-approver", *RANGE)
    assert "'=HYPERLINK(1)" in sent["content"]


def test_request_list_follows_the_query(web, history):
    import pages.requests as page

    with web.signed_in("manager"):
        text = text_of(page.render({"state": "pending", "overdue": "1"}, 60))
        assert "3 requests  — pending approval, with an overdue step." in text
        text = text_of(page.render({"state": "pending", "field": "on_hold"}, 60))
        assert "1 request  — pending approval, changing On hold." in text
        assert "C001" in text and "C004" not in text
        assert "Field: there is no customer field 'password'." in text_of(page.render({"field": "password"}, 0))
    with web.signed_in("clerk"):
        assert "role" in text_of(page.render({}, 0))


def test_a_manager_reassigns_from_the_request_page(web, history):
    import pages.request as page

    request_id = history["r5"]
    assignment = web.world.act("manager", open_assignments, request_id)[0][0]
    with web.signed_in("analyst"):
        assert page.read(page.request_page, request_id)[1] is None
        _body, alert = page.reassign_response(request_id, str(assignment), str(history["approver3"]), "")
        assert "Manager role" in text_of(alert)
    with web.signed_in("manager"):
        assert "Reassign" in text_of(page.reassign_panel(page.read(page.request_page, request_id)[1]))
        _body, alert = page.reassign_response(request_id, str(assignment), None, "")
        assert "Choose whom to reassign to." in text_of(alert)
        _body, alert = page.reassign_response(request_id, str(assignment), str(history["approver3"]), "Holiday")
        assert "Reassigned." in text_of(alert)
    moved = web.world.query(lambda s: s.get(Assignment, assignment).state)
    events = web.world.query(lambda s: [e.action for e in s.query(RequestEvent).filter_by(request_id=request_id)])
    assert moved == "reassigned" and events[-1] == "reassigned"


def test_the_open_split_is_written_as_the_reader_writes_numbers():
    import pages.pending as page
    from data.i18n import reset_language, set_language

    for language, written in (("en", "1,500"), ("it", "1.500")):
        token = set_language(language)
        try:
            assert page.count_text(1500) == written
        finally:
            reset_language(token)


def test_charts_are_drawn_by_the_basic_plotly_bundle_of_the_same_version(web, history):
    """Dash fetches plotly.js when a page first shows a chart; the app answers with the basic
    bundle (scatter, bar and pie), which must be the version the plotly package ships and
    hold every trace type the dashboards draw."""
    from plotly.offline import get_plotlyjs_version

    import pages.pending as pending
    import pages.throughput as throughput
    from app import PLOTLY_PATH
    from tests.dash_http import client_as

    client = client_as(web.app, web.world.user_id("manager"))
    answer = client.get(PLOTLY_PATH + "?v=4.4.1&m=1")
    bundle = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}" in bundle[:200]
    assert client_as(web.app, None).get(PLOTLY_PATH).status_code == 401  # signed-out: refused
    with web.signed_in("manager"):
        bodies = [pending.render("30", 0), throughput.render(*RANGE)]
    traces = {trace.get("type", "scatter") for body in bodies for node in drawn(body)
              if getattr(node, "figure", None) for trace in node.figure["data"]}  # fmt: skip
    assert traces and traces <= {"scatter", "bar", "pie"}
