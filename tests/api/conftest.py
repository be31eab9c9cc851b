"""The real app on each database, called over HTTP (Flask's test client) with API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from data.db import Database
from data.tokens import create_token
from tests.conftest import World


@dataclass
class Api:
    app: object
    world: World

    def token(self, username: str, days: int = 30) -> str:
        return self.world.act("admin", create_token, self.world.user_id(username), "tests",
                              days).secret  # fmt: skip

    def client(self):
        return self.app.server.test_client()

    def call(self, method: str, path: str, token: str | None = None, *, headers=None, **kwargs):
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return self.client().open(path, method=method, headers=sent, **kwargs)

    def as_user(self, username: str):
        token = self.token(username)
        return lambda method, path, **kwargs: self.call(method, path, token, **kwargs)


def build_api(db: Database, **settings) -> Api:
    from app import create_app
    from data.config import Settings

    world = World(db)
    app = create_app(Settings(database_url=db.url, secret_key="test-key", demo=False,
                              host="127.0.0.1", port=8050, **settings))  # fmt: skip
    return Api(app, world)


@pytest.fixture
def api(db: Database) -> Iterator[Api]:
    yield build_api(db)
