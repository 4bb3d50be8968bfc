"""Exact convex ReLU program (C-ReLU): checked against CVXPY/Clarabel, identities and brute force."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexnn.arrangements.crelu import (
    _LinearSolver,
    crelu_dual_bound,
    crelu_objective,
    crelu_to_network,
    project_to_cone,
    solve_crelu,
)
from convexnn.errors import DataError, ParameterError
from convexnn.network import ReLUNetwork
from convexnn.problem import TrainingProblem


# --------------------------------------------------------------------------- helpers
def _patterns(X, P, rng):
    """Up to P distinct non-empty activation patterns of Gaussian gates (masks n×P, gates d×P)."""
    G = rng.standard_normal((X.shape[1], 8 * P))
    M = X @ G >= 0
    _, idx = np.unique(M, axis=1, return_index=True)
    idx = [i for i in sorted(idx) if M[:, i].any()][:P]
    return M[:, idx], G[:, idx]


def _instance(seed, c=1):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 31))
    d = int(rng.integers(2, 4))
    P = int(rng.integers(6, 13))
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, c))
    M, G = _patterns(X, P, rng)
    return X, Y, M, G


def _cvx_crelu(X, y, reg, M):
    """Reference C-ReLU optimum for one output, CVXPY + Clarabel at tight tolerances."""
    cp = pytest.importorskip("cvxpy")
    n, d = X.shape
    P = M.shape[1]
    Mf = M.astype(float)
    Gs = 2 * Mf - 1
    v = cp.Variable((d, P))
    w = cp.Variable((d, P))
    pred = cp.sum(cp.multiply(Mf, X @ (v - w)), axis=1)
    obj = 0.5 * cp.sum_squares(pred - y) + reg * (cp.sum(cp.norm(v, 2, axis=0)) + cp.sum(cp.norm(w, 2, axis=0)))
    prob = cp.Problem(cp.Minimize(obj), [cp.multiply(Gs, X @ v) >= 0, cp.multiply(Gs, X @ w) >= 0])
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert prob.status in ("optimal", "optimal_inaccurate")
    return float(prob.value)


def _cvx_gated(X, y, reg, M):
    """Gated-ReLU (group lasso, no cone constraints) optimum with the same patterns."""
    cp = pytest.importorskip("cvxpy")
    d, P = X.shape[1], M.shape[1]
    u = cp.Variable((d, P))
    pred = cp.sum(cp.multiply(M.astype(float), X @ u), axis=1)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(pred - y) + reg * cp.sum(cp.norm(u, 2, axis=0))))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return float(prob.value)


def _into_cone(X, mask, gate, z):
    """z + t·gate with the smallest t (plus 1% margin) putting it strictly inside the cone."""
    s = (2.0 * mask - 1.0) * (X @ z)
    e = (2.0 * mask - 1.0) * (X @ gate)
    assert np.all(e > 0)
    t = max(0.0, float(np.max(-s / e))) * 1.01 + 1e-3
    return z + t * gate


# --------------------------------------------------------------------------- agreement with Clarabel
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reg", [0.1, 1.0])
def test_scalar_output_matches_clarabel(seed, reg):
    X, Y, M, G = _instance(seed, c=1)
    ref = _cvx_crelu(X, Y[:, 0], reg, M)
    res = solve_crelu(X, Y, reg, M, G, tol=1e-7)
    assert res.status == "optimal"
    assert abs(res.value - ref) <= 1e-6 * ref
    # certified: lower bound ≤ optimum ≤ value (Clarabel itself is accurate to ~1e-10)
    assert res.lower_bound <= ref * (1 + 1e-9)
    assert res.value >= ref * (1 - 1e-9)
    assert res.gap <= 1e-6


@pytest.mark.parametrize("seed", [3, 4])
def test_one_vs_all_matches_sum_of_clarabel_programs(seed):
    X, Y, M, G = _instance(seed, c=2)
    reg = 0.3
    ref = sum(_cvx_crelu(X, Y[:, k], reg, M) for k in range(2))
    res = solve_crelu(X, Y, reg, M, G, tol=1e-7)
    assert res.status == "optimal"
    assert abs(res.value - ref) <= 1e-6 * ref
    assert res.lower_bound <= ref * (1 + 1e-9) <= res.value * (1 + 2e-9)
    # every neuron of the one-vs-all network feeds exactly one output
    net = res.solution["network"]
    assert np.all(np.count_nonzero(net.V, axis=0) <= 1)


def test_crelu_optimum_is_at_least_the_gated_optimum():
    """Dropping the cone constraints (C-GReLU) can only lower the optimum."""
    for seed in (5, 6):
        X, Y, M, G = _instance(seed)
        reg = 0.2
        gated = _cvx_gated(X, Y[:, 0], reg, M)
        ref = _cvx_crelu(X, Y[:, 0], reg, M)
        res = solve_crelu(X, Y, reg, M, G, tol=1e-7)
        assert gated <= ref * (1 + 1e-9)
        assert gated <= res.value * (1 + 1e-9)


# --------------------------------------------------------------------------- certificates / identities
def test_solution_is_feasible_and_value_is_the_mapped_networks_objective():
    X, Y, M, G = _instance(7, c=2)
    reg = 0.5
    res = solve_crelu(X, Y, reg, M, G)
    v, w = res.solution["v"], res.solution["w"]
    Gs = 2.0 * M - 1.0
    scale = np.linalg.norm(X, 2) * max(np.abs(v).max(), np.abs(w).max(), 1e-300)
    assert np.min(Gs * (X @ v)) >= -1e-12 * scale
    assert np.min(Gs * (X @ w)) >= -1e-12 * scale
    assert res.info["max_violation"] <= 1e-12
    net = res.solution["network"]
    nn_value = TrainingProblem(X, Y, reg).objective(net.U, net.V)
    assert res.value == pytest.approx(nn_value, rel=1e-12)
    assert res.value == pytest.approx(crelu_objective(X, Y, reg, M, v, w), rel=1e-9)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mapping_identity_on_exactly_feasible_points(seed, bias):
    """(X v)_+ = D X v on the cone and ½(‖u‖² + o²) = ‖v‖: network objective = convex objective."""
    rng = np.random.default_rng(100 + seed)
    n, d0, c = 15, 3, 2
    Xr = rng.standard_normal((n, d0))
    X = np.hstack([Xr, np.ones((n, 1))]) if bias else Xr
    Y = rng.standard_normal((n, c))
    M, G = _patterns(X, 7, rng)
    d, P = X.shape[1], M.shape[1]
    v = np.zeros((c, d, P))
    w = np.zeros((c, d, P))
    for k in range(c):
        for i in range(P):
            if rng.random() < 0.8:
                v[k, :, i] = _into_cone(X, M[:, i], G[:, i], rng.standard_normal(d))
            if rng.random() < 0.5:
                w[k, :, i] = rng.uniform(0.1, 2.0) * G[:, i]
    Gs = 2.0 * M - 1.0
    assert np.all(Gs * (X @ v) >= 0) and np.all(Gs * (X @ w) >= 0)
    reg = 0.37
    # the convex objective, written out independently of the library
    pred = np.stack([sum(M[:, i] * (X @ (v[k, :, i] - w[k, :, i])) for i in range(P)) for k in range(c)], 1)
    convex = 0.5 * np.sum((pred - Y) ** 2) + reg * (np.linalg.norm(v, axis=1).sum() + np.linalg.norm(w, axis=1).sum())
    net = crelu_to_network((v, w), bias=bias)
    assert isinstance(net, ReLUNetwork) and net.bias == bias
    nn = TrainingProblem(X, Y, reg, bias=bias).objective(net.U, net.V)
    assert nn == pytest.approx(convex, rel=1e-9)
    assert np.allclose(net.predict(Xr), pred, rtol=1e-9, atol=1e-9 * np.abs(pred).max())
    assert crelu_objective(X, Y, reg, M, v, w) == pytest.approx(convex, rel=1e-12)
    # balanced network: weight decay equals the group penalty exactly
    assert 0.5 * (np.sum(net.U**2) + np.sum(net.V**2)) == pytest.approx(
        np.linalg.norm(v, axis=1).sum() + np.linalg.norm(w, axis=1).sum(), rel=1e-12)


@pytest.fixture(scope="module")
def dual_instance():
    X, Y, M, G = _instance(11)
    reg = 0.25
    return X, Y, M, reg, _cvx_crelu(X, Y[:, 0], reg, M)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), scale=st.floats(0.0, 3.0), lam_scale=st.floats(0.0, 5.0))
def test_dual_bound_is_below_the_optimum_for_any_multipliers(dual_instance, seed, scale, lam_scale):
    """Weak duality: any θ and any λ, μ (clipped to ≥ 0) give a bound ≤ the Clarabel optimum."""
    X, Y, M, reg, ref = dual_instance
    rng = np.random.default_rng(seed)
    n, P = M.shape
    theta = -scale * Y + 0.3 * rng.standard_normal(Y.shape)
    lv = lam_scale * rng.standard_normal((1, n, P))
    lw = lam_scale * rng.standard_normal((1, n, P))
    for refine in (False, True):
        lb, per = crelu_dual_bound(X, Y, reg, M, theta, lv, lw, refine=refine)
        assert lb <= ref * (1 + 1e-12)
        assert per.shape == (1,) and per[0] == pytest.approx(lb)


def test_dual_bound_refinement_stops_at_its_deadline(dual_instance):
    """A deadline already passed gives exactly the unrefined bound; none gives the refined one,
    which is at least as high; both stay below the optimum."""
    X, Y, M, reg, ref = dual_instance
    rng = np.random.default_rng(7)
    n, P = M.shape
    theta = -0.8 * Y + 0.3 * rng.standard_normal(Y.shape)
    lv, lw = rng.standard_normal((1, n, P)), rng.standard_normal((1, n, P))
    plain, _ = crelu_dual_bound(X, Y, reg, M, theta, lv, lw, refine=False)
    cut, _ = crelu_dual_bound(X, Y, reg, M, theta, lv, lw, refine=True, deadline=time.perf_counter() - 1)
    full, _ = crelu_dual_bound(X, Y, reg, M, theta, lv, lw, refine=True, deadline=time.perf_counter() + 600)
    assert cut == plain
    assert full > plain  # these multipliers are poor, so the refinement must improve them
    assert full <= ref * (1 + 1e-12)


def test_dual_bound_from_solver_multipliers_is_tight(dual_instance):
    X, Y, M, reg, ref = dual_instance
    res = solve_crelu(X, Y, reg, M, tol=1e-8)
    theta = (sum(M[:, i] * (X @ (res.solution["v"][0, :, i] - res.solution["w"][0, :, i]))
                 for i in range(M.shape[1])) - Y[:, 0])[:, None]
    lb, _ = crelu_dual_bound(X, Y, reg, M, theta, res.solution["lambda_v"], res.solution["lambda_w"])
    assert lb <= ref * (1 + 1e-10)
    assert lb >= ref * (1 - 1e-5)
    assert res.lower_bound <= ref * (1 + 1e-10)
    assert res.lower_bound >= ref * (1 - 1e-7)


def test_project_to_cone_is_the_euclidean_projection():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 3))
    M, _ = _patterns(X, 3, rng)
    for i in range(M.shape[1]):
        z = 3 * rng.standard_normal(3)
        p = project_to_cone(X, M[:, i], z)
        x = cp.Variable(3)
        cp.Problem(cp.Minimize(cp.sum_squares(x - z)),
                   [cp.multiply(2.0 * M[:, i] - 1.0, X @ x) >= 0]).solve(solver="CLARABEL")
        assert np.allclose(p, x.value, atol=1e-6)
        assert np.min((2.0 * M[:, i] - 1.0) * (X @ p)) >= -1e-12 * np.linalg.norm(X, 2) * np.linalg.norm(p)


@pytest.mark.parametrize("shape", [(40, 3, 5), (12, 3, 9)])  # P·d ≤ n (direct) and P·d > n (Woodbury)
def test_linear_solver_matches_a_dense_solve(shape):
    n, d, P = shape
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, 2)
    M = (rng.random((n, P)) < 0.5).astype(float)
    beta = 1.7
    lin = _LinearSolver(X, M, beta)
    assert lin.direct == (P * d <= n)
    A = np.hstack([M[:, [i]] * X for i in range(P)])  # n × Pd, block order (i, dim)
    B = np.eye(d) + beta**2 * X.T @ X
    rho = np.array([0.3, 4.0])
    R = rng.standard_normal((2, d, P))
    q = lin.solve_q(R, rho)
    p = lin.solve_p(R, rho)
    for k in range(2):
        H = rho[k] * np.kron(np.eye(P), B) + 2 * A.T @ A
        ref = np.linalg.solve(H, R[k].T.reshape(-1)).reshape(P, d).T
        assert np.allclose(q[k], ref, rtol=1e-10, atol=1e-12)
        assert np.allclose(p[k], np.linalg.solve(rho[k] * B, R[k]), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- all patterns = p*
def test_all_patterns_bound_every_trained_network():
    """Tiny 1-D data with a bias column and ALL patterns: C-ReLU = p*, so its certified lower bound
    (and, up to tolerance, its value) is ≤ the NN-TRAIN value of every network L-BFGS finds."""
    from convexnn.baselines.gradient import train_lbfgs

    rng = np.random.default_rng(0)
    xr = rng.standard_normal((5, 1))
    X = np.hstack([xr, np.ones((5, 1))])
    Y = rng.standard_normal((5, 1))
    reg = 0.05
    dirs = rng.standard_normal((2, 20000))
    M = np.unique(X @ dirs >= 0, axis=1)
    M = M[:, M.any(axis=0)]
    assert M.shape[1] == 2 * (5 - 1) + 1  # 1-D data + bias: all, and n−1 upper and n−1 lower sets
    res = solve_crelu(X, Y, reg, M, tol=1e-8, bias=True)
    assert res.status == "optimal"
    problem = TrainingProblem(X, Y, reg, bias=True)
    best = train_lbfgs(problem, width=8, restarts=20, seed=1)
    assert res.lower_bound <= best.value * (1 + 1e-9)
    assert res.value <= best.value * (1 + 1e-6)
    # and below random networks, of course
    for _ in range(20):
        U = rng.standard_normal((2, 4))
        V = rng.standard_normal((1, 4))
        assert res.lower_bound <= problem.objective(U, V)


# --------------------------------------------------------------------------- control flow
def test_time_limit_is_honoured_and_result_is_honest():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 6))
    Y = rng.standard_normal((150, 2))
    M, G = _patterns(X, 60, rng)
    res = solve_crelu(X, Y, 0.01, M, G, tol=1e-12, time_limit=0.3)
    assert res.status == "time_limit"
    assert res.time_s < 5.0
    net = res.solution["network"]
    assert res.value == pytest.approx(TrainingProblem(X, Y, 0.01).objective(net.U, net.V), rel=1e-12)
    assert res.lower_bound is None or res.lower_bound <= res.value


def test_face_polish_starts_nothing_after_its_deadline(monkeypatch):
    """The certificate's active-set polish tries four activity thresholds per pass, up to four passes
    per output; under a time limit it checked the deadline only between outputs, so a certificate
    begun near the limit overran it (Pima, 100 patterns, limit 3 s: 4.45 s; 3.5 s now). After the
    deadline only the pass's first trial runs (2 objective evaluations instead of 5 here)."""
    import time

    import convexnn.arrangements.crelu as crelu_mod

    X, Y, M, G = _instance(8)
    res = solve_crelu(X, Y, 0.1, M, G, tol=1e-3)
    V, W = res.solution["v"][0], res.solution["w"][0]
    calls = []
    real = crelu_mod._output_objective
    monkeypatch.setattr(crelu_mod, "_output_objective", lambda *a: calls.append(1) or real(*a))
    crelu_mod._polish_face(X, Y[:, 0], 0.1, M, V, W)
    assert len(calls) == 5  # the starting point and each of the four trials
    calls.clear()
    crelu_mod._polish_face(X, Y[:, 0], 0.1, M, V, W, deadline=time.perf_counter() - 1.0)
    assert len(calls) == 2  # the starting point and the first trial only


def test_time_limit_is_checked_after_every_iteration_not_only_at_checkpoints():
    """With a limit shorter than one iteration the solve stops after the first one, although
    its checkpoints come every 10 iterations."""
    X, Y, M, G = _instance(8)
    res = solve_crelu(X, Y, 0.1, M, G, tol=1e-12, time_limit=1e-9, check_every=10)
    assert res.status == "time_limit" and res.iterations == 1
    assert res.lower_bound is None or res.lower_bound <= res.value


def test_callback_can_stop_and_ctrl_c_returns_best_so_far():
    X, Y, M, G = _instance(8)
    seen = []
    res = solve_crelu(X, Y, 0.1, M, G, tol=1e-12, callback=lambda rec: seen.append(rec) or len(seen) >= 3)
    assert res.status == "interrupted" and len(seen) == 3 and "primal_residual" in seen[0]

    def boom(rec):
        if rec["iteration"] >= 50:
            raise KeyboardInterrupt

    res = solve_crelu(X, Y, 0.1, M, G, tol=1e-12, callback=boom)
    assert res.status == "interrupted"
    assert np.isfinite(res.value) and res.value <= 0.5 * np.sum(Y**2) + 1e-12


def test_warm_start_resumes():
    X, Y, M, G = _instance(9)
    cold = solve_crelu(X, Y, 0.2, M, G, tol=1e-7)
    rough = solve_crelu(X, Y, 0.2, M, G, tol=1e-3)
    warm = solve_crelu(X, Y, 0.2, M, G, tol=1e-7, warm_start=rough)
    assert warm.status == "optimal"
    assert warm.value == pytest.approx(cold.value, rel=2e-6)
    assert warm.iterations < cold.iterations


def test_zero_targets_give_the_zero_network():
    X, Y, M, G = _instance(10, c=2)
    Y[:, 1] = 0.0
    res = solve_crelu(X, Y, 0.5, M, G, tol=1e-7)
    assert np.all(res.solution["v"][1] == 0) and np.all(res.solution["w"][1] == 0)
    res0 = solve_crelu(X, np.zeros_like(Y), 0.5, M)
    assert res0.value == 0.0 and res0.lower_bound == 0.0 and res0.status == "optimal"


def test_bad_inputs_raise_clear_errors():
    X, Y, M, G = _instance(0)
    with pytest.raises(DataError, match="rows"):
        solve_crelu(X, Y, 0.1, M[:-1])
    with pytest.raises(DataError, match="boolean"):
        solve_crelu(X, Y, 0.1, M * 2.5)
    with pytest.raises(DataError, match="inconsistent"):
        solve_crelu(X, Y, 0.1, M, -G)
    with pytest.raises(DataError, match="shape"):
        solve_crelu(X, Y, 0.1, M, G[:, :-1])
    with pytest.raises(ParameterError):
        solve_crelu(X, Y, -1.0, M)
    with pytest.raises(ParameterError):
        solve_crelu(X, Y, 0.1, M, tol=0.0)
    with pytest.raises(ParameterError):
        solve_crelu(X, Y, 0.1, M, time_limit=-1)
    with pytest.raises(ParameterError):
        solve_crelu(X, Y, 0.1, M, rho=0.0)
    with pytest.raises(ParameterError):
        solve_crelu(X, Y, 0.1, M, warm_start=[1, 2])
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        solve_crelu(Xn, Y, 0.1, M)
    with pytest.raises(DataError):
        crelu_to_network({"v": np.zeros((2, 3))})
    with pytest.raises(DataError):
        solve_crelu(X, Y, 0.1, M, bias=True)  # last column of X is not ones
