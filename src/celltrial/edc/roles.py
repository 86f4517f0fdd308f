"""Who may do and see what. The server checks these on every action and read."""

from __future__ import annotations

from celltrial.edc.models import Role, Site, Staff

#: Roles that see arms (and kit-to-arm mappings, lots, doses, by-arm summaries).
UNBLINDED_ROLES = frozenset({Role.PHARMACIST, Role.DSMB})
#: Roles that see every site of the trial whatever their site list says.
ALL_SITE_ROLES = frozenset({Role.DATA_MANAGER, Role.DSMB, Role.ADMIN})

SITE_STAFF = frozenset({Role.INVESTIGATOR, Role.COORDINATOR})
CLINICAL_WRITERS = frozenset({Role.INVESTIGATOR, Role.COORDINATOR})
#: Roles that may read participant-level clinical data.
READERS = frozenset(
    {
        Role.INVESTIGATOR,
        Role.COORDINATOR,
        Role.PHARMACIST,
        Role.MONITOR,
        Role.DATA_MANAGER,
        Role.DSMB,
    }
)
AUDIT_READERS = frozenset({Role.MONITOR, Role.DATA_MANAGER, Role.ADMIN})


def sees_arm(staff: Staff) -> bool:
    """Whether ``staff`` may see arms: an unblinded role, or an open-label trial."""
    return staff.role in UNBLINDED_ROLES or staff.trial.is_open_label


def site_ids(staff: Staff) -> set[int] | None:
    """The sites ``staff`` may see, or None for all of them."""
    if staff.all_sites or staff.role in ALL_SITE_ROLES:
        return None
    known = staff.__dict__.get("_site_ids")  # set by the API's token cache
    if known is not None:
        return set(known)
    return set(staff.sites.values_list("id", flat=True))


def may_access(staff: Staff, site: Site) -> bool:
    if site.trial_id != staff.trial_id:
        return False
    allowed = site_ids(staff)
    return allowed is None or site.id in allowed
