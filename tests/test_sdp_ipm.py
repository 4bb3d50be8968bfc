"""The native interior-point solver (`sdp/ipm.py`), checked against Clarabel, gradient training
and a brute-force construction of its Newton matrix."""

from __future__ import annotations

import numpy as np
import pytest

from convexnn.datasets import prepare
from convexnn.problem import TrainingProblem
from convexnn.sdp import SDPFormulation, solve_sdp
from convexnn.sdp.ipm import _factor_in_place, _SvecSDP
from _faults import fails_from
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
    # the half the solver builds holds the lower triangle of the same matrix, its in-place
    # Cholesky factor U satisfies UᵀU = K, and the matrix-free product of the refinement is K v
    K_low = P.skron(Pm, Zm, lower=True)
    np.testing.assert_allclose(np.tril(K_low), np.tril(np.column_stack(cols)), rtol=1e-12, atol=1e-12)
    v = rng.standard_normal(P.N)
    np.testing.assert_allclose(P.skron_apply(Pm, Zm, v), np.column_stack(cols) @ v, rtol=1e-12, atol=1e-12)
    # filled into a given buffer by several threads (parts of equal work): every entry of the
    # triangle written, the same values (NaN marks an entry no thread wrote)
    for lower, part in ((False, lambda A: A), (True, np.tril)):
        for threads in (2, 3, q + 5):
            buf = np.full((P.N, P.N), np.nan)
            out = P.skron(Pm, Zm, lower=lower, out=buf, threads=threads)
            assert out is buf and not np.isnan(part(buf)).any()
            np.testing.assert_allclose(part(buf), part(np.column_stack(cols)), rtol=1e-12, atol=1e-12)
    B2 = rng.standard_normal((q, q))
    # with P, Z ≻ 0, ⟨H, K H⟩ = ‖P^½ H Z^½‖² > 0: K ≻ 0 and has a Cholesky factor
    K_pd = P.skron(Pm, B2 @ B2.T + np.eye(q), lower=True)
    full = np.tril(K_pd) + np.tril(K_pd, -1).T
    U = _factor_in_place(K_pd)
    assert np.shares_memory(U, K_pd)  # no copy of the N×N matrix
    np.testing.assert_allclose(np.triu(U).T @ np.triu(U), full, rtol=1e-10, atol=1e-10)


def test_gram_update_matches_the_dense_product_on_the_lower_triangle():
    """The inequality part Gᵀ diag(d) G of the Newton matrix, added in place from its
    precomputed pattern, equals the dense product on the lower triangle the factorisation reads."""
    rng = np.random.default_rng(9)
    form = SDPFormulation(rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), 0.1)
    P = _SvecSDP(form)
    d = rng.uniform(0.1, 10.0, P.m)
    M = np.zeros((P.N, P.N))
    P.add_gram(M, d)
    dense = P.G.toarray().T @ (d[:, None] * P.G.toarray())
    np.testing.assert_allclose(np.tril(M), np.tril(dense), rtol=1e-13, atol=1e-13)
    assert not np.any(np.triu(M, 1))  # nothing written above the diagonal


@pytest.mark.parametrize("n, d, bias", [(2, 1, False), (5, 3, True), (9, 2, False)])
def test_constraint_rows_are_the_relu_block_entries_of_T_S_Tt(n, d, bias):
    """G svec(S) lists Λ_ab (a < b, off the αβ diagonal) of Λ = T S Tᵀ at its ``ineq_pairs``, once
    each, and H svec(S) is diag Λ_αβ, for a random symmetric S — Λ formed densely from the
    formulation's structured basis, independently of the vectorised construction."""
    rng = np.random.default_rng(n + 10 * d)
    form = SDPFormulation(rng.standard_normal((n, d)), rng.standard_normal((n, 2)), 0.1, bias=bias)
    P = _SvecSDP(form)
    nn = form.n
    A = rng.standard_normal((P.q, P.q))
    S = A + A.T
    Lam = form.structured_basis() @ S @ form.structured_basis().T
    x = P.vec(S)
    a, b = P.ineq_pairs[:, 0], P.ineq_pairs[:, 1]
    np.testing.assert_allclose(P.G @ x, Lam[a, b], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(P.H @ x, Lam[np.arange(nn), nn + np.arange(nn)], rtol=1e-12, atol=1e-12)
    # every upper-triangle entry of the 2n×2n ReLU block except the αβ diagonal, exactly once
    expected = {(i, j) for i in range(2 * nn) for j in range(i + 1, 2 * nn) if j != i + nn}
    assert P.m == len(expected) == 2 * nn * (nn - 1)
    assert set(zip(a.tolist(), b.tolist())) == expected


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
    # the value is that of the last, slightly infeasible iterate: it may lie below the optimum,
    # by at most the recorded slack error, which the stopping test keeps within tol
    slack = res.history[-1]["slack_error"]
    assert slack <= 1e-5 * abs(res.value)
    assert res.lower_bound <= res.value + slack


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


# --------------------------------------------------------------------------- solver="auto"
def _small(rng, n=12, d=2, c=1):
    return rng.standard_normal((n, d)), rng.standard_normal((n, c))


def test_auto_takes_the_interior_point_on_small_problems_and_matches_the_admm():
    """Default solver on q = 15: the interior point, to tol; its value plus its recorded slack
    error is ≥ the ADMM's certified bound (≤ the optimum) and its bound within 1e-4 of it; both
    are ≤ trained networks."""
    rng = np.random.default_rng(31)
    X, Y = _small(rng)
    auto = solve_sdp(X, Y, 0.1, tol=1e-5)
    assert auto.method == "sdp-ipm" and auto.info["auto"] == "ipm (q = 15 ≤ 90)"
    assert auto.status == "optimal" and abs(auto.gap) <= 1e-5
    admm = solve_sdp(X, Y, 0.1, solver="native", tol=1e-5, time_limit=30)
    # the interior point's value is that of a slightly infeasible point, so it may lie below the
    # optimum, but by no more than the slack error it records (≤ tol·|value| when it stops)
    final = auto.history[-1]
    assert final["slack_error"] <= 1e-5 * abs(auto.value)
    assert auto.value + final["slack_error"] >= admm.lower_bound * (1 - 1e-9)
    assert auto.lower_bound == pytest.approx(admm.lower_bound, rel=1e-4)
    problem = TrainingProblem(X, Y, 0.1)
    assert auto.lower_bound <= _trained_objective(problem, rng) + 1e-9


def test_ipm_refuses_a_step_fraction_outside_the_open_unit_interval():
    rng = np.random.default_rng(33)
    X, Y = _small(rng)
    from convexnn.errors import ParameterError

    for bad in (0.0, 1.0, 1.5, -0.1, float("nan"), "0.9", True, None):
        with pytest.raises(ParameterError, match="step_fraction"):
            solve_sdp(X, Y, 0.1, solver="ipm", step_fraction=bad)
    for name in ("refine", "predictor_refine"):
        for bad in (-1, 1.5, "2", True, None):
            with pytest.raises(ParameterError, match=name):
                solve_sdp(X, Y, 0.1, solver="ipm", **{name: bad})
    for bad in (0.0, -1.0, float("inf"), float("nan"), "4", True, None):
        with pytest.raises(ParameterError, match="sigma_power"):
            solve_sdp(X, Y, 0.1, solver="ipm", sigma_power=bad)


def test_auto_takes_the_admm_for_large_q_options_and_admm_warm_starts(monkeypatch):
    import convexnn.sdp as sdp_mod

    rng = np.random.default_rng(32)
    X, Y = _small(rng, n=100)
    # above q = 90 the choice between ipm-active and the ADMM is tested in test_sdp_active_ipm.py;
    # here the 200 equality and loss rows alone exceed the (lowered) limit of ipm-active
    monkeypatch.setattr(sdp_mod, "AUTO_ACTIVE_MAX_ROWS", 150)
    big = solve_sdp(X, Y, 0.1, max_iter=30)
    assert big.method == "sdp-admm" and big.info["auto"] == (
        "native (100 distinct rows, so q > 90; the n·(c + 1) = 200 equality and loss rows alone "
        "exceed ipm-active's 150)")
    X, Y = _small(rng)
    with_options = solve_sdp(X, Y, 0.1, max_iter=40, check_every=10)
    assert with_options.method == "sdp-admm" and "check_every" in with_options.info["auto"]
    warm = solve_sdp(X, Y, 0.1, max_iter=40, warm_start=with_options)
    assert warm.method == "sdp-admm" and "warm start" in warm.info["auto"]
    # an interior-point result carries no ADMM state: no reason to leave the interior point
    ipm = solve_sdp(X, Y, 0.1, solver="ipm")
    assert solve_sdp(X, Y, 0.1, warm_start=ipm).method == "sdp-ipm"
    # duplicates are merged before q is measured: 120 rows, 10 distinct → the interior point
    Xd, Yd = np.tile(X[:10], (12, 1)), np.tile(Y[:10], (12, 1))
    assert solve_sdp(Xd, Yd, 0.1).method == "sdp-ipm"


def test_auto_leaves_an_interior_point_that_would_overrun_the_time_limit(monkeypatch):
    """With a time limit the interior point's run is projected from its second iteration; when it
    does not fit (forced here by projecting 10⁹ iterations) the ADMM gets the rest of the time and
    the whole solve still honours the limit with a valid bound."""
    import convexnn.sdp as sdp_mod

    monkeypatch.setattr(sdp_mod, "AUTO_IPM_ITERATIONS", 10**9)
    rng = np.random.default_rng(33)
    X, Y = _small(rng, n=30, d=3, c=2)
    res = solve_sdp(X, Y, 0.1, tol=1e-9, time_limit=1.5)
    assert res.method == "sdp-admm" and "projected" in res.info["auto"]
    assert res.status == "time_limit" and res.time_s <= 1.5 + 0.5
    problem = TrainingProblem(X, Y, 0.1)
    assert res.lower_bound <= _trained_objective(problem, rng) + 1e-9
    # without a time limit nothing is projected
    assert solve_sdp(X, Y, 0.1, tol=1e-4).method == "sdp-ipm"


def test_closest_rows_matches_brute_force_in_original_indices():
    """Planted nearly parallel and antiparallel pairs are found (in blocks smaller than n, too)
    and reported by original row index; exact duplicates are merged first, so they are not."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((12, 3))
    X[3] = 0.0                                     # a zero row: removed
    X[7] = 2.0 * X[1]                              # an exact multiple: merged with row 1
    X[9] = 0.5 * X[4] + 1e-6 * rng.standard_normal(3)   # nearly parallel
    X[10] = -3.0 * X[6] + 1e-5 * rng.standard_normal(3)  # nearly antiparallel
    Y = rng.standard_normal((12, 1))
    form = SDPFormulation(X, Y, 0.1)
    kept = [g[0] for g in form.reduction.groups]
    U = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    brute = {"parallel": (np.inf, -1, -1), "antiparallel": (np.inf, -1, -1)}
    for a, i in enumerate(kept):
        for j in kept[a + 1:]:
            cos = float(U[i] @ U[j])
            for key, v in (("parallel", 1.0 - cos), ("antiparallel", 1.0 + cos)):
                if v < brute[key][0]:
                    brute[key] = (v, i, j)
    assert brute["parallel"][1:] == (4, 9) and brute["antiparallel"][1:] == (6, 10)
    for block in (1024, 3):
        got = form.closest_rows(block=block)
        for key in ("parallel", "antiparallel"):
            assert got[key][1:] == brute[key][1:]
            assert got[key][0] == pytest.approx(brute[key][0], rel=1e-6, abs=1e-15)
    assert SDPFormulation(X[:1], Y[:1], 0.1).closest_rows() == {}


def test_stall_hint_names_the_nearly_parallel_pair_only_when_there_is_one():
    from convexnn.sdp.ipm import NEARLY_PARALLEL, _stall_hint

    hint = _stall_hint({"parallel": (4.4e-9, 19, 49), "antiparallel": (1.8e-6, 3, 17)})
    assert "rows 19 and 49 of the data are nearly parallel" in hint and "4.4e-09" in hint
    hint = _stall_hint({"parallel": (0.3, 1, 2), "antiparallel": (0.1 * NEARLY_PARALLEL, 0, 5)})
    assert "rows 0 and 5 of the data are nearly antiparallel (1 + cos" in hint
    generic = _stall_hint({"parallel": (0.3, 1, 2), "antiparallel": (0.2, 0, 5)})
    assert "rows" not in generic and "certified" in generic
    assert "rows" not in _stall_hint({})


def test_ipm_reports_the_closest_rows_of_its_data():
    """A planted nearly parallel pair is the one reported, by the caller's row indices."""
    rng = np.random.default_rng(8)
    X, Y = _small(rng)
    X[7] = 2.0 * X[3] + 1e-7 * rng.standard_normal(2)
    res = solve_sdp(X, Y, 0.1, solver="ipm")
    v, i, j = res.info["closest_rows"]["parallel"]
    assert (i, j) == (3, 7) and 0.0 <= v < 1e-12
    assert ("stall_hint" in res.info) == (res.status == "stalled")


def test_a_failed_factorisation_is_retried_on_a_rebuilt_shifted_matrix(monkeypatch):
    """The factorisation overwrites the Newton matrix, so after a failure the solver must rebuild
    it (and shift its diagonal) rather than retry on the remains: it still reaches tolerance."""
    import convexnn.sdp.ipm as ipm

    rng = np.random.default_rng(12)
    X, Y = _small(rng)
    reference = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-5)
    real = ipm._factor_in_place
    calls = {"n": 0}

    def flaky(M, work=None):
        calls["n"] += 1
        if calls["n"] in (3, 7):  # ruin the matrix the way a failed in-place factorisation does
            M[:] = np.nan
            raise np.linalg.LinAlgError("not positive definite")
        return real(M, work=work)

    monkeypatch.setattr(ipm, "_factor_in_place", flaky)
    res = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-5)
    assert calls["n"] >= 9 and res.status == "optimal"
    assert res.lower_bound == pytest.approx(reference.lower_bound, rel=1e-5)


def test_a_factorisation_that_fails_twice_ends_the_solve_with_its_bound(monkeypatch):
    """When the rebuilt, shifted Newton matrix cannot be factored either, or another
    linear-algebra routine fails, the solve stops as 'stalled' with a hint that says so and the
    bound certified so far (below the optimum), instead of raising and losing it."""
    import convexnn.sdp.ipm as ipm

    rng = np.random.default_rng(12)
    X, Y = _small(rng)
    reference = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-5)
    real = ipm._factor_in_place
    failing = fails_from(real, 9, ruin=True)
    monkeypatch.setattr(ipm, "_factor_in_place", failing)
    res = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-5)
    assert res.status == "stalled" and res.iterations == 8 and failing.calls == 10
    assert "could not be factored" in res.info["stall_hint"]
    assert np.isfinite(res.lower_bound) and res.lower_bound <= reference.value * (1 + 1e-5)
    assert res.lower_bound > 0.5 * reference.lower_bound

    # any other linear-algebra error in an iteration (here S⁻¹ at the 10th) ends it the same way
    monkeypatch.setattr(ipm, "_factor_in_place", real)
    monkeypatch.setattr(ipm.np.linalg, "inv", fails_from(np.linalg.inv, 10))
    res = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-5)
    assert res.status == "stalled" and res.iterations == 9 and "broke down" in res.info["stall_hint"]
    assert 0.5 * reference.lower_bound < res.lower_bound <= reference.value * (1 + 1e-5)


def test_memory_estimate_refuses_the_interior_point_and_auto_takes_the_admm(monkeypatch):
    """Below its estimate (IPM_MEMORY_FACTOR Newton matrices) solver='ipm' refuses with the size
    in the message; 'auto', which wants twice the estimate free, says why it ran the ADMM
    instead; above that both take the interior point."""
    from convexnn import _validation
    from convexnn.errors import MemoryEstimateError
    from convexnn.sdp.ipm import IPM_MEMORY_FACTOR

    rng = np.random.default_rng(4)
    X, Y = _small(rng)
    q = SDPFormulation(X, Y, 0.1).q
    need = IPM_MEMORY_FACTOR * 8.0 * (q * (q + 1) // 2) ** 2
    monkeypatch.setattr(_validation, "available_memory_bytes", lambda: need / 0.8 * 0.99)
    with pytest.raises(MemoryEstimateError, match=f"q = {q}"):
        solve_sdp(X, Y, 0.1, solver="ipm")
    # 'auto' keeps half the memory free: between the two thresholds it takes the ADMM
    monkeypatch.setattr(_validation, "available_memory_bytes", lambda: 1.9 * need)
    assert solve_sdp(X, Y, 0.1, solver="ipm").status == "optimal"
    res = solve_sdp(X, Y, 0.1, time_limit=20)
    assert res.method != "sdp-ipm" and "memory" in res.info["auto"]
    monkeypatch.setattr(_validation, "available_memory_bytes", lambda: 2.02 * need)
    assert solve_sdp(X, Y, 0.1, solver="ipm").status == "optimal"
    assert solve_sdp(X, Y, 0.1).method == "sdp-ipm"


def test_inequality_pattern_memory_is_estimated_before_it_is_built(monkeypatch):
    """With many features the pairs of nonzeros of G's rows need more memory than the Newton
    matrix (Ionosphere, d = 34: 6.7e9 pairs): the interior point refuses before allocating,
    naming the pattern and the solvers that avoid it. The count is Σ_rows nnz², checked here
    against the rows of G themselves."""
    from convexnn import _validation
    from convexnn.errors import MemoryEstimateError
    from convexnn.sdp import ipm

    rng = np.random.default_rng(5)
    X, Y = _small(rng, n=12, d=3, c=1)
    P = _SvecSDP(SDPFormulation(X, Y, 0.1))
    pairs = sum(int(P.G[r].nnz) ** 2 for r in range(P.G.shape[0]))
    need = ipm.GRAM_PATTERN_BYTES * pairs
    monkeypatch.setattr(_validation, "available_memory_bytes", lambda: need / 0.8 * 0.99)
    with pytest.raises(MemoryEstimateError, match=f"inequality pattern \\({pairs:,} pairs"):
        _SvecSDP(SDPFormulation(X, Y, 0.1))
    monkeypatch.setattr(_validation, "available_memory_bytes", lambda: need / 0.8 * 1.01)
    assert _SvecSDP(SDPFormulation(X, Y, 0.1)).gram_index.size > 0


def test_a_first_iteration_that_cannot_end_in_time_is_not_started(monkeypatch):
    """Under a time limit the interior point predicts its first iteration (ITERATION_FACTORISATIONS
    Cholesky factorisations, forced here to 10⁹ s): it returns the certified start at once, and
    'auto' then gives the time to the ADMM."""
    from convexnn.sdp import ipm

    monkeypatch.setattr(ipm, "factorisation_seconds", lambda size: 1e9)
    rng = np.random.default_rng(8)
    X, Y = _small(rng, n=20, d=3, c=2)
    upper = _trained_objective(TrainingProblem(X, Y, 0.1), rng)
    res = solve_sdp(X, Y, 0.1, solver="ipm", time_limit=30.0)
    assert res.status == "time_limit" and res.iterations == 0 and res.time_s < 30.0
    assert np.isfinite(res.value) and res.lower_bound <= upper + 1e-9
    auto = solve_sdp(X, Y, 0.1, time_limit=2.0)
    assert auto.method == "sdp-admm" and auto.iterations > 0 and auto.lower_bound <= upper + 1e-9
    # without a time limit nothing is predicted
    assert solve_sdp(X, Y, 0.1, solver="ipm").iterations > 0


def ctrl_c_at_factorisation(monkeypatch, k: int):
    """Make the interior point's k-th Newton factorisation raise KeyboardInterrupt (a Ctrl-C in
    the middle of iteration k); returns the real function, to restore it."""
    import convexnn.sdp.ipm as ipm

    real, calls = ipm._factor_in_place, {"n": 0}

    def ctrl_c(M, work=None):
        calls["n"] += 1
        if calls["n"] == k:
            raise KeyboardInterrupt
        return real(M, work=work)

    monkeypatch.setattr(ipm, "_factor_in_place", ctrl_c)
    return real


def test_ctrl_c_before_the_first_iteration_returns_the_certified_start(monkeypatch):
    """A Ctrl-C in the timing probe under a time limit (before the solve loop) used to escape
    solve_sdp as a KeyboardInterrupt; now both the interior point and 'auto''s small-set attempt
    return 'interrupted' with a bound below every network's objective."""
    from convexnn.sdp import ipm

    def interrupted(probe=1500):
        raise KeyboardInterrupt

    monkeypatch.setattr(ipm, "factorisation_rate", interrupted)
    rng = np.random.default_rng(8)
    X, Y = _small(rng, n=20, d=3, c=2)
    upper = _trained_objective(TrainingProblem(X, Y, 0.1), rng)
    res = solve_sdp(X, Y, 0.1, solver="ipm", time_limit=30.0)
    assert res.status == "interrupted" and res.iterations == 0
    form = res.solution["formulation"]
    assert res.value == pytest.approx(form.objective(res.solution["Lambda"]), rel=1e-12)
    assert res.lower_bound <= upper + 1e-9
    # q = 64 takes auto's attempt with an ADMM warm-up, whose budget the probe sets
    X, Y = _small(rng, n=60, d=3, c=1)
    upper = _trained_objective(TrainingProblem(X, Y, 0.1), rng)
    res = solve_sdp(X, Y, 0.1)
    assert res.status == "interrupted" and res.iterations == 0 and res.value is None
    assert res.info["auto"].endswith("interrupted before the ADMM warm-up)")
    assert 0.0 <= res.lower_bound <= upper + 1e-9


def test_ctrl_c_between_certified_iterations_reports_the_returned_iterate(monkeypatch):
    """Iterations 3, 5, ... are not certified while μ is large, and ``value`` used to be set only
    at certified ones: a Ctrl-C in iteration 4 reported the value of iteration 2 next to the Λ of
    iteration 3 (and 4 iterations). Now the value is that Λ's objective and 3 are counted."""
    rng = np.random.default_rng(12)
    X, Y = _small(rng)
    ctrl_c_at_factorisation(monkeypatch, 4)
    res = solve_sdp(X, Y, 0.1, solver="ipm")
    assert res.status == "interrupted" and res.iterations == 3
    assert [h["iteration"] for h in res.history] == [1, 2]
    form = res.solution["formulation"]
    assert res.value == pytest.approx(form.objective(res.solution["Lambda"]), rel=1e-12)
    assert res.value != pytest.approx(res.history[-1]["value"], rel=1e-6)
    assert res.lower_bound <= _trained_objective(TrainingProblem(X, Y, 0.1), rng) + 1e-9


def test_large_factorisations_run_by_blocks_with_the_same_result(monkeypatch):
    """Above BLAS_TILE_MAX rows (lowered here) both interior points factor their Newton
    matrices by blocks (OpenBLAS's threaded potrf crashed from about 16,000 rows) and reach
    the same optimum as with LAPACK's factorisation."""
    from convexnn import _linalg
    from convexnn.sdp import ipm
    from convexnn.sdp.active_ipm import solve_active_ipm

    rng = np.random.default_rng(12)
    X, Y = _small(rng, n=10, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    ref_full = ipm.solve_ipm(form, tol=1e-6)
    ref_active = solve_active_ipm(form, tol=1e-6)
    calls = []
    real = _linalg.blocked_cholesky

    def spy(A, work, block):
        calls.append((A.shape[0], block))
        return real(A, work, block)

    monkeypatch.setattr(_linalg, "BLAS_TILE_MAX", 20)
    monkeypatch.setattr(_linalg, "blocked_cholesky", spy)
    full = ipm.solve_ipm(form, tol=1e-6)
    active = solve_active_ipm(form, tol=1e-6)
    assert calls and all(n > 20 and b == 20 for n, b in calls)
    for res, ref in ((full, ref_full), (active, ref_active)):
        assert res.status == "optimal"
        assert res.lower_bound == pytest.approx(ref.lower_bound, rel=1e-6)


def test_a_solve_short_of_its_tolerance_gets_its_multipliers_polished(monkeypatch):
    """Nearly parallel rows (d = 2): stopped after 34 iterations, the interior point's best
    certificate is held back by its W, and the final polish of y and W (all 1,740 pairs) raises
    it. The polished multipliers certify exactly the reported bound, which stays below trained
    networks' objectives; without the polish the bound is the solver's own; an 'optimal' solve
    is left alone."""
    import convexnn.sdp as sdp_mod

    rng = np.random.default_rng(9)
    X, Y = rng.standard_normal((30, 2)), rng.standard_normal((30, 2))
    res = solve_sdp(X, Y, 0.01, solver="ipm", max_iter=34)
    pol = res.info["polish"]
    assert res.status == "max_iter" and pol["free_pairs"] == 2 * 30 * 29  # 2n² − 2n
    assert pol["bound_after"] == res.lower_bound > pol["bound_before"] + 0.1 * (res.value - pol["bound_before"])
    assert res.history[-1]["polished"] and res.history[-1]["lower_bound"] == res.lower_bound
    form = res.solution["formulation"]
    assert form.certify(res.solution["Gamma"], res.solution["y"], res.solution["W"]).bound == res.lower_bound
    problem = TrainingProblem(X, Y, 0.01)
    for s in range(3):
        assert res.lower_bound <= _trained_objective(problem, np.random.default_rng(s), steps=400)
    monkeypatch.setattr(sdp_mod, "POLISH_EVALUATIONS", 0)
    plain = solve_sdp(X, Y, 0.01, solver="ipm", max_iter=34)
    assert plain.lower_bound == pol["bound_before"] and plain.info["polish"]["bound_after"] == plain.lower_bound
    done = solve_sdp(rng.standard_normal((8, 3)), rng.standard_normal((8, 1)), 0.1, solver="ipm")
    assert done.status == "optimal" and "polish" not in done.info


def test_a_polished_stall_within_tol_ends_optimal():
    """d = 2, 30 rows, γ = 0.01: the interior point stalls with its bound just short of tol; the
    polish brings the certified gap within tol, and since the reported point's residual and slack
    error pass the solver's own test, the status becomes 'optimal' (the stall kept in the polish
    record). The bound stays below the objectives of trained networks."""
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((30, 2)), rng.standard_normal((30, 1))
    res = solve_sdp(X, Y, 0.01)
    assert res.status == "optimal" and 0 <= res.gap <= 1e-4
    pol = res.info["polish"]
    assert pol["status_before"] == "stalled" and "nearly parallel" in pol["stall_hint"]
    assert "stall_hint" not in res.info and pol["bound_after"] == res.lower_bound > pol["bound_before"]
    last = res.history[-1]
    assert last["polished"] and last["value"] == res.value and last["primal_residual"] <= 1e-4
    assert last["slack_error"] <= 1e-4 * res.value
    assert (res.value - pol["bound_before"]) / res.value > 1e-4  # short of tol before the polish
    problem = TrainingProblem(X, Y, 0.01)
    for s in range(3):
        assert res.lower_bound <= _trained_objective(problem, np.random.default_rng(s), steps=400)
