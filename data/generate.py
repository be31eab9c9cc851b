"""Bulk data for scale tests and benchmarks: many customers, inserted fast."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import insert

from data.clock import utcnow
from data.db import Database
from data.models import Customer

CITIES = (
    ("Milano", "IT"),
    ("Torino", "IT"),
    ("Roma", "IT"),
    ("Lyon", "FR"),
    ("Wien", "AT"),
    ("München", "DE"),
    ("Madrid", "ES"),
    ("Porto", "PT"),
    ("Gent", "BE"),
    ("Zürich", "CH"),
)
WORDS = (
    "Alpha",
    "Borealis",
    "Cobalt",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Quartz",
    "Riverside",
    "Summit",
    "Tundra",
)
KINDS = ("Trading", "Logistics", "Foods", "Textiles", "Systems", "Motors", "Pharma", "Paper")


def customer_rows(count: int, first: int = 1, seed: int = 1) -> Iterator[dict]:
    rng = random.Random(seed)
    now = utcnow()
    for number in range(first, first + count):
        city, country = CITIES[number % len(CITIES)]
        yield {
            "account": f"B{number:07d}",
            "name": f"{rng.choice(WORDS)} {rng.choice(KINDS)} {number}",
            "customer_group": ("RETAIL", "WHOLESALE", "EXPORT")[number % 3],
            "currency": "CHF" if country == "CH" else "EUR",
            "on_hold": "No",
            "credit_limit": Decimal(rng.randrange(1, 500) * 1000),
            "mandatory_credit_limit": False,
            "exclude_interest_charges": False,
            "exclude_collection_fee": False,
            "terms_of_payment": "Net30",
            "payment_terms_base_days": 30,
            "city": city,
            "country": country,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }


def generate_customers(db: Database, count: int, first: int = 1, batch: int = 20_000) -> int:
    """Insert ``count`` customers with accounts B0000001… in large batches (no audit)."""
    rows = customer_rows(count, first)
    inserted = 0
    while inserted < count:
        chunk = [row for _, row in zip(range(batch), rows, strict=False)]
        with db.engine.begin() as connection:
            connection.execute(insert(Customer), chunk)
        inserted += len(chunk)
    return inserted
