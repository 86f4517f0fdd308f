"""Pooling the seed trials' mortality, compared with metafor (tests/reference/evidence_pool)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from celltrial.evidence.pool import pool, to_table
from celltrial.evidence.records import TrialRecord, library_record_paths, load_records, parse_record

REF = json.loads(
    (Path(__file__).parents[1] / "reference" / "evidence_pool" / "pool.json").read_text()
)
ITERATIVE = 1e-6  # REML is an iterative fit
CLOSED = 1e-10


@pytest.fixture(scope="module")
def seeds() -> list[TrialRecord]:
    return load_records(library_record_paths())


def _extra() -> TrialRecord:
    # The invented fourth study of pool.R ("fathi_example": 3/14 vs 6/15), not a real result.
    return parse_record(
        {
            "id": "fathi_example",
            "title": "invented study for the 4-study reference",
            "subgroups": {"cell_source": "menstrual blood"},
            "arms": [
                {"id": "t", "label": "T", "role": "experimental", "n": 14},
                {"id": "c", "label": "C", "role": "control", "n": 15},
            ],
            "outcomes": [
                {
                    "id": "mortality",
                    "label": "Deaths",
                    "arms": {"t": {"events": 3}, "c": {"events": 6}},
                    "source": "invented",
                }
            ],
        },
        name="fathi_example",
    )


def _compare(result, ref: dict) -> None:  # type: ignore[no-untyped-def]
    m = result.model
    np.testing.assert_allclose([s.yi for s in result.studies], ref["yi"], rtol=CLOSED, atol=1e-12)
    np.testing.assert_allclose([s.vi for s in result.studies], ref["vi"], rtol=CLOSED)
    np.testing.assert_allclose(m.estimate, ref["estimate"], rtol=ITERATIVE, atol=1e-9)
    np.testing.assert_allclose(m.se, ref["se"], rtol=ITERATIVE)
    np.testing.assert_allclose(m.ci, [ref["ci_lb"], ref["ci_ub"]], rtol=ITERATIVE, atol=1e-9)
    np.testing.assert_allclose(m.p_value, ref["pval"], rtol=ITERATIVE)
    np.testing.assert_allclose(m.tau2, ref["tau2"], rtol=ITERATIVE, atol=1e-10)
    np.testing.assert_allclose(m.i2, ref["I2"], rtol=ITERATIVE, atol=1e-8)
    np.testing.assert_allclose(m.q, ref["QE"], rtol=CLOSED)
    np.testing.assert_allclose(m.q_p_value, ref["QEp"], rtol=ITERATIVE)
    np.testing.assert_allclose([s.weight for s in result.studies], ref["weights"], rtol=ITERATIVE)
    if m.prediction_interval is not None:
        np.testing.assert_allclose(
            m.prediction_interval, [ref["pi_lb"], ref["pi_ub"]], rtol=ITERATIVE, atol=1e-9
        )


def test_mortality_rr_reml_matches_metafor(seeds: list[TrialRecord]) -> None:
    result = pool(seeds, outcome="mortality", measure="RR", method="REML")
    assert [s.study for s in result.studies] == ["lanzoni2021", "meng2020", "rebelatto2022"]
    _compare(result, REF["seeds_RR_REML"])
    # pooled RR = exp(-0.2325146) = 0.7925
    assert math.exp(result.model.estimate) == pytest.approx(0.79254, abs=5e-5)
    # the double-zero study is kept with 1/2 added (escalc's default) and says so
    assert [s.corrected for s in result.studies] == [False, True, False]
    assert dict(result.excluded) == {
        "fathikazerooni2022": "reports no 'mortality' outcome",
        "shi2021": "reports no 'mortality' outcome",
    }


@pytest.mark.parametrize(
    ("measure", "method", "key"),
    [("RR", "DL", "seeds_RR_DL"), ("OR", "REML", "seeds_OR_REML"), ("RD", "FE", "seeds_RD_FE")],
)
def test_other_measures_and_methods(
    seeds: list[TrialRecord], measure: str, method: str, key: str
) -> None:
    _compare(pool(seeds, outcome="mortality", measure=measure, method=method), REF[key])  # type: ignore[arg-type]


def test_four_studies_knha_and_leave_one_out(seeds: list[TrialRecord]) -> None:
    records = [*sorted(seeds, key=lambda r: r.id), _extra()]
    # pool.R orders the rows lanzoni, meng, rebelatto, fathi_example
    records = [r for r in records if r.id in ("lanzoni2021", "meng2020", "rebelatto2022")] + [
        _extra()
    ]
    result = pool(records, outcome="mortality", measure="RR", method="REML", test="knha")
    _compare(result, REF["four_RR_REML_knha"])
    plain = pool(records, outcome="mortality", measure="RR", method="REML")
    assert plain.leave_one_out is not None
    loo = REF["four_leave1out"]
    np.testing.assert_allclose(
        plain.leave_one_out.estimate, loo["estimate"], rtol=ITERATIVE, atol=1e-9
    )
    np.testing.assert_allclose(plain.leave_one_out.tau2, loo["tau2"], rtol=ITERATIVE, atol=1e-9)


def test_subgroups_by_cell_source(seeds: list[TrialRecord]) -> None:
    records = [r for r in seeds if r.id in ("lanzoni2021", "meng2020", "rebelatto2022")] + [
        _extra()
    ]
    result = pool(records, outcome="mortality", subgroup="cell_source")
    assert result.model.subgroups is not None
    assert sorted(result.model.subgroups) == ["menstrual blood", "umbilical cord"]
    assert result.model.subgroups["umbilical cord"].n == 3


def test_too_few_studies_names_the_reasons(seeds: list[TrialRecord]) -> None:
    with pytest.raises(
        ValueError,
        match=r"outcome 'intubation': 1 study with counts; pooling needs 2 .*lanzoni2021: reports no 'intubation' outcome",
    ):
        pool(seeds, outcome="intubation")


def test_table_rows(seeds: list[TrialRecord]) -> None:
    rows = to_table(pool(seeds, outcome="mortality"))
    # Lanzoni: RR = (2/12)/(7/12) = 0.2857
    assert rows[0]["study"] == "Lanzoni 2021" and rows[0]["effect"] == pytest.approx(
        2 / 7, rel=CLOSED
    )
    assert sum(r["weight"] for r in rows) == pytest.approx(100)


def _many(seeds: list[TrialRecord]) -> list[TrialRecord]:
    """The seeds and ten small trials, several with identical counts (labels that would
    overlap in a funnel plot)."""
    data = [(1, 10, 3, 10), (0, 8, 0, 8), (0, 9, 0, 9), (2, 20, 4, 20), (5, 30, 6, 30)]
    data += [(1, 12, 2, 12), (3, 15, 3, 15), (0, 10, 1, 10), (4, 25, 7, 25), (2, 18, 2, 18)]
    extra = [
        parse_record(
            {
                "id": f"trial{i}",
                "title": "t",
                "authors": [f"Author{i} X"],
                "year": 2020 + i % 4,
                "arms": [
                    {"id": "e", "label": "E", "role": "experimental", "n": b},
                    {"id": "c", "label": "C", "role": "control", "n": d},
                ],
                "outcomes": [
                    {
                        "id": "mortality",
                        "label": "Deaths",
                        "arms": {"e": {"events": a}, "c": {"events": c}},
                        "source": "s",
                    }
                ],
            },
            name="x",
        )
        for i, (a, b, c, d) in enumerate(data)
    ]
    return [*seeds, *extra]


def test_forest_plot_shows_per_study_numbers_beside_the_plot(seeds: list[TrialRecord]) -> None:
    import matplotlib.pyplot as plt

    from celltrial.evidence.plots import forest_figure

    result = pool(seeds, outcome="mortality", measure="RR", method="FE")
    fig = forest_figure(result)
    texts = {t.get_text(): t for t in fig.axes[0].texts}
    plt.close(fig)
    # Lanzoni 2/12 vs 7/12: RR 0.2857 (Wald 0.0739 to 1.105, kinds.json), on the right
    assert "0.29 [0.07, 1.10]" in texts and texts["0.29 [0.07, 1.10]"].get_position()[0] > 1
    assert "RR [95% CI]" in texts and "Weight" in texts
    assert "Pooled (fixed effect), 95% CI" in texts  # not "FE random effects"


def test_funnel_labels_do_not_overlap(seeds: list[TrialRecord]) -> None:
    import matplotlib.pyplot as plt

    from celltrial.evidence.plots import funnel_figure

    result = pool(_many(seeds), outcome="mortality", measure="RR")
    fig = funnel_figure(result)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    plt.close(fig)
    assert len(boxes) == 13
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)


def test_cli_pool_prints_leave_one_out_and_names_a_fixed_effect_fit(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from celltrial.cli import app

    out = CliRunner().invoke(
        app, ["evidence", "pool", "--method", "FE", "--html", str(tmp_path / "p.html")]
    )
    assert out.exit_code == 0, out.output
    assert "Leave one out" in out.output
    page = (tmp_path / "p.html").read_text()
    assert "Fixed-effect (inverse-variance) model" in page and "FE random-effects" not in page
    result = pool(load_records(library_record_paths()), outcome="mortality", method="FE")
    assert result.leave_one_out is not None
    first = result.back(float(result.leave_one_out.estimate[0]))
    assert f"{first:.4g}" in out.output
