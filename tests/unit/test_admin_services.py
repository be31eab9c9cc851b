"""Parameters, workflow designer services and user administration."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data.customers import find_customer, save_customer
from data.errors import PermissionDenied, ValidationFailed
from data.models import AuditEntry
from data.parameters import parameters_view, update_parameters
from data.preview import preview_version
from data.users import create_user, sign_in, update_user
from data.workflows import StepSpec, active_version, step_spec_from_form


def parameter_audit(world):
    return world.query(
        lambda s: [
            (a.field, a.old_value, a.new_value, a.user.username)
            for a in s.scalars(select(AuditEntry).where(AuditEntry.entity == "parameters").order_by(AuditEntry.id))
        ]
    )


def test_parameter_changes_are_listed_and_audited(world):
    before = len(parameter_audit(world))
    changes = world.act("admin", update_parameters, approvals_enabled=False,
                        data_entity_behavior="reject", gated={"city": True, "name": True})

    assert changes == [
        "Enable customer approvals: Yes → No",
        "Data entity behavior: Allow changes without approval → Reject changes",
        "City: needs approval",
    ]
    assert parameter_audit(world)[before:] == [
        ("approvals_enabled", "True", "False", "admin"),
        ("data_entity_behavior", "allow", "reject", "admin"),
        ("gated:city", "False", "True", "admin"),
    ]
    assert world.act("admin", update_parameters, approvals_enabled=False) == []


@pytest.mark.parametrize(
    ("options", "field"),
    [({"data_entity_behavior": "sometimes"}, "data_entity_behavior"),
     ({"gated": {"shoe_size": True}}, "gated"),
     ({"gated": {"account": True}}, "gated")],
)
def test_bad_parameters_are_refused(world, options, field):
    with pytest.raises(ValidationFailed) as error:
        world.act("admin", update_parameters, **options)
    assert field in error.value.errors


def test_parameters_view_counts_open_proposals_per_field(world):
    world.act("clerk", save_customer, "C001", {"credit_limit": "20000"}, expected_version=world.version_of("C001"))
    view = world.act("admin", parameters_view)
    rows = {row.name: row for row in view.fields}
    # a proposal not yet submitted is open, not pending approval
    assert (rows["credit_limit"].gated, rows["credit_limit"].open, rows["credit_limit"].pending) == (True, 1, 0)
    assert (rows["city"].gated, rows["city"].open, rows["city"].pending) == (False, 0, 0)
    assert "account" not in rows
    with pytest.raises(PermissionDenied):
        world.act("manager", parameters_view)


FORM_CASES = [
    ({"name": "A", "policy": "percentage", "percentage": "60", "assignee_role": "approver"},
     {"policy": "percentage", "percentage": 60, "condition": None}),
    ({"name": "B", "condition_kind": "increase", "condition_field": "credit_limit",
      "condition_value": "50,000", "time_limit_hours": "24"},
     {"condition": {"kind": "increase", "field": "credit_limit", "amount": 50000}, "time_limit_hours": 24}),
    ({"name": "C", "condition_kind": "decrease_pct", "condition_field": "credit_limit", "condition_value": "12.5"},
     {"condition": {"kind": "decrease_pct", "field": "credit_limit", "percent": 12.5}}),
]


@pytest.mark.parametrize(("form", "expected"), FORM_CASES)
def test_designer_forms_become_step_specs(form, expected):
    spec = step_spec_from_form(form, 1)
    for key, value in expected.items():
        assert getattr(spec, key) == value


@pytest.mark.parametrize(
    "form",
    [{"name": "X", "percentage": "sixty"}, {"name": "X", "time_limit_hours": "1.5"},
     {"name": "X", "condition_kind": "increase", "condition_field": "credit_limit", "condition_value": "lots"}],
)
def test_designer_refuses_bad_numbers_by_step(form):
    with pytest.raises(ValidationFailed) as error:
        step_spec_from_form(form, 3)
    assert list(error.value.errors) == ["step 3"]


def test_preview_shows_which_steps_run_and_who_is_asked(world):
    version_id = world.workflow([
        StepSpec(name="Credit control", assignee_user_ids=[world.user_id("approver")]),
        StepSpec(name="Finance", assignee_role="manager",
                 condition={"kind": "increase", "field": "credit_limit", "amount": 50000}),
    ])
    small = world.act("admin", preview_version, version_id, "C001", {"credit_limit": "20000"})
    assert [(s.name, s.runs, s.asked) for s in small] == [
        ("Credit control", True, ["Approver"]), ("Finance", False, ["Manager"])]
    big = world.act("admin", preview_version, version_id, "C001", {"credit_limit": "90000"})
    assert [s.runs for s in big] == [True, True]
    with pytest.raises(ValidationFailed):
        world.act("admin", preview_version, version_id, "C001", {"credit_limit": "10000"})
    with pytest.raises(ValidationFailed):
        world.act("admin", preview_version, version_id, "C001", {"credit_limit": "-1"})
    assert world.query(lambda s: active_version(s).id) == version_id


def test_admin_manages_users(world):
    user = world.act("admin", create_user, "Eve", "Eve Example", "a long pass phrase 1", ["clerk"])
    assert user.username == "eve"
    with pytest.raises(ValidationFailed, match="already taken"):
        world.act("admin", create_user, "eve", "Another", "a long pass phrase 1", ["clerk"])

    changes = world.act("admin", update_user, user.id, roles=["clerk", "approver"], active=True,
                        new_password="another pass phrase 2")
    assert changes == ["roles", "password reset"]
    assert sign_in(world.db, "eve", "another pass phrase 2").user_id == user.id

    assert world.act("admin", update_user, user.id, roles=["clerk", "approver"], active=False) == ["deactivated"]
    assert sign_in(world.db, "eve", "another pass phrase 2") is None
    with pytest.raises(ValidationFailed, match="own Admin role"):
        world.act("admin", update_user, world.user_id("admin"), roles=["clerk"], active=True)
    with pytest.raises(ValidationFailed, match="at least"):
        world.act("admin", update_user, user.id, roles=["clerk"], active=True, new_password="x")


def test_a_customers_group_is_one_an_administrator_set_up(world):
    """Customer group is picked from a list: a group nobody set up is refused, naming the
    field, in the editor and in an import; an administrator adds groups (audited)."""
    from data.customer_groups import add_customer_group, customer_groups
    from data.importfile import read_import_file
    from data.imports import import_customers

    with pytest.raises(ValidationFailed) as refused:
        world.act("clerk", save_customer, "C001", {"customer_group": "PARTNER"},
                  expected_version=world.version_of("C001"))
    assert refused.value.errors["customer_group"].startswith("Customer group PARTNER is not set up")
    file = read_import_file("c.csv", b"account,name,customer_group,currency,on_hold\nC900,New,PARTNER,EUR,No\n")
    summary = import_customers(world.db, world.user_id("clerk"), file)
    assert [r.outcome for r in summary.results] == ["failed"]
    assert "Customer group PARTNER is not set up" in summary.results[0].message

    with pytest.raises(PermissionDenied):
        world.act("clerk", add_customer_group, "PARTNER")
    for code, problem in (("", "is required"), ("RETAIL", "is set up already"), ("A" * 11, "at most")):
        with pytest.raises(ValidationFailed) as bad:
            world.act("admin", add_customer_group, code)
        assert problem in bad.value.errors["code"]
    assert world.act("admin", add_customer_group, " partner ", "Resellers  and partners") == "PARTNER"
    groups = {row.code: (row.description, row.customers) for row in world.act("admin", customer_groups)}
    assert groups["PARTNER"] == ("Resellers and partners", 0) and groups["RETAIL"][1] >= 1
    assert world.query(lambda s: s.scalars(select(AuditEntry.new_value).where(
        AuditEntry.entity == "customer_group", AuditEntry.field == "PARTNER")).all()) == ["Resellers and partners"]

    world.act("clerk", save_customer, "C001", {"customer_group": "partner"},  # read as PARTNER
              expected_version=world.version_of("C001"))
    assert world.query(lambda s: find_customer(s, "C001").customer_group) == "PARTNER"
    summary = import_customers(world.db, world.user_id("clerk"), file)
    assert [r.outcome for r in summary.results] == ["created"]
