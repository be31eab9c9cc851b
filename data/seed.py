"""Demo data: users of every role, customers, a two-step workflow and 90 days of history.

Deterministic (seeded random), and made through the same services a person uses,
with the clock set back, so the history obeys every rule of the product.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data import requests as svc
from data.clock import clock_at, utcnow
from data.customers import create_customer, save_customer
from data.db import Database
from data.errors import DomainError
from data.models import Customer, User
from data.parameters import ensure_defaults, update_parameters
from data.reasons import add_reason
from data.users import add_user
from data.workflows import StepSpec, activate_version, create_definition, save_version

DEMO_PASSWORD = "demo"
DEMO_USERS = (
    ("clerk", "Chiara Conti", ["clerk"]),
    ("approver", "Alessandro Ricci", ["approver"]),
    ("approver2", "Paola Bianchi", ["approver"]),
    ("manager", "Marco Gallo", ["manager"]),
    ("analyst", "Anna Moretti", ["analyst"]),
    ("admin", "Admin", ["admin", "clerk", "manager", "analyst"]),
)
DEMO_REASONS = (
    ("POLICY", "Against credit policy"),
    ("NO_EVIDENCE", "No supporting document"),
    ("WRONG_VALUE", "Wrong value"),
)
GATED = (
    "credit_limit", "on_hold", "terms_of_payment", "bank_account", "name",
    "method_of_payment", "payment_terms_base_days", "invoice_account", "credit_rating",
)  # fmt: skip

PREFIXES = (
    "Alpi", "Adriatica", "Borgo", "Castello", "Dolomiti", "Etna", "Felsina", "Garda", "Isola",
    "Laguna", "Monte", "Nord", "Olivo", "Porto", "Riviera", "Sole", "Tirreno", "Valle", "Vesuvio",
    "Zenit", "Aurora", "Brenta", "Cigno", "Delta", "Faro",
)  # fmt: skip
TRADES = (
    "Alimentari", "Arredamenti", "Ceramiche", "Costruzioni", "Distribuzione", "Edilizia",
    "Elettronica", "Forniture", "Impianti", "Logistica", "Meccanica", "Tessile", "Trasporti",
    "Vini", "Carta",
)  # fmt: skip
FORMS = ("S.r.l.", "S.p.A.", "S.n.c.", "& C.", "GmbH", "SAS")
CITIES = (
    ("Milano", "20121", "IT"), ("Torino", "10121", "IT"), ("Bologna", "40121", "IT"),
    ("Firenze", "50122", "IT"), ("Napoli", "80133", "IT"), ("Verona", "37121", "IT"),
    ("Bari", "70121", "IT"), ("Genova", "16121", "IT"), ("München", "80331", "DE"),
    ("Lyon", "69001", "FR"), ("Wien", "1010", "AT"), ("Zürich", "8001", "CH"),
)  # fmt: skip
STREETS = ("Via Roma", "Corso Italia", "Via Garibaldi", "Via Mazzini", "Viale Europa", "Via Dante")
GROUPS = ("RETAIL", "WHOLESALE", "INTERCO", "EXPORT")
TERMS = ("Net10", "Net30", "Net45", "Net60", "COD")
METHODS = ("BANK", "SEPA-DD", "CHECK", "CARD")
RATINGS = ("AAA", "AA", "A", "BBB", "BB", "B")


def _phone(area: int, number: int) -> str:
    """An Italian number valid in its plan: Milan, Rome, Turin, Bologna, Florence, Verona
    or Venice, seven digits."""
    prefix = (2, 6, 11, 51, 55, 45, 41)[area % 7]
    return f"+39 0{prefix} {number}{area % 10}"


def _iban(rng: random.Random) -> str:
    """A random Italian IBAN with correct check digits."""
    body = "X0542811101" + "".join(rng.choice("0123456789") for _ in range(12))
    digits = "".join(str(int(ch, 36)) for ch in body + "IT00")
    check = 98 - int(digits) % 97
    return f"IT{check:02d}{body}"


def _customer_values(rng: random.Random, number: int) -> dict[str, object]:
    city, postal_code, country = rng.choice(CITIES)
    name = f"{rng.choice(PREFIXES)} {rng.choice(TRADES)} {rng.choice(FORMS)}"
    slug = name.split()[0].lower()
    return {
        "account": f"C{number:06d}",
        "name": name,
        "customer_group": rng.choice(GROUPS),
        "currency": "CHF" if country == "CH" else "EUR",
        "on_hold": rng.choices(("No", "Invoice", "All"), weights=(90, 7, 3))[0],
        "credit_limit": Decimal(rng.randrange(5, 400) * 1000),
        "mandatory_credit_limit": rng.random() < 0.3,
        "credit_rating": rng.choice(RATINGS),
        "terms_of_payment": rng.choice(TERMS),
        "payment_terms_base_days": rng.choice((0, 10, 30, 45, 60)),
        "method_of_payment": rng.choice(METHODS),
        "bank_account": _iban(rng),
        "sales_tax_group": "DOM" if country == "IT" else "EU",
        "street": f"{rng.choice(STREETS)} {rng.randrange(1, 200)}",
        "city": city,
        "postal_code": postal_code,
        "country": country,
        "email": f"accounts{number}@{slug}.example",
        "phone": _phone(rng.randrange(10, 99), rng.randrange(100000, 999999)),
    }


def _proposal(rng: random.Random, customer: Customer) -> dict[str, object]:
    """One to three realistic changes to gated fields."""
    limit = customer.credit_limit or Decimal(0)

    def other(choices: tuple[str, ...], field: str) -> str:
        return rng.choice([choice for choice in choices if choice != getattr(customer, field)])

    options = {
        "credit_limit": lambda: limit + Decimal(rng.choice((5, 10, 20, 25, 60, 80, 120)) * 1000),
        "on_hold": lambda: other(("No", "Invoice", "All"), "on_hold"),
        "terms_of_payment": lambda: other(TERMS, "terms_of_payment"),
        "bank_account": lambda: _iban(rng),
        "method_of_payment": lambda: other(METHODS, "method_of_payment"),
        "credit_rating": lambda: other(RATINGS, "credit_rating"),
    }
    weights = {"credit_limit": 6, "on_hold": 2, "terms_of_payment": 3, "bank_account": 2,
               "method_of_payment": 1, "credit_rating": 2}  # fmt: skip
    count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen.add(rng.choices(list(weights), weights=list(weights.values()))[0])
    return {field: options[field]() for field in sorted(chosen)}


class _Seeder:
    def __init__(self, db: Database, now: datetime):
        self.db = db
        self.now = now
        self.outcomes: Counter[str] = Counter()

    def as_user(self, username: str, moment: datetime, service, *args, **kwargs):
        def work(session: Session):
            user = session.scalar(select(User).where(User.username == username))
            return service(session, user, *args, **kwargs)

        with clock_at(moment):
            return self.db.run(work)

    def history(self, rng: random.Random, accounts: list[str]) -> None:
        """One request per customer, of a state drawn for it, over the last 90 days."""
        plan = (
            ["approved"] * 70 + ["rejected"] * 15 + ["resubmitted"] * 10 + ["discarded"] * 5
            + ["pending"] * 20 + ["change_requested"] * 5 + ["draft"] * 6
        )  # fmt: skip
        rng.shuffle(plan)
        for account, outcome in zip(accounts, plan, strict=False):
            open_now = outcome in ("pending", "change_requested", "draft")
            days_ago = rng.uniform(0.05, 12) if open_now else rng.uniform(3, 90)
            start = self.now - timedelta(days=days_ago)
            self.play(rng, account, outcome, start)
            self.outcomes[outcome] += 1

    def play(self, rng: random.Random, account: str, outcome: str, start: datetime) -> None:
        customer = self.db.run(
            lambda s: s.scalar(select(Customer).where(Customer.account == account))
        )
        values = _proposal(rng, customer)
        request_id = self.as_user("clerk", start, save_customer, account, values,
                                  expected_version=customer.version).request.id
        if outcome == "draft":
            return
        moment = start + timedelta(minutes=rng.randrange(5, 90))
        self.as_user("clerk", moment, svc.submit, request_id)

        def later(hours_low: float, hours_high: float) -> datetime:
            nonlocal moment
            moment = min(moment + timedelta(hours=rng.uniform(hours_low, hours_high)), self.now)
            return moment

        if outcome == "pending":
            return
        if outcome == "discarded":
            self.as_user("clerk", later(1, 20), svc.recall, request_id)
            self.as_user("clerk", later(0.1, 2), svc.discard_all, request_id)
            return
        if outcome in ("change_requested", "resubmitted"):
            self.as_user(
                "approver",
                later(2, 30),
                svc.request_change,
                request_id,
                "Please attach the credit check and confirm the amount.",
                seen_round=1,
                reason="NO_EVIDENCE",
            )
            if outcome == "change_requested":
                return
            self.as_user("clerk", later(2, 20), svc.resubmit, request_id)
        if outcome == "rejected":
            self.as_user(
                "approver2",
                later(2, 60),
                svc.reject,
                request_id,
                "Not supported by the latest credit check.",
                seen_round=1,
                reason=rng.choice(("POLICY", "POLICY", "WRONG_VALUE")),
            )
            return
        self.approve_all_steps(rng, request_id, later)

    def approve_all_steps(self, rng: random.Random, request_id: int, later) -> None:
        while True:
            state, assignees, seen = self.db.run(lambda s: _waiting_on(s, request_id))
            if state != "pending":
                return
            self.as_user(
                rng.choice(assignees),
                later(1, 40),
                svc.approve,
                request_id,
                rng.choice(("OK", "Checked against the credit report.", "", "Approved.")),
                seen_round=seen,
            )


def _waiting_on(session: Session, request_id: int) -> tuple[str, list[str], int]:
    request = svc.get_request(session, request_id)
    step = svc.current_step(request)
    if step is None:
        return request.state, [], request.round
    return (request.state, [a.user.username for a in step.assignments if a.state == "open"],
            request.round)  # fmt: skip


def is_seeded(db: Database) -> bool:
    with db.session() as session:
        return bool(session.scalar(select(func.count(User.id))))


def seed_demo(db: Database, customers: int = 200, seed: int = 20181) -> dict[str, int]:
    """Fill an empty database with the demo data set; returns what it made."""
    if is_seeded(db):
        raise DomainError("The database already has users; the demo seed only fills an empty one.")
    rng = random.Random(seed)
    now = utcnow()
    start = now - timedelta(days=120)
    seeder = _Seeder(db, now)

    def setup(session: Session) -> None:
        ensure_defaults(session)
        for username, full_name, roles in DEMO_USERS:
            add_user(session, username, full_name, DEMO_PASSWORD, roles)

    with clock_at(start):
        db.run(setup)
        seeder.as_user(
            "admin",
            start,
            update_parameters,
            approvals_enabled=True,
            data_entity_behavior="propose",
            gated={name: True for name in GATED},
        )

        def workflow(session: Session, admin: User) -> None:
            approver2 = session.scalar(select(User).where(User.username == "approver2"))
            manager = session.scalar(select(User).where(User.username == "manager"))
            definition = create_definition(session, admin)
            version = save_version(session, admin, definition.id, [
                StepSpec(name="Credit control", assignee_role="approver", policy="single",
                         time_limit_hours=24, escalate_to_user_id=manager.id),
                StepSpec(name="Finance manager", assignee_user_ids=[approver2.id],
                         condition={"kind": "increase", "field": "credit_limit", "amount": 50000},
                         time_limit_hours=48, escalate_to_user_id=manager.id),
            ])  # fmt: skip
            activate_version(session, admin, version.id)

        seeder.as_user("admin", start, workflow)
        for code, label in DEMO_REASONS:
            seeder.as_user("admin", start, add_reason, code, label)

    accounts = []
    for number in range(1, customers + 1):
        values = _customer_values(rng, number)
        created = start + timedelta(minutes=number)
        seeder.as_user("clerk", created, create_customer, values)
        accounts.append(values["account"])
    rng.shuffle(accounts)
    seeder.history(rng, accounts)
    return {"customers": customers, **seeder.outcomes}
