"""Activation patterns: exact enumeration checked by brute force (random directions, LPs, counts)."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from convexnn.arrangements.patterns import (
    PatternSet,
    as_pattern_masks,
    enumerate_patterns,
    pattern_count_estimate,
    sample_patterns,
)
from convexnn.errors import DataError, ParameterError


# --------------------------------------------------------------------------- helpers
def _as_set(masks: np.ndarray) -> set[tuple[bool, ...]]:
    return {tuple(bool(v) for v in col) for col in masks.T}


def _random_direction_patterns(X, n_samples, seed) -> set:
    """Patterns 1[Xg ≥ 0] of many random directions (empty ones, D X = 0, dropped)."""
    rng = np.random.default_rng(seed)
    nz = np.any(X != 0, axis=1)
    out = set()
    for _ in range(max(1, n_samples // 50_000)):
        G = rng.standard_normal((X.shape[1], min(n_samples, 50_000)))
        M = X @ G >= 0
        M = M[:, np.any(M[nz], axis=0)]
        out |= {bytes(col) for col in np.packbits(M, axis=0).T}
    return out


def _packed_set(masks) -> set:
    return {bytes(col) for col in np.packbits(masks, axis=0).T}


def _lp_patterns(X) -> set:
    """Rigorous brute force: every sign vector s over the non-zero rows such that some u has
    s_j x_jᵀu ≥ 1 for all j (an LP), i.e. every full-dimensional cell; zero rows count as active."""
    n, d = X.shape
    nz = np.flatnonzero(np.any(X != 0, axis=1))
    out = set()
    for signs in itertools.product((1.0, -1.0), repeat=len(nz)):
        s = np.array(signs)
        res = linprog(np.zeros(d), A_ub=-(s[:, None] * X[nz]), b_ub=-np.ones(len(nz)),
                      bounds=[(None, None)] * d, method="highs")
        if res.status == 0:
            mask = np.ones(n, dtype=bool)
            mask[nz] = s > 0
            if mask[nz].any():
                out.add(tuple(bool(v) for v in mask))
    return out


def _lp_realisable(X, mask) -> bool:
    """LP: is there u with x_jᵀu ≥ 1 on the active non-zero rows and ≤ −1 on the others?"""
    nz = np.any(X != 0, axis=1)
    s = np.where(mask, 1.0, -1.0)[nz]
    res = linprog(np.zeros(X.shape[1]), A_ub=-(s[:, None] * X[nz]), b_ub=-np.ones(int(nz.sum())),
                  bounds=[(None, None)] * X.shape[1], method="highs")
    return res.status == 0


def _check_against_random_directions(X, ps, n_samples, seed):
    """Sampled patterns ⊆ enumerated ones; any enumerated cell the samples missed (a thin cell)
    must be certified realisable by an LP. Returns the number of such missed cells."""
    sampled = _random_direction_patterns(X, n_samples, seed)
    enumerated = _packed_set(ps.masks)
    assert sampled <= enumerated
    missed = [j for j, col in enumerate(np.packbits(ps.masks, axis=0).T) if bytes(col) not in sampled]
    for j in missed:
        assert _lp_realisable(X, ps.masks[:, j])
    return len(missed)


def _strictly_positive_direction_exists(X) -> bool:
    """LP: is there u with X u > 0 (then the all-ones pattern is a cell and −u the all-zero one)?"""
    n, d = X.shape
    res = linprog(np.zeros(d), A_ub=-X, b_ub=-np.ones(n), bounds=[(None, None)] * d, method="highs")
    return res.status == 0


def _check_gates(X, ps: PatternSet):
    """Every gate realises its mask, strictly on the non-zero rows; masks distinct and non-empty."""
    XG = X @ ps.gates
    assert np.array_equal(XG >= 0, ps.masks)
    nz = np.any(X != 0, axis=1)
    assert np.all(np.abs(XG[nz]) > 0)
    assert len(_packed_set(ps.masks)) == ps.n_patterns
    assert np.all(np.any(ps.masks[nz], axis=0))


# --------------------------------------------------------------------------- the count formula
def test_pattern_count_estimate_small_values():
    # regions of central arrangements in general position, by hand
    assert pattern_count_estimate(1, 1) == 2
    assert pattern_count_estimate(3, 2) == 6  # three lines through 0 cut the plane into 6
    assert pattern_count_estimate(4, 3) == 14
    assert pattern_count_estimate(5, 9) == 2**5  # d ≥ n: every sign vector
    assert pattern_count_estimate(0, 3) == 1
    assert pattern_count_estimate(10, 3) == 2 * (1 + 9 + math.comb(9, 2))
    with pytest.raises(ParameterError):
        pattern_count_estimate(-1, 2)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [3, 6, 9, 12])
def test_enumerate_general_position_count(n, d):
    """Gaussian rows are in general position: the count must equal the formula (minus the all-zero
    pattern when it is a cell, decided independently by an LP)."""
    X = np.random.default_rng(100 * n + d).standard_normal((n, d))
    ps = enumerate_patterns(X)
    assert ps.exact
    _check_gates(X, ps)
    expected = pattern_count_estimate(n, d) - int(_strictly_positive_direction_exists(X))
    assert ps.n_patterns == expected


@pytest.mark.parametrize("d,n,seed", [(2, 5, 0), (2, 12, 1), (3, 6, 2), (3, 10, 3), (3, 12, 4)])
def test_enumerate_matches_random_directions(d, n, seed):
    X = np.random.default_rng(seed).standard_normal((n, d))
    ps = enumerate_patterns(X)
    missed = _check_against_random_directions(X, ps, 400_000, seed + 1)
    # with this many samples only very thin cells can be missed
    assert missed <= 0.05 * ps.n_patterns
    if d == 2:
        assert missed == 0  # sectors in the plane are never that thin here


def test_enumerate_bias_column_d3():
    """d = 3 with a ones column: rows (x, 1) with x in general position in the plane."""
    rng = np.random.default_rng(7)
    X = np.c_[rng.standard_normal((12, 2)), np.ones(12)]
    ps = enumerate_patterns(X)
    _check_gates(X, ps)
    # X e_3 > 0, so the all-zero pattern is a cell and is excluded
    assert ps.n_patterns == pattern_count_estimate(12, 3) - 1
    assert _check_against_random_directions(X, ps, 400_000, 8) <= 0.05 * ps.n_patterns
    small = X[:8]
    assert _as_set(enumerate_patterns(small).masks) == _lp_patterns(small)


@pytest.mark.parametrize(
    "X",
    [
        # duplicated, positively and negatively parallel rows, a zero row, collinear points + bias
        np.array([[1, 0, 1], [0, 1, 1], [1, 1, 1], [2, 2, 2], [-1, -1, -1], [0, 0, 0], [1, 0, 1],
                  [2, 0, 1]], dtype=float),
        # a 3×3 integer grid with a bias column: many triples of collinear points
        np.array([[i, j, 1] for i in range(3) for j in range(3)], dtype=float),
        # rank 2 in R^4 (rank-deficient), with a duplicate
        np.array([[1, 2, 3, 4], [2, 1, 0, -1], [3, 3, 3, 3], [1, -1, -3, -5], [1, 2, 3, 4],
                  [0, 3, 6, 9]], dtype=float),
        # rank 1
        np.array([[1.0, 2.0], [-2.0, -4.0], [3.0, 6.0]]),
        # every row zero but one
        np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, -2.0, 0.5]]),
    ],
)
def test_enumerate_degenerate_data_lp_bruteforce(X):
    ps = enumerate_patterns(X)
    _check_gates(X, ps)
    assert _as_set(ps.masks) == _lp_patterns(X)


def test_enumerate_all_zero_rows():
    ps = enumerate_patterns(np.zeros((4, 3)))
    assert ps.n_patterns == 0 and ps.exact and ps.masks.shape == (4, 0) and ps.gates.shape == (3, 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 6),
    d=st.integers(1, 4),
    data=st.data(),
)
def test_enumerate_integer_data_property(n, d, data):
    """Small integer matrices are full of coincidences; the LP brute force decides each cell."""
    entries = data.draw(st.lists(st.integers(-2, 2), min_size=n * d, max_size=n * d))
    X = np.array(entries, dtype=float).reshape(n, d)
    ps = enumerate_patterns(X)
    _check_gates(X, ps)
    assert _as_set(ps.masks) == _lp_patterns(X)


def test_enumerate_d5_general_position():
    X = np.random.default_rng(3).standard_normal((14, 5))
    ps = enumerate_patterns(X)
    _check_gates(X, ps)
    assert ps.n_patterns == pattern_count_estimate(14, 5) - int(_strictly_positive_direction_exists(X))


def test_enumerate_refuses_too_many():
    X = np.random.default_rng(0).standard_normal((200, 3))
    with pytest.raises(ParameterError, match="max_patterns"):
        enumerate_patterns(X, max_patterns=1000)
    with pytest.raises(ParameterError):
        enumerate_patterns(X, max_patterns=0)
    # the count is exact with thousands separators, or in scientific notation beyond a billion
    est = pattern_count_estimate(200, 3)
    with pytest.raises(ParameterError, match=f"up to {est:,} activation patterns"):
        enumerate_patterns(X, max_patterns=1000)
    big = np.random.default_rng(1).standard_normal((300, 12))
    est = pattern_count_estimate(300, 12)
    assert est > 10**18
    with pytest.raises(ParameterError, match=rf"up to about {float(est):.2e}".replace("+", r"\+")) as info:
        enumerate_patterns(big)
    assert not re.search(r"\d{10}", str(info.value))


def test_enumerate_gates_are_interior():
    """The averaged gates keep a clear margin from every hyperplane on random data."""
    X = np.random.default_rng(11).standard_normal((10, 3))
    ps = enumerate_patterns(X)
    margin = np.abs(X @ ps.gates) / np.linalg.norm(X, axis=1)[:, None]
    assert margin.min() > 1e-6


# --------------------------------------------------------------------------- sampling
def test_sample_patterns_definition():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 4))
    ps = sample_patterns(X, 200, seed=3)
    assert not ps.exact
    # same Gaussian stream, first gate of each distinct non-empty pattern, in order
    G = np.random.default_rng(3).standard_normal((4, 200))
    seen, keep = set(), []
    for j in range(200):
        m = X @ G[:, j] >= 0
        key = m.tobytes()
        if key not in seen:
            seen.add(key)
            if m.any():
                keep.append(j)
    assert np.array_equal(ps.gates, G[:, keep])
    assert np.array_equal(ps.masks, X @ G[:, keep] >= 0)
    # deterministic, Generator accepted, explicit gates accepted
    assert np.array_equal(sample_patterns(X, 200, seed=3).masks, ps.masks)
    assert np.array_equal(sample_patterns(X, 200, seed=np.random.default_rng(3)).masks, ps.masks)
    assert np.array_equal(sample_patterns(X, gates=G).masks, ps.masks)


def test_sample_patterns_subset_of_enumeration_and_drops_empty():
    rng = np.random.default_rng(9)
    X = np.r_[rng.standard_normal((8, 3)), np.zeros((1, 3))]  # a zero row: always "active"
    ps = sample_patterns(X, 3000, seed=0)
    # the pattern active only on the zero row (D X = 0) is dropped
    nz = np.any(X != 0, axis=1)
    assert np.all(np.any(ps.masks[nz], axis=0))
    assert _packed_set(ps.masks) <= _packed_set(enumerate_patterns(X).masks)


def test_sample_patterns_errors():
    X = np.ones((5, 2))
    with pytest.raises(ParameterError):
        sample_patterns(X, 0)
    with pytest.raises(ParameterError):
        sample_patterns(X)
    with pytest.raises(ParameterError):
        sample_patterns(X, 10, seed=-1)
    with pytest.raises(DataError):
        sample_patterns(X, gates=np.ones((3, 4)))
    with pytest.raises(ParameterError):
        sample_patterns(X, 4, gates=np.ones((2, 4)))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError):
        sample_patterns(bad, 10)


def test_pattern_set_validation_and_helpers():
    X = np.random.default_rng(0).standard_normal((6, 2))
    ps = sample_patterns(X, 20, seed=0)
    with pytest.raises(ValueError):
        ps.masks[0, 0] = not ps.masks[0, 0]  # read-only
    with pytest.raises(DataError):
        PatternSet(np.ones((3, 2), dtype=bool), np.ones((2, 3)))
    with pytest.raises(DataError):
        PatternSet(np.full((3, 2), 0.5), np.ones((2, 2)))
    assert np.array_equal(ps.masks_for(X), ps.masks)
    assert np.array_equal(ps.masks_float(), ps.masks.astype(float))
    sub = ps.subset([0, 1])
    assert sub.n_patterns == 2 and not sub.exact
    assert np.array_equal(as_pattern_masks(ps, 6), ps.masks)
    assert np.array_equal(as_pattern_masks(ps.masks.astype(int), 6), ps.masks)
    with pytest.raises(DataError):
        as_pattern_masks(ps, 7)
    with pytest.raises(DataError):
        as_pattern_masks(np.full((6, 2), 2), 6)
