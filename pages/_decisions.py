"""One decision on a request, as the request page and the customer page make it."""

from components.feedback import success_alert
from data import requests as workflow
from data.errors import StaleChange, ValidationFailed
from data.i18n import N_, Labels, _
from pages._support import act, attempt

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
    reason: str | None = None,
):
    """Carry out one decision on the round the user saw (``reason``: the reason code of a
    Reject or Request change); return (alert, the "Next request" link or None)."""
    seen = seen_round if isinstance(seen_round, int) and not isinstance(seen_round, bool) else -1
    services = {
        "approve": lambda: act(
            workflow.approve, request_id, comment, seen_round=seen, confirm_stale=bool(confirm)
        ),
        "reject": lambda: act(workflow.reject, request_id, comment, seen_round=seen,
                              reason=reason),
        "request_change": lambda: act(
            workflow.request_change, request_id, comment, seen_round=seen, reason=reason
        ),
        "recall": lambda: act(workflow.recall, request_id),
        "delegate": lambda: (
            act(workflow.delegate, request_id, int(delegate_to), comment)
            if str(delegate_to or "").isdigit()
            else _choose_delegate()
        ),
    }
    done, alert = (
        attempt(services[action], passing=(StaleChange,)) if action in services else (None, None)
    )
    if done is None:
        return alert, None
    following = None if action == "recall" else f"/requests/next?after={request_id}"
    return success_alert(DONE[action]), following


def _choose_delegate():
    raise ValidationFailed({"to_user": _("choose someone")}, _("Choose whom to delegate to."))
