"""Imports over the API: a file previewed and imported as on the Imports page, under the
Data entity behavior, each row saying what happened; refused files name the field."""

from __future__ import annotations

import io

from data.customers import find_customer
from data.models import ChangeRequest, ImportBatch
from data.parameters import update_parameters

FILE = (b"account,name,customer_group,currency,on_hold,city,credit_limit\n"
        b"C001,,,,,Parma,25000.00\n"
        b"C900,Nuova Srl,RETAIL,EUR,No,Lodi,1000.00\n"
        b"C901,,,,,,not-a-number\n")  # fmt: skip


def upload(call, content=FILE, name="customers.csv", **query):
    return call("POST", "/api/v1/imports", query_string=query,
                data={"file": (io.BytesIO(content), name)},
                content_type="multipart/form-data")  # fmt: skip


def test_a_dry_run_says_what_each_row_would_do_and_changes_nothing(api):
    api.world.act("admin", update_parameters, data_entity_behavior="propose")
    call = api.as_user("clerk")
    preview = upload(call, dry_run="true")
    assert preview.status_code == 200, preview.json
    assert preview.json["id"] is None and preview.json["status"] == "preview"
    assert preview.json["counts"]["proposed"] == 1 and preview.json["counts"]["created"] == 1
    assert preview.json["rows"][0]["outcome"] == "failed" and preview.json["rows"][0]["row"] == 4
    assert api.world.query(lambda s: s.query(ImportBatch).count()) == 0
    assert api.world.query(lambda s: find_customer(s, "C001").city) != "Parma"


def test_an_import_applies_under_the_behavior_and_its_batch_can_be_read(api):
    api.world.act("admin", update_parameters, data_entity_behavior="propose")
    call = api.as_user("clerk")
    done = upload(call)
    assert done.status_code == 201, done.json
    assert done.headers["Location"] == done.json["href"] == f"/api/v1/imports/{done.json['id']}"
    assert done.json["behavior"] == "propose"
    assert {k: v for k, v in done.json["counts"].items() if v} == {
        "created": 1, "proposed": 1, "failed": 1}
    failed = done.json["rows"][0]
    assert failed["account"] == "C901" and "credit" in failed["message"].lower()
    customer = api.world.query(lambda s: find_customer(s, "C001"))
    assert customer.city == "Parma" and str(customer.credit_limit) == "10000.00"
    assert api.world.query(lambda s: [r.state for r in s.query(ChangeRequest)]) == ["pending"]
    again = call("GET", done.json["href"])
    assert again.status_code == 200
    assert again.json["counts"] == done.json["counts"] and again.json["rows"] == done.json["rows"]
    assert call("GET", "/api/v1/imports/99999").status_code == 404


def test_an_idempotency_key_replays_the_import_instead_of_running_it_again(api):
    call = api.as_user("clerk")

    def keyed(content=FILE):
        return call("POST", "/api/v1/imports", headers={"Idempotency-Key": "file-1"},
                    data={"file": (io.BytesIO(content), "customers.csv")},
                    content_type="multipart/form-data")  # fmt: skip

    first, second = keyed(), keyed()
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json == first.json
    assert api.world.query(lambda s: s.query(ImportBatch).count()) == 1
    assert keyed(FILE + b"C902,Como,1.00\n").status_code == 422


def test_a_bad_file_or_option_is_refused_naming_it(api):
    call = api.as_user("clerk")
    empty = upload(call, content=b"")
    assert empty.status_code == 422 and empty.json["errors"][0]["field"] == "file"
    assert upload(call, decimal=";").json["errors"][0]["field"] == "decimal"
    missing = call("POST", "/api/v1/imports", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "file"
    assert api.world.query(lambda s: s.query(ImportBatch).count()) == 0


def test_only_clerks_import(api):
    refused = upload(api.as_user("approver"))
    assert refused.status_code == 403
    assert api.world.query(lambda s: s.query(ImportBatch).count()) == 0
