"""The ``countersign`` command: database chores from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from data.config import load_settings
from data.db import Database, upgrade_database
from data.errors import DomainError, ValidationFailed
from data.importfile import DECIMAL_CONVENTIONS, read_import_file
from data.imports import import_customers
from data.models import User
from data.parameters import ensure_defaults
from data.seed import seed_demo
from data.tokens import DEFAULT_DAYS, create_service_account, create_token, revoke_token
from data.users import add_user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="countersign", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest migration")
    seed = commands.add_parser("seed", help="fill an empty database with demo data")
    seed.add_argument("--customers", type=int, default=200)
    user = commands.add_parser("create-user", help="create a user (the first admin, say)")
    user.add_argument("username")
    user.add_argument("--name", required=True, help="full name")
    user.add_argument("--roles", required=True, help="comma-separated: clerk,approver,admin,…")
    service = commands.add_parser(
        "create-service-account", help="create a user for another system (it calls the API)"
    )
    service.add_argument("username")
    service.add_argument("--name", required=True, help="what the system is, e.g. CRM")
    service.add_argument("--roles", required=True, help="comma-separated: clerk,approver,…")
    service.add_argument("--by", required=True, help="the administrator who creates it")
    token = commands.add_parser("create-token", help="make an API token for a user (shown once)")
    token.add_argument("username", help="the user or service account the token calls as")
    token.add_argument("--name", required=True, help="what the token is for")
    token.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days until it expires")
    token.add_argument("--by", required=True, help="the administrator who makes it")
    revoke = commands.add_parser("revoke-token", help="stop an API token working")
    revoke.add_argument("token_id", type=int)
    revoke.add_argument("--by", required=True, help="the administrator who revokes it")
    deliver = commands.add_parser("deliver", help="deliver webhooks and email (runs until stopped)")
    deliver.add_argument("--once", action="store_true", help="one pass, then stop")
    commands.add_parser("escalate", help="escalate overdue workflow steps (run it periodically)")
    imports = commands.add_parser("import", help="import customers from a CSV or Excel file")
    imports.add_argument("file", help="a .csv or .xlsx file keyed by account number")
    imports.add_argument("--user", required=True, help="the clerk the import runs as")
    imports.add_argument("--dry-run", action="store_true", help="show what would happen only")
    imports.add_argument(
        "--decimal",
        choices=sorted(DECIMAL_CONVENTIONS),
        help="the file's decimal separator: '.' reads 1,500.00, ',' reads 1.500,00 "
        "(default: as the user writes numbers)",
    )
    commands.add_parser(
        "check-audit", help="replay the audit trail and compare it with every customer"
    )
    commands.add_parser(
        "recount-dashboards",
        help="recount the dashboards' hourly and daily counts from the requests",
    )
    generate = commands.add_parser(
        "generate", help="add bulk customers and historical requests (for scale tests)"
    )
    generate.add_argument("--customers", type=int, default=0)
    generate.add_argument("--requests", type=int, default=0)
    args = parser.parse_args(argv)

    settings = load_settings()
    upgrade_database(settings.database_url)
    database = Database(settings.database_url)
    try:
        if args.command == "seed":
            print(seed_demo(database, customers=args.customers))
        elif args.command == "create-user":
            password = getpass.getpass(f"Password for {args.username}: ")

            def create(session):
                ensure_defaults(session)
                add_user(session, args.username, args.name, password, args.roles.split(","),
                         password_policy=True)  # fmt: skip

            database.run(create)
            print(f"Created {args.username}.")
        elif args.command in ("create-service-account", "create-token", "revoke-token"):
            print(database.run(run_token_command, args))
        elif args.command == "import":
            return run_import(database, args.file, args.user, args.dry_run, args.decimal)
        elif args.command == "check-audit":
            return run_check_audit(database)
        elif args.command == "generate":
            print(run_generate(database, args.customers, args.requests))
        elif args.command == "recount-dashboards":
            from data.rollups import rebuild

            with database.engine.begin() as connection:
                made = rebuild(connection)
            print(f"Counted {made['facts']:,} facts into {made['rows']:,} rows.")
        elif args.command == "deliver":
            from data.mail import send_due
            from data.webhooks import deliver_due, run_worker

            database.send_email(settings.mail())
            if args.once:
                print(f"Made {deliver_due(database)} delivery attempt(s); "
                      f"tried {send_due(database)} email(s).")  # fmt: skip
            else:
                run_worker(database, threading.Event())
        elif args.command == "escalate":
            from data.schedule import run_schedule

            database.send_email(settings.mail())
            reminded, escalated = run_schedule(database)
            print(f"Reminded or told the deciders of {reminded} step(s); escalated "
                  f"{escalated} overdue step(s).")  # fmt: skip
        else:
            print("The database is at the newest migration.")
    except DomainError as error:
        print(f"countersign: {error.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


def run_token_command(session, args) -> str:
    """API tokens and service accounts, made by the administrator ``--by`` names."""
    admin = session.scalar(select(User).where(User.username == args.by.strip().lower()))
    if args.command == "create-service-account":
        made = create_service_account(session, admin, args.username, args.name,
                                      [role for role in args.roles.split(",") if role])  # fmt: skip
        return f"Created the service account {made.username}."
    if args.command == "revoke-token":
        revoked = revoke_token(session, admin, args.token_id)
        return f"Token {revoked.id} ({revoked.name}) is revoked."
    user = session.scalar(select(User).where(User.username == args.username.strip().lower()))
    if user is None:
        raise DomainError(f"There is no user {args.username}.")
    made = create_token(session, admin, user.id, args.name, args.days)
    return (f"Token {made.id} for {user.username}, valid until {made.expires_at:%Y-%m-%d %H:%M} "
            f"UTC. It is shown only now:\n{made.secret}")  # fmt: skip


def run_check_audit(database: Database) -> int:
    """Exit 0 when the audit trail explains every customer value, else list what it does not."""
    from data.audit import verify_audit

    with database.session() as session:
        check = verify_audit(session)
    for problem in check.problems:
        print(problem)
    if check.ok:
        print(f"Checked {check.customers:,} customers and {check.entries:,} audit entries: "
              "the audit trail explains every value.")  # fmt: skip
        return 0
    print(f"Checked {check.customers:,} customers: the audit trail does not explain "
          "the values above.", file=sys.stderr)  # fmt: skip
    return 1


def run_generate(database: Database, customers: int, requests: int) -> str:
    """Bulk customers (accounts after the highest B-number) and history by existing users."""
    from sqlalchemy import func

    from data.generate import generate_customers, generate_history
    from data.models import Customer, UserRole

    if customers < 0 or requests < 0:
        raise DomainError("Give zero or more customers and requests.")
    with database.session() as session:
        last = session.scalar(select(func.max(Customer.account)).where(Customer.account.like("B%")))

        def holders(role: str) -> list[int]:
            return list(
                session.scalars(
                    select(User.id)
                    .join(UserRole, UserRole.user_id == User.id)
                    .where(UserRole.role == role, User.is_active.is_(True))
                    .order_by(User.id)
                )
            )

        clerks, approvers = holders("clerk"), holders("approver")
    if requests and (not clerks or len(approvers) < 2):
        raise DomainError("Generating history needs a clerk and two approvers; create them first.")
    first = int(last[1:]) + 1 if last and last[1:].isdigit() else 1
    if customers:
        generate_customers(database, customers, first=first)
    made = {"requests": 0, "open": 0}
    if requests:
        made = generate_history(database, requests, clerk_id=clerks[0],
                                approver_ids=(approvers[0], approvers[1]),
                                finance_id=approvers[-1])  # fmt: skip
    return (
        f"Added {customers:,} customers and {made['requests']:,} requests "
        f"({made['open']:,} open)."
    )


def progress_bar(done: int, total: int) -> None:
    width = 40
    filled = width * done // max(total, 1)
    end = "\n" if done == total else ""
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr)


def run_import(
    database: Database, path: str, username: str, dry_run: bool, decimal: str | None = None
) -> int:
    """Import a file; exit 1 when any row failed or was rejected."""
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        print(f"countersign: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 1
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == username.lower()))
        user_id = user.id if user else None
        locale = DECIMAL_CONVENTIONS[decimal] if decimal else (user.locale if user else None)
    try:
        file = read_import_file(Path(path).name, content, locale)
    except ValidationFailed as error:
        print(f"countersign: {path}: {error.message}", file=sys.stderr)
        return 1
    summary = import_customers(database, user_id, file, dry_run=dry_run, progress=progress_bar)
    for result in summary.results:
        if result.outcome in ("failed", "rejected"):
            print(f"row {result.number} {result.account}: {result.outcome}: {result.message}")
    counts = ", ".join(f"{count} {outcome}" for outcome, count in summary.counts.items())
    label = "Dry run" if dry_run else f"Batch {summary.batch_id}"
    print(f"{label}: {counts}.")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
