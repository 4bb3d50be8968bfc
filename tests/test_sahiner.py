"""Tests of Sahiner et al.'s relaxations (convexnn.baselines.sahiner), small instances only.

Independent references: dense angle grids and random directions with local refinement for the
oracle; multi-start L-BFGS (upper bounds on p*), the SDP-NN certified lower bound (Clarabel) and
the NN-TRAIN objective of the returned networks for Frank–Wolfe and the copositive relaxation.
"""

from __future__ import annotations

import sys
from math import comb

import numpy as np
import pytest
from scipy.optimize import minimize

import convexnn._validation as validation
from convexnn.baselines.sahiner import (
    all_activation_patterns,
    copositive_relaxation,
    frank_wolfe,
    nonneg_pca_oracle,
)
from convexnn.errors import DataError, MemoryEstimateError, ParameterError, SolverUnavailableError
from convexnn.network import ReLUNetwork
from convexnn.problem import TrainingProblem


def _f(X, G, U):
    """Brute-force objective ‖Gᵀ(Xu)_+‖ for columns u of U (independent of the module)."""
    return np.sqrt(np.sum((G.T @ np.maximum(X @ U, 0.0)) ** 2, axis=0))


def _instance(seed, n, d, c, degenerate=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    G = rng.standard_normal((n, c))
    if degenerate:  # duplicate, antiparallel, scaled and zero rows
        X[1] = X[0]
        X[2] = -2.0 * X[0]
        X[3] = 0.0
    return X, G


# ============================================================================ oracle


def _grid_max_2d(X, G, n_grid=200_000, rounds=3, keep=6):
    phi = np.linspace(0.0, 2 * np.pi, n_grid, endpoint=False)
    vals = _f(X, G, np.vstack([np.cos(phi), np.sin(phi)]))
    best = vals.max()
    step = 2 * np.pi / n_grid
    centres = phi[np.argsort(vals)[::-1][:keep]]
    for _ in range(rounds):  # zoom in around the best grid points (still brute force)
        loc = (centres[:, None] + np.linspace(-step, step, 2001)[None, :]).ravel()
        v = _f(X, G, np.vstack([np.cos(loc), np.sin(loc)]))
        best = max(best, v.max())
        centres = loc[np.argsort(v)[::-1][:keep]]
        step = step / 1000
    return best


@pytest.mark.parametrize("seed,n,c,degenerate", [(0, 10, 1, False), (1, 25, 5, False), (2, 12, 2, True),
                                                 (3, 40, 3, False), (4, 6, 2, True)])
def test_oracle_2d_matches_dense_grid(seed, n, c, degenerate):
    X, G = _instance(seed, n, 2, c, degenerate)
    u, v, val = nonneg_pca_oracle(X, G, method="exact")
    brute = _grid_max_2d(X, G)
    assert val >= brute - 1e-12 * max(1.0, brute)
    assert val - brute <= 1e-6 * max(1.0, brute)
    # the returned triple is consistent: unit vectors attaining the value
    h = G.T @ np.maximum(X @ u, 0.0)
    assert np.linalg.norm(u) == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(h) == pytest.approx(val, rel=1e-12)
    assert v @ h == pytest.approx(val, rel=1e-12)


@pytest.mark.parametrize("seed", [3, 10, 12])
def test_oracle_2d_maximiser_on_an_arc_end(seed):
    # instances whose maximiser sits on a breakpoint (x_iᵀu = 0): the arc-endpoint branch
    X, G = _instance(seed, 10, 2, 1)
    u, _, val = nonneg_pca_oracle(X, G)
    assert np.min(np.abs(X @ u) / np.linalg.norm(X, axis=1)) < 1e-12
    brute = _grid_max_2d(X, G)
    assert brute - 1e-12 <= val <= brute + 1e-6 * max(1.0, brute)


def _sphere_max(X, G, rng, n_dir=200_000, refine=8):
    d = X.shape[1]
    S = rng.standard_normal((d, n_dir))
    S /= np.linalg.norm(S, axis=0)
    vals = _f(X, G, S)
    raw = vals.max()
    best = raw
    for j in np.argsort(vals)[::-1][:refine]:  # local refinement (Nelder–Mead on the sphere)
        res = minimize(lambda x: -_f(X, G, (x / np.linalg.norm(x))[:, None])[0], S[:, j],
                       method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
        best = max(best, -res.fun)
    return raw, best


@pytest.mark.parametrize("seed,n,d,c,degenerate", [(0, 10, 3, 1, False), (1, 12, 3, 2, False),
                                                   (2, 9, 3, 3, True), (3, 20, 3, 5, False),
                                                   (4, 8, 4, 2, False)])
def test_oracle_recursive_exact_vs_random_directions(seed, n, d, c, degenerate):
    X, G = _instance(seed, n, d, c, degenerate)
    _, _, val = nonneg_pca_oracle(X, G, method="exact")
    raw, refined = _sphere_max(X, G, np.random.default_rng(100 + seed))
    assert val >= refined - 1e-10 * max(1.0, refined)  # never below brute force
    assert val >= raw
    # and brute force with local refinement reaches it (up to sampling/refinement accuracy)
    assert val - refined <= 1e-4 * max(1.0, val)


@pytest.mark.parametrize("d", [2, 3])
def test_sampled_oracle_is_a_lower_estimate(d):
    X, G = _instance(7, 15, d, 2)
    _, _, exact = nonneg_pca_oracle(X, G, method="exact")
    for seed in range(3):
        u, v, val = nonneg_pca_oracle(X, G, method="sampled", n_samples=300, seed=seed)
        assert val <= exact * (1 + 1e-12)
        assert val == pytest.approx(_f(X, G, u[:, None])[0], rel=1e-12)
    # with many samples the heuristic finds the maximum on this easy instance
    assert nonneg_pca_oracle(X, G, method="sampled", n_samples=5000)[2] == pytest.approx(exact, rel=1e-6)


def test_oracle_edge_cases():
    X, G = _instance(0, 6, 2, 2)
    u, v, val = nonneg_pca_oracle(X, np.zeros_like(G))
    assert val == 0.0 and np.linalg.norm(v) == pytest.approx(1.0)
    u, v, val = nonneg_pca_oracle(np.zeros((5, 3)), G[:5])
    assert val == 0.0
    # d = 1: only u = ±1
    x = np.array([[1.0], [-2.0], [0.5]])
    g = np.array([[1.0], [3.0], [-1.0]])
    expected = max(abs(1.0 - 0.5), 6.0)
    assert nonneg_pca_oracle(x, g)[2] == pytest.approx(expected)
    with pytest.raises(ParameterError):
        nonneg_pca_oracle(np.ones((4, 5)), np.ones((4, 1)))  # exact needs d ≤ 4
    with pytest.raises(ParameterError):
        nonneg_pca_oracle(X, G, method="magic")
    with pytest.raises(DataError):
        nonneg_pca_oracle(X, G[:-1])


@pytest.mark.parametrize("n,d", [(9, 2), (10, 3), (7, 4)])
def test_all_activation_patterns(n, d):
    X, _ = _instance(n, n, d, 1)
    masks = all_activation_patterns(X)
    # generic position: the central arrangement of n hyperplanes in R^d has 2 Σ_{i<d} C(n−1, i) cells
    assert masks.shape == (n, 2 * sum(comb(n - 1, i) for i in range(d)))
    assert len({tuple(col) for col in masks.T}) == masks.shape[1]
    S = np.random.default_rng(0).standard_normal((d, 200_000))
    sampled = {tuple(col) for col in ((X @ S) > 0).T}
    assert sampled <= {tuple(col) for col in masks.T}


# ============================================================================ Frank–Wolfe


def _lbfgs_best(X, Y, reg, width=12, restarts=20, seed=0):
    """Best NN-TRAIN value of multi-start L-BFGS: an upper bound on p*(width)."""
    prob = TrainingProblem(X, Y, reg)
    rng = np.random.default_rng(seed)
    d, c = X.shape[1], Y.shape[1]
    best = prob.zero_value

    def fun(th):
        val, gU, gV = prob.objective_and_gradient(th[: d * width].reshape(d, width), th[d * width:].reshape(c, width))
        return val, np.concatenate([gU.ravel(), gV.ravel()])

    with validation.blas_threads(1):  # tiny matrices: BLAS threads only add overhead
        for _ in range(restarts):
            th0 = rng.standard_normal(d * width + c * width) * 0.7
            res = minimize(fun, th0, jac=True, method="L-BFGS-B", options={"maxiter": 3000, "gtol": 1e-10})
            U, V = res.x[: d * width].reshape(d, width), res.x[d * width:].reshape(c, width)
            best = min(best, prob.objective(U, V))
    return best


def _data(seed, n, d, c):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, c))


@pytest.mark.parametrize("step,local_steps,oracle", [("fully_corrective", 0, "exact"), ("line_search", 0, "exact"),
                                                     ("fully_corrective", 10, "exact"), ("line_search", 5, "exact"),
                                                     ("fully_corrective", 0, "sampled")])
def test_fw_monotone_and_network_objective(step, local_steps, oracle):
    X, Y = _data(3, 15, 2, 3)
    reg = 0.1
    res = frank_wolfe(X, Y, reg, max_iter=60, step=step, local_steps=local_steps, oracle=oracle, n_samples=300)
    vals = np.array([h["value"] for h in res.history])
    assert vals[0] == pytest.approx(0.5 * np.sum(Y**2))
    assert np.all(np.diff(vals) <= 0.0)  # non-increasing, exactly
    # the network of the atoms (balanced neurons √w·u, √w·v) has the atomic objective as NN-TRAIN value
    net = ReLUNetwork(res.solution["U"], res.solution["V"])
    recomputed = net.objective(X, Y, reg)
    assert recomputed == pytest.approx(res.value, rel=1e-12)
    assert recomputed == pytest.approx(vals[-1], rel=1e-10)
    assert recomputed == pytest.approx(res.info["atomic_value"], rel=1e-10)
    w = res.solution["weights"]
    np.testing.assert_allclose(np.linalg.norm(res.solution["U"], axis=0), np.sqrt(w), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(res.solution["V"], axis=0), np.sqrt(w), rtol=1e-12)
    if oracle == "exact":
        assert res.lower_bound is not None and res.lower_bound <= res.value
        lbs = [h["lower_bound"] for h in res.history]
        assert np.all(np.diff(lbs) >= 0)
    else:
        assert res.lower_bound is None and res.info["certified"] is False


_FW_CASES = [(0, 10, 2, 1, 0.1), (1, 10, 2, 2, 0.1), (2, 12, 2, 2, 0.5), (3, 9, 3, 2, 0.1)]
_fw_cache: dict = {}


def _fw(seed, n, d, c, reg):
    key = (seed, n, d, c, reg)
    if key not in _fw_cache:
        X, Y = _data(seed, n, d, c)
        _fw_cache[key] = (X, Y, frank_wolfe(X, Y, reg, max_iter=1000, tol=1e-8))
    return _fw_cache[key]


@pytest.mark.parametrize("case", _FW_CASES)
def test_fw_bounds_against_lbfgs(case):
    X, Y, res = _fw(*case)
    reg = case[-1]
    assert res.status == "optimal" and res.gap <= 1e-8
    best = _lbfgs_best(X, Y, reg)
    # certified lower bound below every network L-BFGS finds (many restarts)
    assert res.lower_bound <= best + 1e-12 * best
    # the exact-oracle FW is a global method: its network is at least as good as the best L-BFGS run
    assert res.value <= best * (1 + 1e-6)
    # and the lower bound holds for random networks of other widths too
    rng = np.random.default_rng(0)
    for m in (1, 3, 50):
        net = ReLUNetwork(rng.standard_normal((X.shape[1], m)) * 0.5, rng.standard_normal((Y.shape[1], m)) * 0.5)
        assert res.lower_bound <= net.objective(X, Y, reg)


@pytest.mark.parametrize("case", _FW_CASES[:2])
def test_fw_lower_bound_above_sdp_bound(case):
    pytest.importorskip("cvxpy")
    from convexnn.sdp import solve_sdp

    X, Y, res = _fw(*case)
    reg = case[-1]
    sdp = solve_sdp(X, Y, reg, solver="clarabel")
    # SDP-NN is a relaxation (its certified bound ≤ L_SDP ≤ p*); converged FW brackets p* itself
    assert sdp.lower_bound <= res.value * (1 + 1e-9)
    assert res.lower_bound >= sdp.lower_bound - 1e-8 * res.value


def test_fw_bias_time_limit_callback_interrupt():
    Xr, Y = _data(5, 12, 2, 2)
    X = np.hstack([Xr, np.ones((12, 1))])
    seen = []
    res = frank_wolfe(X, Y, 0.1, bias=True, max_iter=20, callback=seen.append)
    assert len(seen) == len(res.history) and {"iteration", "value", "lower_bound"} <= set(seen[0])
    net = ReLUNetwork(res.solution["U"], res.solution["V"], bias=True)
    assert net.objective(Xr, Y, 0.1) == pytest.approx(res.value, rel=1e-12)
    assert res.info["bias"] is True
    with pytest.raises(DataError):
        frank_wolfe(Xr, Y, 0.1, bias=True)

    res = frank_wolfe(X, Y, 0.1, time_limit=1e-9)
    assert res.status == "time_limit" and res.iterations == 0

    def stop(rec):
        if rec["iteration"] == 5:
            raise KeyboardInterrupt

    res = frank_wolfe(X, Y, 0.1, callback=stop, max_iter=50)
    assert res.status == "interrupted" and res.iterations == 5
    assert ReLUNetwork(res.solution["U"], res.solution["V"]).objective(X, Y, 0.1) == pytest.approx(res.value)

    for bad in ({"oracle": "nope"}, {"step": "away"}, {"max_iter": -1}, {"tol": 2.0}, {"time_limit": -1}):
        with pytest.raises(ParameterError):
            frank_wolfe(X, Y, 0.1, **bad)
    with pytest.raises(ParameterError):
        frank_wolfe(np.ones((5, 6)), np.ones((5, 1)), 0.1)  # exact oracle needs d ≤ 4
    res = frank_wolfe(X, np.zeros((12, 2)), 0.1)
    assert res.status == "optimal" and res.value == 0.0 and res.lower_bound == 0.0


# ============================================================================ copositive relaxation


def _random_gate_masks(X, seed=0, n_gates=20_000):
    """All activation patterns found by brute force over random directions."""
    S = np.random.default_rng(seed).standard_normal((X.shape[1], n_gates))
    return np.unique(((X @ S) >= 0).T, axis=0).T


@pytest.mark.parametrize("case", _FW_CASES[:3])
def test_copositive_equals_pstar_in_2d(case):
    """Derived: the S21 value is on the NN-TRAIN scale and, for d = 2 and all patterns, equals p*."""
    pytest.importorskip("cvxpy")
    X, Y, fw = _fw(*case)
    reg = case[-1]
    res = copositive_relaxation(X, Y, reg, _random_gate_masks(X), solver="clarabel")
    assert res.status == "optimal"
    assert res.info["all_patterns"] is True and res.info["value_is_lower_bound"] is True
    tol = 1e-6 * fw.value
    # FW brackets p*: lower_bound ≤ p* ≤ value, with a gap ≤ 1e-8
    assert fw.lower_bound - tol <= res.value <= fw.value + tol
    # the certified bound from the relaxation's dual point is valid and nearly tight
    assert res.lower_bound <= fw.value * (1 + 1e-12)
    assert res.lower_bound >= res.value - 1e-4 * res.value
    # independent upper bound: multi-start L-BFGS networks
    assert res.value <= _lbfgs_best(X, Y, reg) * (1 + 1e-6)
    # the relation is an equality on the NN-TRAIN scale, not e.g. a factor ½ (SPEC §1 loss scaling)
    assert abs(res.value - 0.5 * fw.value) > 0.1 * fw.value


def test_copositive_relaxation_3d_is_a_lower_bound():
    pytest.importorskip("cvxpy")
    case = _FW_CASES[3]
    X, Y, fw = _fw(*case)
    reg = case[-1]
    res = copositive_relaxation(X, Y, reg, _random_gate_masks(X, n_gates=100_000))
    assert res.info["all_patterns"] is True
    assert res.value <= fw.value * (1 + 1e-6)  # ≤ p* (a relaxation), up to solver accuracy
    assert res.lower_bound <= fw.value * (1 + 1e-12)  # certified
    assert res.value >= 0.5 * fw.value  # and not trivially loose on this instance


def test_copositive_sdp_sandwich_and_subset():
    pytest.importorskip("cvxpy")
    from convexnn.sdp import solve_sdp

    case = _FW_CASES[1]
    X, Y, fw = _fw(*case)
    reg = case[-1]
    full = copositive_relaxation(X, Y, reg)  # masks=None: exact enumeration of all patterns
    sdp = solve_sdp(X, Y, reg, solver="clarabel")
    best = _lbfgs_best(X, Y, reg)
    assert sdp.lower_bound <= full.value * (1 + 1e-8)
    assert full.value <= best * (1 + 1e-6)
    # a subset of the patterns: the value is no longer guaranteed to be a bound, the certificate is
    sub = copositive_relaxation(X, Y, reg, full.solution["masks"][:, ::3])
    assert sub.info["all_patterns"] is False and sub.info["value_is_lower_bound"] is False
    assert sub.lower_bound <= fw.value * (1 + 1e-12)


def test_copositive_errors(monkeypatch):
    X, Y = _data(0, 8, 2, 1)
    masks = _random_gate_masks(X)
    with pytest.raises(DataError):
        copositive_relaxation(X, Y, 0.1, masks[:-1])
    with pytest.raises(DataError):
        copositive_relaxation(X, Y, 0.1, masks.astype(float) * 2)
    with pytest.raises(ParameterError):
        copositive_relaxation(X, Y, 0.1, masks, solver="mosek")
    with pytest.raises(MemoryEstimateError):
        copositive_relaxation(X, Y, 0.1, masks, max_constraints=10)
    Xb, Yb = _data(1, 3000, 2, 1)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 1024**3)
    with pytest.raises(MemoryEstimateError):
        copositive_relaxation(Xb, Yb, 0.1, np.ones((3000, 1), bool), max_constraints=10**12)
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "cvxpy", None)
    with pytest.raises(SolverUnavailableError, match="pip install"):
        copositive_relaxation(X, Y, 0.1, masks)


def test_copositive_scs_backend():
    pytest.importorskip("cvxpy")
    case = _FW_CASES[1]
    X, Y, fw = _fw(*case)
    res = copositive_relaxation(X, Y, case[-1], solver="scs")
    assert res.info["solver"] == "scs"
    assert res.value == pytest.approx(fw.value, rel=1e-3)  # first-order solver: loose accuracy
    assert res.lower_bound <= fw.value * (1 + 1e-12)  # the certificate does not trust the solver
