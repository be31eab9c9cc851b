"""One decision on a request, as the request page and the customer page make it."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from components.feedback import success_alert
from data import requests as workflow
from data.errors import StaleChange, ValidationFailed
from data.i18n import N_, Labels, _
from data.models import User
from pages._support import act, act_and_show, attempt

DONE = Labels(
    {
        "approve": N_("Approved."),
        "reject": N_("Rejected."),
        "request_change": N_("Sent back to the submitter."),
        "delegate": N_("Delegated."),
        "recall": N_("Recalled: the changes are not submitted any more."),
    }
)


def decide(
    action: str, request_id: int, comment: str | None, delegate_to, confirm: bool, seen_round,
    reason: str | None = None, show: Callable[[Session, User | None], Any] | None = None,
):
    """Carry out one decision on the round the user saw (``reason``: the reason code of a
    Reject or Request change); return (alert, the "Next request" link or None, what was
    shown after it).

    ``show(session, actor)``, when given, reads what the page shows once the decision has
    committed, in the decision's session (``act_and_show``); the third item is then its
    (result, alert). It is None when nothing was decided, or no ``show`` was given.
    """
    seen = seen_round if isinstance(seen_round, int) and not isinstance(seen_round, bool) else -1
    delegate_id = int(delegate_to) if str(delegate_to or "").isdigit() else None
    calls = {
        "approve": (workflow.approve, (request_id, comment),
                    {"seen_round": seen, "confirm_stale": bool(confirm)}),
        "reject": (workflow.reject, (request_id, comment), {"seen_round": seen, "reason": reason}),
        "request_change": (workflow.request_change, (request_id, comment),
                           {"seen_round": seen, "reason": reason}),
        "recall": (workflow.recall, (request_id,), {}),
        "delegate": (workflow.delegate, (request_id, delegate_id, comment), {}),
    }  # fmt: skip
    if action not in calls:
        return None, None, None
    service, args, kwargs = calls[action]

    def work():
        if action == "delegate" and delegate_id is None:
            _choose_delegate()
        if show is None:
            return act(service, *args, **kwargs), None
        return act_and_show(show, service, *args, **kwargs)

    done, alert = attempt(work, passing=(StaleChange,))
    if done is None or done[0] is None:
        return alert, None, None
    following = None if action == "recall" else f"/requests/next?after={request_id}"
    return success_alert(DONE[action]), following, done[1]


def _choose_delegate():
    raise ValidationFailed({"to_user": _("choose someone")}, _("Choose whom to delegate to."))
