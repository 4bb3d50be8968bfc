"""Tests of convexnn.rounding: TOS rounding (SPEC §4), output-layer refit, polish, candidates.

The vectorised TOS is checked against a literal loop implementation; the projections against
their defining properties; TOS against an exactly completely positive Λ (a lifted network, whose
lifted factor is a fixed point); refit against a brute-force least-squares solve; polish for
monotonicity; and round_sdp for honest (recomputed) objectives on the original data.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from convexnn.errors import DataError, ParameterError
from convexnn.lifting import lift, lift_factor, lift_matrix
from convexnn.network import ReLUNetwork
from convexnn.problem import TrainingProblem
from convexnn.rounding import (
    CANDIDATES,
    FaceProjector,
    RoundingResult,
    _tos_round_loop,
    best_candidate,
    null_basis,
    phi,
    polish,
    project_d1,
    project_d2,
    refit_output_layer,
    round_sdp,
    top_eigenpairs,
    top_factor,
    tos_round,
)


def random_psd(rng, p, rank):
    G = rng.standard_normal((p, rank))
    return G @ G.T


def random_instance(seed, n, d, c, m=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    U = rng.standard_normal((d, m))
    V = rng.standard_normal((c, m))
    return rng, X, U, V


# ------------------------------------------------------------------------------------------------
# vectorised TOS == loop TOS


@pytest.mark.parametrize(
    "seed,n,d,c,R,kind",
    [
        (0, 2, 1, 1, 1, "psd"),
        (1, 3, 2, 1, 3, "cp"),
        (2, 4, 2, 2, 5, "psd"),
        (3, 5, 3, 2, 4, "cp+noise"),
        (4, 6, 2, 3, 5, "psd"),
        (5, 6, 3, 2, 2, "cp"),
        (6, 6, 4, 1, 5, "start"),
    ],
)
def test_vectorised_tos_matches_loop(seed, n, d, c, R, kind):
    rng, X, U, V = random_instance(seed, n, d, c)
    p = 2 * n + d + c
    start = None
    if kind == "psd":
        Lam = random_psd(rng, p, min(p, R + 1))  # more positive eigenvalues than R: truncation
    elif kind == "cp":
        Lam = lift(X, U, V)  # rank 3 < R for some cases: zero padding
    elif kind == "cp+noise":
        Lam = lift(X, U, V) + 0.1 * random_psd(rng, p, 2)
    else:
        Lam = random_psd(rng, p, 3)
        start = rng.standard_normal((p, R))
    kw = dict(c=c, width=R, iterations=20, record_every=1, start=start)
    a = tos_round(Lam, X, **kw)
    b = _tos_round_loop(Lam, X, **kw)
    scale = max(1.0, float(np.abs(b.factor).max()))
    assert a.factor.shape == (p, R)
    np.testing.assert_allclose(a.factor, b.factor, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(a.network.U, b.network.U, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(a.network.V, b.network.V, rtol=0, atol=1e-10 * scale)
    for key in ("phi", "face_residual", "complementarity"):
        ha = np.array(a.diagnostics["history"][key])
        hb = np.array(b.diagnostics["history"][key])
        assert ha.shape == (20,)
        np.testing.assert_allclose(ha, hb, rtol=1e-9, atol=1e-9 * max(1.0, hb.max()))
    assert a.diagnostics["step"] == b.diagnostics["step"]
    assert a.diagnostics["iterations"] == 20


def test_default_step_is_075_over_frobenius_norm():
    rng, X, U, V = random_instance(7, 4, 2, 2)
    Lam = lift(X, U, V)
    r = tos_round(Lam, X, c=2, width=4, iterations=1)
    assert r.diagnostics["step"] == pytest.approx(0.75 / np.linalg.norm(Lam), rel=1e-14)
    r = tos_round(Lam, X, c=2, width=4, iterations=1, step=0.01)
    assert r.diagnostics["step"] == 0.01


def test_top_factor_is_eigen_factor_padded():
    rng = np.random.default_rng(8)
    A = random_psd(rng, 7, 3)
    F = top_factor(A, 5)
    assert F.shape == (7, 5)
    np.testing.assert_allclose(F @ F.T, A, atol=1e-10)
    assert np.all(F[:, 3:] == 0)
    F2 = top_factor(A, 2)  # truncation keeps the two largest eigenpairs
    w = np.linalg.eigvalsh(A)[::-1]
    np.testing.assert_allclose(np.linalg.norm(F2, axis=0) ** 2, w[:2], rtol=1e-10)


def test_top_eigenpairs_computes_only_the_top_ones_on_large_matrices(monkeypatch):
    """From PARTIAL_EIGH_MIN_P on only the R largest eigenpairs are computed (scipy's syevr); they
    must be those of the full decomposition, and the factor the same up to column signs."""
    import scipy.linalg as sla

    import convexnn.rounding.tos as tos_mod

    rng = np.random.default_rng(81)
    A = random_psd(rng, 40, 12) + 1e-3 * np.diag(rng.random(40))
    calls = []
    real = sla.eigh

    def spy(*args, **kw):
        calls.append(kw.get("subset_by_index"))
        return real(*args, **kw)

    monkeypatch.setattr(sla, "eigh", spy)
    full_w, full_Q = top_eigenpairs(A, 6)
    assert calls == []  # below the threshold: the full decomposition (numpy)
    monkeypatch.setattr(tos_mod, "PARTIAL_EIGH_MIN_P", 30)
    w, Q = top_eigenpairs(A, 6)
    assert calls == [[34, 39]]
    ref = np.linalg.eigvalsh(A)[::-1][:6]
    np.testing.assert_allclose(w, ref, rtol=1e-12)
    np.testing.assert_allclose(full_w, ref, rtol=1e-12)
    np.testing.assert_allclose(np.abs(Q.T @ full_Q), np.eye(6), atol=1e-8)
    F = top_factor(A, 6, eigenpairs=(w, Q))
    assert len(calls) == 1  # the given eigenpairs are used, not recomputed
    G = np.linalg.eigh(A)
    np.testing.assert_allclose(F @ F.T, (G[1][:, -6:] * G[0][-6:]) @ G[1][:, -6:].T, atol=1e-10)
    assert top_eigenpairs(A, 30)[0].size == 30 and len(calls) == 1  # R ≥ p/2: the full one again


# ------------------------------------------------------------------------------------------------
# projections

pair_values = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 4), extra=st.integers(0, 3), R=st.integers(1, 4), data=st.data())
def test_project_d2_properties(n, extra, R, data):
    B = data.draw(arrays(np.float64, (2 * n + extra, R), elements=pair_values))
    P = project_d2(B, n)
    a, b = P[:n], P[n:2 * n]
    assert np.all(a >= 0) and np.all(b >= 0)  # non-negativity
    assert np.all(a * b == 0)  # complementarity
    np.testing.assert_array_equal(project_d2(P, n), P)  # idempotence
    np.testing.assert_array_equal(P[2 * n:], B[2 * n:])  # u, v rows untouched
    # nearest point: no candidate of D2 for a pair is closer
    for j in range(R):
        for i in range(n):
            x, y = B[i, j], B[n + i, j]
            dist = (x - P[i, j]) ** 2 + (y - P[n + i, j]) ** 2
            for cand in [(max(x, 0), 0.0), (0.0, max(y, 0)), (0.0, 0.0)]:
                assert dist <= (x - cand[0]) ** 2 + (y - cand[1]) ** 2 + 1e-15


def test_project_d2_tie_and_input_untouched():
    B = np.array([[2.0, -1.0, 0.0], [2.0, -3.0, 0.0], [7.0, 8.0, 9.0]])  # n = 1, plus one u/v row
    B0 = B.copy()
    P = project_d2(B, 1)
    np.testing.assert_array_equal(P, [[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [7.0, 8.0, 9.0]])
    np.testing.assert_array_equal(B, B0)


@pytest.mark.parametrize("seed,n,d,c,R", [(0, 3, 2, 1, 4), (1, 6, 3, 2, 7), (2, 10, 1, 3, 2)])
def test_project_d1_lands_in_null_space(seed, n, d, c, R):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    N = null_basis(X, c)
    p = 2 * n + d + c
    assert N.shape == (p, n + d + c)
    np.testing.assert_allclose(N.T @ N, np.eye(n + d + c), atol=1e-12)
    Z = rng.standard_normal((p, R))
    W = project_d1(Z, N)
    M = lift_matrix(X, c)
    assert np.linalg.norm(M @ W) <= 1e-12 * np.linalg.norm(Z)  # M W = 0
    np.testing.assert_allclose(project_d1(W, N), W, atol=1e-12)  # idempotent
    # orthogonal: the removed part lies in range(Mᵀ)
    coef, *_ = np.linalg.lstsq(M.T, Z - W, rcond=None)
    np.testing.assert_allclose(M.T @ coef, Z - W, atol=1e-10)
    # the structured projector used inside tos_round is the same operator
    W2 = FaceProjector(X, c)(Z)
    np.testing.assert_allclose(W2, W, rtol=0, atol=1e-12 * np.abs(Z).max())
    assert np.linalg.norm(M @ W2) <= 1e-12 * np.linalg.norm(Z)


# ------------------------------------------------------------------------------------------------
# TOS on an exactly completely positive Λ


@pytest.mark.parametrize("bias", [False, True])
def test_lifted_factor_is_fixed_point(bias):
    rng = np.random.default_rng(11)
    n, d0, c, m, R = 8, 3, 2, 4, 6
    Xraw = rng.standard_normal((n, d0))
    X = np.hstack([Xraw, np.ones((n, 1))]) if bias else Xraw
    d = X.shape[1]
    U = rng.standard_normal((d, m))
    V = rng.standard_normal((c, m))
    net = ReLUNetwork(U, V, bias=bias)
    Lam = lift(X, U, V)
    L = lift_factor(X, U, V)
    start = np.hstack([L, np.zeros((L.shape[0], R - m))])
    scale = float(np.linalg.norm(Lam))
    # default step (0.75/‖Λ‖_F): the lifted factor is mapped to itself. With one dominant
    # eigenvalue this fixed point is repelling (see the tos module docstring), so only a few
    # iterations are checked; a step below 0.5/λ_max keeps it over many iterations.
    for step, iters in [(None, 5), (0.25 / np.linalg.norm(Lam, 2), 100)]:
        r = tos_round(Lam, X, c=c, width=R, start=start, step=step, iterations=iters, record_every=5, bias=bias)
        np.testing.assert_allclose(r.factor, start, rtol=0, atol=1e-12 * np.sqrt(scale))
        assert r.diagnostics["phi"] <= 1e-24 * scale**2
        # recorded φ uses ½(‖WᵀW‖² − 2⟨W, ΛW⟩ + ‖Λ‖²) when R ≤ p: accurate to ~eps·‖Λ‖²
        assert max(r.diagnostics["history"]["phi"]) <= 1e-14 * scale**2
        assert r.diagnostics["face_residual"] <= 1e-12 * np.sqrt(scale)
        assert r.diagnostics["complementarity"] <= 1e-12 * np.sqrt(scale)
        assert r.network.bias is bias and r.width == R and r.objective is None
        np.testing.assert_allclose(r.network.predict(Xraw), net.predict(Xraw), rtol=0, atol=1e-11 * scale)
        np.testing.assert_allclose(r.factor @ r.factor.T, Lam, rtol=0, atol=1e-12 * scale)


def test_tos_data_scale_recovers_original_weights():
    # Λ' of the exactly rescaled problem (X/a, weights √a·U, √a·V) rounds back to (U, V)
    rng, X, U, V = random_instance(12, 6, 3, 2, m=2)
    a = 4.0
    L = lift_factor(X / a, np.sqrt(a) * U, np.sqrt(a) * V)
    r = tos_round(L @ L.T, X / a, c=2, start=L, iterations=10, data_scale=a)
    np.testing.assert_allclose(r.network.U, U, atol=1e-10)
    np.testing.assert_allclose(r.network.V, V, atol=1e-10)


def test_tos_callback_can_stop_and_sees_diagnostics():
    rng, X, U, V = random_instance(13, 5, 2, 2)
    Lam = lift(X, U, V)
    seen = []

    def cb(k, info):
        seen.append((k, info["phi"], info["W"].shape))
        return k >= 6

    r = tos_round(Lam, X, c=2, width=4, iterations=100, record_every=3, callback=cb)
    assert [s[0] for s in seen] == [3, 6]
    assert r.diagnostics["iterations"] == 6
    assert r.diagnostics["history"]["iteration"] == [3, 6]


def test_tos_improves_a_perturbed_factor_with_small_step():
    rng, X, U, V = random_instance(14, 10, 3, 2, m=3)
    Lam = lift(X, U, V)
    L = lift_factor(X, U, V)
    start = L + 0.05 * rng.standard_normal(L.shape)
    eta = 0.1 / np.linalg.norm(Lam, 2)
    r = tos_round(Lam, X, c=2, start=start, step=eta, iterations=300, record_every=300)
    assert r.diagnostics["phi"] < phi(start, Lam)


def test_zero_padding_stays_dead_unless_pad_noise():
    rng, X, U, V = random_instance(16, 5, 2, 2, m=2)
    Lam = lift(X, U, V)
    r = tos_round(Lam, X, c=2, width=6, iterations=15)
    assert np.all(r.factor[:, 2:] == 0)  # rank 2: four zero columns, fixed by the iteration
    r1 = tos_round(Lam, X, c=2, width=6, iterations=3, pad_noise=0.1, seed=5)
    r2 = tos_round(Lam, X, c=2, width=6, iterations=3, pad_noise=0.1, seed=5)
    assert np.any(r1.factor[:, 2:] != 0)
    np.testing.assert_array_equal(r1.factor, r2.factor)  # reproducible from the seed


def test_tos_validation():
    rng, X, U, V = random_instance(15, 4, 2, 2)
    Lam = lift(X, U, V)
    with pytest.raises(DataError):
        tos_round(Lam[:-1, :-1], X, c=2, width=3)
    with pytest.raises(DataError):
        tos_round(Lam, X, c=2, start=np.zeros((3, 2)))
    with pytest.raises(ParameterError):
        tos_round(Lam, X, c=2, step=-1.0)
    with pytest.raises(ParameterError):
        tos_round(Lam, X, c=2, width=0)


# ------------------------------------------------------------------------------------------------
# refit and polish


@pytest.mark.parametrize("n,d,c,m,reg", [(20, 3, 2, 5, 0.1), (6, 2, 3, 15, 0.01), (10, 4, 1, 10, 1.0)])
def test_refit_matches_augmented_lstsq(n, d, c, m, reg):
    rng = np.random.default_rng(n * m)
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, c))
    U = rng.standard_normal((d, m))
    V = refit_output_layer(X, Y, U, reg)
    assert V.shape == (c, m)
    H = np.maximum(X @ U, 0.0)
    A = np.vstack([H, np.sqrt(reg) * np.eye(m)])
    b = np.vstack([Y, np.zeros((m, c))])
    Vt_ref, *_ = np.linalg.lstsq(A, b, rcond=None)
    np.testing.assert_allclose(V, Vt_ref.T, rtol=1e-8, atol=1e-10)
    # and it is the minimiser over V of NN-TRAIN for this U
    prob = TrainingProblem(X, Y, reg)
    _, _, gV = prob.objective_and_gradient(U, V)
    assert np.linalg.norm(gV) <= 1e-8 * max(1.0, np.linalg.norm(Y))


def test_refit_survives_numerically_singular_normal_equations(monkeypatch):
    """A diverged rounding run (round_sdp with a step far above the default) left U ~ 1e13, whose
    normal equations HᵀH + reg I are singular in floating point: refit_output_layer (and so
    round_sdp) raised LinAlgError. It now falls back to least squares on [H; √reg I], checked
    against the ridge solution written through the SVD of H."""
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((12, 2)), rng.standard_normal((12, 1))
    for size in (1e13, 1e160):  # singular in floating point; HᵀH overflows (V came out as zeros)
        U1 = rng.standard_normal((2, 5))
        V = refit_output_layer(X, Y, size * U1, 0.1)
        # H = size·Ĥ: the ridge solution is (1/size)·(that of Ĥ with reg/size²), via the SVD of Ĥ;
        # neurons with the same activation pattern make Ĥ rank-deficient, and its singular values
        # at rounding level stand for zeros (which contribute nothing to the ridge solution)
        Us, sv, Vts = np.linalg.svd(np.maximum(X @ U1, 0.0), full_matrices=False)
        keep = sv > 1e-10 * sv.max()
        Us, sv, Vts = Us[:, keep], sv[keep], Vts[keep]
        ref = Vts.T @ ((sv / (sv**2 + 0.1 / size / size))[:, None] * (Us.T @ Y)) / size
        np.testing.assert_allclose(V, ref.T, rtol=1e-6, atol=0.0)
    # the fallback alone, on a well-conditioned case: the same V as the normal equations
    U = rng.standard_normal((2, 5))
    V_normal = refit_output_layer(X, Y, U, 0.1)
    import convexnn.rounding.refine as refine

    def singular(*args, **kwargs):
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(refine.sla, "solve", singular)
    np.testing.assert_allclose(refit_output_layer(X, Y, U, 0.1), V_normal, rtol=1e-9, atol=1e-12)
    monkeypatch.undo()
    with pytest.raises(DataError, match="non-finite hidden activations"):  # it gave NaN silently
        refit_output_layer(100.0 * np.abs(X), Y, np.full((2, 5), 1e308), 0.1)  # X U overflows


def test_round_sdp_with_a_diverging_step_still_returns_its_candidates():
    from convexnn.rounding import best_candidate, round_sdp
    from convexnn.sdp import solve_sdp

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((12, 2)), rng.standard_normal((12, 1))
    prob = TrainingProblem(X, Y, 0.1)
    res = solve_sdp(X, Y, 0.1, solver="ipm")
    out = round_sdp(res.solution["Lambda"], prob, width=5, iterations=5, polish_rounds=1, lbfgs_iter=5,
                    data_scale=res.info["data_scale"], step=2.5)
    assert [r.name for r in out] == ["tos", "tos+refit", "tos+polish", "eig+refit+polish"]
    assert out[0].objective > 1e6 * out[-1].objective  # the TOS run diverged
    best = best_candidate(out)
    assert best.objective == pytest.approx(prob.objective(best.network.U, best.network.V), rel=1e-12)
    assert best.objective >= res.lower_bound - 1e-9


@pytest.mark.parametrize("seed,bias", [(0, False), (1, True), (2, False)])
def test_polish_never_increases_objective(seed, bias):
    rng = np.random.default_rng(seed)
    n, d, c, m = 15, 3, 2, 6
    prob = TrainingProblem.from_data(rng.standard_normal((n, d)), rng.standard_normal((n, c)), 0.05, bias=bias)
    starts = [
        (rng.standard_normal((prob.d, m)), rng.standard_normal((c, m))),
        (np.zeros((prob.d, m)), np.zeros((c, m))),
        (0.01 * rng.standard_normal((prob.d, m)), 10 * rng.standard_normal((c, m))),
    ]
    for U0, V0 in starts:
        f0 = prob.objective(U0, V0)
        U1, V1 = polish(prob, U0, V0, rounds=2, lbfgs_iter=30)
        assert U1.shape == U0.shape and V1.shape == V0.shape
        assert prob.objective(U1, V1) <= f0
        # already-polished input: still never worse
        U2, V2 = polish(prob, U1, V1, rounds=1, lbfgs_iter=5)
        assert prob.objective(U2, V2) <= prob.objective(U1, V1)
    U0, V0 = starts[0]
    Uz, Vz = polish(prob, U0, V0, rounds=0)
    np.testing.assert_array_equal(Uz, U0)
    np.testing.assert_array_equal(Vz, V0)
    assert polish(prob, U0, V0, rounds=2, lbfgs_iter=30)[0] is not U0  # copies, never aliases


# ------------------------------------------------------------------------------------------------
# candidates


def _check_candidates(results, prob):
    assert [r.name for r in results] == list(CANDIDATES)
    for r in results:
        assert isinstance(r, RoundingResult)
        assert r.network.bias == prob.bias
        assert r.network.U.shape[0] == prob.d
        assert r.objective == prob.objective(r.network.U, r.network.V)
        assert r.width == r.network.width
        assert r.time_s >= 0
    a, b, c, d = results
    tol = 1e-9 * a.objective
    assert b.objective <= a.objective + tol  # exact ridge refit of the same U
    assert c.objective <= b.objective + tol  # polish starts with that refit
    assert {"phi", "face_residual", "complementarity"} <= set(a.diagnostics)
    assert best_candidate(results).objective == min(r.objective for r in results)


@pytest.mark.parametrize("bias", [False, True])
def test_round_sdp_objectives_recomputed(bias):
    rng = np.random.default_rng(21)
    n, d0, c = 12, 2, 2
    prob = TrainingProblem.from_data(rng.standard_normal((n, d0)), rng.standard_normal((n, c)), 0.1, bias=bias)
    U = rng.standard_normal((prob.d, 3))
    V = rng.standard_normal((c, 3))
    Lam = lift(prob.X, U, V) + 0.01 * np.eye(2 * n + prob.d + c)
    res = round_sdp(Lam, prob, width=20, iterations=50, polish_rounds=2, lbfgs_iter=30)
    _check_candidates(res, prob)
    assert res[0].width == 20


def test_round_sdp_with_row_reduced_lift():
    # duplicate and positively parallel rows are merged by the SDP; TOS works on the reduced X,
    # objectives are always measured on the original problem
    from convexnn.sdp.formulation import reduce_rows

    rng = np.random.default_rng(22)
    X = rng.standard_normal((8, 3))
    Y = rng.standard_normal((8, 2))
    X = np.vstack([X, X[:2], 3.0 * X[2:3]])
    Y = np.vstack([Y, rng.standard_normal((3, 2))])
    prob = TrainingProblem(X, Y, 0.05)
    Xr, Yr, red = reduce_rows(X, Y)
    assert Xr.shape[0] == 8
    U = rng.standard_normal((3, 2))
    V = rng.standard_normal((2, 2))
    Lam = lift(Xr, U, V)
    res = round_sdp(Lam, prob, X_lifted=Xr, width=10, iterations=30, polish_rounds=1, lbfgs_iter=20)
    _check_candidates(res, prob)
    with pytest.raises(DataError):
        round_sdp(Lam, prob, width=10, iterations=5)  # Lam does not fit the unreduced X


def test_round_sdp_on_native_sdp_solution():
    from convexnn.sdp import solve_sdp

    rng = np.random.default_rng(23)
    X = rng.standard_normal((9, 2))
    Y = rng.standard_normal((9, 2))
    X, Y = np.vstack([X, X[:2]]), np.vstack([Y, Y[:2]])
    prob = TrainingProblem.from_data(X, Y, 0.1, bias=True)
    sdp = solve_sdp(prob.X, prob.Y, prob.reg, bias=True, solver="native", max_iter=1000)
    form = sdp.solution["formulation"]
    assert form.n < prob.n  # duplicates merged
    res = round_sdp(sdp.solution["Lambda"], prob, X_lifted=form.X, data_scale=sdp.info["data_scale"],
                    width=30, iterations=100, polish_rounds=2, lbfgs_iter=50)
    _check_candidates(res, prob)
    for r in res:  # a network's value can never be below a certified lower bound
        assert r.objective >= sdp.lower_bound - 1e-9 * abs(sdp.lower_bound)


def test_tos_time_limit_stops_the_iteration_and_says_so():
    rng, X, U, V = random_instance(31, 30, 3, 2)
    Lam = lift(X, U, V) + 0.01 * np.eye(2 * 30 + 3 + 2)
    full = tos_round(Lam, X, c=2, width=20, iterations=30)
    assert full.diagnostics["stopped"] is None and full.diagnostics["iterations"] == 30
    t = time.perf_counter()
    cut = tos_round(Lam, X, c=2, width=20, iterations=10**7, time_limit=0.2)
    assert time.perf_counter() - t < 5.0  # the 10⁷ iterations would take hours
    assert cut.diagnostics["stopped"] == "time_limit"
    assert 1 <= cut.diagnostics["iterations"] < 10**7
    with pytest.raises(ParameterError, match="time_limit"):
        tos_round(Lam, X, c=2, width=20, iterations=3, time_limit=0)


def test_polish_time_limit_keeps_it_monotone_and_stops_it():
    rng = np.random.default_rng(32)
    prob = TrainingProblem(rng.standard_normal((200, 5)), rng.standard_normal((200, 3)), 0.01)
    U, V = rng.standard_normal((5, 60)), rng.standard_normal((3, 60))
    start = prob.objective(U, V)
    U1, V1 = polish(prob, U, V, rounds=1, lbfgs_iter=0, time_limit=1e-9)  # no time: the input back
    assert prob.objective(U1, V1) == start
    free = polish(prob, U, V, rounds=50, lbfgs_iter=10**5, tol=0.0)
    t = time.perf_counter()
    U2, V2 = polish(prob, U, V, rounds=50, lbfgs_iter=10**5, tol=0.0, time_limit=0.3)
    assert time.perf_counter() - t < 3.0
    assert prob.objective(*free) <= prob.objective(U2, V2) < start  # it stopped early, still gaining


def test_round_sdp_stable_step_and_time_limit():
    rng = np.random.default_rng(33)
    n, d, c = 40, 3, 2
    prob = TrainingProblem(rng.standard_normal((n, d)), rng.standard_normal((n, c)), 0.05)
    Lam = lift(prob.X, rng.standard_normal((d, 4)), rng.standard_normal((c, 4))) + 0.01 * np.eye(2 * n + d + c)
    lam_max = np.linalg.eigvalsh(Lam)[-1]  # independent of the code under test
    a = round_sdp(Lam, prob, width=15, iterations=40, polish_rounds=1, lbfgs_iter=20, step="stable")
    b = round_sdp(Lam, prob, width=15, iterations=40, polish_rounds=1, lbfgs_iter=20, step=0.25 / lam_max)
    assert a[0].diagnostics["step"] == pytest.approx(0.25 / lam_max, rel=1e-12)
    for ra, rb in zip(a, b):
        assert ra.objective == pytest.approx(rb.objective, rel=1e-9)
    t = time.perf_counter()
    cut = round_sdp(Lam, prob, width=15, iterations=10**7, polish_rounds=50, lbfgs_iter=10**5, step="stable",
                    time_limit=1.0)
    assert time.perf_counter() - t < 6.0
    assert [r.name for r in cut] == list(CANDIDATES) and cut[0].diagnostics["stopped"] == "time_limit"
    _check_candidates(cut, prob)
    with pytest.raises(ParameterError, match="stable"):
        round_sdp(Lam, prob, width=5, iterations=2, step="fast")


def test_round_sdp_validation():
    rng = np.random.default_rng(24)
    prob = TrainingProblem(rng.standard_normal((4, 2)), rng.standard_normal((4, 1)), 0.1)
    Lam = np.eye(2 * 4 + 2 + 1)
    with pytest.raises(ParameterError):
        round_sdp(Lam, "not a problem")
    with pytest.raises(ParameterError):
        round_sdp(Lam, prob, data_scale=0.0)
    with pytest.raises(DataError):
        round_sdp(Lam, prob, X_lifted=np.ones((4, 3)))


def test_round_sdp_reports_progress_without_changing_its_result():
    rng = np.random.default_rng(34)
    n, d, c = 20, 3, 2
    prob = TrainingProblem(rng.standard_normal((n, d)), rng.standard_normal((n, c)), 0.05)
    Lam = lift(prob.X, rng.standard_normal((d, 4)), rng.standard_normal((c, 4))) + 0.01 * np.eye(2 * n + d + c)
    kw = dict(width=10, iterations=40, polish_rounds=2, lbfgs_iter=15, step="stable")
    records = []
    with_progress = round_sdp(Lam, prob, progress=records.append, **kw)
    plain = round_sdp(Lam, prob, **kw)
    for a, b in zip(with_progress, plain):
        assert a.objective == b.objective
        np.testing.assert_array_equal(a.network.U, b.network.U)
    assert [r["iteration"] for r in records if r["candidate"] == "tos"] == [10, 20, 30, 40]
    for name, res in (("tos+polish", with_progress[2]), ("eig+refit+polish", with_progress[3])):
        steps = [r for r in records if r["candidate"] == name]
        assert steps and all("value" in r for r in steps)
        # the values are those of L-BFGS iterates (objectives on the same problem), and the
        # candidate is the best point the polish saw
        assert res.objective <= min(r["value"] for r in steps) * (1 + 1e-12)
    assert {r["candidate"] for r in records} == {"tos", "tos+polish", "eig+refit+polish"}
