"""Gated-ReLU relaxation (C-GReLU): CVXPY/Clarabel agreement, certified duality gaps, identities."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest

from convexnn.arrangements.gated import (
    GatedNeurons,
    gated_predict,
    gated_to_neurons,
    max_reg,
    regularization_path,
    solve_gated,
)
from convexnn.arrangements.patterns import PatternSet, sample_patterns
from convexnn.errors import DataError, ParameterError
from convexnn.problem import TrainingProblem

ALGORITHMS = ("fista", "admm")


# --------------------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=None)
def _instance(seed: int, c: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 41))
    d = int(rng.integers(2, 5))
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, c))
    ps = sample_patterns(X, int(rng.integers(5, 16)), seed=seed)
    return X, Y, ps


def _predict_loop(X, W, masks):
    """Σ_i D_i X W_i by an explicit loop (independent of the solver's GEMM layout)."""
    out = np.zeros((X.shape[0], W.shape[2]))
    for i in range(W.shape[1]):
        out += masks[:, [i]] * (X @ W[:, i, :])
    return out


def _objective(X, Y, reg, W, masks, mode):
    """Gated objective computed directly from its definition."""
    R = _predict_loop(X, W, masks) - Y
    if mode == "nuclear" and W.shape[2] > 1:
        pen = sum(np.linalg.svd(W[:, i, :], compute_uv=False).sum() for i in range(W.shape[1]))
    else:
        pen = np.linalg.norm(W, axis=0).sum()
    return 0.5 * float(np.sum(R * R)) + reg * float(pen)


@functools.lru_cache(maxsize=None)
def _cvx_value(seed: int, c: int, mode: str, reg: float) -> float:
    """Reference optimum: CVXPY + Clarabel (sum of norms / normNuc of the blocks)."""
    cp = pytest.importorskip("cvxpy")
    X, Y, ps = _instance(seed, c)
    d, P = X.shape[1], ps.n_patterns
    Ms = ps.masks.astype(float)
    Ws = [cp.Variable((d, c)) for _ in range(P)]
    pred = sum(cp.multiply(Ms[:, [i]] @ np.ones((1, c)), X @ Ws[i]) for i in range(P))
    if mode == "nuclear" and c > 1:
        pen = sum(cp.normNuc(Wi) for Wi in Ws)
    else:
        pen = sum(cp.norm(Wi[:, k], 2) for Wi in Ws for k in range(c))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(pred - Y) + reg * pen))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    assert prob.status in ("optimal", "optimal_inaccurate")
    return float(prob.value)


# --------------------------------------------------------------------------- agreement with CVXPY
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("mode", ["nuclear", "ova"])
@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("seed,reg", [(0, 0.05), (1, 0.5), (4, 0.1)])
def test_agrees_with_cvxpy_and_gap_is_certified(seed, reg, c, mode, algorithm):
    X, Y, ps = _instance(seed, c)
    ref = _cvx_value(seed, c, mode, reg)
    tol = 1e-7
    res = solve_gated(X, Y, reg, ps, mode=mode, tol=tol, algorithm=algorithm, max_iter=50_000)
    assert res.status == "optimal"
    assert res.method == "gated"
    assert res.info["algorithm"] == algorithm
    assert abs(res.value - ref) <= 1e-6 * ref
    # the duality-gap stop is honoured, and the bound is a genuine lower bound (Clarabel's own
    # accuracy, ~1e-10 relative, is the only slack)
    assert res.info["relative_gap"] <= tol
    assert (res.value - res.lower_bound) / res.value <= tol
    assert res.lower_bound <= ref * (1 + 1e-9)
    assert ref <= res.value * (1 + 1e-9)
    for rec in res.history:
        assert rec["dual"] <= ref * (1 + 1e-9)
        assert rec["lower_bound"] <= ref * (1 + 1e-9)
        assert rec["primal"] >= ref * (1 - 1e-9)
    # the reported value is the objective of the returned W, recomputed from the definition
    W = res.solution["W"]
    assert W.shape == (X.shape[1], ps.n_patterns, c)
    assert res.value == pytest.approx(_objective(X, Y, reg, W, ps.masks, mode), rel=1e-12)
    assert res.info["n_active"] == int(np.count_nonzero(np.any(W != 0, axis=(0, 2))))


@pytest.mark.parametrize("mode", ["nuclear", "ova"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_returned_dual_point_certifies_the_bound(mode, algorithm):
    """Independent check of the certificate: z is dual feasible (every block's dual norm ≤ γ,
    computed here with numpy's own norms) and its dual value −½‖z‖² − ⟨z, Y⟩ is the bound."""
    X, Y, ps = _instance(2, 3)
    reg = 0.1
    for tol, max_iter in [(1e-8, 50_000), (1e-12, 15)]:  # converged, and stopped early
        res = solve_gated(X, Y, reg, ps, mode=mode, tol=tol, max_iter=max_iter, algorithm=algorithm)
        z = res.solution["dual"]
        for i in range(ps.n_patterns):
            B = X.T @ (ps.masks[:, [i]] * z)
            if mode == "nuclear":
                assert np.linalg.norm(B, 2) <= reg * (1 + 1e-12)
            else:
                assert np.linalg.norm(B, axis=0).max() <= reg * (1 + 1e-12)
        assert -0.5 * np.sum(z * z) - np.sum(z * Y) == pytest.approx(res.lower_bound, rel=1e-12)
        assert res.lower_bound <= res.value


def test_nuclear_below_ova_and_modes_equal_for_one_output():
    X, Y, ps = _instance(1, 3)
    nuc = solve_gated(X, Y, 0.2, ps, mode="nuclear", tol=1e-9)
    ova = solve_gated(X, Y, 0.2, ps, mode="ova", tol=1e-9)
    # Σ‖W_i‖_* ≤ Σ_k ‖W_i[:,k]‖, so the nuclear optimum is never above the one-vs-all optimum
    assert nuc.value <= ova.lower_bound * (1 + 1e-9)
    X1, Y1, ps1 = _instance(1, 1)
    a = solve_gated(X1, Y1, 0.2, ps1, mode="nuclear", tol=1e-9)
    b = solve_gated(X1, Y1, 0.2, ps1, mode="ova", tol=1e-9)
    assert a.value == pytest.approx(b.value, rel=1e-8)


def test_fista_and_admm_agree_without_screening():
    X, Y, ps = _instance(2, 3)
    vals = [solve_gated(X, Y, 0.3, ps, algorithm=a, screening=s, tol=1e-9, max_iter=50_000).value
            for a in ALGORITHMS for s in (True, False)]
    assert np.ptp(vals) <= 1e-8 * vals[0]


def test_fista_backtracking_recovers_from_a_too_small_lipschitz_guess(monkeypatch):
    """Start FISTA with L far below ‖A‖²: backtracking must raise it and the answer stay right;
    the adaptive restart fires on this instance."""
    from convexnn.arrangements import gated as gmod

    X, Y, ps = _instance(0, 3)
    true_L = np.linalg.norm(_dense_operator(X, ps.masks), 2) ** 2
    monkeypatch.setattr(gmod._Operator, "lipschitz", lambda self, *a, **k: (1e-3, None))
    res = solve_gated(X, Y, 0.05, ps, mode="ova", tol=1e-7, algorithm="fista", max_iter=50_000)
    assert res.status == "optimal"
    assert abs(res.value - _cvx_value(0, 3, "ova", 0.05)) <= 1e-6 * res.value
    assert 0.5 * true_L <= res.info["lipschitz"] <= 4.0 * true_L
    assert res.info["restarts"] >= 1


def test_anderson_accelerated_admm_agrees_with_cvxpy():
    X, Y, ps = _instance(0, 3)
    ref = _cvx_value(0, 3, "nuclear", 0.05)
    res = solve_gated(X, Y, 0.05, ps, mode="nuclear", tol=1e-7, algorithm="admm", anderson=8)
    assert res.status == "optimal"
    assert abs(res.value - ref) <= 1e-6 * ref
    assert res.lower_bound <= ref * (1 + 1e-9)


# --------------------------------------------------------------------------- internals vs dense algebra
def _dense_operator(X, masks):
    """The n×(P·d) matrix [D_1X … D_PX] (column block i acts on W_i)."""
    return np.hstack([masks[:, [i]] * X for i in range(masks.shape[1])])


def test_operator_and_woodbury_step_match_dense_algebra():
    from convexnn.arrangements.gated import _Operator, _WoodburySolver

    rng = np.random.default_rng(1)
    for n, d, P in [(12, 3, 9), (40, 2, 5)]:  # n < P·d (n-space) and n > P·d (primal space)
        X = rng.standard_normal((n, d))
        masks = rng.random((n, P)) < 0.5
        c = 2
        op = _Operator(X, masks.astype(float))
        A = _dense_operator(X, masks)
        W = rng.standard_normal((P, d, c))
        R = rng.standard_normal((n, c))
        assert np.allclose(op.forward(W), A @ W.reshape(P * d, c))
        assert np.allclose(op.adjoint(R).reshape(P * d, c), A.T @ R)
        assert np.allclose(op.forward(W), _predict_loop(X, W.transpose(1, 0, 2), masks))
        rho = 0.7
        solver = _WoodburySolver(op, rho)
        assert solver.dual_space == (n <= P * d)
        Y = rng.standard_normal((n, c))
        D = rng.standard_normal((P, d, c))
        step = solver.step(op.adjoint(Y), Y, D)
        dense = np.linalg.solve(A.T @ A + rho * np.eye(P * d), A.T @ Y + rho * D.reshape(P * d, c))
        assert np.allclose(step.reshape(P * d, c), dense, rtol=1e-10, atol=1e-10)
        # ‖D_i X‖₂ used by the screening rule must not underestimate the true norms
        exact = np.array([np.linalg.norm(masks[:, [i]] * X, 2) for i in range(P)])
        bound = op.block_opnorms()
        assert np.all(bound >= exact) and np.allclose(bound, exact, rtol=1e-9)


def test_gated_predict_on_new_rows_uses_the_gates():
    X, Y, ps = _instance(2, 3)
    res = solve_gated(X, Y, 0.1, ps)
    Xnew = np.random.default_rng(0).standard_normal((7, X.shape[1]))
    expected = _predict_loop(Xnew, res.solution["W"], Xnew @ ps.gates >= 0)
    assert np.allclose(gated_predict(Xnew, res.solution["W"], ps), expected, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- neurons and scaling
@pytest.mark.parametrize("mode", ["nuclear", "ova"])
def test_gated_neurons_reproduce_predictions_and_penalty(mode):
    X, Y, ps = _instance(0, 3)
    reg = 0.05
    res = solve_gated(X, Y, reg, ps, mode=mode, tol=1e-8)
    W = res.solution["W"]
    neurons = gated_to_neurons(W, ps, mode)
    assert isinstance(neurons, GatedNeurons) and len(neurons) == neurons.width > 0
    # predictions: Σ_j (D_{i_j} X u_j) v_jᵀ, summed neuron by neuron from the triples
    pred = np.zeros_like(Y)
    pen = 0.0
    for u, v, i in neurons:
        pred += np.outer(ps.masks[:, i] * (X @ u), v)
        pen += 0.5 * (u @ u + v @ v)
    model = _predict_loop(X, W, ps.masks)
    assert np.max(np.abs(pred - model)) <= 1e-12 * max(1.0, np.max(np.abs(model)))
    assert np.allclose(gated_predict(X, W, ps), model, rtol=0, atol=1e-12)
    # penalty: Σ ½(‖u‖² + ‖v‖²) equals the group / nuclear norm, so the objectives coincide
    if mode == "nuclear":
        norm = sum(np.linalg.svd(W[:, i, :], compute_uv=False).sum() for i in range(W.shape[1]))
    else:
        norm = np.linalg.norm(W, axis=0).sum()
    assert pen == pytest.approx(norm, rel=1e-12)
    net_obj = 0.5 * np.sum((pred - Y) ** 2) + reg * pen
    assert net_obj == pytest.approx(res.value, rel=1e-10)
    # the array view matches the triples
    assert np.allclose(np.einsum("dm,cm->dc", neurons.U, neurons.V),
                       sum(np.outer(u, v) for u, v, _ in neurons))


def test_scaling_matches_nn_train_for_neurons_inside_their_cones():
    """Rank-one blocks W_i = g_i v_iᵀ with g_i the generating gate: the gated neurons lie in their
    cones, so (X u)_+ = D_i X u and the library's NN-TRAIN objective (reg/2)(‖U‖² + ‖V‖²) equals
    the nuclear-norm gated objective with weight exactly γ."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((25, 3))
    Y = rng.standard_normal((25, 2))
    ps = sample_patterns(X, 6, seed=1)
    W = np.zeros((3, ps.n_patterns, 2))
    for i in range(ps.n_patterns):
        W[:, i, :] = np.outer(ps.gates[:, i] * rng.uniform(0.5, 2.0), rng.standard_normal(2))
    reg = 0.37
    neurons = gated_to_neurons(W, ps, "nuclear")
    relu_value = TrainingProblem(X, Y, reg).objective(neurons.U, neurons.V)
    assert relu_value == pytest.approx(_objective(X, Y, reg, W, ps.masks, "nuclear"), rel=1e-12)


def test_gated_to_neurons_zero_and_errors():
    n = gated_to_neurons(np.zeros((3, 4, 2)), None, "nuclear")
    assert n.width == 0 and n.U.shape == (3, 0) and n.V.shape == (2, 0)
    with pytest.raises(DataError):
        gated_to_neurons(np.zeros((3, 4, 2)), np.zeros((5, 3), dtype=bool), "ova")
    with pytest.raises(ParameterError):
        gated_to_neurons(np.zeros((3, 4, 2)), None, "both")


# --------------------------------------------------------------------------- max_reg, paths
@pytest.mark.parametrize("mode", ["nuclear", "ova"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_max_reg_gives_zero_solution(mode, algorithm):
    X, Y, ps = _instance(3, 3)
    lam = max_reg(X, Y, ps, mode)
    # independent: the dual norm of the blocks X^T D_i Y
    blocks = [X.T @ (ps.masks[:, [i]] * Y) for i in range(ps.n_patterns)]
    if mode == "nuclear":
        expected = max(np.linalg.norm(B, 2) for B in blocks)
    else:
        expected = max(np.linalg.norm(B, axis=0).max() for B in blocks)
    assert lam == pytest.approx(expected, rel=1e-12)
    res = solve_gated(X, Y, lam * (1 + 1e-9), ps, mode=mode, algorithm=algorithm)
    assert res.status == "optimal"
    assert not np.any(res.solution["W"])
    assert res.value == pytest.approx(0.5 * np.sum(Y * Y), rel=1e-12)
    below = solve_gated(X, Y, 0.9 * lam, ps, mode=mode, algorithm=algorithm, tol=1e-8)
    assert np.any(below.solution["W"]) and below.value < 0.5 * np.sum(Y * Y)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_regularization_path_matches_cold_solves(algorithm):
    X, Y, ps = _instance(4, 3)
    regs = [0.05, 1.0, 0.2]  # deliberately not sorted
    path = regularization_path(X, Y, regs, ps, mode="nuclear", tol=1e-9, max_iter=50_000,
                               algorithm=algorithm)
    assert [r.info["reg"] for r in path] == regs
    for reg, res in zip(regs, path):
        cold = solve_gated(X, Y, reg, ps, mode="nuclear", tol=1e-9, algorithm=algorithm,
                           max_iter=50_000)
        assert res.status == cold.status == "optimal"
        assert res.info["algorithm"] == algorithm
        assert res.value == pytest.approx(cold.value, rel=1e-7)
    with pytest.raises(ParameterError):
        regularization_path(X, Y, [0.1, -1.0], ps)
    with pytest.raises(ParameterError):
        regularization_path(X, Y, [], ps)


def test_warm_start_from_result_and_array():
    X, Y, ps = _instance(5, 3)
    first = solve_gated(X, Y, 0.1, ps, tol=1e-9)
    again = solve_gated(X, Y, 0.1, ps, tol=1e-9, warm_start=first)
    assert again.iterations <= 10  # already optimal: the first checkpoint certifies it
    assert again.value == pytest.approx(first.value, rel=1e-9)
    arr = solve_gated(X, Y, 0.1, ps, tol=1e-9, warm_start=first.solution["W"], algorithm="fista")
    assert arr.value == pytest.approx(first.value, rel=1e-8)
    with pytest.raises(ParameterError):
        solve_gated(X, Y, 0.1, ps, warm_start=np.zeros((2, 2, 2)))


# --------------------------------------------------------------------------- limits, interrupts
@functools.lru_cache(maxsize=None)
def _medium():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8))
    Y = rng.standard_normal((300, 3))
    ps = sample_patterns(X, 150, seed=0)
    return X, Y, ps


@functools.lru_cache(maxsize=None)
def _medium_reference(reg):
    X, Y, ps = _medium()
    return solve_gated(X, Y, reg, ps, tol=1e-8, max_iter=100_000, algorithm="admm")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_time_limit_returns_valid_bound(algorithm):
    X, Y, ps = _medium()
    reg = 0.5
    res = solve_gated(X, Y, reg, ps, tol=1e-12, time_limit=0.05, algorithm=algorithm)
    assert res.status == "time_limit"
    assert res.time_s < 5.0
    assert res.lower_bound is not None and np.isfinite(res.lower_bound)
    ref = _medium_reference(reg)
    assert ref.status == "optimal"
    # p* ≥ ref.lower_bound (certified), so this proves the early bound does not exceed p*
    assert res.lower_bound <= ref.lower_bound
    assert res.value >= ref.lower_bound
    assert res.history and res.history[-1]["lower_bound"] == res.lower_bound


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_callback_stop_and_keyboard_interrupt(algorithm):
    X, Y, ps = _medium()
    seen = []

    def stop_at_second(rec):
        seen.append(rec)
        return len(seen) >= 2

    res = solve_gated(X, Y, 0.5, ps, tol=1e-12, callback=stop_at_second, algorithm=algorithm)
    assert res.status == "interrupted" and len(seen) == 2
    for key in ("iteration", "primal", "dual", "gap", "time_s", "lower_bound", "step"):
        assert key in seen[-1]
    assert res.lower_bound <= res.value

    def ctrl_c(rec):
        if rec["iteration"] >= 20:
            raise KeyboardInterrupt

    res = solve_gated(X, Y, 0.5, ps, tol=1e-12, callback=ctrl_c, algorithm=algorithm)
    assert res.status == "interrupted"
    assert res.lower_bound is not None and res.lower_bound <= res.value


def test_max_iter_status_and_history_checkpoints():
    X, Y, ps = _medium()
    res = solve_gated(X, Y, 0.05, ps, tol=1e-14, max_iter=35, algorithm="fista")
    assert res.status == "max_iter" and res.iterations == 35
    its = [h["iteration"] for h in res.history]
    assert its == [0, 10, 20, 30, 35]
    best = -np.inf
    for h in res.history:
        best = max(best, h["dual"])
        assert h["lower_bound"] == pytest.approx(best, rel=0, abs=0)
        assert h["dual"] <= h["primal"]
        assert "step" in h


def test_screening_is_exact_and_drops_blocks():
    X, Y, ps = _medium()
    lam = max_reg(X, Y, ps, "ova")
    on = solve_gated(X, Y, 0.3 * lam, ps, mode="ova", tol=1e-9)
    off = solve_gated(X, Y, 0.3 * lam, ps, mode="ova", tol=1e-9, screening=False)
    assert on.info["n_screened"] > 0 and off.info["n_screened"] == 0
    assert on.value == pytest.approx(off.value, rel=1e-8)
    Won, Woff = on.solution["W"], off.solution["W"]
    assert np.allclose(Won, Woff, atol=1e-4 * np.abs(Woff).max())


def test_empty_pattern_set():
    X, Y, _ = _instance(0, 2)
    empty = PatternSet(np.zeros((X.shape[0], 0), dtype=bool), np.zeros((X.shape[1], 0)))
    res = solve_gated(X, Y, 0.1, empty)
    assert res.status == "optimal"
    assert res.value == pytest.approx(0.5 * np.sum(Y * Y)) == res.lower_bound
    assert res.solution["W"].shape == (X.shape[1], 0, 2)


# --------------------------------------------------------------------------- input errors
def test_input_errors():
    X, Y, ps = _instance(0, 2)
    with pytest.raises(DataError):
        solve_gated(X, Y[:-1], 0.1, ps)  # row mismatch
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(DataError):
        solve_gated(Xn, Y, 0.1, ps)
    Yn = Y.copy()
    Yn[1, 1] = np.inf
    with pytest.raises(DataError):
        solve_gated(X, Yn, 0.1, ps)
    with pytest.raises(DataError):
        solve_gated(X, Y, 0.1, ps.masks[:-1])  # patterns with the wrong n
    with pytest.raises(DataError):
        solve_gated(X[:, :-1], Y, 0.1, ps)  # gates of the wrong dimension
    with pytest.raises(DataError):
        solve_gated(X, Y, 0.1, np.full(ps.masks.shape, 0.5))
    with pytest.raises(ParameterError):
        solve_gated(X, Y, -1.0, ps)
    with pytest.raises(ParameterError):
        solve_gated(X, Y, 0.1, ps, mode="svd")
    with pytest.raises(ParameterError):
        solve_gated(X, Y, 0.1, ps, tol=0.0)
    with pytest.raises(ParameterError):
        solve_gated(X, Y, 0.1, ps, max_iter=0)
    with pytest.raises(ParameterError):
        solve_gated(X, Y, 0.1, ps, time_limit=-1)
    with pytest.raises(ParameterError):
        solve_gated(X, Y, 0.1, ps, algorithm="newton")
    with pytest.raises(ParameterError):
        solve_gated(X, Y, 0.1, ps, callback=3)
    with pytest.raises(DataError):
        max_reg(X, Y, ps.masks[:-1])


def test_one_dimensional_targets_and_plain_masks():
    X, Y, ps = _instance(1, 1)
    a = solve_gated(X, Y[:, 0], 0.2, ps.masks, tol=1e-9)  # 1-D y, masks given as an array
    b = solve_gated(X, Y, 0.2, ps, tol=1e-9)
    assert a.value == pytest.approx(b.value, rel=1e-9)
    assert a.solution["W"].shape == (X.shape[1], ps.n_patterns, 1)


# --------------------------------------------------------------------------- performance (slow)
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["nuclear", "ova"])
@pytest.mark.parametrize("reg", [0.1, 0.01])
def test_mnist_performance(mode, reg):
    """MNIST-PCA train (n = 1000, d = 20, c = 10 one-hot, standardised), 500 Gaussian gates:
    relative duality gap 1e-6. Target ≤ 10 s on 2 cores (timings are printed, not asserted)."""
    from convexnn.datasets import prepare

    split = prepare("mnist")
    X, Y = split.X_train, split.Y_train
    ps = sample_patterns(X, 500, seed=0)
    t0 = time.perf_counter()
    res = solve_gated(X, Y, reg, ps, mode=mode, tol=1e-6, max_iter=20_000)
    elapsed = time.perf_counter() - t0
    print(f"\nMNIST gated {mode} reg={reg}: P={ps.n_patterns} {res.info['algorithm']} "
          f"{res.status} iterations={res.iterations} time={elapsed:.2f}s value={res.value:.10g} "
          f"gap={res.info['relative_gap']:.2e}")
    assert res.status == "optimal"
    assert res.info["relative_gap"] <= 1e-6
