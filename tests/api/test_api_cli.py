"""``countersign create-service-account``, ``create-token`` and ``revoke-token``: a token
made on the command line calls the API as its account, until it is revoked."""

from __future__ import annotations

import re

from data import cli
from data.config import Settings


def test_the_command_line_makes_an_account_and_a_token_that_calls_the_api(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "k")
    assert cli.main(["seed", "--customers", "5"]) == 0
    capsys.readouterr()
    assert cli.main(["create-service-account", "crm", "--name", "CRM", "--roles", "clerk",
                     "--by", "admin"]) == 0
    assert "Created the service account crm." in capsys.readouterr().out
    assert cli.main(["create-token", "crm", "--name", "nightly sync", "--days", "30", "--by", "admin"]) == 0
    shown = capsys.readouterr().out
    token = re.search(r"^cs_\S+$", shown, re.M).group(0)
    token_id = int(re.search(r"Token (\d+) for crm", shown).group(1))

    from app import create_app

    app = create_app(Settings(database_url=url, secret_key="k", demo=False, host="x", port=1))
    client = app.server.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    # not an administrator: refused, and nothing made
    assert cli.main(["create-token", "crm", "--name", "x", "--by", "crm"]) == 1
    assert "Admin" in capsys.readouterr().err
    assert cli.main(["revoke-token", str(token_id), "--by", "admin"]) == 0
    assert client.get("/api/v1/customers", headers=headers).status_code == 401
