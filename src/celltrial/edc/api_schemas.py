"""The response schemas of the REST API (django-ninja), published in ``/api/openapi.json``.

Each schema is the shape an endpoint returns today (:mod:`celltrial.edc.serialize` and the
``*_json`` helpers of the API modules); ``extra="forbid"`` makes the published schema closed
(``additionalProperties: false``), so an undeclared key is a 500 in the tests, never a silent
change of the contract. Times are ISO 8601 strings (``Z`` for UTC), as the API writes them.

Blinding: a field only an unblinded role receives (an arm, a lot, a dose) is *optional* here
and the endpoints are declared with ``exclude_unset=True``, so a blinded role's answer keeps
omitting it (never ``"arm": null``); the schemas add no field to any role's answer.

Errors (:data:`ERRORS`): ``{"detail": [{"field": ..., "message": ...}]}`` from the API's
exception handlers (400 from the request guard, 401, 403, 404, 409, 422, 429; a 500 names the
request id, also sent as the ``X-Request-ID`` header, in its message).
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict


class Out(Schema):
    """A closed response object: every key it may carry is declared."""

    model_config = ConfigDict(extra="forbid")


class Problem(Out):
    field: str
    message: str


class ErrorOut(Out):
    """Every 4xx/5xx answer of the API."""

    detail: list[Problem]


#: The error statuses every operation may answer, all with :class:`ErrorOut`.
ERROR_CODES = frozenset({400, 401, 403, 404, 409, 422, 429, 500})
ERRORS: dict[frozenset[int], type[Schema]] = {ERROR_CODES: ErrorOut}


def answers(ok: Any) -> dict[Any, Any]:
    """``response=`` of an operation: ``ok`` for 200, :class:`ErrorOut` for the errors."""
    return {200: ok, **ERRORS}


# ------------------------------------------------------------------------------ reads


class MeOut(Out):
    username: str
    full_name: str
    must_change_password: bool
    role: str
    trial: str
    sites: list[str] | None
    sees_arms: bool


class ProtocolOut(Out):
    version: str
    sha256: str
    loaded_at: str | None


class SiteOut(Out):
    code: str
    name: str


class TrialOut(Out):
    code: str
    title: str
    blinding: str
    protocol: ProtocolOut
    sites: list[SiteOut]


class ScreeningLogOut(Out):
    screened: int
    ineligible: int
    ineligible_reasons: dict[str, int]
    consented: int
    enrolled: int
    randomized: int
    last_code: str | None


class RandomizationOut(Out):
    stratum: str
    sequence: int
    kit_code: str
    randomized_at: str | None
    arm: str | None = None  # unblinded roles only


class ScreeningOut(Out):
    screened_at: str | None
    values: dict[str, Any]
    eligible: bool | None
    failed: Any
    missing: Any


class ConsentRow(Out):
    id: int
    version: str
    consented_on: str


class DispositionOut(Out):
    id: int
    kind: str
    at: str | None
    reason: str
    by: str
    entered_in_error: bool


class UnblindingRow(Out):
    by: str
    at: str | None
    reason: str


class ParticipantOut(Out):
    """A participant; ``screening`` … ``unblindings`` only in the detail answers."""

    code: str
    site: str
    status: str
    weight_kg: float | None
    enrolled_at: str | None
    randomization: RandomizationOut | None
    screening: ScreeningOut | None = None
    consents: list[ConsentRow] | None = None
    dispositions: list[DispositionOut] | None = None
    unblindings: list[UnblindingRow] | None = None


class VisitOut(Out):
    visit: str
    label: str
    nominal: str | None
    earliest: str | None
    latest: str | None
    done_at: str | None
    in_window: bool | None
    not_done: bool | None = None  # the not-done answer only
    not_done_reason: str | None = None


class MeasurementOut(Out):
    id: int
    participant: str
    code: str
    visit: str | None
    measured_at: str | None
    value: float | None
    unit: str
    out_of_range: bool | None
    confirmed: bool
    complete: bool
    entered_in_error: bool = False


class AdverseEventOut(Out):
    id: int
    participant: str
    term: str
    decoded_term: str | None
    onset: str | None
    grade: int | None
    serious: bool | None
    serious_criteria: Any
    relatedness: str | None
    expected: bool | None
    outcome: str | None
    aware_at: str | None
    sae_due_at: str | None
    sae_reported_at: str | None
    safety_windows: Any
    complete: bool
    end_at: str | None
    ongoing: bool
    procedure_relatedness: str | None
    action_taken: str | None
    infusion_associated: bool | None
    missing: dict[str, str]
    entered_in_error: bool = False


class InfusionOut(Out):
    """An infusion; ``lot`` … ``deviation`` only for unblinded roles."""

    id: int
    participant: str
    number: int
    started_at: str | None
    stopped_at: str | None
    in_window: bool | None
    has_deviation: bool
    entered_in_error: bool
    lot: str | None = None
    arm: str | None = None
    intended: float | None = None
    allowed: list[float | None] | None = None
    delivered: float | None = None
    unit: str | None = None
    capped: bool | None = None
    deviation: Any = None
    premedication: str | None = None
    volume_ml: float | None = None
    interrupted: bool | None = None
    interruption: str | None = None
    reaction: str | None = None
    missing: dict[str, str] | None = None


class ReleaseResultOut(Out):
    criterion: str
    value: Any
    passed: bool | None
    label: str | None = None
    unit: str | None = None
    limit: str | None = None


class LotInfusionOut(Out):
    """One infusion given from a lot: the chain from lot to participant."""

    participant: str
    number: int
    started_at: str | None
    delivered: float
    unit: str


class LotOut(Out):
    """A lot (unblinded roles only: it names the arm)."""

    number: str
    arm: str
    product: str
    site: str | None
    status: str
    expires_at: str | None
    released_at: str | None
    results: list[ReleaseResultOut]
    infusions: list[LotInfusionOut] | None = None


class AllocationRowOut(Out):
    sequence: int
    site: str
    stratum: str
    kit_code: str
    arm: str
    participant: str | None


class SafetySummaryOut(Out):
    """By-arm counts (DSMB only)."""

    trial: str
    by_arm: dict[str, dict[str, int]]


class AuditEntryOut(Out):
    seq: int
    at: str | None
    actor: str
    role: str
    action: str
    table: str
    record_id: str
    old: Any
    new: Any
    reason: str
    hash: str


class AuditVerifyOut(Out):
    ok: bool
    rows: int
    first_bad: int | None
    message: str


class RoleOut(Out):
    role: str
    label: str


# ----------------------------------------------------------------------------- writes


class ConsentOut(Out):
    id: int
    participant: str
    version: str
    consented_on: str


class UnblindOut(Out):
    """The emergency unblinding's answer (to the requesting investigator only)."""

    participant: str
    arm: str
    at: str | None
    reason: str


class EditedOut(Out):
    """An edited record other than a measurement or an adverse event."""

    table: str
    id: int
    complete: bool | None


class NewStaffOut(Out):
    username: str
    full_name: str
    role: str
    sites: list[str]


class NewTokenOut(Out):
    username: str
    token: str | None  # null on a repeat with the same Idempotency-Key
    label: str


class ListLoadedOut(Out):
    rows: int


# ------------------------------------------------------------------------------ admin


class SiteRowOut(Out):
    code: str
    name: str
    staff: int


class StaffRowOut(Out):
    username: str
    full_name: str
    role: str
    role_label: str
    sites: list[str] | None
    all_sites: bool
    active: bool
    tokens: int | None
    last_login: str | None  # the last log-in (UTC), null when never
    dormant: bool  # active and not logged in for CELLTRIAL_DORMANT_DAYS days (90)


class TokenRowOut(Out):
    id: int
    label: str
    created_at: str | None
    revoked: bool
    username: str | None = None  # the revoke answer only


class VersionRowOut(Out):
    version: str
    sha256: str
    loaded_at: str | None
    active: bool


class ApprovedOut(Out):
    username: str
    role: str
    active: bool
    initial_password: str | None


# --------------------------------------------------------------------------- follow-up


class ClinicalEventOut(Out):
    id: int
    participant: str
    event: str
    label: str
    term: str | None
    occurred_at: str | None
    occurred: bool | None
    recorded_at: str | None
    complete: bool
    entered_in_error: bool = False


class MedicationOut(Out):
    id: int
    participant: str
    medication: str
    indication: str
    dose: float | None
    dose_unit: str
    route: str
    frequency: str
    start_date: str | None
    end_date: str | None
    ongoing: bool
    not_done: bool
    not_done_reason: str
    missing: dict[str, str]
    recorded_at: str | None
    complete: bool
    entered_in_error: bool = False


class MedicalHistoryOut(Out):
    id: int
    participant: str
    term: str
    start_date: str | None
    end_date: str | None
    ongoing: bool
    not_done: bool
    not_done_reason: str
    missing: dict[str, str]
    recorded_at: str | None
    complete: bool
    entered_in_error: bool = False


class SiteZoneOut(Out):
    code: str
    name: str
    time_zone: str


class DeviationOut(Out):
    id: int
    participant: str
    category: str
    description: str
    occurred_at: str | None
    recorded_at: str | None
    complete: bool
    entered_in_error: bool = False


# -------------------------------------------------------------------------- monitoring


class QueryOut(Out):
    id: int
    participant: str
    site: str
    table: str
    record_id: str
    field: str
    text: str
    status: str
    opened_by: str | None
    opened_at: str | None
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    closed_by: str | None
    closed_at: str | None
    close_note: str | None


class LockOut(Out):
    id: int
    participant: str
    table: str
    record_id: str
    scope: str
    reason: str
    locked_by: str | None
    locked_at: str | None
    unlocked_by: str | None
    unlocked_at: str | None
    active: bool


class SignatureOut(Out):
    id: int
    participant: str
    visit: str
    signed_by: str | None
    signed_at: str | None
    meaning: str
    invalidated_at: str | None
    invalidated_reason: str | None
    valid: bool


class RecordAuditOut(Out):
    table: str
    record_id: str
    participant: str
    entries: list[AuditEntryOut]


class FormStateOut(Out):
    """One form's status (``docs/edc.md``, "Form status and source-data verification")."""

    table: str
    record_id: str
    status: str
    label: str
    detail: str
    sdv: bool
    sdv_by: str | None
    sdv_at: str | None


class CasebookOut(Out):
    participant: str
    locked: bool
    forms: list[FormStateOut]


class VerificationOut(Out):
    id: int
    participant: str
    table: str
    record_id: str
    verified_by: str | None
    verified_at: str | None
    undone_by: str | None
    undone_at: str | None
    undone_reason: str
    active: bool
