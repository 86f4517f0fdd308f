"""The web pages through Django's test client: login, throttling, each role's pages, and no
arm in any page a blinded role can open."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from edc_helpers import ELIGIBLE, MSC_RELEASE, arm_of, randomized, released_lot
from web_helpers import PASSWORD, client_for, no_arm, post

BLINDED = ["inv1", "coord1", "mon1", "dm", "admin"]


def test_login_needed_and_csrf(web_trial: Any) -> None:
    c = Client(enforce_csrf_checks=True)
    assert c.get("/").status_code == 302
    assert c.get("/").headers["Location"].startswith("/login")
    r = c.post("/login", {"username": "coord1", "password": PASSWORD})
    assert r.status_code == 403  # no CSRF token
    c = client_for("coord1")
    assert c.get("/").status_code == 200
    assert post(c, "/logout").status_code == 302
    assert c.get("/").status_code == 302


def test_password_is_hashed(web_trial: Any) -> None:
    from django.conf import global_settings

    from celltrial.edc import settings as served

    user = web_trial["coord1"].user
    assert PASSWORD not in user.password and user.check_password(PASSWORD)
    # The tests store passwords with a fast hasher (celltrial.edc.settings_for_tests); the
    # settings a server runs with keep Django's slow ones, PBKDF2 (or Argon2) first.
    hashers = getattr(served, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)
    assert hashers[0].rsplit(".", 1)[1] in ("PBKDF2PasswordHasher", "Argon2PasswordHasher")


def test_login_throttle(web_trial: Any) -> None:
    c = Client()
    for _ in range(5):
        r = c.post("/login", {"username": "coord1", "password": "wrong"})
        assert r.status_code == 401
        assert b"Wrong username or password" in r.content
    r = c.post("/login", {"username": "coord1", "password": PASSWORD})
    assert r.status_code == 429
    assert b"Too many failed log-ins" in r.content
    # Another username is not paused.
    assert c.post("/login", {"username": "inv1", "password": PASSWORD}).status_code == 302


def test_screening_eligible_and_not(web_trial: Any) -> None:
    c = client_for("coord1")
    page = c.get("/screen").content.decode()
    assert 'for="id_pao2_fio2"' in page and "mmHg" in page and "20–700" in page
    assert "mm[Hg]" not in page  # a label, not the UCUM code (issue 17)
    assert "Pregnant or breastfeeding" in page
    bad = {**{k: str(v).lower() for k, v in ELIGIBLE.items()}, "age": "12", "site": "site1"}
    r = post(c, "/screen", bad)
    assert r.status_code == 200  # outside the catalogue's plausible range
    assert "age: 12 is outside the plausible range" in r.content.decode()
    r = post(c, "/screen", {**bad, "age": "85"})
    assert r.status_code == 302
    page = c.get(r.headers["Location"]).content.decode()
    assert "Not eligible" in page and "Age 18-80 years" in page
    r = post(c, "/screen", {**bad, "age": "50"})
    page = c.get(r.headers["Location"]).content.decode()
    assert 'id="eligibility">Eligible' in page
    # Another site's coordinator cannot see them.
    assert client_for("coord2").get(r.headers["Location"]).status_code == 404


def test_enroll_randomize_shows_kit_not_arm(web_trial: Any) -> None:
    c = client_for("coord1")
    values = {k: str(v).lower() for k, v in ELIGIBLE.items()}
    code = post(c, "/screen", {**values, "site": "site1"}).headers["Location"].split("/")[-1]
    today = dt.date.today().isoformat()
    assert (
        post(c, f"/p/{code}/consent", {"version": "2.1", "consented_on": today}).status_code == 302
    )
    assert post(c, f"/p/{code}/enroll").status_code == 302
    assert post(c, f"/p/{code}/randomize").status_code == 302
    page = c.get(f"/p/{code}").content.decode()
    assert "Kit code:" in page
    assert "Infusion #1" in page and "Day 7" in page
    no_arm(page)
    no_arm(c.get("/").content.decode())


def test_measurement_range_confirm_and_edit_reason(web_trial: Any) -> None:
    p = randomized(web_trial)
    c = client_for("coord1")
    page = c.get(f"/p/{p.code}/measure?visit=day7").content.decode()
    assert "Interleukin 6" in page and "pg/mL" in page
    r = post(c, f"/p/{p.code}/measure", {"visit": "day7", "il6": "200000"})
    assert "outside the plausible range" in r.content.decode()
    assert "I confirm this out-of-range value" in r.content.decode()
    r = post(c, f"/p/{p.code}/measure", {"visit": "day7", "il6": "200000", "il6__confirmed": "on"})
    assert r.status_code == 302
    m = p.measurements.get(code="il6")
    r = post(c, f"/p/{p.code}/edit/measurement/{m.id}", {"value": "150", "reason": ""})
    assert "give a reason for the change" in r.content.decode()
    r = post(c, f"/p/{p.code}/edit/measurement/{m.id}", {"value": "150", "reason": "typo"})
    assert r.status_code == 302
    m.refresh_from_db()
    assert m.value == "150"
    from celltrial.edc.models import AuditEntry

    assert AuditEntry.objects.filter(action="edit_record", reason="typo").exists()


def test_ae_in_window_and_sae_clock(web_trial: Any) -> None:
    from django.utils import timezone

    from celltrial.edc import actions

    p = randomized(web_trial, at=timezone.now() - dt.timedelta(hours=10))
    released_lot(web_trial, arm_of(p))
    r = p.randomization
    start = r.randomized_at + dt.timedelta(hours=3)
    actions.record_infusion(
        web_trial["pharm"],
        p,
        lot=f"LOT-{arm_of(p)}",
        started_at=start,
        delivered=(140e6 if arm_of(p) == "msc" else 70.0),
    )
    c = client_for("coord1")
    onset = (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    form = {"term": "Fever", "onset": onset, "grade": "3", "relatedness": "possible"}
    # inside a safety window the form asks "is this a pre-specified infusion-associated
    # event?" (issue 17) and needs the answer
    r = post(c, f"/p/{p.code}/ae", {**form, "outcome": "recovering"})
    assert r.status_code == 200 and "pre-specified infusion-associated" in r.content.decode()
    form["infusion_associated"] = "yes"
    r = post(c, f"/p/{p.code}/ae", {**form, "outcome": "recovering"})
    assert r.status_code == 302, r.content
    r = post(c, f"/p/{p.code}/ae", {**form, "grade": "9", "outcome": "recovering"})
    assert "a CTCAE grade 1 to 5" in r.content.decode()
    hosp = {
        **form,
        "term": "Hypoxia",
        "outcome": "recovering",
        "serious_criteria": "hospitalization",
    }
    assert post(c, f"/p/{p.code}/ae", hosp).status_code == 302
    page = c.get(f"/p/{p.code}").content.decode()
    assert "inside: Infusion-associated events" in page
    dash = c.get("/").content.decode()
    assert "SAE clocks" in dash and "Hypoxia" in dash and "h left" in dash
    no_arm(page)
    no_arm(dash)


@pytest.mark.parametrize("name", BLINDED)
def test_blinded_roles_never_see_an_arm(web_trial: Any, name: str) -> None:
    from celltrial.edc import actions

    p = randomized(web_trial)
    released_lot(web_trial, arm_of(p))
    actions.record_infusion(
        web_trial["pharm"],
        p,
        lot=f"LOT-{arm_of(p)}",
        started_at=p.randomization.randomized_at + dt.timedelta(hours=3),
        delivered=(140e6 if arm_of(p) == "msc" else 70.0),
    )
    c = client_for(name)
    for url in ["/", f"/p/{p.code}", "/screen", f"/p/{p.code}/ae", f"/p/{p.code}/measure"]:
        r = c.get(url)
        # 302: an admin's home is /manage (its own tests check it for arms)
        assert r.status_code in (200, 302, 403, 404), url
        no_arm(r.content.decode())
    for url in ["/pharmacy", f"/pharmacy/p/{p.code}", "/dsmb"]:
        r = c.get(url)
        assert r.status_code == 403, url
        no_arm(r.content.decode())


def test_pharmacist_sees_arm_lots_and_dose(web_trial: Any) -> None:
    p = randomized(web_trial)
    arm = arm_of(p)
    c = client_for("pharm")
    assert c.get("/").headers["Location"] == "/pharmacy"
    r = post(c, "/pharmacy", {"do": "register", "number": "LOT-A", "arm": "msc"})
    assert r.status_code == 302
    bad = {"do": "release", "lot": "LOT-A", "LOT-A__viability": "85"}
    r = post(c, "/pharmacy", bad)
    assert 'id="err_LOT-A__viable_cells"' in r.content.decode()  # beside its field
    good = {
        "do": "release",
        "lot": "LOT-A",
        **{f"LOT-A__{k}": str(v) for k, v in MSC_RELEASE.items()},
    }
    assert post(c, "/pharmacy", good).status_code == 302
    page = c.get("/pharmacy").content.decode()
    assert "released" in page and p.code in page and f">{arm}<" in page
    page = c.get(f"/pharmacy/p/{p.code}").content.decode()
    assert arm in page
    if arm == "msc":  # 2 × 10^6 cells/kg × 70 kg
        assert "1.4 × 10^8 cells" in page
    else:
        assert "70 mL" in page
    assert c.get(f"/p/{p.code}/ae").status_code == 403  # not a clinical writer


def test_dsmb_summary(web_trial: Any) -> None:
    randomized(web_trial)
    c = client_for("dsmb")
    assert c.get("/").headers["Location"] == "/dsmb"
    page = c.get("/dsmb").content.decode()
    assert "Safety summary by arm" in page
    assert "BM-MSC" in page or "Placebo" in page
    assert client_for("coord1").get("/dsmb").status_code == 403
