"""The page an email's Approve or Reject link opens: the changes, and one button that
decides (plain HTML served by Flask, readable on a phone, nothing of the app loaded)."""

from __future__ import annotations

from pathlib import Path

from flask import render_template_string

from data.i18n import _

PAGE = (Path(__file__).resolve().parent / "decide_page.html").read_text(encoding="utf-8")


def decide_page(*, language: str, title: str, view=None, decision: str = "approve",
                form: bool = False, message: str | None = None, tone: str = "danger",
                comment: str = "", open_url: str = "", reason: str = ""):  # fmt: skip
    """``view``: customer, step, submitter, rows (data.inbox.DiffRow), stale."""
    labels = {
        "customer": _("Customer"),
        "step": _("Step"),
        "submitter": _("Submitted by"),
        "changes": _("Proposed changes"),
        "headings": [_("Field"), _("Original value"), _("Current value"), _("New value"),
                     _("Change")],
        "stale": _("changed since proposed"),
        "confirm_stale": _("I have seen that a value changed since it was proposed, and "
                           "approve anyway"),
        "comment": _("Comment (required to reject)") if decision == "reject"
        else _("Comment (optional)"),
        "button": _("Approve") if decision == "approve" else _("Reject"),
        "open": _("Open the request in Countersign"),
        "reason": _("Reason"),
        "choose_reason": _("Choose a reason"),
    }  # fmt: skip
    return render_template_string(
        PAGE, language=language, title=title, view=view, decision=decision, form=form,
        message=message, tone=tone, comment=comment, open_url=open_url, labels=labels,
        reason=reason,
    )  # fmt: skip
