"""The UI's labels taken from the seed: one source of truth for every page.

A constant reads in the current language (``labels.PROPOSED_CHANGES`` is "Modifiche
proposte" for an Italian user), so take it from the module where it is shown, never
``from data.labels import`` a text; the label maps translate on every lookup.
"""

from data import lifecycle
from data.i18n import N_, Labels, gettext

_TEXTS = {
    "PROPOSED_CHANGES": N_("Proposed changes"),
    "ORIGINAL_VALUE": N_("Original value"),
    "NEW_VALUE": N_("New value"),
    "CURRENT_VALUE": N_("Current value"),
    "DISCARD": N_("Discard"),
    "DISCARD_ALL_CHANGES": N_("Discard all changes"),
    "OK": N_("OK"),
    "WORKFLOW": N_("Workflow"),
    "SUBMIT": N_("Submit"),
    "RESUBMIT": N_("Resubmit"),
    "RECALL": N_("Recall"),
    "APPROVE": N_("Approve"),
    "REJECT": N_("Reject"),
    "REQUEST_CHANGE": N_("Request change"),
    "DELEGATE": N_("Delegate"),
    "NOT_SUBMITTED_MESSAGE": N_("The proposed changes have not been submitted."),
    "PARAMETERS_PAGE": N_("Accounts receivable parameters"),
    "CUSTOMER_APPROVAL": N_("Customer approval"),
    "ENABLE_CUSTOMER_APPROVALS": N_("Enable customer approvals"),
    "DATA_ENTITY_BEHAVIOR": N_("Data entity behavior"),
    "DISALLOW_APPROVAL_BY_SUBMITTER": N_("Disallow approval by submitter"),
    "ENABLE": N_("Enable"),
    "WORKFLOWS_PAGE": N_("Accounts receivable workflows"),
    "NEW": N_("New"),
    "PROPOSED_CUSTOMER_CHANGE_WORKFLOW": N_("Proposed customer change workflow"),
    "PROPOSED_CUSTOMER_CHANGE_WORKFLOW_APPROVAL": N_("Proposed customer change workflow approval"),
}


def __getattr__(name: str) -> str:
    try:
        return gettext(_TEXTS[name])
    except KeyError:
        raise AttributeError(name) from None


REQUEST_STATE_LABELS = lifecycle.REQUEST_STATE_LABELS
"""The request states' labels (data.lifecycle holds them with the states)."""

DATA_ENTITY_BEHAVIOR_LABELS = Labels(
    {
        "allow": N_("Allow changes without approval"),
        "reject": N_("Reject changes"),
        "propose": N_("Create change proposals"),
    }
)

DATA_ENTITY_BEHAVIOR_HELP = Labels(
    {
        "allow": N_("An import updates the customer directly, with no workflow."),
        "reject": N_(
            "An imported row that would change a gated field fails; nothing of that row is applied."
        ),
        "propose": N_(
            "Every field is applied except the gated ones, which become proposed changes "
            "submitted to the workflow automatically."
        ),
    }
)

COMPLETION_POLICY_LABELS = Labels(
    {
        "single": N_("Single approver"),
        "majority": N_("Majority"),
        "percentage": N_("Percentage"),
        "all": N_("All approvers"),
    }
)

ROLE_LABELS = Labels(
    {
        "clerk": N_("Clerk"),
        "approver": N_("Approver"),
        "manager": N_("Manager"),
        "analyst": N_("Analyst"),
        "admin": N_("Admin"),
    }
)

AUDIT_SOURCE_LABELS = Labels(
    {
        "direct_edit": N_("Direct edit"),
        "approved_request": N_("Approved request"),
        "import_batch": N_("Import batch"),
        "api": N_("API"),
        "parameters": N_("Parameters"),
        "attachment": N_("Attachment"),
    }
)
