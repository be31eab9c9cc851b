"""The change-request lifecycle's vocabulary: the states of requests, steps and assignments,
their groupings, and the one transition table.

The table says, for each action, from which request state it may be taken, the state it
leads to and who may take it. ``requests.allowed_actions`` (what the screens and the API
offer) and the services' guards (what they refuse) both read it; the README's state
diagram is drawn from it (``mermaid_diagram``, checked by tests/unit/test_lifecycle_table.py).

The states are ``StrEnum`` members: they are stored as their text and compare equal to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from data.i18n import N_, Labels


class RequestState(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    CHANGE_REQUESTED = "change_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISCARDED = "discarded"

    @property
    def label(self) -> str:
        """The state as the UI names it, in the reader's language."""
        return REQUEST_STATE_LABELS[self.value]


class StepState(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGE_REQUESTED = "change_requested"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class AssignmentState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGE_REQUESTED = "change_requested"
    DELEGATED = "delegated"
    REASSIGNED = "reassigned"
    RELEASED = "released"
    CANCELLED = "cancelled"


REQUEST_STATE_LABELS = Labels(
    {
        "draft": N_("Not submitted"),
        "pending": N_("Changes pending approval"),
        "change_requested": N_("Change requested"),
        "approved": N_("Approved"),
        "rejected": N_("Rejected"),
        "discarded": N_("Discarded"),
    }
)

# ---------------------------------------------------------------- groupings

R, S, A = RequestState, StepState, AssignmentState

OPEN_STATES = (R.DRAFT, R.PENDING, R.CHANGE_REQUESTED)
"""A customer has at most one request in these (a partial unique index holds it)."""
SUBMITTED_OPEN = (R.PENDING, R.CHANGE_REQUESTED)
"""Open and submitted: at a step, or sent back to the submitter."""
CLOSED_STATES = (R.APPROVED, R.REJECTED, R.DISCARDED)
DECIDED_STATES = (R.APPROVED, R.REJECTED)
"""A request's final decisions."""
STEP_DECIDED = (S.APPROVED, S.REJECTED, S.CHANGE_REQUESTED)
"""A step that ended by a decision (not skipped, not cancelled)."""
STEP_RUNNING = (S.ACTIVE, S.WAITING)
ASSIGNMENT_DECIDED = (A.APPROVED, A.REJECTED, A.CHANGE_REQUESTED)
"""What an assignee decided (the Decided by me tab)."""
ASSIGNMENT_VOTES = (A.APPROVED, A.REJECTED)
UNDECIDED_ASSIGNMENT_STATES = (A.OPEN, A.RELEASED)
"""An assignment still to be decided; a released one (its holder may no longer decide)
waits for a manager's Reassign and counts as undecided, so letting go never decides."""
COUNTED_ASSIGNMENT_STATES = (*UNDECIDED_ASSIGNMENT_STATES, *ASSIGNMENT_VOTES)


# ---------------------------------------------------------------- the transition table


class Who(StrEnum):
    """Who may take an action."""

    CLERK = "a clerk"
    SUBMITTING_CLERK = "the submitter, a clerk"
    SUBMITTER = "the submitter"
    ASSIGNEE = "an assignee of the running step"
    MANAGER = "a manager"
    SYSTEM = "the system"


@dataclass(frozen=True)
class Transition:
    action: str
    source: RequestState
    target: RequestState
    who: Who
    note: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition("edit", R.DRAFT, R.DRAFT, Who.CLERK, "propose, change or discard one proposal"),
    Transition("edit", R.CHANGE_REQUESTED, R.CHANGE_REQUESTED, Who.SUBMITTING_CLERK),
    Transition("discard_all", R.DRAFT, R.DISCARDED, Who.CLERK,
               "a request never submitted is deleted instead"),
    Transition("discard_all", R.CHANGE_REQUESTED, R.DISCARDED, Who.SUBMITTING_CLERK),
    Transition("submit", R.DRAFT, R.PENDING, Who.CLERK, "with at least one proposal"),
    Transition("resubmit", R.CHANGE_REQUESTED, R.PENDING, Who.SUBMITTING_CLERK),
    Transition("recall", R.PENDING, R.DRAFT, Who.SUBMITTER),
    Transition("approve", R.PENDING, R.PENDING, Who.ASSIGNEE, "a step that is not the last"),
    Transition("approve", R.PENDING, R.APPROVED, Who.ASSIGNEE, "the last step: values apply"),
    Transition("reject", R.PENDING, R.REJECTED, Who.ASSIGNEE),
    Transition("request_change", R.PENDING, R.CHANGE_REQUESTED, Who.ASSIGNEE),
    Transition("delegate", R.PENDING, R.PENDING, Who.ASSIGNEE),
    Transition("reassign", R.PENDING, R.PENDING, Who.MANAGER),
    Transition("escalate", R.PENDING, R.PENDING, Who.SYSTEM, "a step past its time limit"),
)  # fmt: skip

DECISIONS = ("approve", "reject", "request_change", "delegate")

_REFUSALS = Labels(
    {
        "submit": N_("Only a request that is Not submitted can be submitted; this one is "
                     "{state}."),
        "resubmit": N_("Only a request with Change requested can be resubmitted; this one is "
                       "{state}."),
        "recall": N_("Only a pending request can be recalled; this one is {state}."),
        "decide": N_("This request is {state}; it can no longer be decided."),
        "edit": N_("This request is {state}; it cannot change."),
    }
)  # fmt: skip


def sources(action: str) -> frozenset[RequestState]:
    """The request states ``action`` may be taken from."""
    return frozenset(t.source for t in TRANSITIONS if t.action == action)


def transitions_from(state: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == state]


def allows(action: str, state: str) -> bool:
    return state in sources(action)


def refusal(action: str, state: str) -> str | None:
    """Why ``action`` cannot be taken from ``state`` (a decision from anything but pending,
    say), in the reader's language; None when the table allows it."""
    if allows("approve" if action == "decide" else action, state):
        return None
    message = _REFUSALS[action if action in _REFUSALS else "edit"]
    return message.format(state=RequestState(state).label)


def qualifies(who: Who, *, is_clerk: bool, is_submitter: bool) -> bool:
    """Whether someone may act as ``who`` (assignees and managers are checked by the
    services that know the step and the roles)."""
    if who is Who.CLERK:
        return is_clerk
    if who is Who.SUBMITTING_CLERK:
        return is_clerk and is_submitter
    if who is Who.SUBMITTER:
        return is_submitter
    return False


def mermaid_diagram() -> str:
    """The request lifecycle as a Mermaid state diagram, drawn from TRANSITIONS (actions
    that leave the state as it is are left out)."""
    lines = ["stateDiagram-v2", f"    [*] --> {R.DRAFT.value}"]
    seen: set[tuple[str, str]] = set()
    for t in TRANSITIONS:
        if t.source == t.target or (t.source, t.target) in seen:
            continue
        seen.add((t.source, t.target))
        actions = " / ".join(sorted({x.action for x in TRANSITIONS
                                     if (x.source, x.target) == (t.source, t.target)}))  # fmt: skip
        lines.append(f"    {t.source.value} --> {t.target.value}: {actions}")
    lines += [f"    {state.value} --> [*]" for state in CLOSED_STATES]
    return "\n".join(lines) + "\n"


def transition_table() -> str:
    """TRANSITIONS as a Markdown table, for docs/architecture.md."""
    rows = ["| Action | From | To | Who | Note |", "|---|---|---|---|---|"]
    rows += [f"| {t.action} | {t.source.value} | {t.target.value} | {t.who.value} | {t.note} |"
             for t in TRANSITIONS]  # fmt: skip
    return "\n".join(rows) + "\n"


GENERATED = {
    "lifecycle-diagram": lambda: "```mermaid\n" + mermaid_diagram() + "```\n",
    "lifecycle-table": transition_table,
}
"""The blocks the documents carry between <!-- name:start --> and <!-- name:end -->."""


def refresh_documents(paths) -> list[str]:
    """Rewrite the generated blocks in ``paths``; the names of the files that changed."""
    from pathlib import Path

    changed = []
    for path in map(Path, paths):
        text = original = path.read_text(encoding="utf-8")
        for name, make in GENERATED.items():
            start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
            if start in text:
                head, rest = text.split(start, 1)
                text = head + start + make() + end + rest.split(end, 1)[1]
        if text != original:
            path.write_text(text, encoding="utf-8")
            changed.append(str(path))
    return changed


if __name__ == "__main__":  # python -m data.lifecycle README.md docs/architecture.md
    import sys

    for name in refresh_documents(sys.argv[1:]):
        print("updated", name)
