"""The native interior-point solver (`sdp/ipm.py`), checked against Clarabel, gradient training
and a brute-force construction of its Newton matrix."""

from __future__ import annotations

import numpy as np
import pytest

from convexnn.datasets import prepare
from convexnn.problem import TrainingProblem
from convexnn.sdp import SDPFormulation, solve_sdp
from convexnn.sdp.ipm import _SvecSDP
from test_sdp import _trained_objective


def test_skron_matches_the_operator_applied_to_every_basis_matrix():
    rng = np.random.default_rng(7)
    form = SDPFormulation(rng.standard_normal((4, 2)), rng.standard_normal((4, 1)), 0.1)
    P = _SvecSDP(form)
    q = P.q
    A, B = rng.standard_normal((q, q)), rng.standard_normal((q, q))
    Pm, Zm = A @ A.T + np.eye(q), B + B.T
    K = P.skron(Pm, Zm)
    # column k is svec(½(P H Z + Z H P)) for H = mat(e_k): built matrix by matrix, no index tricks
    cols = []
    for k in range(P.N):
        e = np.zeros(P.N)
        e[k] = 1.0
        H = P.mat(e)
        cols.append(P.vec(0.5 * (Pm @ H @ Zm + Zm @ H @ Pm)))
    np.testing.assert_allclose(K, np.column_stack(cols), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reg", [0.1, 0.01])
def test_ipm_certifies_the_bundled_random_set_to_tolerance(reg):
    pytest.importorskip("clarabel")
    ds = prepare("random:0")
    X, Y = ds.X_train, ds.Y_train
    res = solve_sdp(X, Y, reg, solver="ipm", tol=1e-5)
    assert res.status == "optimal"
    assert res.lower_bound <= res.value
    assert (res.value - res.lower_bound) / res.value <= 1e-5
    assert res.info["data_scale"] == 2.0  # rms row norm of the standard-normal rows, d = 2
    ref = solve_sdp(X, Y, reg, solver="clarabel")
    # same optimum as Clarabel's solver value, and a certificate at least as tight as Clarabel's
    assert abs(res.value - ref.info["solver_value"]) / res.value <= 1e-4
    assert res.lower_bound >= ref.lower_bound * (1 - 1e-6)
    # an independent upper bound: networks trained by gradient descent with backtracking
    problem = TrainingProblem(X, Y, reg)
    rng = np.random.default_rng(0)
    best = min(_trained_objective(problem, rng, width=8) for _ in range(3))
    assert np.isfinite(best)
    assert res.lower_bound <= best


@pytest.mark.parametrize("seed, bias, c", [(0, False, 2), (1, True, 2), (2, False, 1), (3, True, 3)])
def test_ipm_certified_bound_agrees_with_clarabel(seed, bias, c):
    pytest.importorskip("clarabel")
    rng = np.random.default_rng(300 + seed)
    X = rng.standard_normal((7, 2))
    if bias:
        X = np.column_stack([X, np.ones(7)])
    Y = rng.standard_normal((7, c))
    ref = solve_sdp(X, Y, 0.1, bias=bias, solver="clarabel").info["solver_value"]
    res = solve_sdp(X, Y, 0.1, bias=bias, solver="ipm", tol=1e-5)
    assert res.status == "optimal"
    assert res.lower_bound <= ref * (1 + 1e-6)
    assert (ref - res.lower_bound) / ref <= 1e-4
    assert res.lower_bound <= res.value


def test_ipm_network_factors_are_in_the_original_scale():
    """U/V factors undo the power-of-two data scaling: their lifted regulariser is the SDP's."""
    rng = np.random.default_rng(5)
    X, Y = 8.0 * rng.standard_normal((9, 3)), rng.standard_normal((9, 2))
    res = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    assert res.info["data_scale"] == 16.0
    U, V = res.solution["U_factor"], res.solution["V_factor"]
    # at the optimum the objective is ½‖Λ_αv − Y‖² + (γ/2)(‖U‖² + ‖V‖²) with Λ_αv of the scaled
    # problem equal to the original one; reading the regulariser off the factors must agree
    form = res.solution["formulation"]
    F = res.solution["factor"]
    B = form.blocks
    fit = 0.5 * float(np.sum((F[B.a] @ F[B.v].T - form.Y) ** 2)) + form.constant
    reg_term = 0.05 * (float(np.sum(U**2)) + float(np.sum(V**2)))
    np.testing.assert_allclose(fit + reg_term, res.value, rtol=1e-8)
