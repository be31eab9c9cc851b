"""Every page, drawn for an Italian user who holds every role, says nothing in English.

The pages are drawn as their layouts and callbacks draw them (navbar, forms, dialogs,
grids' column headers, charts' titles, series and axes, tables, messages); every text a
person reads is collected and searched for common English words. A label left out of
the catalogue, or built from English outside ``_()``, shows up here.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from dash.development.base_component import Component
from sqlalchemy import select

from data import requests as workflow
from data.clock import utcnow
from data.customers import save_customer
from data.i18n import speaking
from data.models import User
from data.users import add_user

TEXT_KEYS = {"children", "label", "placeholder", "title", "headerName", "headerTooltip",
             "text", "name", "x", "y", "status"}  # fmt: skip
SKIPPED_KEYS = {"id", "style", "className", "href", "value", "field", "type", "function",
                "cellClassRules", "valueFormatter", "hovertemplate", "customdata", "data",
                "rowData", "getRowId", "accept", "options"}  # fmt: skip
ENGLISH = {
    "the", "and", "of", "to", "with", "for", "is", "are", "not", "yes", "save", "customer",
    "customers", "request", "requests", "change", "changes", "approve", "approved", "approvals",
    "reject", "rejected", "field", "fields", "open", "new", "step", "steps", "user", "users",
    "waiting", "pending", "submitted", "submit", "imports", "none", "every", "this", "that",
    "your", "you", "by", "from", "or", "when", "since", "days", "hours", "back", "sent",
    "nothing", "choose", "showing", "value", "values", "range", "week", "month",
    "day", "history", "details", "sign", "out", "notifications", "workflow", "enable",
    "discard", "proposed", "current", "original", "comment", "delegate", "recall", "download",
    "up", "down",
}  # fmt: skip
"""Words of the English UI that no Italian text of it contains."""


def texts(node, key: str = "children"):
    """Every text a person reads in a layout, a component's props or a figure."""
    if isinstance(node, Component):
        node = node.to_plotly_json()
    if isinstance(node, dict) and {"props", "type", "namespace"} <= node.keys():
        yield from texts(node["props"])
        return
    if isinstance(node, dict):
        for name, value in node.items():
            if name in SKIPPED_KEYS and not (name == "options" and isinstance(value, list)):
                continue
            yield from texts(value, name)
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from texts(item, key)
        return
    if isinstance(node, str) and key in TEXT_KEYS:
        yield node


def english_in(text: str) -> set[str]:
    if re.match(r"[A-Z]{2,3} · ", text):  # a country or currency pick list: the CLDR's names
        return set()
    return {word for word in re.findall(r"[A-Za-z]+", text.lower()) if word in ENGLISH}


def italian_world(web) -> dict:
    world = web.world
    with world.db.session() as session:
        add_user(session, "giulia", "Giulia Bianchi", "secret",
                 ["clerk", "approver", "manager", "analyst", "admin"])  # fmt: skip
        session.scalar(select(User).where(User.username == "giulia")).locale = "it"
    world.customer("C004", name="Ferramenta Rossi")
    world.customer("C002", name="Ottica Verdi")
    world.customer("C003", name="Pasticceria Neri")
    pending = world.act("clerk", save_customer, "C004", {"credit_limit": "25000"},
                        expected_version=world.version_of("C004")).request.id  # fmt: skip
    world.act("clerk", workflow.submit, pending)
    approved = world.act("clerk", save_customer, "C002", {"credit_limit": "30000"},
                         expected_version=world.version_of("C002")).request.id  # fmt: skip
    world.act("clerk", workflow.submit, approved)
    world.act("approver", workflow.approve, approved, seen_round=world.seen(approved))
    rejected = world.act("clerk", save_customer, "C003", {"on_hold": "All"},
                         expected_version=world.version_of("C003")).request.id  # fmt: skip
    world.act("clerk", workflow.submit, rejected)
    world.act("approver", workflow.reject, rejected, "Non ora", seen_round=world.seen(rejected))
    return {"pending": pending, "approved": approved}


def test_every_page_reads_in_italian_for_an_italian_user(web):
    from components.layout import navbar_contents
    from pages import (
        approvals,
        customer,
        customers,
        home,
        imports,
        my_requests,
        not_found_404,
        notifications,
        parameters,
        pending,
        request,
        requests,
        throughput,
        users,
        webhooks,
        workflows,
    )
    from pages._support import database, load_actor

    ids = italian_world(web)
    today = utcnow().date()
    csv = base64.b64encode(b"account;city;credit_limit\nC003;Lecco;1.500,00\nC9;Como;x\n")
    drawn = {}
    with web.signed_in("giulia"), speaking("it"):
        with database().session() as session:
            drawn["navbar"] = navbar_contents(load_actor(session), {"to_decide": 1})
        drawn["home"] = home.layout()
        drawn["not found"] = not_found_404.layout()
        drawn["customers"] = customers.layout()
        drawn["customer"] = customer.layout(account="C004")
        drawn["approvals"] = approvals.layout()
        drawn["inbox"] = approvals.inbox_rows("waiting", None, None, None, None)
        drawn["inbox decided"] = approvals.inbox_rows("decided", None, None, None, None)
        drawn["request"] = request.layout(request_id=str(ids["pending"]))
        drawn["approved request"] = request.layout(request_id=str(ids["approved"]))
        drawn["request list"] = requests.render({"state": "open"}, 0)
        drawn["pending"] = [pending.layout(), pending.render("30", 0)]
        drawn["throughput"] = [
            throughput.layout(),
            throughput.render(str(today - timedelta(days=30)), str(today), "week",
                              None, None, None, None, 0),  # fmt: skip
        ]
        drawn["parameters"] = parameters.layout()
        drawn["imports"] = [
            imports.layout(),
            imports.preview("clienti.csv", "data:text/csv;base64," + csv.decode(), decimal=","),
        ]
        drawn["workflows"] = workflows.layout()
        drawn["users"] = users.layout()
        drawn["webhooks"] = webhooks.layout()
        drawn["notifications"] = notifications.layout()
        drawn["my requests"] = [my_requests.layout(), my_requests.request_table("all")]

    english = {
        page: sorted({text for text in texts(layout) if english_in(text)})
        for page, layout in drawn.items()
    }
    assert {page: found for page, found in english.items() if found} == {}
    everything = " ".join(text for layout in drawn.values() for text in texts(layout))
    for seed_words in ("Modifiche proposte", "Flusso di lavoro", "Parametri contabilità clienti",
                       "Abilita approvazioni cliente", "Comportamento entità di dati",
                       "Modifiche in attesa di approvazione", "Limite di credito"):  # fmt: skip
        assert seed_words in everything


def test_the_sign_in_page_speaks_the_browsers_language(web):
    client = web.app.server.test_client()
    page = client.get("/login", headers={"Accept-Language": "it-IT,it;q=0.9"}).get_data(True)
    assert '<html lang="it">' in page and "Nome utente" in page and ">Accedi<" in page
    page = client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(True)
    assert '<html lang="en">' in page and "User name" in page
