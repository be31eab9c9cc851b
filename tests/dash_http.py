"""Hand-made requests to /_dash-update-component, built from an app's callback_map."""

from __future__ import annotations

import json
from typing import Any


def _parts(output_key: str) -> list[tuple[str, str]]:
    multi = output_key.startswith("..")
    body = output_key[2:-2] if multi else output_key
    pieces = body.split("...") if multi else [body]
    return [tuple(piece.rsplit(".", 1)) for piece in pieces]


def _concrete(raw_id: str, matches: dict[str, list]) -> Any:
    """A plain id, or the concrete ids standing for an ALL pattern."""
    if not raw_id.startswith("{"):
        return raw_id
    pattern = json.loads(raw_id)
    return matches.get(pattern["type"], [])


def _items(spec: dict, values: dict, matches: dict[str, list]) -> Any:
    target = _concrete(spec["id"], matches)
    prop = spec["property"]
    if isinstance(target, list):
        key = (json.loads(spec["id"])["type"], prop)
        given = values.get(key, [None] * len(target))
        return [{"id": t, "property": prop, "value": v} for t, v in zip(target, given, strict=True)]
    return {"id": target, "property": prop, "value": values.get((target, prop))}


def callback_payload(app, output_key: str, values: dict, matches: dict[str, list] | None = None,
                     changed: str | None = None) -> dict:  # fmt: skip
    """The JSON body the browser would send for one callback.

    ``values`` maps (component id or pattern type, property) to the value sent;
    ``matches`` maps a pattern type to the concrete ids present on the page.
    """
    matches = matches or {}
    entry = app.callback_map[output_key]
    outputs = []
    for raw_id, prop in _parts(output_key):
        target = _concrete(raw_id, matches)
        if isinstance(target, list):
            outputs.append([{"id": t, "property": prop} for t in target])
        else:
            outputs.append({"id": target, "property": prop})
    return {
        "output": output_key,
        "outputs": outputs if output_key.startswith("..") else outputs[0],
        "inputs": [_items(spec, values, matches) for spec in entry["inputs"]],
        "state": [_items(spec, values, matches) for spec in entry.get("state", [])],
        "changedPropIds": [changed] if changed else [],
    }


def find_output_key(app, fragment: str) -> str:
    [key] = [k for k in app.callback_map if fragment in k]
    return key


def client_as(app, user_id: int | None):
    client = app.server.test_client()
    if user_id is not None:
        with client.session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
    return client


def post_callback(client, body: dict, timeout: float = 60.0):
    """POST one callback as the browser does; a background callback is followed to its end.

    Dash answers a background callback with signed job handles; the browser then
    sends the same request with them until the answer holds the outputs.
    """
    import time

    response = client.post("/_dash-update-component", json=body)
    data = response.get_json(silent=True) if response.status_code == 200 else None
    if not isinstance(data, dict) or "cacheKey" not in data:
        return response
    query = {"cacheKey": data["cacheKey"], "job": data["job"]}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        response = client.post("/_dash-update-component", json=body, query_string=query)
        data = response.get_json(silent=True) if response.status_code == 200 else None
        if not isinstance(data, dict) or "response" in data or response.status_code != 200:
            return response
    raise TimeoutError("the background callback did not finish")
