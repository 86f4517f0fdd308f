"""Every write to the EDC is one of these functions.

Each takes the actor (a :class:`~celltrial.edc.models.Staff`) first, checks the actor's role
and site on the server, runs in one ``transaction.atomic()`` and writes its audit row in that
transaction. Each accepts ``idempotency_key=``: called again with the same key by the same
person it returns the first result and writes nothing. Errors are :class:`ActionError`
(422), :class:`Forbidden` (403), :class:`NotFound` (404) and :class:`Conflict` (409), each
with ``problems`` naming the field and the rule.
"""

from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    TooManyAttempts,
)
from celltrial.edc.actions.accounts import access_list, access_list_csv, change_password
from celltrial.edc.actions.assignment import assign_participant
from celltrial.edc.actions.clinical import record_measurement, record_visit
from celltrial.edc.actions.crf import (
    record_medical_history,
    record_medication,
    set_site_time_zone,
)
from celltrial.edc.actions.disposition import mark_lost_to_follow_up, record_death, withdraw
from celltrial.edc.actions.edit import edit_record, mark_entered_in_error
from celltrial.edc.actions.followup import (
    complete_study,
    record_clinical_event,
    record_deviation,
    record_visit_not_done,
)
from celltrial.edc.actions.monitoring import (
    answer_query,
    close_query,
    lock_record,
    open_query,
    sign_visit,
    unlock_record,
)
from celltrial.edc.actions.product import record_infusion, register_lot, release_lot
from celltrial.edc.actions.randomization import randomize_participant, unblind
from celltrial.edc.actions.safety import report_adverse_event, report_sae
from celltrial.edc.actions.screening import (
    enroll,
    record_consent,
    screen_participant,
    screening_log,
    update_screening,
)
from celltrial.edc.actions.sdv import unverify_record, verify_record
from celltrial.edc.actions.setup import (
    add_site,
    add_staff,
    add_staff_as_operator,
    allocation_lists,
    approve_access,
    create_trial,
    deactivate_staff,
    generate_allocation_list,
    issue_token,
    load_allocation_list,
    load_protocol_version,
    reactivate_staff,
    revoke_token,
    token_for,
)

__all__ = [
    "ActionError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "Problem",
    "TooManyAttempts",
    "access_list",
    "access_list_csv",
    "add_site",
    "add_staff",
    "add_staff_as_operator",
    "allocation_lists",
    "answer_query",
    "approve_access",
    "assign_participant",
    "change_password",
    "close_query",
    "complete_study",
    "create_trial",
    "deactivate_staff",
    "edit_record",
    "enroll",
    "generate_allocation_list",
    "issue_token",
    "load_allocation_list",
    "load_protocol_version",
    "lock_record",
    "mark_entered_in_error",
    "mark_lost_to_follow_up",
    "open_query",
    "randomize_participant",
    "reactivate_staff",
    "record_clinical_event",
    "record_consent",
    "record_death",
    "record_deviation",
    "record_infusion",
    "record_measurement",
    "record_medical_history",
    "record_medication",
    "record_visit",
    "record_visit_not_done",
    "register_lot",
    "release_lot",
    "report_adverse_event",
    "report_sae",
    "revoke_token",
    "screen_participant",
    "screening_log",
    "set_site_time_zone",
    "sign_visit",
    "token_for",
    "unblind",
    "unlock_record",
    "unverify_record",
    "update_screening",
    "verify_record",
    "withdraw",
]
