"""Issue 15: corrections — "entered in error" (kept in the audit trail, out of the dataset) and
the likely-duplicate warning (the same measurement at the same visit, the same AE term and
onset), through the API."""

from __future__ import annotations

import datetime as dt

from edc_helpers import randomized

from celltrial.edc import actions
from celltrial.edc.export import export_dataset
from celltrial.edc.models import AuditEntry, Measurement


def test_duplicates_warn_and_entered_in_error_leaves_the_dataset(trial, clients, tmp_path):
    from celltrial.dataset import read_dataset

    api = clients["coord1"]
    p = randomized(trial)
    url = f"/participants/{p.code}/measurements"
    body = {"code": "il6", "value": 12, "visit": "baseline"}
    assert api.call("post", url, body).status_code == 200
    again = api.call("post", url, body)
    assert again.status_code == 422, again.content
    assert "confirm_duplicate" in again.content.decode() and "duplicate" in again.content.decode()
    second = api.call("post", url, {**body, "value": 13, "confirm_duplicate": True})
    assert second.status_code == 200, second.content
    dup_id = second.json()["id"]

    onset = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(microsecond=0)
    ae = {
        "term": "Headache",
        "onset": onset.isoformat(),
        "grade": 1,
        "relatedness": "unlikely",
        "outcome": "recovered",
    }
    assert api.call("post", f"/participants/{p.code}/adverse-events", ae).status_code == 200
    twice = api.call("post", f"/participants/{p.code}/adverse-events", {**ae, "term": "headache"})
    assert twice.status_code == 422 and "confirm_duplicate" in twice.content.decode()
    # Case aside beyond ASCII too, on both databases (SQLite's LIKE folded ASCII only).
    oedema = {**ae, "term": "Ödem", "onset": (onset - dt.timedelta(hours=1)).isoformat()}
    assert api.call("post", f"/participants/{p.code}/adverse-events", oedema).status_code == 200
    twin = api.call("post", f"/participants/{p.code}/adverse-events", {**oedema, "term": " öDEM "})
    assert twin.status_code == 422 and "'Ödem' with onset" in twin.json()["detail"][0]["message"]
    other = api.call("post", f"/participants/{p.code}/adverse-events", {**oedema, "term": "Ödema"})
    assert other.status_code == 200, other.content

    mark = f"/records/measurement/{dup_id}/entered-in-error"
    no_reason = api.call("post", mark, {"reason": " "})
    assert no_reason.status_code == 422 and "reason" in no_reason.content.decode()
    done = api.call("post", mark, {"reason": "typed twice"})
    assert done.status_code == 200, done.content
    assert done.json()["entered_in_error"] is True
    assert Measurement.objects.filter(pk=dup_id).exists()  # kept
    row = AuditEntry.objects.get(action="mark_entered_in_error", record_id=str(dup_id))
    assert row.reason == "typed twice"
    edit = api.call(
        "patch", f"/records/measurement/{dup_id}", {"changes": {"value": 14}, "reason": "x"}
    )
    assert edit.status_code == 422
    # Out of the dataset; a value at the visit may be entered again without the warning.
    export_dataset(tmp_path)
    lb = read_dataset(tmp_path).tables["LB"]
    assert lb.loc[lb["LBTESTCD"] == "IL6", "LBORRES"].tolist() == ["12"]
    actions.mark_entered_in_error(
        trial["coord1"],
        "measurement",
        Measurement.objects.get(participant=p, value="12").pk,
        reason="wrong participant",
    )
    actions.record_measurement(trial["coord1"], p, "il6", 15, visit="baseline")
