"""Cone decomposition of gated neurons: exact predictions, cone membership, CVXPY min-norm optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexnn.arrangements.decomposition import (
    decompose,
    interior_direction,
    min_norm_decomposition,
    shift_decomposition,
)
from convexnn.errors import DataError, ParameterError
from convexnn.problem import TrainingProblem


def _gated_instance(rng, n, d, c, P, bias=False):
    """Data, Gaussian gates with distinct non-empty patterns, and gated neurons (u, v, i)."""
    Xr = rng.standard_normal((n, d))
    X = np.hstack([Xr, np.ones((n, 1))]) if bias else Xr
    G = rng.standard_normal((X.shape[1], 6 * P))
    M = X @ G >= 0
    _, idx = np.unique(M, axis=1, return_index=True)
    idx = [i for i in sorted(idx) if M[:, i].any()][:P]
    M, G = M[:, idx], G[:, idx]
    neurons = []
    for i in range(M.shape[1]):
        for _ in range(int(rng.integers(1, 3))):
            u = rng.standard_normal(X.shape[1]) * float(rng.choice([0.01, 1.0, 30.0]))
            if rng.random() < 0.2:
                u = rng.uniform(0.1, 3.0) * G[:, i]  # already in the cone
            neurons.append((u, rng.standard_normal(c), i))
    return Xr, X, M, G, neurons


def _gated_predictions(X, M, neurons, c):
    out = np.zeros((X.shape[0], c))
    for u, v, i in neurons:
        out += np.outer(M[:, i] * (X @ u), v)
    return out


def _in_cone_margin(X, mask, z):
    """min_j [(2D − I) X z]_j relative to ‖X‖₂‖z‖ (≥ 0 means z ∈ K)."""
    scale = np.linalg.norm(X, 2) * max(np.linalg.norm(z), 1e-300)
    return float(np.min((2.0 * mask - 1.0) * (X @ z))) / scale


def _cvx_min_norm(X, u, mask):
    cp = pytest.importorskip("cvxpy")
    C = (2.0 * mask - 1.0)[:, None] * X
    a = cp.Variable(u.size)
    b = cp.Variable(u.size)
    prob = cp.Problem(cp.Minimize(cp.norm(a, 2) + cp.norm(b, 2)), [a - b == u, C @ a >= 0, C @ b >= 0])
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return float(prob.value)


# --------------------------------------------------------------------------- exact predictions
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(4, 40), d=st.integers(2, 6), c=st.integers(1, 3),
       P=st.integers(1, 6), bias=st.booleans(), method=st.sampled_from(["shift", "min-norm"]))
def test_decomposed_network_reproduces_gated_predictions(seed, n, d, c, P, bias, method):
    rng = np.random.default_rng(seed)
    Xr, X, M, G, neurons = _gated_instance(rng, n, d, c, P, bias)
    net, info = decompose(neurons, X, M, G, method=method, bias=bias)
    target = _gated_predictions(X, M, neurons, c)
    scale = sum(np.linalg.norm(M[:, i] * (X @ u)) * np.linalg.norm(v) for u, v, i in neurons)
    assert np.max(np.abs(net.predict(Xr) - target)) <= 1e-9 * max(scale, 1e-300)
    assert net.width <= 2 * len(neurons)
    # balanced neurons: the network's weight decay equals the reported ReLU penalty
    assert 0.5 * (np.sum(net.U**2) + np.sum(net.V**2)) == pytest.approx(info["relu_penalty"], rel=1e-10)
    gated = sum(np.linalg.norm(u) * np.linalg.norm(v) for u, v, _ in neurons)
    assert info["gated_penalty"] == pytest.approx(gated, rel=1e-12)
    assert info["relu_penalty"] >= info["gated_penalty"] * (1 - 1e-12)
    assert info["inflation"] >= 1 - 1e-12 and info["max_inflation"] >= info["inflation"] - 1e-12
    # NN-TRAIN objective of the network = gated loss + reg × ReLU penalty
    Y = rng.standard_normal((n, c))
    reg = 0.1
    nn = TrainingProblem(X, Y, reg, bias=bias).objective(net.U, net.V)
    expected = 0.5 * np.sum((target - Y) ** 2) + reg * info["relu_penalty"]
    assert nn == pytest.approx(expected, rel=1e-9, abs=1e-9 * scale**2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(3, 60), d=st.integers(2, 7), mag=st.sampled_from([1e-3, 1.0, 1e3]))
def test_shift_parts_lie_in_the_cone(seed, n, d, mag):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    g = rng.standard_normal(d)
    mask = X @ g >= 0
    u = mag * rng.standard_normal(d)
    a, b, t = shift_decomposition(X, u, mask, g)
    assert _in_cone_margin(X, mask, a) >= -1e-12
    assert _in_cone_margin(X, mask, b) >= -1e-12
    # as computed, the signs are in fact exactly right (the safety margin is verified)
    assert np.all((2.0 * mask - 1.0) * (X @ a) >= 0) and np.all((2.0 * mask - 1.0) * (X @ b) >= 0)
    assert np.allclose(a - b, u, rtol=0, atol=1e-12 * (np.linalg.norm(u) + t * np.linalg.norm(g)))
    assert np.allclose(b, t * g)
    # t is the closed form t* up to the tiny verified margin
    s = (2.0 * mask - 1.0) * (X @ u)
    e = (2.0 * mask - 1.0) * (X @ g)
    t_star = max(0.0, float(np.max(-s / e)))
    assert t_star <= t <= t_star + 1e-4 * (t_star + np.linalg.norm(u) / np.linalg.norm(g))
    # ReLU identity on the training data
    assert np.allclose(np.maximum(X @ a, 0) - np.maximum(X @ b, 0), mask * (X @ u),
                       atol=1e-9 * np.abs(X @ a).max())


# --------------------------------------------------------------------------- minimum norm
@pytest.mark.parametrize("seed", range(8))
def test_min_norm_matches_clarabel_and_beats_shift(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(6, 50)), int(rng.integers(2, 7))
    X = rng.standard_normal((n, d))
    g = rng.standard_normal(d)
    mask = X @ g >= 0
    u = rng.standard_normal(d) * float(rng.choice([0.1, 1.0, 10.0]))
    a_s, b_s, _ = shift_decomposition(X, u, mask, g)
    for gate in (g, None):  # with the gate, and with an LP interior direction
        a, b = min_norm_decomposition(X, u, mask, gate)
        val = np.linalg.norm(a) + np.linalg.norm(b)
        assert np.all((2.0 * mask - 1.0) * (X @ a) >= 0) and np.all((2.0 * mask - 1.0) * (X @ b) >= 0)
        assert np.allclose(a - b, u, atol=1e-12 * max(1.0, val))
        assert val <= (np.linalg.norm(a_s) + np.linalg.norm(b_s)) * (1 + 1e-12)
        ref = _cvx_min_norm(X, u, mask)
        assert val == pytest.approx(ref, rel=1e-6)
    a2, b2 = min_norm_decomposition(X, u, mask, g, method="cvxpy")
    assert np.linalg.norm(a2) + np.linalg.norm(b2) == pytest.approx(ref, rel=1e-6)


def test_min_norm_inflation_is_at_most_shift_inflation_in_decompose():
    rng = np.random.default_rng(5)
    _, X, M, G, neurons = _gated_instance(rng, 30, 3, 2, 6)
    _, info_s = decompose(neurons, X, M, G, method="shift")
    _, info_m = decompose(neurons, X, M, G, method="min-norm")
    assert info_m["inflation"] <= info_s["inflation"] * (1 + 1e-12)
    assert info_m["relu_penalty"] <= info_s["relu_penalty"] * (1 + 1e-12)


def test_vectors_already_in_the_cone_are_not_split():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((25, 3))
    g = rng.standard_normal(3)
    mask = X @ g >= 0
    u = 2.5 * g + 0.01 * rng.standard_normal(3)
    assert np.all((2.0 * mask - 1.0) * (X @ u) >= 0)
    a, b, t = shift_decomposition(X, u, mask, g)
    assert t == 0.0 and np.all(b == 0) and np.all(a == u)
    a, b = min_norm_decomposition(X, u, mask, g)
    assert np.all(b == 0) and np.all(a == u)
    a, b = min_norm_decomposition(X, -u, mask, g)  # −u ∈ −K: (0, u)
    assert np.all(a == 0) and np.allclose(b, u)
    net, info = decompose([(u, np.array([1.5, -0.5]), 0)], X, mask[:, None], g[:, None])
    assert info["inflation"] == 1.0 and info["max_inflation"] == 1.0 and info["n_split"] == 0
    assert net.width == 1
    assert info["relu_penalty"] == pytest.approx(info["gated_penalty"], rel=1e-15)


# --------------------------------------------------------------------------- helpers and errors
def test_interior_direction_is_strictly_inside_and_detects_empty_interiors():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    mask = X @ rng.standard_normal(4) >= 0
    g = interior_direction(X, mask)
    assert np.all((2.0 * mask - 1.0) * (X @ g) > 0)
    Xbad = np.vstack([X[:3], -X[0]])
    with pytest.raises(DataError, match="empty interior"):
        interior_direction(Xbad, np.array([True, True, True, True]))


def test_empty_and_zero_neurons():
    rng = np.random.default_rng(1)
    _, X, M, G, _ = _gated_instance(rng, 10, 2, 1, 3)
    net, info = decompose([], X, M, G, n_outputs=3)
    assert net.U.shape == (2, 1) and net.V.shape == (3, 1) and not np.any(net.U)
    net, info = decompose([(np.zeros(2), np.ones(2), 0), (np.ones(2), np.zeros(2), 1)], X, M, G)
    assert not np.any(net.predict(X)) and info["inflation"] == 1.0


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(3)
    _, X, M, G, neurons = _gated_instance(rng, 15, 3, 1, 3)
    with pytest.raises(DataError, match="inconsistent"):
        shift_decomposition(X, np.ones(3), M[:, 0], -G[:, 0])
    with pytest.raises(ParameterError, match="method"):
        decompose(neurons, X, M, G, method="magic")
    with pytest.raises(ParameterError, match="gates"):
        decompose(neurons, X, M, None, method="shift")
    with pytest.raises(DataError, match="pattern index"):
        decompose([(np.ones(3), np.ones(1), 99)], X, M, G)
    with pytest.raises(DataError, match="length"):
        shift_decomposition(X, np.ones(4), M[:, 0], G[:, 0])
    with pytest.raises(DataError, match="bias"):
        decompose(neurons, X, M, G, bias=True)
    with pytest.raises(ParameterError):
        min_norm_decomposition(X, np.ones(3), M[:, 0], G[:, 0], method="nope")
