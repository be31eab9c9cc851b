"""/decide/<token>: the Approve and Reject links of an email (data/oneclick.py).

GET shows the request's changes and one button, and changes nothing (mail scanners and
link previews open links); the POST the button sends decides, as the link's recipient,
through the same services as the request page. Every refusal is a page that says why,
in the recipient's language, with nothing changed.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, Response, current_app, redirect, request
from flask_login import current_user

from components.decide_page import decide_page
from data.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from data.i18n import LOCALES, _, locale_of, speaking
from data.inbox import request_view
from data.oneclick import LinkRefused, decide_by_link, link_target, read_link
from data.threads import attachment_content
from pages._support import parse_session_id

PATH = "/decide/"


def _database():
    from pages._support import DATABASE_KEY

    return current_app.extensions[DATABASE_KEY]


def _signed_in_id() -> int | None:
    if not current_user.is_authenticated:
        return None
    parsed = parse_session_id(current_user.id)
    return parsed[0] if parsed else None


def _status(error: DomainError) -> int:
    if isinstance(error, LinkRefused):
        return 410
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, ValidationFailed):
        return 422
    return 409


def init_links(server: Flask) -> None:
    @server.get("/attachments/<int:attachment_id>")
    def download(attachment_id: int):
        """A document attached to a request, for a signed-in, active user (the sign-in
        check before every request sends everyone else to the sign-in page)."""
        from pages._support import load_actor

        with _database().session() as session:
            try:
                actor = load_actor(session)
                item = attachment_content(session, actor, attachment_id)
            except DomainError as error:
                return Response(error.message, status=_status(error), mimetype="text/plain")
            return document_response(item.content, item.content_type, item.filename)

    @server.route(PATH + "<token>", methods=["GET", "POST"])
    def decide(token: str):
        database = _database()
        secret = server.secret_key
        signed_in = _signed_in_id()
        language = None
        try:
            with database.session() as session:
                link = read_link(session, secret, token)
                target = link_target(session, link, signed_in)
                language = locale_of(target.user.locale)
                if target.requires_sign_in and signed_in is None:
                    return redirect("/login?next=" + PATH + token)
        except DomainError as error:
            return _refused(error, language)
        comment = (request.form.get("comment") or "")[:4000]
        if request.method == "POST":
            try:
                with speaking(language):  # its refusals in the recipient's language
                    decided = database.run(
                        decide_by_link, link, signed_in_id=signed_in, comment=comment,
                        confirm_stale=request.form.get("confirm_stale") == "1",
                        reason=(request.form.get("reason") or None), writes=True,
                    )  # fmt: skip
            except DomainError as error:
                return _form(link, language, error=error, comment=comment)
            return _done(link, language, decided)
        return _form(link, language)

    def _form(link, language, *, error: DomainError | None = None, comment: str = ""):
        database = _database()
        with speaking(language), database.session() as session:
            try:
                target = link_target(session, link, _signed_in_id())
            except DomainError as refused:
                return _refused(refused, language)
            view = request_view(session, target.user, target.request.id)
            customer = view.customer
            title = (_("Approve request #{id}?") if link.decision == "approve"
                     else _("Reject request #{id}?")).format(id=target.request.id)  # fmt: skip
            shown = {
                "customer": f"{customer.account} · {customer.name}",
                "step": view.step_name,
                "submitter": view.request.submitted_by.full_name
                if view.request.submitted_by else "",
                "rows": view.rows,
                "stale": view.stale,
                "reasons": view.reasons if link.decision == "reject" else [],
            }  # fmt: skip
            page = decide_page(
                language=language, title=title, view=shown, decision=link.decision, form=True,
                message=error.message if error else None, comment=comment,
                reason=request.form.get("reason") or "",
                open_url=f"/requests/{target.request.id}",
            )  # fmt: skip
        return page, (_status(error) if error else 200)

    def _done(link, language, decided):
        with speaking(language):
            if link.decision == "reject":
                message = _("Rejected. Request #{id} is closed and nothing of it applies.")
            elif decided.state == "approved":
                message = _("Approved. The values of request #{id} now apply.")
            else:
                message = _("Approved. Request #{id} goes on with its workflow.")
            page = decide_page(language=language, title=_("Done"),
                               message=message.format(id=decided.id), tone="success",
                               open_url=f"/requests/{decided.id}")  # fmt: skip
        return page, 200

    def _refused(error: DomainError, language: str | None):
        # before the recipient is known, the browser's language (as the message was written)
        language = language or locale_of(request.accept_languages.best_match(list(LOCALES)))
        with speaking(language):
            page = decide_page(language=language, title=_("This link cannot be used"),
                               message=error.message)  # fmt: skip
        return page, _status(error)


def document_response(content: bytes, content_type: str, filename: str) -> Response:
    """A download the browser saves (never shows inline): its stated type, no sniffing."""
    response = Response(content, mimetype=content_type)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
