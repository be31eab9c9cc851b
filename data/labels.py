"""The UI's labels taken from the seed: one source of truth for every page."""

PROPOSED_CHANGES = "Proposed changes"
ORIGINAL_VALUE = "Original value"
NEW_VALUE = "New value"
CURRENT_VALUE = "Current value"
DISCARD = "Discard"
DISCARD_ALL_CHANGES = "Discard all changes"
OK = "OK"
WORKFLOW = "Workflow"
SUBMIT = "Submit"
RESUBMIT = "Resubmit"
RECALL = "Recall"
APPROVE = "Approve"
REJECT = "Reject"
REQUEST_CHANGE = "Request change"
DELEGATE = "Delegate"
NOT_SUBMITTED_MESSAGE = "The proposed changes have not been submitted."

PARAMETERS_PAGE = "Accounts receivable parameters"
CUSTOMER_APPROVAL = "Customer approval"
ENABLE_CUSTOMER_APPROVALS = "Enable customer approvals"
DATA_ENTITY_BEHAVIOR = "Data entity behavior"
DISALLOW_APPROVAL_BY_SUBMITTER = "Disallow approval by submitter"
ENABLE = "Enable"

WORKFLOWS_PAGE = "Accounts receivable workflows"
NEW = "New"
PROPOSED_CUSTOMER_CHANGE_WORKFLOW = "Proposed customer change workflow"
PROPOSED_CUSTOMER_CHANGE_WORKFLOW_APPROVAL = "Proposed customer change workflow approval"

REQUEST_STATE_LABELS = {
    "draft": "Not submitted",
    "pending": "Changes pending approval",
    "change_requested": "Change requested",
    "approved": "Approved",
    "rejected": "Rejected",
    "discarded": "Discarded",
}

DATA_ENTITY_BEHAVIOR_LABELS = {
    "allow": "Allow changes without approval",
    "reject": "Reject changes",
    "propose": "Create change proposals",
}

DATA_ENTITY_BEHAVIOR_HELP = {
    "allow": "An import updates the customer directly, with no workflow.",
    "reject": "An imported row that would change a gated field fails; "
    "nothing of that row is applied.",
    "propose": "Every field is applied except the gated ones, which become proposed changes "
    "submitted to the workflow automatically.",
}

COMPLETION_POLICY_LABELS = {
    "single": "Single approver",
    "majority": "Majority",
    "percentage": "Percentage",
    "all": "All approvers",
}

ROLE_LABELS = {
    "clerk": "Clerk",
    "approver": "Approver",
    "manager": "Manager",
    "analyst": "Analyst",
    "admin": "Admin",
}

AUDIT_SOURCE_LABELS = {
    "direct_edit": "Direct edit",
    "approved_request": "Approved request",
    "import_batch": "Import batch",
    "parameters": "Parameters",
}
