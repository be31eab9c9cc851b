"""/api/v1/imports: a customer file imported (or previewed) as on the Imports page."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy.orm import Session

from api.core import Answer, call_in_steps, database, read
from api.customers import IDEMPOTENCY
from api.problems import PROBLEM, ProblemSchema, domain_problem
from api.schemas import ImportBatchSchema, ImportFileSchema, ImportQuerySchema
from data.errors import DomainError
from data.importfile import DECIMAL_CONVENTIONS, read_import_file
from data.imports import OUTCOMES, get_batch, import_customers, refused_first
from data.models import User

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports",
                description="Customer files, imported under the Data entity behavior.")  # fmt: skip
blp.register_error_handler(DomainError, domain_problem)

ROWS_SHOWN = 1000


def _row(number: int, account: str | None, outcome: str, message: str | None) -> dict:
    return {"row": number, "account": account or None, "outcome": outcome, "message": message}


@blp.route("")
class Imports(MethodView):
    @blp.arguments(ImportQuerySchema, location="query", unknown=RAISE)
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(201, ImportBatchSchema)
    @blp.alt_response(200, schema=ImportBatchSchema, description="A dry run: what each row "
                                                                 "would do; nothing changed")
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM)
    @blp.doc(parameters=[IDEMPOTENCY])
    def post(self, form, files):
        """Import a file of customers (or preview it with dry_run): new accounts are created,
        the rest changed under the Data entity behavior; every row says what happened"""
        upload = files["file"]
        content = upload.read()
        file = read_import_file(upload.filename or "upload.csv", content,
                                DECIMAL_CONVENTIONS[form["decimal"]])  # fmt: skip

        def produce(user_id: int) -> Answer:
            summary = import_customers(database(), user_id, file, dry_run=form["dry_run"])
            results = sorted(summary.results,
                             key=lambda r: (r.outcome not in ("failed", "rejected"), r.number))
            shown = [_row(r.number, r.account, r.outcome, r.message) for r in results[:ROWS_SHOWN]]
            body = {
                "id": summary.batch_id, "dry_run": form["dry_run"], "filename": file.filename,
                "status": "preview" if form["dry_run"] else "finished",
                "behavior": summary.behavior, "counts": summary.counts,
                "rows": shown, "rows_shown": len(shown),
                "href": f"/api/v1/imports/{summary.batch_id}" if summary.batch_id else None,
            }  # fmt: skip
            if form["dry_run"]:
                return Answer(200, body)
            return Answer(201, body, {"Location": body["href"]})

        return call_in_steps(produce)


@blp.route("/<int(max=2147483647):batch_id>")
class ImportItem(MethodView):
    @blp.response(200, ImportBatchSchema)
    @blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM)
    def get(self, batch_id):
        """An import: its counts and its rows (refused ones first)"""

        def produce(session: Session, actor: User) -> Answer:
            batch = get_batch(session, actor, batch_id)
            rows = refused_first(session, actor, batch_id, ROWS_SHOWN)
            return Answer(200, {
                "id": batch.id, "dry_run": False, "filename": batch.filename,
                "status": batch.status, "behavior": batch.behavior,
                "counts": {o: getattr(batch, f"{o}_count") for o in OUTCOMES},
                "rows": [_row(r.row_number, r.account, r.outcome, r.message) for r in rows],
                "rows_shown": len(rows), "href": f"/api/v1/imports/{batch.id}",
            })  # fmt: skip

        return read(produce)
