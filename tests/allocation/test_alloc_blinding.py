"""Kit codes carry no information about the arm; unblinding needs a reason and leaves a record."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from scipy import stats

from celltrial.allocation import (
    AllocationError,
    UnblindingKey,
    generate_list,
    kit_code_features,
    kit_code_ok,
    make_kit_codes,
    scheme_from_protocol,
    site_names,
    unblind,
)
from celltrial.allocation.blinding import ALPHABET
from celltrial.protocol import load_protocol

N_CODES = 20_000


@pytest.fixture(scope="module")
def coded() -> tuple[np.ndarray, np.ndarray]:
    """Features of ~20,000 kit codes from a real sealed list, and their arms (0/1)."""
    p = load_protocol("lanzoni2021")
    scheme = scheme_from_protocol(p, block_sizes=[2, 4])
    sealed = generate_list(
        scheme,
        key=b"kit-code-test-key-0123456789abcd",
        protocol=p.id,
        protocol_version=p.version,
        sites=site_names(10),
        per_stratum=N_CODES // 20,
    )
    x = np.stack([kit_code_features(r.kit_code) for r in sealed.rows])
    y = np.array([r.arm == "ucmsc" for r in sealed.rows], dtype=int)
    return x, y


def test_format_uniqueness_and_check_symbol() -> None:
    codes = make_kit_codes(5000, rng=np.random.default_rng(1))
    assert len(set(codes)) == 5000
    assert all(kit_code_ok(c) and len(c) == 11 and c[4] == "-" and c[9] == "-" for c in codes)
    code = codes[0]
    body = code.replace("-", "")
    # Every single wrong symbol and every swap of two different neighbours is caught.
    for i in range(9):
        for s in ALPHABET:
            if s != body[i]:
                wrong = body[:i] + s + body[i + 1 :]
                assert not kit_code_ok(f"{wrong[:4]}-{wrong[4:8]}-{wrong[8]}")
    for c in codes[:300]:
        b = c.replace("-", "")
        for i in range(7):
            if b[i] != b[i + 1]:
                sw = b[:i] + b[i + 1] + b[i] + b[i + 2 :]
                assert not kit_code_ok(f"{sw[:4]}-{sw[4:8]}-{sw[8]}")
    assert not kit_code_ok("ABCD-EFGH")
    assert not kit_code_ok("ABCD-EFGI-0")  # I is not in the alphabet


def test_no_feature_of_the_code_is_associated_with_the_arm(
    coded: tuple[np.ndarray, np.ndarray],
) -> None:
    # Chi-square test of independence of arm and each feature (symbol at each of the 8
    # positions, check symbol, parity, sum mod 31). Under "no pattern" each p-value is
    # uniform; with a fixed key the test is deterministic. Bonferroni over 11 features.
    x, y = coded
    assert len(y) >= N_CODES
    pvalues = []
    for j in range(x.shape[1]):
        table = np.array([np.bincount(x[y == arm, j], minlength=31) for arm in (0, 1)])
        table = table[:, table.sum(axis=0) > 0]
        pvalues.append(stats.chi2_contingency(table).pvalue)
    assert min(pvalues) > 0.01 / len(pvalues), pvalues


def test_a_classifier_on_the_codes_does_not_beat_chance(
    coded: tuple[np.ndarray, np.ndarray],
) -> None:
    # Naive Bayes on the 8 symbols + check symbol + parity (categorical, Laplace smoothing),
    # trained on the first half, tested on the second. Under no pattern the number of correct
    # predictions is Binomial(n_test, 1/2) (arms are 1:1); one-sided binomial test.
    x, y = coded
    half = len(y) // 2
    xtr, ytr, xte, yte = x[:half], y[:half], x[half:], y[half:]
    log_prior = np.log(np.bincount(ytr, minlength=2) / len(ytr))
    scores = np.tile(log_prior, (len(yte), 1))
    for j in range(x.shape[1] - 1):
        for arm in (0, 1):
            counts = np.bincount(xtr[ytr == arm, j], minlength=31) + 1.0
            scores[:, arm] += np.log(counts / counts.sum())[xte[:, j]]
    correct = int((scores.argmax(axis=1) == yte).sum())
    test = stats.binomtest(correct, len(yte), 0.5, alternative="greater")
    assert test.pvalue > 0.01, (correct, len(yte))


def test_unblind_returns_the_arm_and_a_frozen_record() -> None:
    key = UnblindingKey("lanzoni2021", {"AAAA-BBBB-C": "ucmsc", "CCCC-DDDD-E": "control"})
    when = datetime(2026, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=1)))
    result = unblind(
        key,
        participant="P-004",
        kit_code="CCCC-DDDD-E",
        requested_by="dr.rossi",
        reason="SAE: suspected anaphylaxis; treating physician needs the arm",
        at=when,
    )
    assert result.arm == "control"
    rec = result.record
    assert rec.participant == "P-004" and rec.requested_by == "dr.rossi"
    assert rec.at == datetime(2026, 3, 1, 10, 30, tzinfo=UTC) and rec.at.tzinfo is UTC
    assert "arm" not in rec.to_dict()  # the audit record does not unblind its readers
    assert rec.to_dict()["at"] == "2026-03-01T10:30:00Z"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.reason = "changed"  # type: ignore[misc]
    now = unblind(key, participant="P-1", kit_code="AAAA-BBBB-C", requested_by="x", reason="SAE")
    assert now.record.at.tzinfo is UTC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": "  "}, "reason: an unblinding needs a reason"),
        ({"requested_by": ""}, "requested_by"),
        ({"kit_code": "ZZZZ-ZZZZ-Z"}, "is not in the unblinding key"),
        ({"at": datetime(2026, 3, 1, 10, 0)}, "timezone-aware"),
    ],
)
def test_unblind_refuses_bad_requests(kwargs: dict[str, object], message: str) -> None:
    key = UnblindingKey("t", {"AAAA-BBBB-C": "ucmsc"})
    args: dict[str, object] = {
        "participant": "P-1",
        "kit_code": "AAAA-BBBB-C",
        "requested_by": "dr.x",
        "reason": "SAE",
    }
    args.update(kwargs)
    with pytest.raises(AllocationError, match=message):
        unblind(key, **args)  # type: ignore[arg-type]


def test_key_csv_round_trip() -> None:
    codes = make_kit_codes(4, rng=np.random.default_rng(0))
    key = UnblindingKey("t", dict(zip(codes, ["a", "b", "a", "b"], strict=True)))
    assert UnblindingKey.from_csv(key.to_csv(), protocol="t").arms == key.arms
