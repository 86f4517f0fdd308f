"""Issue 15: a dataset with problems still gives the blinded and the closed report, each with a
"Data problems" section (record, participant, site, what is wrong, what was analysed without
it); the blinded one does not detail a problem that could name the arm."""

from __future__ import annotations

from pathlib import Path

import pytest

from celltrial.analysis import analyze, analyze_despite_problems
from celltrial.dataset import DatasetError, make_dataset, read_dataset
from celltrial.protocol import load_protocol
from celltrial.report.html import render_html

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"


def _broken() -> object:
    small = read_dataset(SMALL)
    tables = {k: v.copy() for k, v in small.tables.items()}
    tables["AE"].loc[0, "AESTDTC"] = "2000-01-01"  # before consent
    tables["EX"].loc[0, "EXTRT"] = "bogus"  # not an arm (names a product)
    return make_dataset(tables)


def test_reports_render_with_a_data_problems_section():
    protocol = load_protocol("lanzoni2021")
    ds = _broken()
    with pytest.raises(DatasetError):
        analyze(ds, protocol)  # the analyst's command still refuses
    result = analyze_despite_problems(ds, protocol)
    assert len(result.data_problems) == 2
    whats = {d.record: d for d in result.data_problems}
    ae = next(d for r, d in whats.items() if r.startswith("AE"))
    assert "before consent" in ae.what and "rule after_consent" in ae.what
    assert ae.site is not None and "safety tables" in ae.left_out
    closed = render_html(result, closed=True)
    blinded = render_html(result, closed=False)
    for page in (closed, blinded):
        assert 'id="data-problems"' in page and "Data problems (2)" in page
        assert ae.usubjid is not None and ae.usubjid in page
    assert "EXTRT &#39;bogus&#39;" in closed or "EXTRT 'bogus'" in closed
    assert "bogus" not in blinded and "details are in the closed report" in blinded
    # The participants are all still analysed (only the two records were set aside).
    assert result.consort.randomized == analyze(read_dataset(SMALL), protocol).consort.randomized


def test_a_clean_dataset_has_no_data_problems_section():
    protocol = load_protocol("lanzoni2021")
    result = analyze_despite_problems(read_dataset(SMALL), protocol)
    assert result.data_problems == ()
    assert 'id="data-problems"' not in render_html(result, closed=True)
