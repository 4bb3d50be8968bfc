"""Tests of the CVXPY reference back-end of SDP-NN (convexnn.sdp.reference), small instances only."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("cvxpy")

import convexnn._validation as validation  # noqa: E402
from convexnn.errors import MemoryEstimateError, ParameterError, SolverUnavailableError  # noqa: E402
from convexnn.lifting import cp_residuals, lift  # noqa: E402
from convexnn.problem import TrainingProblem  # noqa: E402
from convexnn.sdp.formulation import SDPFormulation  # noqa: E402
from convexnn.sdp.reference import (  # noqa: E402
    check_memory_cvxpy,
    memory_estimate_cvxpy,
    solve_cvxpy,
)


def _instance(seed, n, d, c, reg=0.1, bias=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if bias:
        X = np.hstack([X, np.ones((n, 1))])
    Y = rng.standard_normal((n, c))
    return X, Y, reg


INSTANCES = [  # (seed, n, d, c, reg, bias)
    (0, 10, 3, 2, 0.1, False),
    (1, 8, 2, 1, 0.05, False),
    (2, 12, 2, 2, 0.2, True),
]

_cache: dict = {}


def _clarabel(args):
    """Clarabel on the reduced form, cached per instance (the tests share it)."""
    if args not in _cache:
        form = SDPFormulation(*_instance(*args[:5], bias=args[5]), bias=args[5])
        _cache[args] = (form, solve_cvxpy(form, solver="clarabel", reduced=True))
    return _cache[args]


# -- conventions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args", INSTANCES)
def test_dual_sign_conventions(args):
    """At Clarabel's solution, (Γ, y, W) read from CVXPY's duals are dual feasible (Nᵀ D N ⪰ 0,
    W ≥ 0) and the dual objective −½‖Γ‖² − ⟨Γ, Y⟩ + const equals the primal value."""
    form, res = _clarabel(args)
    assert res.status == "optimal"
    G, y, W = res.solution["Gamma"], res.solution["y"], res.solution["W"]
    assert G.shape == (form.n, form.c) and y.shape == (form.n,) and W.shape == (2 * form.n,) * 2
    assert W.min() >= -1e-9
    N = form.N
    S = N.T @ form.dual_matrix(G, y, W) @ N
    lam = np.linalg.eigvalsh(0.5 * (S + S.T))
    assert lam[0] >= -1e-7 * max(1.0, abs(lam[-1]))
    # flipping either sign convention breaks dual feasibility badly
    for yy, WW in [(-y, W), (y, -W)]:
        S_bad = N.T @ form.dual_matrix(G, yy, WW) @ N
        assert np.linalg.eigvalsh(0.5 * (S_bad + S_bad.T))[0] < -1e-3
    assert form.dual_objective(G) == pytest.approx(res.value, rel=1e-6, abs=1e-8)
    # Γ is the residual Λ_αv − Y and Λ is feasible
    Lam = res.solution["Lambda"]
    B = form.blocks
    np.testing.assert_allclose(G, Lam[B.a, B.v] - form.Y)
    r = cp_residuals(Lam, form.X, B)
    scale = max(1.0, float(np.abs(Lam).max()))
    assert r["face"] <= 1e-8 * scale
    assert r["complementarity"] <= 1e-6 * scale
    assert r["relu_negativity"] <= 1e-6 * scale
    assert r["psd"] <= 1e-6 * scale


@pytest.mark.parametrize("args", INSTANCES)
def test_clarabel_duals_give_tight_certificate(args):
    form, res = _clarabel(args)
    assert res.method == "sdp-cvxpy-clarabel-reduced"
    assert res.info["form"] == "reduced"
    assert res.info["solver_value"] == pytest.approx(res.value, rel=1e-6)
    assert res.lower_bound <= res.value + 1e-6
    assert (res.value - res.lower_bound) / abs(res.value) <= 1e-4
    assert res.iterations > 0 and res.time_s > 0


def test_structured_and_orthonormal_basis_agree():
    form, res = _clarabel(INSTANCES[0])
    res_n = solve_cvxpy(form, solver="clarabel", basis="orthonormal")
    assert res_n.status == "optimal"
    assert res_n.value == pytest.approx(res.value, rel=1e-5)
    assert res_n.lower_bound <= res.value + 1e-6


# -- SCS on the paper form -----------------------------------------------------------------------
@pytest.mark.parametrize("args", INSTANCES[:2])
def test_scs_paper_form_agrees_with_clarabel_reduced(args):
    form, ref = _clarabel(args)
    res = solve_cvxpy(form, solver="scs", reduced=False, eps=1e-4)
    assert res.method == "sdp-cvxpy-scs-paper"
    assert res.info["form"] == "paper"
    assert res.status in ("optimal", "inaccurate")
    # SCS at eps 1e-4 is only a few per cent accurate on these problems
    assert res.value == pytest.approx(ref.value, rel=5e-2)
    # its certified bound is valid whatever its accuracy: below L_SDP (≈ Clarabel's value)
    assert res.lower_bound <= ref.value + 1e-6
    assert res.lower_bound >= form.constant
    # tighter SCS approaches Clarabel's value (slowly on the paper form: it has no Slater point)
    tight = solve_cvxpy(form, solver="scs", reduced=False, eps=1e-5)
    assert tight.value == pytest.approx(ref.value, rel=5e-3)
    assert tight.lower_bound <= ref.value + 1e-6
    assert tight.lower_bound == pytest.approx(ref.value, rel=5e-3)
    # on the facially reduced form SCS is fast and accurate
    red = solve_cvxpy(form, solver="scs", reduced=True, eps=1e-6)
    assert red.method == "sdp-cvxpy-scs-reduced"
    assert red.value == pytest.approx(ref.value, rel=1e-4)
    assert red.lower_bound <= ref.value + 1e-6
    assert red.lower_bound == pytest.approx(ref.value, rel=1e-4)


def test_scs_paper_trace_constraints():
    form, ref = _clarabel(INSTANCES[1])
    res = solve_cvxpy(form, solver="scs", reduced=False, paper_constraints="trace", eps=1e-5)
    assert res.info["paper_constraints"] == "trace"
    assert res.value == pytest.approx(ref.value, rel=2e-2)
    assert res.lower_bound <= ref.value + 1e-6


# -- lifted networks: L_SDP ≤ NN-TRAIN objective of every network -------------------------------
@pytest.mark.parametrize("args", INSTANCES)
def test_lifted_networks_are_above_the_relaxation(args):
    form, res = _clarabel(args)
    X, Y, reg = _instance(*args[:5], bias=args[5])
    if args[5]:
        prob = TrainingProblem(X, Y, reg, bias=True)
    else:
        prob = TrainingProblem(X, Y, reg)
    assert form.reduction.n_reduced == form.reduction.n_original  # generic data: nothing merged
    rng = np.random.default_rng(100 + args[0])
    for m in (1, 2, 3, 5, 8):
        for scale in (0.3, 1.0):
            U = scale * rng.standard_normal((prob.d, m))
            V = scale * rng.standard_normal((prob.c, m))
            val = prob.objective(U, V)
            assert form.objective(lift(form.X, U, V)) == pytest.approx(val, rel=1e-12, abs=1e-12)
            assert res.value <= val + 1e-6
            assert res.lower_bound <= val  # the certified bound is rigorous


def test_lifted_networks_with_merged_rows():
    """Duplicate and positively parallel rows are merged; lifting on the reduced data plus the
    constant still reproduces the NN-TRAIN objective on the original data."""
    rng = np.random.default_rng(7)
    X0 = rng.standard_normal((7, 2))
    X = np.vstack([X0, X0[0], 2.5 * X0[1], np.zeros(2)])
    Y = rng.standard_normal((X.shape[0], 2))
    form = SDPFormulation(X, Y, 0.1)
    assert form.n == 7 and form.constant > 0
    prob = TrainingProblem(X, Y, 0.1)
    res = solve_cvxpy(form)
    assert res.status in ("optimal", "inaccurate")
    assert res.lower_bound <= res.value + 1e-6
    for m in (1, 3, 6):
        U = rng.standard_normal((2, m))
        V = rng.standard_normal((2, m))
        val = prob.objective(U, V)
        assert form.objective(lift(form.X, U, V)) == pytest.approx(val, rel=1e-10)
        assert res.value <= val + 1e-6
        assert res.lower_bound <= val


# -- status and failure handling -----------------------------------------------------------------
def test_iteration_limit_still_certifies():
    form, ref = _clarabel(INSTANCES[0])
    res = solve_cvxpy(form, solver="scs", reduced=False, eps=1e-9, max_iters=20)
    assert res.status == "max_iter"
    assert res.iterations == 20
    assert res.value is not None
    assert res.lower_bound <= ref.value + 1e-6


@pytest.mark.parametrize("solver", ["scs", "clarabel"])
def test_solve_sdp_max_iter_reaches_the_cvxpy_back_ends(solver):
    # solve_sdp's max_iter used to be dropped on the way to the reference solvers (both ran to
    # their own caps); it now caps them, and the bound of the early stop is still certified
    from convexnn.sdp import solve_sdp

    form, ref = _clarabel(INSTANCES[0])
    res = solve_sdp(form.X, form.Y, form.reg, solver=solver, max_iter=3)
    assert res.status == "max_iter"
    assert res.iterations == 3
    assert res.lower_bound <= ref.value + 1e-6


def test_solver_exception_gives_failed_with_trivial_bound():
    form, ref = _clarabel(INSTANCES[1])
    res = solve_cvxpy(form, solver="clarabel", solver_options={"no_such_setting": 1})
    assert res.status == "failed"
    assert res.value is None
    assert "error" in res.info
    trivial = form.certify(np.zeros((form.n, form.c)), np.zeros(form.n), None).bound
    assert res.lower_bound == pytest.approx(trivial)
    assert res.lower_bound <= ref.value


def test_clarabel_on_paper_form_never_overclaims():
    """Without a Slater point Clarabel may fail; whatever happens the bound stays valid."""
    form, ref = _clarabel(INSTANCES[1])
    res = solve_cvxpy(form, solver="clarabel", reduced=False)
    assert res.status in ("optimal", "inaccurate", "max_iter", "failed")
    assert res.lower_bound <= ref.value + 1e-6
    if res.status == "failed":
        assert res.value is None


def test_all_zero_rows():
    X = np.zeros((4, 2))
    Y = np.arange(8.0).reshape(4, 2)
    form = SDPFormulation(X, Y, 0.1)
    res = solve_cvxpy(form)
    assert res.status == "optimal"
    assert res.value == res.lower_bound == pytest.approx(0.5 * float(np.sum(Y**2)))


def test_bad_arguments():
    form, _ = _clarabel(INSTANCES[1])
    with pytest.raises(ParameterError):
        solve_cvxpy(form, solver="mosek")
    with pytest.raises(ParameterError):
        solve_cvxpy(form, basis="qr")
    with pytest.raises(ParameterError):
        solve_cvxpy(form, reduced=False, paper_constraints="sum")


def test_missing_cvxpy_raises_solver_unavailable(monkeypatch):
    form, _ = _clarabel(INSTANCES[1])
    monkeypatch.setitem(sys.modules, "cvxpy", None)  # makes `import cvxpy` raise ImportError
    with pytest.raises(SolverUnavailableError, match=r'pip install "convexnn\[cvxpy\]"'):
        solve_cvxpy(form)


# -- memory guard --------------------------------------------------------------------------------
def test_memory_estimate_grows_like_q_to_the_fourth():
    rng = np.random.default_rng(0)

    def form_of(n, d=4, c=3):
        return SDPFormulation(rng.standard_normal((n, d)), rng.standard_normal((n, c)), 0.1)

    f1, f2 = form_of(60), form_of(120)
    m1 = memory_estimate_cvxpy(f1, solver="clarabel")
    m2 = memory_estimate_cvxpy(f2, solver="clarabel")
    assert 10 < m2 / m1 < 20  # ≈ (127/67)⁴ ≈ 12.9
    # SPEC §3.1: about 3.9 GB at q ≈ 127
    assert 2e9 < m2 < 8e9
    # the paper form (PSD size p) is much heavier for Clarabel; SCS is light
    assert memory_estimate_cvxpy(f1, solver="clarabel", reduced=False) > 10 * m1
    assert memory_estimate_cvxpy(f2, solver="scs", reduced=False) < 0.1 * m2


def test_the_memory_estimate_counts_the_constraint_matrix_cvxpy_builds():
    """The SCS estimate scales the non-zeros of CVXPY's conic constraint matrix. Counted from the
    structure (the paper form: n² face rows of (2 + d)² entries each; the reduced form: 1, 1 + d or
    (1 + d)² entries of S per ReLU entry), it must not undercount the matrix CVXPY actually builds,
    nor overcount it by more than 2×. Both forms used to be counted as 4n²(1 + d)², which
    refused Ionosphere's paper form (d = 34: 28 GiB estimated, 4.95 GiB measured)."""
    import cvxpy as cp

    from convexnn.sdp.reference import _build_paper, _build_reduced, _constraint_nonzeros

    rng = np.random.default_rng(5)
    for n, d in ((12, 2), (12, 10), (20, 6), (30, 3)):
        form = SDPFormulation(rng.standard_normal((n, d)), rng.standard_normal((n, 2)), 0.1)
        for reduced in (False, True):
            model = _build_reduced(cp, form, "structured") if reduced else _build_paper(cp, form, "full")
            data, _, _ = model.problem.get_problem_data(cp.SCS)
            ratio = _constraint_nonzeros(form, reduced) / data["A"].nnz
            assert 1.0 <= ratio <= 2.0, (n, d, reduced, ratio)
    # Ionosphere's shape (n = 175, d = 34, c = 1): the paper form now fits in 23 GiB
    form = SDPFormulation(rng.standard_normal((175, 34)), rng.standard_normal((175, 1)), 0.1)
    est = memory_estimate_cvxpy(form, solver="scs", reduced=False)
    assert 4.95 * 1024**3 < est < 12 * 1024**3


def test_memory_guard_raises_before_solving(monkeypatch):
    rng = np.random.default_rng(0)
    form = SDPFormulation(rng.standard_normal((120, 4)), rng.standard_normal((120, 3)), 0.1)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 1024**3)  # 1 GiB
    with pytest.raises(MemoryEstimateError, match="GiB"):
        check_memory_cvxpy(form, solver="clarabel")
    with pytest.raises(MemoryEstimateError, match="scs"):
        solve_cvxpy(form, solver="clarabel")  # raises before building the model
    check_memory_cvxpy(form, solver="scs", reduced=False)  # SCS fits
