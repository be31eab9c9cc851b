"""Imports: upload a file, preview what each row would do, import it, keep the batches."""

import base64
import secrets

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from babel.numbers import format_decimal
from dash import Input, Output, State, callback, dcc, html, no_update

from components.feedback import error_alert, success_alert
from data import labels
from data.csvout import csv_text
from data.errors import DomainError
from data.i18n import N_, Labels, _, current_language
from data.importfile import DECIMAL_CONVENTIONS, MAX_BYTES, read_import_file, template_csv
from data.imports import (
    OUTCOMES,
    batch_rows,
    import_customers,
    recent_batches,
)
from data.localtime import local_text
from data.parameters import get_parameters
from pages._support import (
    attempt,
    background_job,
    database,
    guard,
    page_title,
    read,
    signed_in_user_id,
    viewer_locale,
    viewer_zone,
)

dash.register_page(__name__, path="/imports", title=page_title(N_("Imports")), order=3)

OUTCOME_COLOURS = {
    "created": "primary",
    "updated": "info",
    "unchanged": "light",
    "proposed": "warning",
    "rejected": "danger",
    "failed": "danger",
}
HIDDEN = {"display": "none"}
PREVIEW_ROWS = 1000
"""Rows the preview table shows at most."""
OUTCOME_LABELS = Labels(
    {
        "created": N_("created"),
        "updated": N_("updated"),
        "unchanged": N_("unchanged"),
        "proposed": N_("proposed"),
        "rejected": N_("rejected"),
        "failed": N_("failed"),
    }
)
STATUS_LABELS = Labels(
    {
        "running": N_("Running"),
        "finished": N_("Finished"),
        "failed": N_("Failed"),
        "interrupted": N_("Interrupted"),
    }
)


def preview_columns(done: bool = False) -> list[dict]:
    """The row results' columns: what each row would do (a preview) or did (an import)."""
    return [
        {"field": "number", "headerName": _("Row"), "width": 80},
        {"field": "account", "headerName": _("Account"), "width": 130},
        {"field": "outcome", "headerName": _("Result") if done else _("Would be"), "width": 130},
        {"field": "message", "headerName": _("Why"), "flex": 1, "wrapText": True,
         "autoHeight": True},
    ]  # fmt: skip


def outcome_counts(counts) -> str:
    """ "3 created, 1 failed" in the reader's language."""
    return ", ".join(f"{n} {OUTCOME_LABELS[o]}" for o, n in counts if n)


def layout(**_query):
    denied = guard("imports")
    if denied is not None:
        return denied
    behavior, _alert = attempt(
        lambda: read(lambda s, _actor: get_parameters(s).data_entity_behavior)
    )
    user_locale, _alert = attempt(lambda: read(lambda _s, actor: actor.locale))
    decimal = next((sep for sep, code in DECIMAL_CONVENTIONS.items() if code == user_locale), ".")
    return html.Div(
        [
            dcc.Download(id="imp-download"),
            dcc.Store(id="imp-file"),
            html.Div(
                [
                    html.H1(_("Imports"), className="h3 mb-0"),
                    dbc.Button(
                        _("Download template"), id="imp-template", color="link", className="ms-auto"
                    ),
                ],
                className="d-flex align-items-center mb-2",
            ),
            html.P(
                [
                    f"{labels.DATA_ENTITY_BEHAVIOR}: ",
                    html.Strong(labels.DATA_ENTITY_BEHAVIOR_LABELS.get(behavior or "allow")),
                    " — ",
                    labels.DATA_ENTITY_BEHAVIOR_HELP.get(behavior or "allow"),
                ],
                className="text-muted small",
            ),
            html.Div(
                [
                    dbc.Label(
                        _("Numbers in the file are written"),
                        html_for="imp-decimal",
                        className="me-2 mb-0 small",
                    ),
                    dbc.Select(
                        id="imp-decimal",
                        options=[
                            {"label": _("1,500.00 (decimal point)"), "value": "."},
                            {"label": _("1.500,00 (decimal comma)"), "value": ","},
                        ],
                        value=decimal,
                        size="sm",
                        className="w-auto",
                    ),
                ],
                className="d-flex align-items-center mb-2",
            ),
            dcc.Upload(
                id="imp-upload",
                children=html.Div(
                    [
                        _("Drop a CSV or Excel file of customers here, or") + " ",
                        html.A(_("choose one"), href="#"),
                    ]
                ),
                className="upload-area mb-3",
                accept=".csv,.txt,.xlsx",
                max_size=MAX_BYTES,
            ),
            progress_box("imp-checking", "info"),
            html.Div(id="imp-message"),
            html.Div(id="imp-preview"),
            # static, not part of the preview: a button inserted by a callback would
            # start the background import job once with no click
            html.Div(
                [
                    dbc.Button(_("Import"), id="imp-run", color="primary", className="me-2"),
                    html.Span(
                        _("Rows with errors are left out; every other row is applied whole."),
                        className="text-muted small",
                    ),
                ],
                id="imp-actions",
                className="mb-3",
                style=HIDDEN,
            ),
            progress_box("imp-progress", "primary"),
            html.H2(_("Batches"), className="h5 mt-4"),
            html.Div(batches_table(), id="imp-batches"),
        ]
    )


def reporter(set_progress, words: str):
    """A job's ``progress(done, total)`` that moves its bar and says how far it is."""

    def progress(done: int, total: int) -> None:
        percent = round(100 * done / total) if total else 0
        language = current_language()
        set_progress((percent, _("{doing}: {done} of {total} rows").format(
            doing=_(words), done=format_decimal(done, locale=language),
            total=format_decimal(total, locale=language))))  # fmt: skip

    return progress


def progress_box(name: str, color: str):
    """A progress bar with its words beside it, hidden until a job runs."""
    return html.Div(
        [
            html.Div(id=f"{name}-label", className="small text-muted mb-1"),
            dbc.Progress(id=name, value=0, striped=True, animated=True, color=color),
        ],
        id=f"{name}-box",
        className="mb-3",
        style=HIDDEN,
    )


def batches_table():
    batches, alert = attempt(lambda: read(recent_batches))
    if batches is None:
        return alert
    if not batches:
        return html.P(_("No imports yet."), className="text-muted")
    zone = viewer_zone()
    rows = [
        html.Tr(
            [
                html.Td(f"#{b.id}"),
                html.Td(b.filename),
                html.Td(local_text(b.created_at, zone)),
                html.Td(
                    [
                        STATUS_LABELS.get(b.status, b.status),
                        html.Div(_(b.message), className="small text-muted") if b.message else None,
                    ]
                ),
                html.Td(
                    outcome_counts((o, getattr(b, f"{o}_count")) for o in OUTCOMES),
                    className="small",
                ),
                html.Td(
                    dbc.Button(
                        _("Download results"),
                        id={"type": "imp-batch", "batch": b.id},
                        size="sm",
                        color="link",
                    )
                ),
            ]
        )
        for b in batches
    ]
    head = html.Thead(
        html.Tr(
            [html.Th(h) for h in (_("Batch"), _("File"), _("When"), _("Status"), _("Rows"), "")]
        )  # fmt: skip
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, id="imp-batch-table")


def preview(filename: str | None, contents: str | None, progress=None, decimal: str = "."):
    """Read the upload and dry-run it: (preview layout, file to keep, message, actions style).
    ``decimal``: the file's decimal separator, which says how its numbers are read."""
    if not contents:
        return no_update, None, no_update, HIDDEN
    locale = DECIMAL_CONVENTIONS.get(decimal, "en")
    try:
        data = base64.b64decode(contents.split(",", 1)[1])
        file = read_import_file(filename or "upload.csv", data, locale)
        summary = import_customers(
            database(), signed_in_user_id(), file, dry_run=True, progress=progress
        )
    except DomainError as error:
        return None, None, error_alert(f"{filename}: {error.message}"), HIDDEN
    counts = summary.counts
    badges = [
        dbc.Badge(
            f"{counts[o]} {OUTCOME_LABELS[o]}",
            color=OUTCOME_COLOURS[o],
            className="me-1",
            text_color="dark" if o in ("unchanged", "proposed") else None,
        )
        for o in OUTCOMES
        if counts[o]
    ]
    results = summary.results
    # a long file: the rows that would fail first, then those that would change
    rank = {"failed": 0, "rejected": 0, "unchanged": 2}
    shown = sorted(results, key=lambda r: (rank.get(r.outcome, 1), r.number))[:PREVIEW_ROWS]
    note = (
        html.Div(
            _(
                "Showing {shown} of {count} rows: those that would fail first, then those that "
                "would change; the counts cover every row."
            ).format(
                shown=format_decimal(len(shown), locale=current_language()),
                count=format_decimal(len(results), locale=current_language()),
            ),
            className="text-muted small mb-1",
        )
        if len(shown) < len(results)
        else None
    )
    layout = html.Div(
        [
            html.Div(
                [
                    html.Strong(
                        _("{file}: {count} rows would give").format(
                            file=filename,
                            count=format_decimal(len(results), locale=current_language()),
                        )
                        + " "
                    ),
                    *badges,
                ],
                className="mb-2",
                id="imp-counts",
            ),
            note,
            results_grid("imp-preview-grid", shown),
        ]
    )
    # the token makes each upload's import a job of its own, even for the same file
    kept = {"filename": filename, "contents": contents, "token": secrets.token_hex(8),
            "decimal": decimal}  # fmt: skip
    return layout, kept, None, {}


@callback(
    Output("imp-preview", "children"),
    Output("imp-file", "data"),
    Output("imp-message", "children", allow_duplicate=True),
    Output("imp-actions", "style"),
    Input("imp-upload", "contents"),
    Input("imp-decimal", "value"),
    State("imp-upload", "filename"),
    prevent_initial_call=True,
    background=True,
    running=[
        (Output("imp-upload", "disabled"), True, False),
        (Output("imp-checking-box", "style"), {}, HIDDEN),
    ],
    progress=[Output("imp-checking", "value"), Output("imp-checking-label", "children")],
    progress_default=[0, ""],
)
def on_upload(set_progress, contents, decimal, filename):
    """A dry run of the whole file, as a background job: a long file keeps the page live;
    choosing another decimal separator checks the file again."""

    progress = reporter(set_progress, N_("Checking what each row would do"))
    with background_job():
        return preview(filename, contents, progress, decimal)


def results_grid(grid_id: str, results, done: bool = False) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=preview_columns(done),
        rowData=[{**vars(result), "outcome": OUTCOME_LABELS[result.outcome]} for result in results],
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        style={"height": "320px"},
        className="mb-3",
    )


def run_upload(stored: dict | None, progress=None):
    """Import the file kept from the preview: (the message, the row results as imported —
    they stay on the page, the failed ones first)."""
    if not stored:
        return error_alert(_("Upload a file first.")), None
    try:
        data = base64.b64decode(stored["contents"].split(",", 1)[1])
        locale = DECIMAL_CONVENTIONS.get(stored.get("decimal"), "en")
        file = read_import_file(stored["filename"], data, locale)
        summary = import_customers(database(), signed_in_user_id(), file, progress=progress)
    except DomainError as error:
        return error_alert(error.message), None
    counts = outcome_counts(summary.counts.items())
    rank = {"failed": 0, "rejected": 0, "unchanged": 2}
    shown = sorted(summary.results, key=lambda r: (rank.get(r.outcome, 1), r.number))
    results = results_grid("imp-results-grid", shown[:PREVIEW_ROWS], done=True)
    if summary.ok:
        return success_alert(
            _("Batch #{id} imported: {counts}.").format(id=summary.batch_id, counts=counts)
        ), results
    return dbc.Alert(
        _(
            "Batch #{id} imported with problems: {counts}. Download its results for the reasons."
        ).format(id=summary.batch_id, counts=counts),
        color="warning",
    ), results


@callback(
    Output("imp-message", "children", allow_duplicate=True),
    Output("imp-preview", "children", allow_duplicate=True),
    Output("imp-actions", "style", allow_duplicate=True),
    Output("imp-batches", "children"),
    Input("imp-run", "n_clicks"),
    State("imp-file", "data"),
    prevent_initial_call=True,
    background=True,
    running=[
        (Output("imp-run", "disabled"), True, False),
        (Output("imp-progress-box", "style"), {}, HIDDEN),
    ],
    progress=[Output("imp-progress", "value"), Output("imp-progress-label", "children")],
    progress_default=[0, ""],
)
def on_import(set_progress, clicks, stored):
    """Runs as a background job (this machine's or a Celery worker), so the page stays live."""
    if not clicks:
        return no_update, no_update, no_update, no_update

    progress = reporter(set_progress, N_("Importing"))
    with background_job():
        message, results = run_upload(stored, progress)
        return message, results, HIDDEN, batches_table()


def batch_csv(batch_id: int) -> str:
    rows = read(batch_rows, batch_id)
    return csv_text(
        ["row", "account", "outcome", "message"],
        [(row.row_number, row.account, row.outcome, row.message) for row in rows],
    )


@callback(
    Output("imp-download", "data"),
    Input("imp-template", "n_clicks"),
    Input({"type": "imp-batch", "batch": dash.ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def on_download(_template, _batches):
    trigger = dash.ctx.triggered_id
    if not (dash.ctx.triggered and dash.ctx.triggered[0].get("value")):
        raise dash.exceptions.PreventUpdate
    if trigger == "imp-template":
        return dcc.send_string(template_csv(viewer_locale()), "customers-template.csv")
    text, alert = attempt(lambda: batch_csv(trigger["batch"]))
    if text is None:
        raise dash.exceptions.PreventUpdate
    return dcc.send_string(text, f"import-batch-{trigger['batch']}.csv")
